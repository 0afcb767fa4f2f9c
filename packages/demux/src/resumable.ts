import { Uint8ArrayList } from 'uint8arraylist'
import { ACK_DELAY_MS, ACK_EVERY_BYTES, MAX_DATA_PAYLOAD_BYTES, MAX_RESUME_REPLY_FRAME_BYTES, MAX_SEND_WINDOW_BYTES, ResumeCode } from './constants.ts'
import { AssociationClosedError, AssociationResetError, MalformedFrameError, ResumeFailedError, ResumeRefusedError } from './errors.ts'
import { decodeResumeReply, encodeResume, encodeResumeReply } from './framing.ts'
import { associationToDuplex, sinkInto } from './internal/duplex.ts'
import type { SinkSource } from './internal/duplex.ts'
import { FrameType, MAX_DATA_FRAME_BYTES, abortFrame, ackFrame, appendDataFrame, dataPayload, decodeDataPhaseFrame, finFrame } from './internal/data-frames.ts'
import { StreamReader, lengthPrefixed, takeChunk } from './internal/reader.ts'
import { initiatorProof, proofsEqual, responderProof, resumeToken } from './internal/resume-keys.ts'
import type { Association } from './association.ts'
import type { ResumeFrame } from './framing.ts'
import type { AbortOptions, PeerId, Stream } from '@libp2p/interface'
import type { Duplex } from 'node:stream'


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
  /** Resolves with the remote AId and the resumption key once the open/accept exchange completed. */
  established: Promise<{ remoteAid: Uint8Array, key: Uint8Array }>
  hooks: ResumableHooks
  window: number
  resumeTimeout: number
  openTimeout: number
  /** Initiator only: how to reach the responder again. */
  reconnect?: Reconnect
}

interface Path { stream: Stream, reader: StreamReader }

/**
 * Bytes sent within one turn of the event loop are written to the path
 * together, in a microtask (or at once when this many are pending): Yamux
 * then carries them in large frames, and the receiver's Yamux answers each
 * frame with a window update, so fewer frames mean fewer writes at both ends.
 */
const WRITE_BATCH_BYTES = 1 << 20

/** How long closing a path may take to send what is queued on it (ms) before it is reset instead. */
const PATH_CLOSE_TIMEOUT_MS = 5_000

/**
 * An association that outlives its path (spec/resumption.md). Data travels in
 * DATA frames; the receiver acknowledges what it holds; the sender keeps every
 * byte until it is acknowledged. When the path is lost, the initiator opens a
 * new stream and resumes with an authenticated Resume frame; both ends then
 * retransmit from the other's received count: nothing is lost, duplicated or
 * reordered.
 */
export class ResumableAssociation implements Association {
  readonly direction: 'outbound' | 'inbound'
  readonly remotePeer: PeerId
  readonly accepted: Promise<void>
  readonly finished: Promise<void>
  readonly resumable = true
  #localAid: Uint8Array
  #remoteAid: Uint8Array | undefined
  #lastStream: Stream
  #path: Path | undefined
  #pathBlocked = false
  #key: Uint8Array | undefined
  #tokenIndex = 0
  #token: Uint8Array | undefined
  #resumptions = 0
  readonly #hooks: ResumableHooks
  readonly #window: number
  /** Consumed bytes that make an ACK go at once: a quarter of the window (both ends normally share the configuration), at most ACK_EVERY_BYTES. */
  readonly #ackEvery: number
  readonly #resumeTimeout: number
  readonly #openTimeout: number
  readonly #reconnect: Reconnect | undefined
  // send side: bytes [#acked, #acked + #unacked.byteLength) are kept until acknowledged
  readonly #unacked = new Uint8ArrayList()
  #acked = 0
  #written = 0
  #finQueued = false
  #finWritten = false
  #finAcked = false
  #pumpScheduled = false
  // receive side
  readonly #received = new Uint8ArrayList()
  #receivedCount = 0
  /** Bytes handed to the application: what ACK frames carry (flow control, as TCP's window). */
  #consumedCount = 0
  #ackedCount = 0
  #remoteFin = false
  #ackTimer: ReturnType<typeof setTimeout> | undefined
  // life
  #state: 'open' | 'done' | 'failed' = 'open'
  #failure: Error | undefined
  #resumeTimer: ReturnType<typeof setTimeout> | undefined
  #resumeAbort: AbortController | undefined
  #lingerTimer: ReturnType<typeof setTimeout> | undefined
  readonly #waiters = new Set<() => void>()
  #finish!: { resolve: () => void, reject: (err: Error) => void }

