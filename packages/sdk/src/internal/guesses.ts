import type { Connection } from '@libp2p/interface'

/** Limits on refused opens and resumptions from one source (spec/security.md#guessing). */
export interface GuessLimits {
  /** Refusals a source may collect at once before it is blocked. */
  burst: number
  /** Refusals per second a source earns back. */
  rate: number
  /** How long a source that ran out stays blocked, in ms. */
  blockMs: number
  /** Most sources remembered at once; the least recently seen are forgotten first. */
  maxSources: number
}

/**
 * Who is guessing: the remote IP of a direct connection, or the remote peer
 * of a relayed one (blocking the relay's IP would block everyone behind it).
 */
export function sourceOf (connection: Connection): string {
  const parts = connection.remoteAddr.getComponents()
  if (parts.some(c => c.name === 'p2p-circuit')) return `peer:${connection.remotePeer.toString()}`
  const ip = parts.find(c => c.name === 'ip4' || c.name === 'ip6')?.value
  return ip == null ? `peer:${connection.remotePeer.toString()}` : `ip:${ip}`
}

/**
 * Token buckets of refusals per source. An AId or a resumption token is 64 or
 * 128 random bits, so guessing cannot succeed; this bounds what a guesser
 * costs the entity and makes the guessing visible.
 */
export class GuessLimiter {
  readonly #limits: GuessLimits
  readonly #now: () => number
  readonly #sources = new Map<string, { tokens: number, at: number, blockedUntil: number }>()

  constructor (limits: GuessLimits, now: () => number = Date.now) {
    for (const [k, v] of Object.entries(limits)) {
      if (!(typeof v === 'number' && v > 0)) throw new RangeError(`guess limit ${k} must be a positive number, got ${String(v)}`)
    }
    this.#limits = limits
    this.#now = now
  }

  /** True while `source` is blocked. */
  blocked (source: string): boolean {
    const s = this.#sources.get(source)
    return s != null && s.blockedUntil > this.#now()
  }

  /** Count one refusal; returns true if `source` is now blocked. */
  refused (source: string): boolean {
    const now = this.#now()
    let s = this.#sources.get(source)
    if (s == null) {
      s = { tokens: this.#limits.burst, at: now, blockedUntil: 0 }
      if (this.#sources.size >= this.#limits.maxSources) {
        const oldest = this.#sources.keys().next().value
        if (oldest != null) this.#sources.delete(oldest)
      }
    } else {
      this.#sources.delete(source)
      s.tokens = Math.min(this.#limits.burst, s.tokens + (now - s.at) * this.#limits.rate / 1000)
      s.at = now
    }
    this.#sources.set(source, s)
    s.tokens -= 1
    if (s.tokens < 0) {
      s.blockedUntil = now + this.#limits.blockMs
      s.tokens = 0
      return true
    }
    return false
  }
}
