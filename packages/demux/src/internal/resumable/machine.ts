import { AssociationClosedError, AssociationResetError, FrameTooLargeError, MalformedFrameError } from '../../errors.ts'
import { FrameType, abortFrame } from '../data-frames.ts'
import { PathRecords } from '../records.ts'
import { drainPath, readPath } from './receive.ts'
import { Names, answerResume, redial, requestResume, verifyResume } from './resume.ts'
import { closeGracefully, detach, isOpen, leave, pathOf, write } from './state.ts'
import { linger, resumeDeadline } from './timers.ts'
import type { ResumeFrame } from '../../framing.ts'
import type { Reconnect, ResumableAssociation, ResumableHooks } from '../../resumable.ts'
import type { StreamReader } from '../reader.ts'
import type { RecordCipher } from '../record-cipher.ts'
import type { RecordsOf } from '../records.ts'
import type { ReceiveWindow, ReceivedFrame } from './receive.ts'
import type { SendWindow } from './send.ts'
import type { Path, PathState, Waiters } from './state.ts'
import type { PeerId, Stream } from '@libp2p/interface'

export interface PathMachineInit {
  /** The association, as the demux finds it by its token. */
  association: ResumableAssociation
  direction: 'outbound' | 'inbound'
  remotePeer: PeerId
  localAid: Uint8Array
  remoteAid: Uint8Array | undefined
  /** The first path: it carries the Open. */
  path: Path
  hooks: ResumableHooks
  sender: SendWindow
  receiver: ReceiveWindow
  waiters: Waiters
  resumeTimeout: number
  openTimeout: number
  reconnect: Reconnect | undefined
  /** How to find the record side channel of this end's streams (the first path's, a resumed one's). */
  records: RecordsOf | undefined
}

/**
 * The path state machine of a resumable association (spec/resumption.md):
 * which path carries it ({@link PathState}), what losing that path does, how
 * a new one is adopted (both ends of the resumption), and how the association
 * ends. Each transition goes through `#enter`, which stops what the state
 * left behind holds (a resumption's deadline and redial).
 */
export class PathMachine {
  readonly finished: Promise<void>
  #state: PathState
  readonly #names: Names
  /** The last path's stream, for {@link PathMachine.stream} while there is no path. */
  #lastStream: Stream
  #resumptions = 0
  /** Both ends understand the record path's frames (the Open and Reply said so). */
  /** The records the Open and Reply agreed on: their cipher, or undefined for none. */
  #recordsAgreed: RecordCipher | undefined
  readonly #init: PathMachineInit
  #finish!: { resolve: () => void, reject: (err: Error) => void }

