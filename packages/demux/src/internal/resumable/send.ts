import { Uint8ArrayList } from 'uint8arraylist'
import { MAX_DATA_PAYLOAD_BYTES } from '../../constants.ts'
import { MalformedFrameError } from '../../errors.ts'
import { appendDataFrame, finFrame } from '../data-frames.ts'
import { drained, write } from './state.ts'
import type { Link } from './state.ts'

/**
 * Bytes sent within one turn of the event loop are written to the path
 * together, in its check phase (or at once when this many are pending): Yamux
 * then carries them in large frames, and the receiver's Yamux answers each
 * frame with a window update, so fewer frames mean fewer writes at both ends.
 */
const WRITE_BATCH_BYTES = 1 << 20

/**
 * This end's FIN: not asked for (`none`), queued by `close()` behind the
 * data, written to a path, acknowledged by the peer. A resumption sends a
 * written but unacknowledged FIN again (back to `queued`).
 */
export type FinState = 'none' | 'queued' | 'written' | 'acked'

/**
 * The send side of a resumable association (spec/resumption.md#data-frames):
 * every byte is kept until the peer acknowledges it, at most `window`
 * unacknowledged before `send` reports backpressure, and written to the
 * current path as DATA frames, then the FIN.
 */
export class SendWindow {
  // bytes [#acked, #acked + #unacked.byteLength) are kept until acknowledged
  readonly #unacked = new Uint8ArrayList()
  #acked = 0
  /** Bytes the current path carried (those after them are still to be written). */
  #written = 0
  #fin: FinState = 'none'
  /** The current path's stream refused more (`send` returned false) until it drains. */
  #blocked = false
  #pumpScheduled = false
  readonly #window: number
  readonly #link: Link

  constructor (window: number, link: Link) {
    this.#window = window
    this.#link = link
  }

  /** Below the window, and the path takes more: the application may send. */
  get writable (): boolean {
    return this.#unacked.byteLength < this.#window && !this.#blocked
  }

  /** Bytes sent by the application so far, acknowledged or not. */
  get sent (): number {
    return this.#acked + this.#unacked.byteLength
  }

  get fin (): FinState {
    return this.#fin
  }

  /** The FIN was handed to a path (and possibly acknowledged). */
  get finWritten (): boolean {
    return this.#fin === 'written' || this.#fin === 'acked'
  }

  /** Keep the application's bytes and write them with the others of this turn (at once past a bound). */
  push (data: Uint8Array | Uint8ArrayList): void {
    if (data instanceof Uint8Array) this.#unacked.append(data)
    else this.#unacked.append(...data)
    // batch the sends of one turn into one write, up to a bound: past it, write now
    // (so that send() reports a blocked path as before)
    if (this.sent - this.#written >= WRITE_BATCH_BYTES) this.pump()
    else this.schedulePump()
  }

  /** `close()`: queue the FIN behind the data. */
  queueFin (): void {
    this.#fin = 'queued'
    this.schedulePump()
  }

  /**
   * Write what the current path has not carried yet, in this turn's check
   * phase (`setImmediate`), not in a microtask: Node runs the microtasks after
   * each socket read, so a proxy's sends of the reads libuv makes in one poll
   * phase (up to 32 × 64 KiB) would each be a write and a record of their own.
   * The sends of one turn (and everything queued while the path was blocked) go
   * to the stream in one write, so that Yamux carries them in few large frames
   * and the receiver answers with few window updates.
   */
  schedulePump (): void {
    if (this.#pumpScheduled) return
    this.#pumpScheduled = true
    setImmediate(() => {
      this.#pumpScheduled = false
      this.pump()
    })
  }

  /** Write what the current path has not carried yet: DATA frames, then the FIN, as one write. */
  pump (): void {
    const path = this.#link.path()
    if (path == null || this.#blocked) return
    try {
      const total = this.sent
      const out = new Uint8ArrayList()
      while (this.#written < total) {
        const start = this.#written - this.#acked
        const length = Math.min(MAX_DATA_PAYLOAD_BYTES, total - this.#written)
        appendDataFrame(out, this.#unacked.sublist(start, start + length))
        this.#written += length
      }
      const fin = this.#fin === 'queued'
      if (fin) out.append(finFrame(total))
      if (out.byteLength === 0) return
      const ok = write(path, out)
      if (fin) {
        this.#fin = 'written'
        this.#link.wake()
      }
      if (!ok) {
        this.#blocked = true
        drained(path).then(() => {
          if (this.#link.path() !== path) return
          this.#blocked = false
          this.pump()
          this.#link.wake()
        }, (err: Error) => { this.#link.lost(path, err) })
      }
    } catch (err) {
      this.#link.lost(path, err as Error)
    }
  }

  /** An ACK frame: the peer's application consumed `received` bytes; `fin`: the peer has this end's FIN. */
  onAck (received: number, fin: boolean): void {
    const sent = this.sent
    if (received > sent) {
      throw new MalformedFrameError(`ACK for ${received} bytes; at most ${sent} were sent`)
    }
    // below #acked after a resumption (which trims to what the peer received, consumed or not): nothing to free
    if (received > this.#acked) {
      this.#unacked.consume(received - this.#acked)
      this.#acked = received
    }
    if (fin) {
      if (!this.finWritten) throw new MalformedFrameError('ACK of a FIN that was not sent')
      this.#fin = 'acked'
    }
  }

  /**
   * A resumption: the peer holds `peerReceived` bytes. Forget them and write
   * the rest (and a FIN not acknowledged) again on the next pump. Throws
   * `MalformedFrameError`, changing nothing, for a count below what was
   * acknowledged or above what was sent.
   */
  retransmitFrom (peerReceived: number): void {
    const sent = this.sent
    if (peerReceived < this.#acked || peerReceived > sent) {
      throw new MalformedFrameError(`peer has ${peerReceived} bytes; ${this.#acked}..${sent} possible`)
    }
    this.#unacked.consume(peerReceived - this.#acked)
    this.#acked = peerReceived
    this.#written = peerReceived
    if (this.#fin === 'written') this.#fin = 'queued'
  }

  /** The path changed: nothing waits for the old one to drain. */
  unblock (): void {
    this.#blocked = false
  }
}
