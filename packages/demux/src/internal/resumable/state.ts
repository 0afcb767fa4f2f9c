import { closeWithin } from './timers.ts'
import type { Timer } from './timers.ts'
import type { StreamReader } from '../reader.ts'
import type { PathRecords } from '../records.ts'
import type { AbortOptions, Stream } from '@libp2p/interface'
import type { Uint8ArrayList } from 'uint8arraylist'

/** One path of a resumable association: a libp2p stream and its only reader. */
export interface Path {
  readonly stream: Stream
  readonly reader: StreamReader
  /** The record path on this path's connection, once the association has its key and the connection has one (spec/resumption.md#records). */
  records?: PathRecords
}

/** Write frames on `path`: on the stream, or as records once this end moved. Returns false when the caller should wait for {@link drained}. */
export function write (path: Path, data: Uint8Array | Uint8ArrayList): boolean {
  return path.records == null ? path.stream.send(data) : path.records.send(data)
}

/** Resolves when what carries `path`'s frames takes more. */
export async function drained (path: Path, options?: AbortOptions): Promise<void> {
  await (path.records == null ? path.stream.onDrain(options) : path.records.onDrain(options))
}

/**
 * Where a resumable association stands (spec/resumption.md), as one value:
 * the path that carries it, if any, and the timers that run for it.
 *
 * ```
 * establishing ──accepted──▶ attached ──path lost──▶ resuming ──path adopted──▶ attached
 *      │                        │                       │
 *      │                        └──both FINs acked──▶ closed (the responder lingers for a late resumption)
 *      └──────── path lost, abort, ABORT frame, refusal, deadline (any open state) ────────▶ failed
 * ```
 *
 * Closing is not a state of the path: a FIN is queued, written and
 * acknowledged by the send window (`SendWindow.fin`) whichever path carries
 * it, and a path may be lost and resumed while it does.
 */
export type PathState =
  /** The first path carries the Open; there is no key yet, so losing the path ends the association. */
  | { readonly kind: 'establishing', readonly path: Path }
  /** A path carries the frames. */
  | { readonly kind: 'attached', readonly path: Path }
  /**
   * The path was lost (`cause`). Unless a new one is adopted first, `deadline`
   * fails the association; the initiator redials until `redial` is aborted.
   */
  | { readonly kind: 'resuming', readonly cause: Error, readonly deadline: Timer, readonly redial: AbortController }
  /**
   * Both FINs went through and were acknowledged: `finished` resolved. The
   * responder keeps its token until `linger` expires, for an initiator that
   * missed the last ACK.
   */
  | { readonly kind: 'closed', readonly linger: Timer | undefined }
  /** Ended by `error` (`finished` rejected with it); the path is gone. */
  | { readonly kind: 'failed', readonly error: Error }

/** The states in which the association still carries data. */
export type OpenState = Extract<PathState, { kind: 'establishing' | 'attached' | 'resuming' }>

export function isOpen (state: PathState): state is OpenState {
  return state.kind === 'establishing' || state.kind === 'attached' || state.kind === 'resuming'
}

/** The path that carries the association in `state`, if any. */
export function pathOf (state: PathState): Path | undefined {
  return state.kind === 'establishing' || state.kind === 'attached' ? state.path : undefined
}

/** What leaving `state` stops: a resumption's deadline and its redial. */
export function leave (state: PathState): void {
  if (state.kind !== 'resuming') return
  state.deadline.stop()
  state.redial.abort()
}

/** What the send and receive windows need of the association they belong to. */
export interface Link {
  /** The path frames go to now, if any. */
  path (): Path | undefined
  /** A write on `path` failed: the path is lost (nothing happens if it is no longer the current one). */
  lost (path: Path, err: Error): void
  /** Something a caller may wait for changed: data, window, the FIN, a failure. */
  wake (): void
}

/**
 * Stop reading `path` and end its stream: reset it with `err`, or, without
 * one, drop what still arrives and close it once what is queued on it is sent
 * (bounded: a peer that reads nothing cannot hold the path open).
 */
export function detach (path: Path, err?: Error): void {
  path.reader.detach()
  path.records?.release()
  if (path.stream.status !== 'open') return
  if (err != null) {
    path.stream.abort(err)
    return
  }
  // nothing more is read from this path: what still arrives is dropped, not buffered until the
  // stream's read limit resets it (which would cut off the frames still queued to go out)
  path.stream.closeRead().catch(() => {})
  closeWithin(path.stream)
}

/** Both ends have everything: stop reading `path` and close it gracefully once this end's frames are out. */
export function closeGracefully (path: Path): void {
  path.reader.detach()
  path.records?.release()
  path.stream.close().catch((err: Error) => { path.stream.abort(err) })
}

/** Callers waiting for the association to change, woken together. */
export class Waiters {
  readonly #waiting = new Set<() => void>()

  wake (): void {
    for (const w of [...this.#waiting]) w()
  }

  /** Resolve when `ready()` holds; reject with `failure()` once there is one, or on abort. */
  async until (ready: () => boolean, failure: () => Error | undefined, signal?: AbortSignal): Promise<void> {
    while (!ready()) {
      const err = failure()
      if (err != null) throw err
      signal?.throwIfAborted()
      await new Promise<void>((resolve) => {
        const done = (): void => { this.#waiting.delete(done); signal?.removeEventListener('abort', done); resolve() }
        this.#waiting.add(done)
        signal?.addEventListener('abort', done, { once: true })
      })
    }
  }
}
