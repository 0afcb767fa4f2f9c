import { multiaddr } from '@multiformats/multiaddr'
import { MAX_SCHEDULES } from './constants.ts'
import { parseHost, tcpTarget, withPort } from './internal/addr.ts'
import { checkHopParams, decodeHopParams, sameHopParams } from './params.ts'
import { createSchedule } from './schedule.ts'
import type { HopParams } from './params.ts'
import type { Schedule } from './schedule.ts'
import type { TcpTarget } from './internal/addr.ts'
import type { Multiaddr } from '@multiformats/multiaddr'

/**
 * The schedules a dialer knows, by host: the book {@link hoppingTcp} consults
 * on every dial. A TCP address `/<host>/tcp/<port>` whose host has a schedule
 * whose range holds `port` is dialled by that schedule, whatever `port` says
 * (spec/port-hopping.md#dialing). Fill it from private rendezvous records.
 */
export interface HopSchedules {
  /**
   * Record the schedule of a host. An entry of the same host whose range
   * overlaps this one is replaced (two schedules on one host with overlapping
   * ranges would collide on ports anyway). Throws a `RangeError` when the book
   * already holds {@link MAX_SCHEDULES} entries.
   */
  set(host: string, params: HopParams): void
  /**
   * Learn a service's schedule from its private record: check `params` (the
   * record's `hop` field as bytes, or decoded parameters) and {@link set} it
   * for the host of each hop address in `addrs`, that is each
   * `/<host>/tcp/<port>[/…]` address, not through a relay, whose port lies in
   * the range (spec/port-hopping.md#dialing). Returns those addresses: from
   * now on a dial to any of them follows the schedule. Other addresses are
   * left alone; the parameters are checked even when none qualifies.
   *
   * @throws {@link InvalidHopParamsError} when `params` are bytes that do not decode.
   * @throws {@link UnsupportedHopVersionError} when they are of a version this implementation does not know.
   * @throws `TypeError` when `addrs` is not an array of multiaddrs, or decoded `params` have a wrong type.
   * @throws `RangeError` when decoded `params` break a range, or the book would pass {@link MAX_SCHEDULES} entries.
   */
  learn(addrs: Multiaddr[], params: Uint8Array | HopParams): Multiaddr[]
  /** The schedule that covers `port` on `host`, if any. */
  get(host: string, port: number): Schedule | undefined
  /** The schedule that covers a `/<host>/tcp/<port>[/…]` address, if any. */
  find(ma: Multiaddr): Schedule | undefined
  /** Forget the schedules of a host; true if there were any. */
  delete(host: string): boolean
  /** Forget every schedule. */
  clear(): void
  /** Number of schedules held. */
  readonly size: number
}

/** Options of {@link hopSchedules}. */
export interface HopSchedulesInit {
  /** Clock of the schedules in the book (ms since the Unix epoch); default `Date.now`. */
  now?: () => number
}

/**
 * Make an empty book of schedules, to share between the code that resolves
 * records and {@link hoppingTcp} (`hoppingTcp({ schedules })`).
 *
 * @example
 * ```ts
 * import { createHopParams, decodeHopParams, encodeHopParams, hopAddr, hopSchedules } from '@fara/port-hopping'
 *
 * const hop = encodeHopParams(createHopParams()) // stands for the `hop` field of the service's private record
 * const params = decodeHopParams(hop)
 * const schedules = hopSchedules()
 * schedules.set('203.0.113.7', params)
 * console.log(schedules.find(hopAddr('203.0.113.7', params))?.current()) // { slot, port }: where to dial now
 *
 * // or straight from a resolved record: its addresses and its `hop` field
 * const learned = schedules.learn([hopAddr('198.51.100.4', params)], hop)
 * console.log(learned.map(String)) // the addresses now dialled by the schedule
 * ```
 *
 * @throws `TypeError` when `init.now` is not a function.
 * @throws `RangeError` from `set`, when the book already holds {@link MAX_SCHEDULES} entries or `host` is not an IP address or DNS name.
 */
export function hopSchedules (init: HopSchedulesInit = {}): HopSchedules {
  if (init.now != null && typeof init.now !== 'function') throw new TypeError(`init.now must be a function, got ${typeof init.now}`)
  return new Book(init.now)
}

class Book implements HopSchedules {
  readonly #now: (() => number) | undefined
  readonly #byHost = new Map<string, Schedule[]>()
  #size = 0

  constructor (now: (() => number) | undefined) {
    this.#now = now
  }

