import { MAX_POINT_MESSAGE_BYTES } from '../constants.ts'
import { FrameReader, frame } from '../internal/frames.ts'
import { deferred } from '../internal/deferred.ts'
import type { Stream, StreamCloseEvent, StreamMessageEvent } from '@libp2p/interface'

/**
 * A session ended before it answered a request. `unprocessed` is true when
 * the point closed it in order (its side ended after its last answer): by
 * the protocol, a request it did not answer then was not read, so sending it
 * again cannot apply it twice.
 */
export class SessionEndedError extends Error {
  static override name = 'SessionEndedError'
  override name = 'SessionEndedError'
  readonly unprocessed: boolean
  constructor (message: string, unprocessed: boolean, options?: ErrorOptions) {
    super(message, options)
    this.unprocessed = unprocessed
  }
}

interface Pending {
  resolve: (body: Uint8Array) => void
  reject: (err: Error) => void
  /** Settled already (its caller gave up): its answer is read and dropped, to keep the order. */
  done: boolean
}

/**
 * The client's end of one session stream (spec/rendezvous.md#sessions):
 * requests are written as they come, at most `maxInFlight` unanswered, and
 * answers are matched to them in order. It closes itself after `idleMs`
 * without a request outstanding (counted from its last answer); once ended it
 * takes no more requests.
 */
export class ClientSession {
  readonly #stream: Stream
  readonly #reader = new FrameReader(MAX_POINT_MESSAGE_BYTES)
  readonly #pending: Pending[] = []
  readonly #waiters: Array<() => void> = []
  readonly #maxInFlight: number
  readonly #idleMs: number
  #idle: ReturnType<typeof setTimeout> | undefined
  #ended: SessionEndedError | undefined

  constructor (stream: Stream, maxInFlight: number, idleMs: number) {
    this.#stream = stream
    this.#maxInFlight = maxInFlight
    this.#idleMs = idleMs
    stream.addEventListener('message', this.#onMessage)
    // 'end': the point closed its side and every byte before that was dispatched
    stream.addEventListener('end', this.#onRemoteClose)
    stream.addEventListener('close', this.#onClose)
    // no idle timer before the first request: a session opened ahead of it (prepare) waits for it, until the point closes it
  }

  /** False once the session ended (closed, reset, idle or broken): open a new one. */
  get usable (): boolean {
    return this.#ended == null
  }

  /**
   * Send one request body and resolve with the answer's body. Rejects with
   * {@link SessionEndedError} if the session ends first, or with the
   * signal's reason when it aborts (the session stays usable).
   */
  async request (body: Uint8Array, signal: AbortSignal): Promise<Uint8Array> {
    while (this.#pending.length >= this.#maxInFlight && this.#ended == null) await this.#slot(signal)
    if (this.#ended != null) throw this.#ended
    signal.throwIfAborted()
    clearTimeout(this.#idle)
    this.#idle = undefined
    const { promise, resolve, reject } = deferred<Uint8Array>()
    const pending: Pending = { resolve, reject, done: false }
    this.#pending.push(pending)
    try {
      // one buffer, one Yamux frame; the in-flight bound keeps what can queue small
      this.#stream.send(frame(body))
    } catch (err) {
      this.#end(new SessionEndedError(`rendezvous session not writable: ${(err as Error).message}`, false, { cause: err }))
    }
    const onAbort = (): void => {
      if (pending.done) return
      pending.done = true
      reject(signal.reason as Error)
    }
    signal.addEventListener('abort', onAbort, { once: true })
    try {
      return await promise
    } finally {
      signal.removeEventListener('abort', onAbort)
    }
  }

  /** Reset the stream: every request outstanding fails with `reason`. */
  abort (reason: SessionEndedError): void {
    this.#end(reason)
    this.#stream.abort(reason)
  }

  async #slot (signal: AbortSignal): Promise<void> {
    signal.throwIfAborted()
    const { promise, resolve, reject } = deferred<void>()
    const onAbort = (): void => { reject(signal.reason as Error) }
    this.#waiters.push(resolve)
    signal.addEventListener('abort', onAbort, { once: true })
    try {
      await promise
    } finally {
      signal.removeEventListener('abort', onAbort)
      const i = this.#waiters.indexOf(resolve)
      if (i >= 0) this.#waiters.splice(i, 1)
    }
  }

  readonly #onMessage = (evt: StreamMessageEvent): void => {
    if (this.#ended != null) return
    this.#reader.push(evt.data)
    for (;;) {
      let body
      try {
        body = this.#reader.next()
      } catch (err) {
        // an answer over the bound: the frames cannot be followed any more
        this.abort(new SessionEndedError(`rendezvous point sent an unreadable answer: ${(err as Error).message}`, false, { cause: err }))
        return
      }
      if (body == null) return
      const pending = this.#pending.shift()
      if (pending == null) {
        this.abort(new SessionEndedError('rendezvous point sent an answer to no request', false))
        return
      }
      this.#waiters.shift()?.()
      if (!pending.done) {
        pending.done = true
        pending.resolve(body)
      }
      if (this.#pending.length === 0) this.#armIdle()
    }
  }

  readonly #onRemoteClose = (): void => {
    // a FIN alone (the stream still open): the point ended its side after its last answer, nothing unanswered was read;
    // a reset, or the connection gone, says nothing about what it read
    const inOrder = this.#stream.status === 'open'
    this.#end(new SessionEndedError(inOrder ? 'rendezvous point closed the session' : `rendezvous session ${this.#stream.status}`, inOrder))
    this.#stream.close().catch(() => { this.#stream.abort(new Error('session close failed')) })
  }

  readonly #onClose = (evt: StreamCloseEvent): void => {
    const message = evt.error == null ? 'rendezvous session closed' : `rendezvous session reset: ${evt.error.message}`
    this.#end(new SessionEndedError(message, false, { cause: evt.error }))
  }

  #armIdle (): void {
    clearTimeout(this.#idle)
    this.#idle = setTimeout(() => {
      if (this.#pending.length > 0 || this.#ended != null) return
      this.#end(new SessionEndedError('rendezvous session idle', true))
      this.#stream.close().catch(() => { this.#stream.abort(new Error('session close failed')) })
    }, this.#idleMs)
    this.#idle.unref?.()
  }

  #end (reason: SessionEndedError): void {
    if (this.#ended != null) return
    this.#ended = reason
    clearTimeout(this.#idle)
    this.#reader.clear()
    for (const p of this.#pending.splice(0)) {
      if (p.done) continue
      p.done = true
      p.reject(reason)
    }
    for (const wake of this.#waiters.splice(0)) wake()
    this.#stream.removeEventListener('message', this.#onMessage)
  }
}