  constructor (init: ResumableInit) {
    this.direction = init.direction
    this.remotePeer = init.remotePeer
    this.#localAid = init.localAid
    this.#remoteAid = init.remoteAid
    this.#lastStream = init.stream
    this.#hooks = init.hooks
    this.#window = init.window
    this.#ackEvery = Math.max(1, Math.min(ACK_EVERY_BYTES, Math.floor(init.window / 4)))
    this.#resumeTimeout = init.resumeTimeout
    this.#openTimeout = init.openTimeout
    this.#reconnect = init.reconnect
    this.finished = new Promise<void>((resolve, reject) => { this.#finish = { resolve, reject } })
    this.finished.catch(() => {})
    const path = { stream: init.stream, reader: init.reader }
    this.#path = path
    this.accepted = init.established.then(({ remoteAid, key }) => {
      this.#remoteAid = remoteAid
      this.#key = key
      this.#token = resumeToken(key, 0)
      if (this.direction === 'inbound') this.#hooks.registerToken(this.#token, this)
      if (this.#path === path) void this.#readPath(path)
    }, (err: Error) => {
      this.#fail(err)
      throw err
    })
    this.accepted.catch(() => {})
  }

  get localAid (): Uint8Array { return this.#localAid }
  get remoteAid (): Uint8Array | undefined { return this.#remoteAid }
  /** The current path's stream (the last one, while a new path is being established). */
  get stream (): Stream { return this.#path?.stream ?? this.#lastStream }
  get resumptions (): number { return this.#resumptions }

  // ---- application side -------------------------------------------------

  send (data: Uint8Array | Uint8ArrayList): boolean {
    if (this.#failure != null) throw this.#failure
    if (this.#finQueued || this.#state !== 'open') throw new AssociationClosedError('Cannot send after close()')
    if (data.byteLength === 0) return this.#writable()
    if (data instanceof Uint8Array) this.#unacked.append(data)
    else this.#unacked.append(...data)
    // batch the sends of one turn into one write, up to a bound: past it, write now
    // (so that send() reports a blocked path as before)
    if (this.#acked + this.#unacked.byteLength - this.#written >= WRITE_BATCH_BYTES) this.#pump()
    else this.#schedulePump()
    return this.#writable()
  }

  #writable (): boolean {
    return this.#unacked.byteLength < this.#window && !this.#pathBlocked
  }

  async onDrain (options: AbortOptions = {}): Promise<void> {
    await this.#until(() => this.#writable(), options.signal)
  }

  async close (options: AbortOptions = {}): Promise<void> {
    if (this.#state !== 'open' || this.#finQueued) return
    this.#finQueued = true
    this.#schedulePump()
    // like a libp2p stream's close: resolves once the end is handed to the path
    await this.#until(() => this.#finWritten || this.#state !== 'open', options.signal)
  }

  abort (err: Error): void {
    if (this.#state !== 'open') return
    const path = this.#path
    try {
      path?.stream.send(abortFrame(err.message))
    } catch {
      this.#fail(err) // the path is going anyway
      return
    }
    // the frame must reach the peer, or it would wait for a resumption that cannot come: the path is
    // closed (what is queued is sent, then FIN), not reset, which would drop a frame still queued
    this.#fail(err, true)
  }

  repath (): void {
    const path = this.#path
    if (this.direction !== 'outbound' || path == null || this.#key == null || this.#state !== 'open') return
    this.#pathLost(path, new AssociationClosedError('moving to a new path'))
  }

  async * [Symbol.asyncIterator] (): AsyncGenerator<Uint8Array, void, undefined> {
    await this.accepted
    while (true) {
      if (this.#received.byteLength > 0) {
        const chunk = takeChunk(this.#received)
        this.#consumedCount += chunk.byteLength
        this.#scheduleAck()
        yield chunk
        continue
      }
      if (this.#remoteFin) return
      if (this.#failure != null) throw this.#failure
      await this.#until(() => this.#received.byteLength > 0 || this.#remoteFin || this.#failure != null)
    }
  }

  toDuplex (): Duplex { return associationToDuplex(this) }

  get source (): AsyncGenerator<Uint8Array, void, undefined> { return this[Symbol.asyncIterator]() }

  readonly sink = async (source: SinkSource): Promise<void> => { await sinkInto(this, source) }

  // ---- waiting ------------------------------------------------------------

  #wake (): void {
    for (const w of [...this.#waiters]) w()
  }

  /** Resolve when `ready()` holds; reject with the failure, or on abort. */
  async #until (ready: () => boolean, signal?: AbortSignal): Promise<void> {
    while (!ready()) {
      if (this.#failure != null) throw this.#failure
      signal?.throwIfAborted()
      await new Promise<void>((resolve) => {
        const done = (): void => { this.#waiters.delete(done); signal?.removeEventListener('abort', done); resolve() }
        this.#waiters.add(done)
        signal?.addEventListener('abort', done, { once: true })
      })
    }
  }

  // ---- the path -----------------------------------------------------------

  /**
   * Write what the current path has not carried yet, in a microtask: the
   * sends of one turn (and everything queued while the path was blocked) go
   * to the stream in one write, so that Yamux carries them in few large frames
   * and the receiver answers with few window updates.
   */
  #schedulePump (): void {
    if (this.#pumpScheduled) return
    this.#pumpScheduled = true
    queueMicrotask(() => {
      this.#pumpScheduled = false
      this.#pump()
    })
  }

  /** Write what the current path has not carried yet: DATA frames, then the FIN, as one write. */
  #pump (): void {
    const path = this.#path
    if (path == null || this.#pathBlocked) return
    try {
      const total = this.#acked + this.#unacked.byteLength
      const out = new Uint8ArrayList()
      while (this.#written < total) {
        const start = this.#written - this.#acked
        const length = Math.min(MAX_DATA_PAYLOAD_BYTES, total - this.#written)
        appendDataFrame(out, this.#unacked.sublist(start, start + length))
        this.#written += length
      }
      const fin = this.#finQueued && !this.#finWritten
      if (fin) out.append(finFrame(total))
      if (out.byteLength === 0) return
      const ok = path.stream.send(out)
      if (fin) {
        this.#finWritten = true
        this.#wake()
      }
      if (!ok) {
        this.#pathBlocked = true
        path.stream.onDrain().then(() => {
          if (this.#path !== path) return
          this.#pathBlocked = false
          this.#pump()
          this.#wake()
        }, (err: Error) => { this.#pathLost(path, err) })
      }
    } catch (err) {
      this.#pathLost(path, err as Error)
    }
  }

  async #readPath (path: Path): Promise<void> {
    try {
      // always read: ACK frames must get through even when the application is behind. What is
      // buffered is bounded by the sender's window, because ACKs count only consumed bytes
      while (this.#path === path) {
        const body = await path.reader.readFrameList(MAX_DATA_FRAME_BYTES, 'data')
        if (this.#path !== path) return
        const payload = dataPayload(body)
        if (payload != null) this.#onData(payload)
        else {
          const frame = decodeDataPhaseFrame(body.subarray())
          // dataPayload took every DATA frame: the decoder gives another type for any other first byte
          if (frame.type !== FrameType.DATA) this.#onFrame(frame)
        }
      }
    } catch (err) {
      if ((err as Error).name === 'MalformedFrameError' || (err as Error).name === 'FrameTooLargeError') {
        this.abort(err as Error)
        return
      }
      this.#pathLost(path, err as Error)
    }
  }

  /** A DATA frame's payload: views of the chunks the reader took out of its queue (not reused, so not copied). */
  #onData (payload: Uint8ArrayList): void {
    if (this.#remoteFin) throw new MalformedFrameError('DATA after FIN')
    this.#received.append(payload)
    this.#receivedCount += payload.byteLength
    if (this.#received.byteLength > MAX_SEND_WINDOW_BYTES) {
      throw new MalformedFrameError(`flow control violated: ${this.#received.byteLength} bytes unconsumed, more than any send window (${MAX_SEND_WINDOW_BYTES})`)
    }
    this.#wake()
  }

  /** ACK, FIN and ABORT frames (DATA frames go to {@link #onData} undecoded, as views). */
  #onFrame (frame: Exclude<ReturnType<typeof decodeDataPhaseFrame>, { type: typeof FrameType.DATA }>): void {
    switch (frame.type) {
      case FrameType.ACK: {
        const inFlight = this.#acked + this.#unacked.byteLength
        if (frame.received > inFlight) {
          throw new MalformedFrameError(`ACK for ${frame.received} bytes; at most ${inFlight} were sent`)
        }
        // below #acked after a resumption (which trims to what the peer received, consumed or not): nothing to free
        if (frame.received > this.#acked) {
          this.#unacked.consume(frame.received - this.#acked)
          this.#acked = frame.received
        }
        if (frame.fin) {
          if (!this.#finWritten) throw new MalformedFrameError('ACK of a FIN that was not sent')
          this.#finAcked = true
        }
        this.#wake()
        this.#maybeDone()
        return
      }
      case FrameType.FIN:
        if (frame.total !== this.#receivedCount) throw new MalformedFrameError(`FIN at ${frame.total} bytes, ${this.#receivedCount} received`)
        this.#remoteFin = true
        this.#sendAck()
        this.#wake()
        this.#maybeDone()
        return
      case FrameType.ABORT:
        this.#fail(new AssociationResetError(`Association reset by the remote end${frame.reason === '' ? '' : `: ${frame.reason}`}`))
    }
  }

  #scheduleAck (): void {
    if (this.#consumedCount - this.#ackedCount >= this.#ackEvery) {
      this.#sendAck()
    } else if (this.#ackTimer == null) {
      this.#ackTimer = setTimeout(() => { this.#ackTimer = undefined; this.#sendAck() }, ACK_DELAY_MS)
      this.#ackTimer.unref?.()
    }
  }

  #sendAck (): void {
    clearTimeout(this.#ackTimer)
    this.#ackTimer = undefined
    const path = this.#path
    if (path == null) return
    try {
      path.stream.send(ackFrame(this.#consumedCount, this.#remoteFin))
      this.#ackedCount = this.#consumedCount
    } catch (err) {
      this.#pathLost(path, err as Error)
    }
  }

  #detach (path: Path, err?: Error): void {
    path.reader.detach()
    if (path.stream.status === 'open') {
      // bounded: a peer that reads nothing cannot hold the path open
      if (err == null) path.stream.close({ signal: AbortSignal.timeout(PATH_CLOSE_TIMEOUT_MS) }).catch(() => { path.stream.abort(new AssociationClosedError('path closed')) })
      else path.stream.abort(err)
    }
  }

  #pathLost (path: Path, err: Error): void {
    if (this.#path !== path) return
    this.#path = undefined
    this.#pathBlocked = false
    this.#detach(path, err)
    if (this.#state !== 'open') return
    if (this.#key == null) {
      this.#fail(new AssociationClosedError(`Path lost before the association was established: ${err.message}`))
      return
    }
    clearTimeout(this.#resumeTimer)
    this.#resumeAbort = new AbortController()
    this.#resumeTimer = setTimeout(() => {
      this.#fail(new ResumeFailedError(`Path lost and no new one within ${this.#resumeTimeout} ms: ${err.message}`, { cause: err }))
    }, this.#resumeTimeout)
    this.#resumeTimer.unref?.()
    this.#wake()
    if (this.direction === 'outbound') void this.#reconnectLoop(this.#resumeAbort.signal)
  }

  /** Initiator: dial again until a path is resumed, the deadline passes or the responder refuses. */
  async #reconnectLoop (signal: AbortSignal): Promise<void> {
    if (this.#reconnect == null) {
      this.#fail(new ResumeFailedError('Path lost and no way to reconnect was given'))
      return
    }
    for (let attempt = 0; this.#path == null && this.#state === 'open' && !signal.aborted; attempt++) {
      let stream: Stream | undefined
      try {
        stream = await this.#reconnect({ signal: AbortSignal.any([signal, AbortSignal.timeout(this.#openTimeout)]) })
        await this.#resumeOn(stream)
        return
      } catch (err) {
        stream?.abort(err as Error)
        if ((err as Error).name === 'ResumeRefusedError') {
          this.#fail(new ResumeFailedError(`The other end refused to resume: ${(err as Error).message}`, { cause: err }))
          return
        }
        // backoff between attempts: 100 ms doubling to 2 s, cut short by the deadline
        await new Promise<void>(resolve => {
          const t = setTimeout(resolve, Math.min(100 * 2 ** attempt, 2_000))
          signal.addEventListener('abort', () => { clearTimeout(t); resolve() }, { once: true })
        })
      }
    }
  }

  async #resumeOn (stream: Stream): Promise<void> {
    const key = this.#key!
    const token = this.#token!
    const aid = this.#hooks.newAid()
    try {
      const reader = new StreamReader(stream)
      const received = this.#receivedCount
      const proof = initiatorProof(key, token, aid, received)
      stream.send(lengthPrefixed(encodeResume({ token, initiatorAid: aid, received, proof })))
      const reply = decodeResumeReply(await reader.readFrame(MAX_RESUME_REPLY_FRAME_BYTES, 'ResumeReply', AbortSignal.timeout(this.#openTimeout)))
      if (reply.code !== ResumeCode.ACCEPTED) throw new ResumeRefusedError(`Resume refused: ${reply.message || `code ${reply.code}`}`)
      if (!proofsEqual(reply.proof, responderProof(key, token, reply.responderAid, reply.received, proof))) {
        throw new ResumeRefusedError('ResumeReply proof does not verify')
      }
      if (this.#state !== 'open' || this.#path != null) throw new AssociationClosedError('association ended while resuming')
      this.#hooks.releaseAid(this.#localAid)
      this.#localAid = aid
      this.#remoteAid = reply.responderAid
      this.#nextToken()
      this.#adopt({ stream, reader }, reply.received)
    } catch (err) {
      this.#hooks.releaseAid(aid)
      throw err
    }
  }

  /**
   * Responder: a verified-looking Resume for this association arrived on a
   * new stream. Checks the peer and the proof; answers; adopts the path.
   * Returns false (having answered nothing) if the resumption is refused.
   */
  acceptResume (stream: Stream, reader: StreamReader, frame: ResumeFrame, remotePeer: PeerId): boolean {
    const key = this.#key
    const token = this.#token
    if (key == null || token == null || this.#state === 'failed') return false
    if (!remotePeer.equals(this.remotePeer)) return false
    if (!proofsEqual(frame.proof, initiatorProof(key, token, frame.initiatorAid, frame.received))) return false
    const aid = this.#hooks.newAid()
    const proof = responderProof(key, token, aid, this.#receivedCount, frame.proof)
    stream.send(lengthPrefixed(encodeResumeReply({ code: ResumeCode.ACCEPTED, responderAid: aid, received: this.#receivedCount, proof, message: '' })))
    // the old path, if this end still thinks it has one, is dead to the initiator
    const old = this.#path
    if (old != null) {
      this.#path = undefined
      this.#detach(old, new AssociationClosedError('replaced by a resumed path'))
    }
    this.#hooks.releaseAid(this.#localAid)
    this.#localAid = aid
    this.#remoteAid = frame.initiatorAid
    this.#hooks.unregisterToken(token)
    this.#nextToken()
    this.#hooks.registerToken(this.#token!, this)
    this.#adopt({ stream, reader }, frame.received)
    return true
  }

  #nextToken (): void {
    this.#tokenIndex++
    this.#token = resumeToken(this.#key!, this.#tokenIndex)
  }

  #adopt (path: Path, peerReceived: number): void {
    clearTimeout(this.#resumeTimer)
    this.#resumeAbort?.abort()
    const inFlight = this.#acked + this.#unacked.byteLength
    if (peerReceived < this.#acked || peerReceived > inFlight) {
      this.#path = path
      this.abort(new MalformedFrameError(`peer has ${peerReceived} bytes; ${this.#acked}..${inFlight} possible`))
      return
    }
    this.#unacked.consume(peerReceived - this.#acked)
    this.#acked = peerReceived
    this.#written = peerReceived
    if (this.#finWritten && !this.#finAcked) this.#finWritten = false
    this.#path = path
    this.#lastStream = path.stream
    this.#pathBlocked = false
    this.#resumptions++
    if (this.#state === 'done') {
      // the other end missed our last ACK: repeat it, then close again
      this.#sendAck()
      this.#closePath()
      return
    }
    void this.#readPath(path)
    this.#pump()
    this.#sendAck()
    this.#wake()
  }

  #maybeDone (): void {
    if (this.#state !== 'open' || !this.#finAcked || !this.#remoteFin) return
    this.#state = 'done'
    this.#sendAck()
    this.#closePath()
    if (this.direction === 'inbound') {
      // linger: the initiator may have missed our last ACK and come back for it
      this.#lingerTimer = setTimeout(() => { this.#release() }, this.#resumeTimeout)
      this.#lingerTimer.unref?.()
    } else {
      this.#release()
    }
    this.#finish.resolve()
    this.#wake()
  }

  #closePath (): void {
    const path = this.#path
    if (path == null) return
    // both ends have everything: close the path gracefully once our frames are out
    this.#path = undefined
    path.reader.detach()
    path.stream.close().catch((err: Error) => { path.stream.abort(err) })
  }

  #release (): void {
    clearTimeout(this.#lingerTimer)
    clearTimeout(this.#resumeTimer)
    clearTimeout(this.#ackTimer)
    this.#resumeAbort?.abort()
    if (this.#token != null) this.#hooks.unregisterToken(this.#token)
    this.#hooks.releaseAid(this.#localAid)
  }

  #fail (err: Error, flush = false): void {
    if (this.#state !== 'open') return
    this.#state = 'failed'
    this.#failure = err
    const path = this.#path
    this.#path = undefined
    if (path != null) this.#detach(path, flush ? undefined : err)
    this.#release()
    this.#finish.reject(err)
    this.#wake()
  }
}