  get size (): number { return this.#size }

  set (host: string, params: HopParams): void {
    const { key } = parseHost(host)
    const p = checkHopParams(params)
    const kept = (this.#byHost.get(key) ?? []).filter(s => s.params.range.end < p.range.start || s.params.range.start > p.range.end)
    const existing = this.#byHost.get(key)?.find(s => sameHopParams(s.params, p))
    const replaced = (this.#byHost.get(key)?.length ?? 0) - kept.length
    if (existing == null && this.#size - replaced >= MAX_SCHEDULES) {
      throw new RangeError(`schedules holds at most ${MAX_SCHEDULES} entries; delete some first`)
    }
    const schedule = existing ?? createSchedule(this.#now == null ? p : { ...p, now: this.#now })
    this.#byHost.set(key, [...kept, schedule])
    this.#size += 1 - replaced
  }

  learn (addrs: Multiaddr[], params: Uint8Array | HopParams): Multiaddr[] {
    if (!Array.isArray(addrs)) throw new TypeError(`addrs must be an array of multiaddrs, got ${typeof addrs}`)
    const p = params instanceof Uint8Array ? decodeHopParams(params) : checkHopParams(params)
    const learned: Multiaddr[] = []
    for (const [i, ma] of addrs.entries()) {
      if (typeof (ma as Partial<Multiaddr> | null)?.getComponents !== 'function') throw new TypeError(`addrs[${i}] must be a multiaddr, got ${ma === null ? 'null' : typeof ma}`)
      const target = hopTarget(ma, p)
      if (target == null) continue
      this.set(target.host, p)
      learned.push(ma)
    }
    return learned
  }

  get (host: string, port: number): Schedule | undefined {
    let key: string
    try {
      key = parseHost(host).key
    } catch {
      return undefined
    }
    return this.#byHost.get(key)?.find(s => port >= s.params.range.start && port <= s.params.range.end)
  }

  find (ma: Multiaddr): Schedule | undefined {
    const target = tcpTarget(ma)
    return target == null ? undefined : this.get(target.host, target.port)
  }

  delete (host: string): boolean {
    const { key } = parseHost(host)
    const entries = this.#byHost.get(key)
    if (entries == null) return false
    this.#size -= entries.length
    this.#byHost.delete(key)
    return true
  }

  clear (): void {
    this.#byHost.clear()
    this.#size = 0
  }
}

/** The target of a hop address of `params`: `/<host>/tcp/<port in the range>[/…]`, not through a relay. */
function hopTarget (ma: Multiaddr, params: HopParams): TcpTarget | undefined {
  const target = tcpTarget(ma)
  if (target == null || target.port < params.range.start || target.port > params.range.end) return undefined
  return target.components.some(c => c.name === 'p2p-circuit') ? undefined : target
}

/**
 * The canonical address of a hopping service: `/<ip4|ip6|dns>/<host>/tcp/<range.start>`
 * (with `/p2p/<peerId>` if given). Any port of the range would do; the
 * hopping transport replaces it with the schedule's. It says nothing about
 * the live port, so it may be stored and logged.
 */
export function hopAddr (host: string, params: HopParams, peerId?: string): Multiaddr {
  const { key, protocol } = parseHost(host)
  const p = checkHopParams(params)
  if (peerId != null && (typeof peerId !== 'string' || peerId.length === 0 || peerId.includes('/'))) {
    throw new TypeError('peerId must be a peer id string (base58btc or CID)')
  }
  try {
    const ma = multiaddr(`/${protocol}/${key}/tcp/${p.range.start}${peerId == null ? '' : `/p2p/${peerId}`}`)
    void ma.bytes // multiaddr checks a peer id only when encoding it
    return ma
  } catch (err) {
    throw new RangeError(`peerId ${JSON.stringify(peerId?.slice(0, 64))} is not a valid peer id: ${(err as Error).message}`)
  }
}

/**
 * The addresses to try, in order, to reach a hopping service at time `now`
 * (default `Date.now()`) with a plain TCP transport: the current slot's port,
 * then the neighbours ({@link Schedule.dialPorts}). They are stale one slot
 * later; compute them right before dialling.
 */
export function hopDialAddrs (host: string, params: HopParams, options: { now?: number, peerId?: string } = {}): Multiaddr[] {
  const base = hopAddr(host, params, options.peerId)
  const target = tcpTarget(base)
  if (target == null) throw new RangeError(`host ${JSON.stringify(host)} gives no TCP address`)
  return createSchedule(params).dialPorts(options.now ?? Date.now()).map(port => withPort(target, port))
}
