import { serviceCapabilities, transportSymbol } from '@libp2p/interface'
import { tcp } from '@libp2p/tcp'
import { DEFAULT_DIAL_ATTEMPT_TIMEOUT_MS } from './constants.ts'
import { HopDialError } from './errors.ts'
import { tcpTarget, withPort } from './internal/addr.ts'
import { HoppingListener } from './internal/listener.ts'
import { checkHopParams } from './params.ts'
import { createSchedule } from './schedule.ts'
import type { HopListener } from './listener.ts'
import type { HopParams } from './params.ts'
import type { Schedule } from './schedule.ts'
import type { HopSchedules } from './schedules.ts'
import type { Connection, CreateListenerOptions, DialTransportOptions, Transport } from '@libp2p/interface'
import type { TCPComponents, TCPDialEvents, TCPOptions } from '@libp2p/tcp'
import type { Multiaddr } from '@multiformats/multiaddr'

/** Options of {@link hoppingTcp}: those of `@libp2p/tcp`, and the schedules. */
export interface HoppingTcpInit extends TCPOptions {
  /** This entity's own schedule: its `/tcp/0` listen addresses hop by it. Without it, every listen address is plain TCP. */
  listen?: HopParams
  /** The schedules of the peers this entity dials by (see {@link hopSchedules}); addresses they do not cover are dialled plainly. */
  schedules?: HopSchedules
  /** Clock (ms since the Unix epoch) of listening and dialing; default `Date.now`. */
  now?: () => number
  /** Move the listening window on each slot boundary by itself (default true); false leaves it to {@link HopListener.sync}. */
  autoHop?: boolean
  /** Longest wait for one port of a dial by schedule, connect and upgrade (ms); default {@link DEFAULT_DIAL_ATTEMPT_TIMEOUT_MS}. */
  dialAttemptTimeoutMs?: number
}

/** What {@link hoppingTcp} needs from libp2p: exactly what `@libp2p/tcp` needs. */
export type HoppingTcpComponents = TCPComponents

/** The transport {@link hoppingTcp} makes. */
export interface HoppingTcp extends Transport<TCPDialEvents> {
  /** The entity's own schedule, if it listens by one. */
  readonly schedule: Schedule | undefined
  /** The book of peer schedules it dials by, if given. */
  readonly schedules: HopSchedules | undefined
  createListener(options: CreateListenerOptions): HopListener
}

/**
 * A libp2p TCP transport whose listener hops (spec/port-hopping.md). It wraps
 * `@libp2p/tcp` and replaces it: configure it *instead of* `tcp()`, never
 * beside it (libp2p opens a listener on an address for every transport that
 * accepts it).
 *
 * - **Listening** on a `/tcp/0` address with `listen` set: a @libp2p/tcp
 *   listener is kept open on each port of the window (slots `s - 1`, `s`,
 *   `s + 1`); on each boundary the entering port is opened before the leaving
 *   one is closed. Closing a port also closes the connections accepted on it.
 *   The listener announces no address. Any other address is listened on plainly.
 * - **Dialing** `/<host>/tcp/<port>` where `schedules` covers `port` on `host`:
 *   the current slot's port, then the neighbours. Any other TCP address is
 *   dialled plainly.
 *
 * @example
 * ```ts
 * import { createLibp2p } from 'libp2p'
 * import { noise } from '@chainsafe/libp2p-noise'
 * import { yamux } from '@chainsafe/libp2p-yamux'
 * import { createHopParams, hopAddr, hopSchedules, hoppingTcp } from '@fara/port-hopping'
 *
 * const params = createHopParams({ range: { start: 20_000, end: 20_999 } })
 * const server = await createLibp2p({
 *   addresses: { listen: ['/ip4/0.0.0.0/tcp/0'] },
 *   transports: [hoppingTcp({ listen: params })],
 *   connectionEncrypters: [noise()], streamMuxers: [yamux()]
 * })
 * const schedules = hopSchedules()
 * schedules.set('203.0.113.7', params)
 * const client = await createLibp2p({
 *   transports: [hoppingTcp({ schedules })],
 *   connectionEncrypters: [noise()], streamMuxers: [yamux()]
 * })
 * await client.dial(hopAddr('203.0.113.7', params))
 * await Promise.all([client.stop(), server.stop()])
 * ```
 *
 * @throws {@link HopDialError} when a dial by schedule fails on the current slot's port and on both neighbours; `errors` holds each attempt's.
 * @throws {@link HopListenError} when a hopping listener opens none of the ports of its window (libp2p's `start` then rejects with an `UnsupportedListenAddressesError` that names it).
 * @throws `TypeError` when an option has the wrong type, e.g. `schedules` is not a book from {@link hopSchedules}.
 * @throws `RangeError` when `listen` holds invalid parameters or `dialAttemptTimeoutMs` is not a positive integer.
 */
