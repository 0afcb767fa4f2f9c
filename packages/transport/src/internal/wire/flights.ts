// A connection's first flights (the hello, the Noise handshake, the first
// streams' opening bytes) gathered by turn of the event loop and written as one
// buffer, so each flight leaves as one TCP segment instead of one per write: a
// connect then takes fewer segments, and fewer wake-ups of the peer, until the
// first answer (bench/README.md § Connect latency). After the first
// {@link GATHERED_WRITES} writes, or at the first large one, every write goes
// at once. A close or a reset sends what was gathered first.
import type { MultiaddrConnection } from '@libp2p/interface'
import type { Uint8ArrayList } from 'uint8arraylist'

/** How many of a connection's first writes are gathered by turn of the event loop. */
const GATHERED_WRITES = 32
/** A write this large (or larger) is not gathered: it is bulk data, and goes at once. */
const MAX_FLIGHT_BYTES = 16 * 1024

export class Flights {
  readonly #raw: Pick<MultiaddrConnection, 'send' | 'status'>
  #gathered: Uint8Array[] = []
  #writes = GATHERED_WRITES
  #scheduled = false

  constructor (raw: Pick<MultiaddrConnection, 'send' | 'status'>) {
    this.#raw = raw
  }

  /** Add `bytes` to this turn's flight; the turn's check phase (setImmediate) sends the flight. */
  gather (bytes: Uint8Array): void {
    this.#gathered.push(bytes)
    if (this.#scheduled) return
    this.#scheduled = true
    setImmediate(() => {
      this.#scheduled = false
      this.flush()
    })
  }

  /** Write `out`: gathered while the first flights last, else now (after what was gathered). Returns the raw connection's backpressure. */
  send (out: Uint8ArrayList): boolean {
    if (this.#writes > 0 && out.byteLength < MAX_FLIGHT_BYTES) {
      this.#writes--
      for (const chunk of out) this.gather(chunk)
      return true
    }
    this.#writes = 0
    this.flush()
    return this.#raw.send(out)
  }

  /** Send what was gathered now (before a later write, a close or a reset: nothing written is dropped). */
  flush (): boolean {
    if (this.#gathered.length === 0) return true
    const flight = this.#gathered.length === 1 ? this.#gathered[0]! : Buffer.concat(this.#gathered)
    this.#gathered = []
    if (this.#raw.status !== 'open') return false
    return this.#raw.send(flight)
  }
}
