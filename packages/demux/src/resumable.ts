import { AssociationClosedError } from './errors.ts'
import { associationToDuplex, sinkInto } from './internal/duplex.ts'
import { PathMachine } from './internal/resumable/machine.ts'
import { ReceiveWindow } from './internal/resumable/receive.ts'
import { SendWindow } from './internal/resumable/send.ts'
import { Waiters, isOpen } from './internal/resumable/state.ts'
import type { Association } from './association.ts'
import type { ResumeFrame } from './framing.ts'
import type { SinkSource } from './internal/duplex.ts'
import type { StreamReader } from './internal/reader.ts'
import type { RecordCipher } from './internal/record-cipher.ts'
import type { RecordsOf } from './internal/records.ts'
import type { Link } from './internal/resumable/state.ts'
import type { AbortOptions, PeerId, Stream } from '@libp2p/interface'
import type { Duplex } from 'node:stream'
import type { Uint8ArrayList } from 'uint8arraylist'

/**
 * Opens a new stream to the same peer on `RESUME_PROTOCOL`, by whatever path
 * works now (the same address, a new port, a relay, a re-resolved record).
 */
export type Reconnect = (options: { signal: AbortSignal }) => Promise<Stream>

/** What the demux lends a resumable association. */
export interface ResumableHooks {
  newAid: () => Uint8Array
  releaseAid: (aid: Uint8Array) => void
  registerToken: (token: Uint8Array, association: ResumableAssociation) => void
  unregisterToken: (token: Uint8Array) => void
}

export interface ResumableInit {
  direction: 'outbound' | 'inbound'
  remotePeer: PeerId
  localAid: Uint8Array
  remoteAid?: Uint8Array
  stream: Stream
  reader: StreamReader
  /** Resolves with the remote AId, the resumption key and the records both ends agreed on (their cipher; undefined: none), once the open/accept exchange completed. */
  established: Promise<{ remoteAid: Uint8Array, key: Uint8Array, records: RecordCipher | undefined }>
  hooks: ResumableHooks
  window: number
  resumeTimeout: number
  openTimeout: number
  /** Initiator only: how to reach the responder again. */
  reconnect?: Reconnect
  /** How to find the record side channel of this end's streams, if any (spec/resumption.md#records). */
  records?: RecordsOf | undefined
}

/**
 * An association that outlives its path (spec/resumption.md). Data travels in
 * DATA frames; the receiver acknowledges what it holds; the sender keeps every
 * byte until it is acknowledged. When the path is lost, the initiator opens a
 * new stream and resumes with an authenticated Resume frame; both ends then
 * retransmit from the other's received count: nothing is lost, duplicated or
 * reordered.
 *
 * This class is what the application sees; it composes one part per concern,
 * each in its own file under `internal/resumable/`: the send window
 * (`send.ts`), the receive window and its ACKs (`receive.ts`), the path state
 * machine (`machine.ts`, whose states are one type in `state.ts`), the
 * resumption exchange (`resume.ts`) and every timer (`timers.ts`).
 */
export class ResumableAssociation implements Association {
  readonly direction: 'outbound' | 'inbound'
  readonly remotePeer: PeerId
  readonly accepted: Promise<void>
  readonly finished: Promise<void>
  readonly resumable = true
  readonly #sender: SendWindow
  readonly #receiver: ReceiveWindow
  readonly #waiters = new Waiters()
  readonly #paths: PathMachine

  constructor (init: ResumableInit) {
    this.direction = init.direction
    this.remotePeer = init.remotePeer
    // the windows reach the path through the machine, built next
    const link: Link = {
      path: () => this.#paths.path(),
      lost: (path, err) => { this.#paths.lost(path, err) },
      wake: () => { this.#waiters.wake() }
    }
    this.#sender = new SendWindow(init.window, link)
    this.#receiver = new ReceiveWindow(init.window, link)
    this.#paths = new PathMachine({
      association: this,
      direction: init.direction,
      remotePeer: init.remotePeer,
      localAid: init.localAid,
      remoteAid: init.remoteAid,
      path: { stream: init.stream, reader: init.reader },
      hooks: init.hooks,
      sender: this.#sender,
      receiver: this.#receiver,
      waiters: this.#waiters,
      resumeTimeout: init.resumeTimeout,
      openTimeout: init.openTimeout,
      reconnect: init.reconnect,
      records: init.records
    })
    this.finished = this.#paths.finished
    this.accepted = init.established.then(({ remoteAid, key, records }) => {
      this.#paths.established(remoteAid, key, records)
    }, (err: Error) => {
      this.#paths.fail(err)
      throw err
    })
    this.accepted.catch(() => {})
  }

  get localAid (): Uint8Array { return this.#paths.localAid }
  get remoteAid (): Uint8Array | undefined { return this.#paths.remoteAid }
  /** The current path's stream (the last one, while a new path is being established). */
  get stream (): Stream { return this.#paths.stream }
  get resumptions (): number { return this.#paths.resumptions }
  /** This end's frames on the current path go as records (spec/resumption.md#records), not through the stream. */
  get onRecords (): boolean { return this.#paths.path()?.records?.moved === true }

  send (data: Uint8Array | Uint8ArrayList): boolean {
    const failure = this.#paths.failure
    if (failure != null) throw failure
    if (this.#sender.fin !== 'none' || !isOpen(this.#paths.state)) throw new AssociationClosedError('Cannot send after close()')
    if (data.byteLength > 0) this.#sender.push(data)
    return this.#sender.writable
  }

  async onDrain (options: AbortOptions = {}): Promise<void> {
    await this.#until(() => this.#sender.writable, options.signal)
  }

  async close (options: AbortOptions = {}): Promise<void> {
    if (!isOpen(this.#paths.state) || this.#sender.fin !== 'none') return
    this.#sender.queueFin()
    // like a libp2p stream's close: resolves once the end is handed to the path
    await this.#until(() => this.#sender.finWritten || !isOpen(this.#paths.state), options.signal)
  }

  abort (err: Error): void {
    this.#paths.abort(err)
  }

  repath (): void {
    this.#paths.repath()
  }

  async * [Symbol.asyncIterator] (): AsyncGenerator<Uint8Array, void, undefined> {
    await this.accepted
    const receiver = this.#receiver
    while (true) {
      const chunk = receiver.take()
      if (chunk != null) {
        yield chunk
        continue
      }
      if (receiver.ended) return
      const failure = this.#paths.failure
      if (failure != null) throw failure
      await this.#until(() => receiver.unread > 0 || receiver.ended || this.#paths.failure != null)
    }
  }

  toDuplex (): Duplex { return associationToDuplex(this) }

  get source (): AsyncGenerator<Uint8Array, void, undefined> { return this[Symbol.asyncIterator]() }

  readonly sink = async (source: SinkSource): Promise<void> => { await sinkInto(this, source) }

  /**
   * Responder: a verified-looking Resume for this association arrived on a
   * new stream. Checks the peer and the proof; answers; adopts the path.
   * Returns false (having answered nothing) if the resumption is refused.
   */
  acceptResume (stream: Stream, reader: StreamReader, frame: ResumeFrame, remotePeer: PeerId, records?: RecordsOf): boolean {
    return this.#paths.acceptResume(stream, reader, frame, remotePeer, records)
  }

  /** Resolve when `ready()` holds; reject with the failure, or on abort. */
  async #until (ready: () => boolean, signal?: AbortSignal): Promise<void> {
    await this.#waiters.until(ready, () => this.#paths.failure, signal)
  }
}
