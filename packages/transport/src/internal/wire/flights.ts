// A connection's first flights (the hello, the Noise handshake, the first
// streams' opening bytes) gathered by turn of the event loop and written as one
// buffer, so each flight leaves as one TCP segment instead of one per write: a
// connect then takes fewer segments, and fewer wake-ups of the peer, until the
// first answer (bench/README.md § Connect latency). After the first
// {@link GATHERED_WRITES} writes, or at the first large one, every write goes
// at once. A close or a reset sends what was gathered first.
//
// Every write is handed to the raw connection in buffers of at least
// {@link JOINED_BYTES}, or as one buffer when it is shorter
// ({@link joinWrites}): the raw connection (@libp2p/tcp) writes each buffer
// with its own `socket.write`, and with TCP_NODELAY a buffer written to an
// idle socket leaves as a segment of its own, so a 2-byte masked length or a
// 10-byte record header handed on alone would be a 2- or 10-byte segment
// (spec/unobservable.md#passthrough).
import { Uint8ArrayList } from 'uint8arraylist'
import type { MultiaddrConnection } from '@libp2p/interface'

/** How many of a connection's first writes are gathered by turn of the event loop. */
const GATHERED_WRITES = 32
/** A write this large (or larger) is not gathered: it is bulk data, and goes at once. */
const MAX_FLIGHT_BYTES = 16 * 1024
/**
 * No buffer the layer hands the raw connection is shorter than this, unless it
 * is the whole write: a shorter piece (a masked length, a record header, a
 * Yamux header's ciphertext, a Poly1305 tag) is copied together with the
 * first bytes of the piece after it (or the last bytes of the one before, at
 * the end of a write).
 */
export const JOINED_BYTES = 1024

/**
 * The buffers of one write regrouped so that none is shorter than
 * {@link JOINED_BYTES}, or else the write is one buffer: a run of short
 * pieces is copied into one buffer with the first {@link JOINED_BYTES} bytes
 * of the long piece that follows it (with all of it, below twice that, so
 * that what is left of it is not short), or, at the end of the write, with
 * the last bytes of the buffer before it. Long pieces otherwise pass as views,
 * so at most about 2 KiB is copied per long piece. The bytes, in order, are
 * unchanged.
 */
export function joinWrites (pieces: Iterable<Uint8Array>): Uint8Array[] {
  const out: Uint8Array[] = []
  let run: Uint8Array[] = []
  let runBytes = 0
  for (const piece of pieces) {
    const n = piece.byteLength
    if (n === 0) continue
    if (n < JOINED_BYTES) {
      run.push(piece)
      runBytes += n
      continue
    }
    if (runBytes === 0) {
      out.push(piece)
      continue
    }
    const head = n < 2 * JOINED_BYTES ? n : JOINED_BYTES
    run.push(piece.subarray(0, head))
    out.push(Buffer.concat(run, runBytes + head))
    if (head < n) out.push(piece.subarray(head))
    run = []
    runBytes = 0
  }
  if (runBytes === 0) return out
  if (out.length === 0 || runBytes >= JOINED_BYTES) {
    out.push(run.length === 1 ? run[0]! : Buffer.concat(run, runBytes))
    return out
  }
  // short pieces end the write: they go with the last bytes of the buffer before them
  const last = out.pop()!
  const tail = last.byteLength < 2 * JOINED_BYTES ? last.byteLength : JOINED_BYTES
  if (tail < last.byteLength) out.push(last.subarray(0, last.byteLength - tail))
  out.push(Buffer.concat([last.subarray(last.byteLength - tail), ...run], tail + runBytes))
  return out
}

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

  /**
   * Write `out`: gathered while the first flights last, else now, after what
   * was gathered and in the same write (regrouped by {@link joinWrites}).
   * Returns the raw connection's backpressure.
   */
  send (out: Uint8ArrayList): boolean {
    if (this.#writes > 0 && out.byteLength < MAX_FLIGHT_BYTES) {
      this.#writes--
      for (const chunk of out) this.gather(chunk)
      return true
    }
    this.#writes = 0
    const gathered = this.#gathered
    this.#gathered = []
    // what was gathered goes first, with this write (dropped as by flush() if the raw connection is closed)
    const pieces = gathered.length === 0 || this.#raw.status !== 'open' ? out : [...gathered, ...out]
    return this.#raw.send(new Uint8ArrayList(...joinWrites(pieces)))
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
