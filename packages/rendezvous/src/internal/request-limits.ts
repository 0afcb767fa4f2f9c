import { RateLimiter } from './rate-limit.ts'
import type { Source } from '@fara/transport'

/** A token bucket: `rate` requests per second, up to `burst` at once. */
export interface Bucket { rate: number, burst: number }

/** What a refused request exceeded: the limit, what it counts (a peer id, an address, a prefix) and when a token is free. */
export interface RequestRefusal {
  readonly limit: 'peer' | 'address' | 'prefix'
  readonly key: string
  readonly bucket: Bucket
  readonly wait: number
}

/**
 * Request rates at a rendezvous point per peer id, per source address and per
 * source prefix (spec/rendezvous.md#rate-limits). A request takes a token from
 * all three or from none: a refused one costs its sender's neighbours nothing.
 */
export class RequestLimits {
  readonly #limits: Array<{ limit: RequestRefusal['limit'], bucket: Bucket, limiter: RateLimiter }>

  constructor (buckets: Record<RequestRefusal['limit'], Bucket>, maxPeers: number, maxSources: number, now?: () => number) {
    this.#limits = (['peer', 'address', 'prefix'] as const).map(limit => ({
      limit,
      bucket: buckets[limit],
      limiter: new RateLimiter(buckets[limit].rate, buckets[limit].burst, limit === 'peer' ? maxPeers : maxSources, now)
    }))
  }

  /** Take a token for one request of `peer` from `source` (none for a relayed connection): undefined if allowed, else what refused it. */
  take (peer: string, source: Source | undefined): RequestRefusal | undefined {
    const keys = [peer, source?.address, source?.prefix]
    for (const [i, l] of this.#limits.entries()) {
      const key = keys[i]
      if (key == null) continue
      const wait = l.limiter.wait(key)
      if (wait > 0) return { limit: l.limit, key, bucket: l.bucket, wait }
    }
    for (const [i, l] of this.#limits.entries()) {
      const key = keys[i]
      if (key != null) l.limiter.take(key)
    }
    return undefined
  }
}