  constructor (init: PathMachineInit) {
    this.#init = init
    this.#names = new Names(init.hooks, init.localAid, init.remoteAid, init.direction === 'inbound' ? init.association : undefined)
    this.#lastStream = init.path.stream
    this.#state = { kind: 'establishing', path: init.path }
    this.finished = new Promise<void>((resolve, reject) => { this.#finish = { resolve, reject } })
    this.finished.catch(() => {})
  }

  get state (): PathState { return this.#state }
  get localAid (): Uint8Array { return this.#names.localAid }
  get remoteAid (): Uint8Array | undefined { return this.#names.remoteAid }
  /** The current path's stream (the last one, while a new path is being established). */
  get stream (): Stream { return pathOf(this.#state)?.stream ?? this.#lastStream }
  get resumptions (): number { return this.#resumptions }
  /** The error the association failed with, if it did. */
  get failure (): Error | undefined { return this.#state.kind === 'failed' ? this.#state.error : undefined }

  /** The path frames go to now, if any. */
  path (): Path | undefined { return pathOf(this.#state) }

  /** Move to `next`, stopping what the state left behind holds; returns that state. */
  #enter (next: PathState): PathState {
    const previous = this.#state
    this.#state = next
    leave(previous)
    return previous
  }

  /** The open/accept exchange completed: the association has its key; the first path carries frames. */
  established (remoteAid: Uint8Array, key: Uint8Array, records: RecordCipher | undefined): void {
    this.#names.established(remoteAid, key)
    this.#recordsAgreed = records
    const state = this.#state
    if (state.kind !== 'establishing') return
    this.#enter({ kind: 'attached', path: state.path })
    this.#offerRecords(state.path)
    void this.#read(state.path)
  }

  /**
   * Offer the peer a record channel on `path`'s connection (RECORDS), when
   * both ends agreed and the connection has a record side channel
   * (spec/resumption.md#records). The stream carries everything until then.
   */
  #offerRecords (path: Path, records = this.#init.records): void {
    const key = this.#names.secret?.key
    const cipher = this.#recordsAgreed
    if (cipher == null || key == null || records == null) return
    const link = records(path.stream)
    if (link == null) return
    const pathRecords = new PathRecords(path.stream, link, key, cipher)
    try {
      path.stream.send(pathRecords.offer())
    } catch {
      pathRecords.release() // the path is going: its loss is seen where it is read
      return
    }
    path.records = pathRecords
  }

  /** Tell the other end (ABORT frame, which the path is closed behind, not reset) and fail with `err`. */
  abort (err: Error): void {
    const state = this.#state
    if (!isOpen(state)) return
    try {
      const path = pathOf(state)
      if (path != null) write(path, abortFrame(err.message))
    } catch {
      this.fail(err) // the path is going anyway
      return
    }
    // the frame must reach the peer, or it would wait for a resumption that cannot come: the path is
    // closed (what is queued is sent, then FIN), not reset, which would drop a frame still queued
    this.fail(err, 'flush')
  }

  /** Initiator: leave the current path and resume on a new one. */
  repath (): void {
    const state = this.#state
    if (this.#init.direction !== 'outbound' || state.kind !== 'attached') return
    this.lost(state.path, new AssociationClosedError('moving to a new path'))
  }

  async #read (path: Path): Promise<void> {
    try {
      await readPath(path, () => pathOf(this.#state) === path, (frame) => { this.#onFrame(frame, path) })
    } catch (err) {
      const name = (err as Error)?.name
      if (name === MalformedFrameError.name || name === FrameTooLargeError.name) {
        this.abort(err as Error)
        return
      }
      this.lost(path, err as Error)
    }
  }

  #onFrame (frame: ReceivedFrame, path: Path): void {
    const { sender, receiver, waiters } = this.#init
    switch (frame.type) {
      case FrameType.RECORDS:
        if (this.#recordsAgreed == null) throw new MalformedFrameError('RECORDS frame, but the Open and Reply did not agree on records')
        // an end without a record side channel on this connection keeps writing on the stream
        path.records?.accept(frame.channel, frame.salt)
        return
      case FrameType.MOVED: {
        if (path.records == null) throw new MalformedFrameError('MOVED frame, but this end offered no records on this path')
        const append = path.reader.follow()
        path.records.follow(append, (err) => { this.lost(path, err) })
        return
      }
      case FrameType.DATA:
        receiver.onData(frame.payload)
        return
      case FrameType.ACK:
        sender.onAck(frame.received, frame.fin)
        break
      case FrameType.FIN:
        receiver.onFin(frame.total)
        break
      case FrameType.ABORT:
        this.fail(new AssociationResetError(`Association reset by the remote end${frame.reason === '' ? '' : `: ${frame.reason}`}`))
        return
    }
    waiters.wake()
    this.#maybeDone()
  }

  /** `path` failed (nothing happens if it is no longer the current one): resume on a new path, or fail without a key. */
  lost (path: Path, cause: Error): void {
    if (pathOf(this.#state) !== path) return
    // what the peer sent before the path broke comes first: an ABORT among it ends the association
    // here (a write that failed on a stream the peer closed behind its ABORT must not resume it)
    try {
      drainPath(path, () => pathOf(this.#state) === path, (frame) => { this.#onFrame(frame, path) })
    } catch { /* a malformed frame on a path that is gone: the loss decides */ }
    const state = this.#state
    if (pathOf(state) !== path) return
    const { direction, sender, waiters, resumeTimeout, openTimeout, reconnect } = this.#init
    sender.unblock()
    if (state.kind === 'establishing') {
      this.fail(new AssociationClosedError(`Path lost before the association was established: ${cause.message}`), cause)
      return
    }
    const deadline = resumeDeadline(resumeTimeout, cause, (err) => { this.fail(err) })
    const retry = new AbortController()
    this.#enter({ kind: 'resuming', cause, deadline, redial: retry })
    detach(path, cause)
    waiters.wake()
    if (direction !== 'outbound') return
    void redial({
      reconnect,
      openTimeout,
      signal: retry.signal,
      resuming: () => this.#state.kind === 'resuming',
      resumeOn: async (stream) => { await this.#resumeOn(stream) },
      fail: (err) => { this.fail(err) }
    })
  }

  /** Initiator: one resumption attempt on a new stream. */
  async #resumeOn (stream: Stream): Promise<void> {
    const { hooks, receiver, openTimeout } = this.#init
    const aid = hooks.newAid()
    try {
      const reply = await requestResume(stream, this.#names.secret!, aid, receiver.received, openTimeout)
      if (this.#state.kind !== 'resuming') throw new AssociationClosedError('association ended while resuming')
      this.#names.renew(aid, reply.responderAid)
      this.#adopt({ stream, reader: reply.reader }, reply.received)
    } catch (err) {
      hooks.releaseAid(aid)
      throw err
    }
  }

  /** Responder: see {@link ResumableAssociation.acceptResume}. */
  acceptResume (stream: Stream, reader: StreamReader, frame: ResumeFrame, remotePeer: PeerId, records?: RecordsOf): boolean {
    const { hooks, receiver } = this.#init
    const secret = this.#names.secret
    if (secret == null || this.#state.kind === 'failed') return false
    if (!verifyResume(secret, frame, remotePeer, this.#init.remotePeer)) return false
    const aid = hooks.newAid()
    answerResume(stream, secret, aid, receiver.received, frame.proof)
    this.#names.renew(aid, frame.initiatorAid)
    this.#adopt({ stream, reader }, frame.received, records)
    return true
  }

  /** Carry the association over `path` from now on; the peer holds `peerReceived` of this end's bytes. */
  #adopt (path: Path, peerReceived: number, records = this.#init.records): void {
    if (this.#state.kind === 'closed') {
      this.#lateResume(path, peerReceived)
      return
    }
    const { sender, receiver, waiters } = this.#init
    // the old path, if this end still thinks it has one, is dead to the initiator
    const replaced = pathOf(this.#enter({ kind: 'attached', path }))
    if (replaced != null) detach(replaced, new AssociationClosedError('replaced by a resumed path'))
    try {
      sender.retransmitFrom(peerReceived)
    } catch (err) {
      this.abort(err as Error)
      return
    }
    this.#lastStream = path.stream
    sender.unblock()
    this.#resumptions++
    this.#offerRecords(path, records)
    void this.#read(path)
    sender.pump()
    receiver.sendAck()
    waiters.wake()
  }

  /** Responder, closed: the initiator resumed because it missed the last ACK. Repeat it, then close again. */
  #lateResume (path: Path, peerReceived: number): void {
    const { sender } = this.#init
    try {
      sender.retransmitFrom(peerReceived)
    } catch {
      closeGracefully(path) // an impossible count: nothing to repeat
      return
    }
    this.#lastStream = path.stream
    sender.unblock()
    this.#resumptions++
    this.#finalAck(path)
  }

  #maybeDone (): void {
    const { direction, sender, receiver, waiters, resumeTimeout } = this.#init
    if (!isOpen(this.#state) || sender.fin !== 'acked' || !receiver.ended) return
    // the responder lingers: the initiator may have missed our last ACK and come back for it
    const lingering = direction === 'inbound' ? linger(resumeTimeout, () => { this.#release() }) : undefined
    const path = pathOf(this.#enter({ kind: 'closed', linger: lingering }))
    if (path != null) this.#finalAck(path)
    if (lingering == null) this.#release()
    this.#finish.resolve()
    waiters.wake()
  }

  /** Both ends have everything: send the last ACK on `path`, then close it gracefully once our frames are out. */
  #finalAck (path: Path): void {
    try {
      this.#init.receiver.ack(path)
    } catch (err) {
      detach(path, err as Error)
      return
    }
    closeGracefully(path)
  }

  #release (): void {
    this.#init.receiver.stop()
    this.#names.release()
  }

  /** End the association with `err`; its path is reset with `reset`, or closed after what is queued (`'flush'`). */
  fail (err: Error, reset: Error | 'flush' = err): void {
    if (!isOpen(this.#state)) return
    const path = pathOf(this.#enter({ kind: 'failed', error: err }))
    if (path != null) detach(path, reset === 'flush' ? undefined : reset)
    this.#release()
    this.#finish.reject(err)
    this.#init.waiters.wake()
  }
}
