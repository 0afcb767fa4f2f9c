/**
 * The listener's memory of first flights (spec/unobservable.md#replay): a
 * hello is accepted once, and only if its time is within `windowMs` of the
 * listener's clock and not before the filter was made (a restarted listener
 * has forgotten what it saw, so it refuses what was sent before it started).
 *
 * Tags live in three generations rotated every `windowMs`, so each one is
 * remembered for at least twice the window: as long as its time can be
 * accepted. Each generation holds at most `maxPerWindow` tags; when the
 * current one is full, new hellos are refused until the next rotation
 * (failing closed: a replay is never let through to make room).
 */
/** A replay memory's answer on a hello: why it is refused, or null (accepted, and now remembered). */
export type ReplayVerdict = 'stale' | 'replay' | 'full' | null

/**
 * What a listener asks about each authenticated hello. One memory may serve
 * several processes that share a listening socket (a rendezvous point's
 * workers): then its answer is asynchronous, and a rejected promise refuses.
 */
export interface ReplayMemory {
  check: (time: number, tag: Uint8Array) => ReplayVerdict | Promise<ReplayVerdict>
}

export class ReplayFilter implements ReplayMemory {
  readonly #windowMs: number
  readonly #max: number
  readonly #now: () => number
  readonly #notBefore: number
  #generations: Array<Set<string>> = [new Set(), new Set(), new Set()]
  #rotatedAt: number

  constructor (windowMs: number, maxPerWindow: number, now: () => number = Date.now) {
    this.#windowMs = windowMs
    this.#max = maxPerWindow
    this.#now = now
    this.#notBefore = now()
    this.#rotatedAt = this.#notBefore
  }

  /** Why a hello with this `time` and `tag` is refused, or null if it is accepted (and now remembered). */
  check (time: number, tag: Uint8Array): ReplayVerdict {
    const now = this.#now()
    if (time < this.#notBefore || Math.abs(now - time) > this.#windowMs) return 'stale'
    while (now - this.#rotatedAt >= this.#windowMs) {
      this.#generations = [new Set(), this.#generations[0]!, this.#generations[1]!]
      this.#rotatedAt += this.#windowMs
      if (now - this.#rotatedAt >= 3 * this.#windowMs) this.#rotatedAt = now // long idle: all three are empty
    }
    const key = Buffer.from(tag.buffer, tag.byteOffset, tag.byteLength).toString('base64')
    if (this.#generations.some(g => g.has(key))) return 'replay'
    const current = this.#generations[0]!
    if (current.size >= this.#max) return 'full'
    current.add(key)
    return null
  }
}
