import { sourceOf as addressSourceOf } from '@fara/transport'
import type { Connection } from '@libp2p/interface'

/**
 * Limits on refused opens and resumptions (spec/security.md#guessing): per
 * connection, per key with backoff, and per source address without ever
 * blocking it (its neighbours share it).
 */
export interface GuessLimits {
  /** Refusals one connection may cause; the next one closes it, so a guesser pays a new handshake. */
  perConnection: number
  /** Refusals a key (remote peer id) may collect at once before it is blocked. */
  burst: number
  /** Refusals per second a key earns back. */
  rate: number
  /** How long a key's first block lasts, in ms; each block that follows within `maxBlockMs` of the last one's end doubles it. */
  blockMs: number
  /** The longest block, in ms (backoff cap). */
  maxBlockMs: number
  /** Refusals a source address (IPv4, IPv6 /64) may collect at once before it is throttled: each of its connections is then closed at its first refusal. */
  sourceBurst: number
  /** Refusals per second a source address earns back. */
  sourceRate: number
  /** Most keys, and most sources, remembered at once; the least recently seen are forgotten first. */
  maxSources: number
}

/**
 * A guesser held back (spec/security.md#guessing), an event of the entity:
 * `connection` closed after too many refusals on it; `peer` (a key) blocked
 * for `blockMs`, its streams reset and its connections closed meanwhile;
 * `source` (an address) throttled for `blockMs`: each of its connections is
 * closed at its first refusal, while its connections that cause no refusal
 * (its neighbours behind the same NAT) are served as before. Reported at
 * most once per scope and source every `REFUSAL_REPORT_INTERVAL_MS` (10 s).
 */
export interface GuessBlock {
  readonly scope: 'connection' | 'peer' | 'source'
  /** The remote peer of the connection whose refusal caused it. */
  readonly peer: string
  /** Its source: the remote address (IPv4, IPv6 /64), or `relayed` for a connection through a relay. */
  readonly source: string
  /** The connection's remote multiaddr. */
  readonly remoteAddr: string
  /** How long the key is blocked or the source throttled, in ms (0 for a connection). */
  readonly blockMs: number
  /** Why the last open or resumption was refused. */
  readonly reason: string
  /** Blocks of this scope at this source since the last report, this one included. */
  readonly blocks: number
}

/** What the entity should do about a refusal. */
export interface GuessVerdict {
  /** Close this connection. */
  closeConnection: boolean
  /** Close every connection of this peer (its key was just blocked). */
  closePeer: boolean
  /** The blocks it caused (connection, key, source), for events and log lines. */
  blocks: Array<Omit<GuessBlock, 'peer' | 'remoteAddr' | 'reason' | 'blocks'>>
}

/**
 * Who is guessing, for the per-source limit: the remote address (IPv4, IPv6
 * /64) of a direct connection, or `relayed`: a relayed connection's IP is the
 * relay's, shared by everyone behind it, so only its key and its connection
 * are limited here.
 */
export function sourceOf (connection: Connection): string {
  return addressSourceOf(connection.remoteAddr)?.address ?? 'relayed'
}

/** A token bucket with a block that backs off. */
interface Bucket { tokens: number, at: number, until: number, level: number }

/** Token buckets with exponential backoff, bounded in how many keys they remember (least recently seen forgotten first). */
class Backoff {
  readonly #entries = new Map<string, Bucket>()
  readonly #burst: number
  readonly #rate: number
  readonly #limits: GuessLimits
  readonly #now: () => number

  constructor (burst: number, rate: number, limits: GuessLimits, now: () => number) {
    this.#burst = burst
    this.#rate = rate
    this.#limits = limits
    this.#now = now
  }

  /** True while `key` is blocked. */
  blocked (key: string): boolean {
    const e = this.#entries.get(key)
    return e != null && e.until > this.#now()
  }

  /** Count one refusal of `key`: the block it starts now (ms), else 0. */
  refused (key: string): number {
    const now = this.#now()
    let e = this.#entries.get(key)
    if (e == null) {
      e = { tokens: this.#burst, at: now, until: 0, level: 0 }
      if (this.#entries.size >= this.#limits.maxSources) {
        const oldest = this.#entries.keys().next().value
        if (oldest != null) this.#entries.delete(oldest)
      }
    } else {
      this.#entries.delete(key) // re-inserted below: Map order is recency
      e.tokens = Math.min(this.#burst, e.tokens + (now - e.at) * this.#rate / 1000)
      e.at = now
    }
    this.#entries.set(key, e)
    if (e.until > now) return 0
    e.tokens -= 1
    if (e.tokens >= 0) return 0
    e.tokens = 0
    // a quiet spell as long as the longest block forgets the backoff
    if (e.until !== 0 && now - e.until > this.#limits.maxBlockMs) e.level = 0
    const ms = Math.min(this.#limits.maxBlockMs, this.#limits.blockMs * 2 ** e.level)
    e.level++
    e.until = now + ms
    return ms
  }
}

/**
 * Counts the refusals a guesser causes: an AId or a resumption token is 64 or
 * 128 random bits, so guessing cannot succeed; this bounds what a guesser
 * costs the entity, and makes it pay a new connection (a full authenticated
 * handshake) every few guesses, without shutting out the other clients at its
 * address.
 */
export class GuessLimiter {
  readonly #limits: GuessLimits
  readonly #perConnection = new WeakMap<Connection, number>()
  readonly #keys: Backoff
  readonly #sources: Backoff

  constructor (limits: GuessLimits, now: () => number = Date.now) {
    for (const [k, v] of Object.entries(limits)) {
      if (!(typeof v === 'number' && v > 0)) throw new RangeError(`guess limit ${k} must be a positive number, got ${String(v)}`)
    }
    this.#limits = limits
    this.#keys = new Backoff(limits.burst, limits.rate, limits, now)
    this.#sources = new Backoff(limits.sourceBurst, limits.sourceRate, limits, now)
  }

  /** True while the connection's key is blocked: its streams are reset unread. */
  blocked (connection: Connection): boolean {
    return this.#keys.blocked(connection.remotePeer.toString())
  }

  /** Count one refusal on `connection` (from `source`, {@link sourceOf}). */
  refused (connection: Connection, source: string): GuessVerdict {
    const verdict: GuessVerdict = { closeConnection: false, closePeer: false, blocks: [] }
    const throttled = source !== 'relayed' && this.#sources.blocked(source)
    const sourceMs = source === 'relayed' ? 0 : this.#sources.refused(source)
    if (sourceMs > 0) verdict.blocks.push({ scope: 'source', source, blockMs: sourceMs })
    const keyMs = this.#keys.refused(connection.remotePeer.toString())
    if (keyMs > 0) {
      verdict.blocks.push({ scope: 'peer', source, blockMs: keyMs })
      verdict.closePeer = true
    }
    const count = (this.#perConnection.get(connection) ?? 0) + 1
    this.#perConnection.set(connection, count)
    // a throttled source gets one guess per connection, anyone else perConnection
    if (throttled || sourceMs > 0 || count > this.#limits.perConnection) {
      verdict.closeConnection = true
      verdict.blocks.push({ scope: 'connection', source, blockMs: 0 })
    }
    return verdict
  }
}
