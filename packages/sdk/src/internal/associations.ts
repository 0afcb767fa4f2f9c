import { reasonOf } from './log.ts'
import type { Association } from '@fara/demux'
import type { Logger, Stream } from '@libp2p/interface'

/**
 * The associations of one entity, opened or accepted and not finished: ended
 * by the entity's `close()`, and numbered for the log (`#3`): a number links
 * the lines of one association, and says nothing outside this process.
 */
export class Associations {
  readonly #live = new Set<Association>()
  readonly #numbers = new WeakMap<Association, number>()
  readonly #log: Logger
  #count = 0

  constructor (log: Logger) {
    this.#log = log
  }

  /** The number of the next association (for one whose number is logged before it exists). */
  next (): number {
    return ++this.#count
  }

  /** The log's number of a live association (0 if it is not one of this entity's). */
  numberOf (association: Association): number {
    return this.#numbers.get(association) ?? 0
  }

  /**
   * Remember a live association until it finishes, under its number `n`; its
   * end is logged as `close` (with the error's name only: a message may quote
   * the app, which may be a private name).
   */
  track (association: Association, n = this.next()): number {
    this.#live.add(association)
    this.#numbers.set(association, n)
    association.finished.then(() => {
      this.#live.delete(association)
      this.#log('close #%d', n)
    }, (err: unknown) => {
      this.#live.delete(association)
      this.#log('close #%d - %s', n, reasonOf(err, true))
    })
    return n
  }

  /**
   * End every live association with `reason` (the peers learn it at once).
   * Resolves once each one's stream has closed, or when `signal` aborts: a
   * resumable association's ABORT frame goes out behind the data it had
   * queued, and a node stopped before then would lose it (the peer would
   * wait for a resumption that cannot come).
   */
  async abortAll (reason: Error, signal: AbortSignal): Promise<void> {
    const streams = [...this.#live].map((association) => {
      association.abort(reason)
      return association.stream
    })
    this.#live.clear()
    await Promise.all(streams.map(async stream => { await closed(stream, signal) }))
  }
}

/** Resolve once `stream` is closed both ways (or reset), or when `signal` aborts. */
export async function closed (stream: Stream, signal: AbortSignal): Promise<void> {
  if (stream.status !== 'open' && stream.status !== 'closing') return
  if (signal.aborted) return
  await new Promise<void>((resolve) => {
    const done = (): void => {
      stream.removeEventListener('close', done)
      signal.removeEventListener('abort', done)
      resolve()
    }
    stream.addEventListener('close', done)
    signal.addEventListener('abort', done)
  })
}