export function hoppingTcp (init: HoppingTcpInit = {}): (components: HoppingTcpComponents) => HoppingTcp {
  if (init == null || typeof init !== 'object') throw new TypeError(`init must be an object, got ${init === null ? 'null' : typeof init}`)
  const { listen, schedules, now, autoHop, dialAttemptTimeoutMs, ...tcpInit } = init
  if (now != null && typeof now !== 'function') throw new TypeError(`init.now must be a function, got ${typeof now}`)
  if (autoHop != null && typeof autoHop !== 'boolean') throw new TypeError(`init.autoHop must be a boolean, got ${typeof autoHop}`)
  if (schedules != null && (typeof schedules !== 'object' || typeof schedules.find !== 'function')) {
    throw new TypeError('init.schedules must be a HopSchedules book (from hopSchedules())')
  }
  const attemptMs = dialAttemptTimeoutMs ?? DEFAULT_DIAL_ATTEMPT_TIMEOUT_MS
  if (!Number.isInteger(attemptMs) || attemptMs < 1) throw new RangeError(`init.dialAttemptTimeoutMs must be a positive integer, got ${String(attemptMs)}`)
  const schedule = listen == null ? undefined : createSchedule({ ...checkHopParams(listen, 'init.listen'), ...(now == null ? {} : { now }) })
  return (components) => new HoppingTcpTransport(tcp(tcpInit)(components), {
    schedule, schedules, clock: now ?? Date.now, autoHop: autoHop ?? true, attemptMs
  })
}

interface Settings {
  schedule: Schedule | undefined
  schedules: HopSchedules | undefined
  clock: () => number
  autoHop: boolean
  attemptMs: number
}

class HoppingTcpTransport implements HoppingTcp {
  readonly [transportSymbol] = true as const
  readonly [Symbol.toStringTag] = '@fara/port-hopping'
  readonly [serviceCapabilities] = ['@libp2p/transport']
  readonly #inner: Transport<TCPDialEvents>
  readonly #settings: Settings

  constructor (inner: Transport<TCPDialEvents>, settings: Settings) {
    this.#inner = inner
    this.#settings = settings
  }

  get schedule (): Schedule | undefined { return this.#settings.schedule }
  get schedules (): HopSchedules | undefined { return this.#settings.schedules }

  async dial (ma: Multiaddr, options: DialTransportOptions<TCPDialEvents>): Promise<Connection> {
    const schedule = this.#settings.schedules?.find(ma)
    const target = tcpTarget(ma)
    if (schedule == null || target == null) return this.#inner.dial(ma, options)
    const errors: Error[] = []
    const ports = schedule.dialPorts(this.#settings.clock())
    for (const port of ports) {
      options.signal.throwIfAborted()
      // a timer that ends with the attempt: @libp2p/tcp hands the dial signal to net.connect, which
      // keeps it for the socket's life, so an AbortSignal.timeout would kill the connection later
      const attempt = new AbortController()
      const timer = setTimeout(() => { attempt.abort(new DOMException(`no connection on port ${port} within ${this.#settings.attemptMs} ms`, 'TimeoutError')) }, this.#settings.attemptMs)
      const signal = AbortSignal.any([options.signal, attempt.signal])
      try {
        return await this.#inner.dial(withPort(target, port), { ...options, signal })
      } catch (err) {
        if (options.signal.aborted) throw err
        errors.push(err as Error)
      } finally {
        clearTimeout(timer)
      }
    }
    throw new HopDialError(errors, `Dial by schedule to ${target.host} failed on ports ${ports.join(', ')}: ${errors.map(e => e.message).join('; ')}`)
  }

  createListener (options: CreateListenerOptions): HopListener {
    return new HoppingListener({
      inner: this.#inner,
      upgrader: options.upgrader,
      schedule: this.#settings.schedule,
      autoHop: this.#settings.autoHop
    })
  }

  listenFilter (multiaddrs: Multiaddr[]): Multiaddr[] {
    return this.#inner.listenFilter(multiaddrs)
  }

  dialFilter (multiaddrs: Multiaddr[]): Multiaddr[] {
    return this.#inner.dialFilter(multiaddrs)
  }
}
