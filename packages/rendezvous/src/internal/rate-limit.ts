/**
 * Token buckets per key (a peer id), bounded in how many keys they remember:
 * `rate` tokens per second, up to `burst`. The least recently seen key is
 * forgotten first, which can only make a forgotten peer's next request free.
 */
export class RateLimiter {
  readonly #buckets = new Map<string, { tokens: number, at: number }>()
  readonly #rate: number
  readonly #burst: number
  readonly #max: number
  readonly #now: () => number

  constructor (rate: number, burst: number, maxKeys: number, now: () => number = Date.now) {
    if (!(rate > 0) || !(burst >= 1) || !(maxKeys >= 1)) {
      throw new RangeError(`rate, burst and maxKeys must be positive, got ${rate}, ${burst}, ${maxKeys}`)
    }
    this.#rate = rate
    this.#burst = burst
    this.#max = maxKeys
    this.#now = now
  }

  /** The ms until `key` has a token (0: it has one now), without taking it or remembering the key. */
  wait (key: string): number {
    const bucket = this.#buckets.get(key)
    if (bucket == null) return 0
    const tokens = Math.min(this.#burst, bucket.tokens + (this.#now() - bucket.at) * this.#rate / 1000)
    return tokens >= 1 ? 0 : Math.ceil((1 - tokens) * 1000 / this.#rate)
  }

  /** Take one token for `key`: 0 if allowed, else the ms to wait until one is available. */
  take (key: string): number {
    const now = this.#now()
    let bucket = this.#buckets.get(key)
    if (bucket == null) {
      bucket = { tokens: this.#burst, at: now }
      if (this.#buckets.size >= this.#max) {
        const oldest = this.#buckets.keys().next().value
        if (oldest != null) this.#buckets.delete(oldest)
      }
    } else {
      this.#buckets.delete(key) // re-inserted below: Map order is recency
      bucket.tokens = Math.min(this.#burst, bucket.tokens + (now - bucket.at) * this.#rate / 1000)
      bucket.at = now
    }
    this.#buckets.set(key, bucket)
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1
      return 0
    }
    return Math.ceil((1 - bucket.tokens) * 1000 / this.#rate)
  }
}
