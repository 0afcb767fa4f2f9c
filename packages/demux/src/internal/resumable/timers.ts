import { ACK_DELAY_MS } from '../../constants.ts'
import { AssociationClosedError, ResumeFailedError } from '../../errors.ts'
import type { Stream } from '@libp2p/interface'

// Every timer of a resumable association (spec/resumption.md#timing), one
// function each: what arms it, for how long, and what its expiry does.

/** How long closing a path may take to send what is queued on it (ms) before it is reset instead. */
export const PATH_CLOSE_TIMEOUT_MS = 5_000

/** The initiator's first reconnect backoff (ms), doubled after each failed attempt… */
const BACKOFF_FIRST_MS = 100
/** …up to this (ms). */
const BACKOFF_MAX_MS = 2_000

/** A one-shot timer that does not keep the process alive. */
export class Timer {
  readonly #expired: () => void
  #handle: ReturnType<typeof setTimeout> | undefined

  constructor (expired: () => void) {
    this.#expired = expired
  }

  /** (Re)arm the timer to expire in `ms`. */
  start (ms: number): this {
    this.stop()
    this.#handle = setTimeout(() => {
      this.#handle = undefined
      this.#expired()
    }, ms)
    this.#handle.unref?.()
    return this
  }

  stop (): void {
    clearTimeout(this.#handle)
    this.#handle = undefined
  }
}

/**
 * Armed by a consumption too small to acknowledge at once: acknowledges it
 * `ACK_DELAY_MS` later, unless an ACK went first (spec/resumption.md#data-frames).
 */
export function ackDelay (sendAck: () => void): Timer {
  return new Timer(sendAck).start(ACK_DELAY_MS)
}

/**
 * Armed when a path is lost: unless a new path is adopted within `ms` (and the
 * timer stopped), fails the association with `ResumeFailedError`.
 */
export function resumeDeadline (ms: number, cause: Error, fail: (err: Error) => void): Timer {
  return new Timer(() => {
    fail(new ResumeFailedError(`Path lost and no new one within ${ms} ms: ${cause.message}`, { cause }))
  }).start(ms)
}

/**
 * Armed when a responder's association closed cleanly: keeps its token for
 * `ms`, so that an initiator that missed the last ACK can resume and get it
 * again, then releases the token and the AId (spec/resumption.md#closing).
 */
export function linger (ms: number, release: () => void): Timer {
  return new Timer(release).start(ms)
}

/**
 * Between the initiator's reconnect attempts (`attempt` counts from 0): waits
 * 100 ms doubling to 2 s, cut short when `signal` aborts (a path was adopted,
 * or the association ended).
 */
export async function reconnectBackoff (attempt: number, signal: AbortSignal): Promise<void> {
  await new Promise<void>(resolve => {
    const done = (): void => { clearTimeout(t); signal.removeEventListener('abort', done); resolve() }
    const t = setTimeout(done, Math.min(BACKOFF_FIRST_MS * 2 ** attempt, BACKOFF_MAX_MS))
    signal.addEventListener('abort', done, { once: true })
  })
}

/**
 * Close `stream` once what is queued on it is sent; reset it if that takes
 * longer than {@link PATH_CLOSE_TIMEOUT_MS}.
 */
export function closeWithin (stream: Stream): void {
  stream.close({ signal: AbortSignal.timeout(PATH_CLOSE_TIMEOUT_MS) }).catch(() => { stream.abort(new AssociationClosedError('path closed')) })
}
