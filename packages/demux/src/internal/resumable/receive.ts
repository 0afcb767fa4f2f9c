import { Uint8ArrayList } from 'uint8arraylist'
import { ACK_EVERY_BYTES, MAX_SEND_WINDOW_BYTES } from '../../constants.ts'
import { MalformedFrameError } from '../../errors.ts'
import { FrameType, MAX_DATA_FRAME_BYTES, ackFrame, dataPayload, decodeDataPhaseFrame } from '../data-frames.ts'
import { takeChunk } from '../reader.ts'
import { write } from './state.ts'
import { ackDelay } from './timers.ts'
import type { DataPhaseFrame } from '../data-frames.ts'
import type { Link, Path } from './state.ts'
import type { Timer } from './timers.ts'

/** A frame read from a path: a DATA payload as views of the chunks it arrived in (not copied), any other type decoded. */
export type ReceivedFrame =
  | { type: typeof FrameType.DATA, payload: Uint8ArrayList }
  | Exclude<DataPhaseFrame, { type: typeof FrameType.DATA }>

/**
 * Read `path` for as long as `current()` holds, handing each frame on.
 * Rejects with what ended the path, or with the `MalformedFrameError` or
 * `FrameTooLargeError` of a frame that breaks the rules.
 */
export async function readPath (path: Path, current: () => boolean, onFrame: (frame: ReceivedFrame) => void): Promise<void> {
  // always read: ACK frames must get through even when the application is behind. What is
  // buffered is bounded by the sender's window, because ACKs count only consumed bytes
  while (current()) {
    const body = await path.reader.readFrameList(MAX_DATA_FRAME_BYTES, 'data')
    if (!current()) return
    onFrame(parseFrame(body))
  }
}

/**
 * The frames of `path` already received whole, handed to `onFrame` now while
 * `current()` holds: a path that broke (a write failed, the stream was reset)
 * may have delivered the peer's last frames first (an ABORT, the last ACK).
 * Throws what {@link readPath} would for a malformed frame.
 */
export function drainPath (path: Path, current: () => boolean, onFrame: (frame: ReceivedFrame) => void): void {
  while (current()) {
    const body = path.reader.takeFrameList(MAX_DATA_FRAME_BYTES, 'data')
    if (body == null) return
    onFrame(parseFrame(body))
  }
}

/** Parse a frame body. Throws `MalformedFrameError` for one that breaks the rules. */
function parseFrame (body: Uint8ArrayList): ReceivedFrame {
  const payload = dataPayload(body)
  if (payload != null) return { type: FrameType.DATA, payload }
  // dataPayload took every DATA frame: the decoder gives another type for any other first byte
  return decodeDataPhaseFrame(body.subarray()) as Exclude<DataPhaseFrame, { type: typeof FrameType.DATA }>
}

/**
 * The receive side of a resumable association (spec/resumption.md#data-frames):
 * the bytes received and not yet read by the application, and the ACKs that
 * tell the sender what the application consumed (flow control, as TCP's window).
 */
export class ReceiveWindow {
  readonly #unread = new Uint8ArrayList()
  /** Bytes received: what a Resume (or ResumeReply) reports. */
  #received = 0
  /** Bytes handed to the application: what ACK frames carry. */
  #consumed = 0
  /** The consumed count the last ACK carried. */
  #acked = 0
  #ended = false
  #ackTimer: Timer | undefined
  /** Consumed bytes that make an ACK go at once: a quarter of the window (both ends normally share the configuration), at most ACK_EVERY_BYTES. */
  readonly #ackEvery: number
  readonly #link: Link

  constructor (window: number, link: Link) {
    this.#ackEvery = Math.max(1, Math.min(ACK_EVERY_BYTES, Math.floor(window / 4)))
    this.#link = link
  }

  /** Bytes received so far. */
  get received (): number {
    return this.#received
  }

  /** Bytes received and not yet handed to the application. */
  get unread (): number {
    return this.#unread.byteLength
  }

  /** The peer's FIN arrived: nothing follows what is unread. */
  get ended (): boolean {
    return this.#ended
  }

  /** A DATA frame's payload: views of the chunks the reader took out of its queue (not reused, so not copied). */
  onData (payload: Uint8ArrayList): void {
    if (this.#ended) throw new MalformedFrameError('DATA after FIN')
    this.#unread.append(payload)
    this.#received += payload.byteLength
    if (this.#unread.byteLength > MAX_SEND_WINDOW_BYTES) {
      throw new MalformedFrameError(`flow control violated: ${this.#unread.byteLength} bytes unconsumed, more than any send window (${MAX_SEND_WINDOW_BYTES})`)
    }
    this.#link.wake()
  }

  /** A FIN frame: the peer's stream ends after `total` bytes. Acknowledged at once. */
  onFin (total: number): void {
    if (total !== this.#received) throw new MalformedFrameError(`FIN at ${total} bytes, ${this.#received} received`)
    this.#ended = true
    this.sendAck()
  }

  /** The application's next chunk, if any (acknowledged once enough was consumed). */
  take (): Uint8Array | undefined {
    if (this.#unread.byteLength === 0) return undefined
    const chunk = takeChunk(this.#unread)
    this.#consumed += chunk.byteLength
    if (this.#consumed - this.#acked >= this.#ackEvery) {
      this.sendAck()
    } else {
      this.#ackTimer ??= ackDelay(() => {
        this.#ackTimer = undefined
        this.sendAck()
      })
    }
    return chunk
  }

  /** Acknowledge what the application consumed, on the current path if there is one. */
  sendAck (): void {
    const path = this.#link.path()
    if (path == null) {
      this.stop()
      return
    }
    try {
      this.ack(path)
    } catch (err) {
      this.#link.lost(path, err as Error)
    }
  }

  /** Acknowledge what the application consumed, on `path`; throws if the stream does. */
  ack (path: Path): void {
    this.stop()
    write(path, ackFrame(this.#consumed, this.#ended))
    this.#acked = this.#consumed
  }

  /** Stop the ACK timer. */
  stop (): void {
    this.#ackTimer?.stop()
    this.#ackTimer = undefined
  }
}
