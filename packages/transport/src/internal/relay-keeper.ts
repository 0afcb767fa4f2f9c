import { RELAY_V2_STOP_CODEC } from '@libp2p/circuit-relay-v2'
import { TypedEventEmitter } from '@libp2p/interface'
import { ReservationFailedError, ReservationRefusedError } from '../errors.ts'
import { relayIdOf } from './addrs.ts'
import type { RelayReservationEvents, RelayReservations, RelayState, RelayStatus } from '../relay.ts'
import type { AbortOptions, ComponentLogger, Connection, Libp2pEvents, Logger, PeerId, StreamHandler, StreamHandlerOptions, StreamHandlerRecord, Transport, TypedEventTarget } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/** Options for {@link relayKeeper}. */
export interface RelayKeeperInit {
  /** The configured relays, checked by checkRelayAddrs. */
  relays: Array<{ addr: Multiaddr, id: string }>
  /** One attempt, dial and RESERVE (ms). */
  reservationTimeout: number
  /** First retry (ms), doubled after each failure. */
  retryMin: number
  /** Longest wait between attempts (ms). */
  retryMax: number
}

/** The libp2p components the keeper uses (internal ones typed structurally, not imported). */
export interface RelayKeeperComponents {
  registrar: {
    getHandler: (protocol: string) => StreamHandlerRecord
    handle: (protocol: string, handler: StreamHandler, options?: StreamHandlerOptions) => Promise<void>
  }
  transportManager: {
    listen: (addrs: Multiaddr[]) => Promise<void>
    getTransports: () => Transport[]
  }
  connectionManager: { openConnection: (peer: Multiaddr, options?: AbortOptions) => Promise<Connection> }
  addressManager: { getAddresses: () => Multiaddr[] }
  events: TypedEventTarget<Libp2pEvents>
  logger: ComponentLogger
}

interface ReservationStoreLike { addRelay: (peer: PeerId, type: 'configured') => Promise<unknown> }

interface Entry {
  readonly relay: Multiaddr
  readonly id: string
  state: RelayState
  addrs: Multiaddr[]
  error: Error | undefined
  /** A circuit listener holds this relay, so a renewed slot reaches it. */
  bound: boolean
  failures: number
  timer: ReturnType<typeof setTimeout> | undefined
}

function statusOf (e: Entry): RelayStatus {
  return { relay: e.relay, id: e.id, state: e.state, addrs: [...e.addrs], error: e.error }
}

// @libp2p/circuit-relay-v2 reports a refusal only in a message: "reservation failed with status RESERVATION_REFUSED"
const REFUSAL = /reservation failed with status ([A-Z_]+)/

function findStatus (err: unknown, depth = 0): string | undefined {
  if (err == null || typeof err !== 'object' || depth > 4) return undefined
  const e = err as Error & { errors?: unknown[], cause?: unknown }
  const found = REFUSAL.exec(String(e.message))?.[1]
  if (found != null) return found
  for (const inner of e.errors ?? []) {
    const status = findStatus(inner, depth + 1)
    if (status != null) return status
  }
  return findStatus(e.cause, depth + 1)
}

function reservationError (id: string, err: unknown): Error {
  const status = findStatus(err)
  if (status != null) return new ReservationRefusedError(`Relay ${id} refused the reservation: ${status}`, { status, cause: err })
  return new ReservationFailedError(`Could not reserve a slot on relay ${id}: ${(err as Error)?.message ?? String(err)}`, { cause: err })
}

/** `work`, or the reason of `signal` if it aborts first. */
export async function within<T> (work: Promise<T>, signal: AbortSignal): Promise<T> {
  signal.throwIfAborted()
  let onAbort = (): void => {}
  const aborted = new Promise<never>((_resolve, reject) => {
    onAbort = () => { reject(signal.reason) }
    signal.addEventListener('abort', onAbort, { once: true })
  })
  try {
    return await Promise.race([work, aborted])
  } finally {
    signal.removeEventListener('abort', onAbort)
  }
}

/**
 * Keeps this node's slots on its configured relays (spec/transport.md#relays):
 * reserves one on each at start, lets @libp2p/circuit-relay-v2 renew it
 * before it expires, and whenever a slot is lost (the relay closed the
 * connection, restarted, or refused a renewal) tries again at once and then
 * with exponential backoff, for as long as the node runs. libp2p itself
 * reserves a configured relay only once and never again after a loss.
 *
 * It also refuses relayed connections offered by any other peer: without
 * that, a peer that sends a STOP would make the node reserve a slot on it.
 */
class RelayKeeper extends TypedEventEmitter<RelayReservationEvents> implements RelayReservations {
  readonly [Symbol.toStringTag] = '@fara/relay-keeper'
  readonly #components: RelayKeeperComponents
  readonly #init: RelayKeeperInit
  readonly #entries: Entry[]
  readonly #log: Logger
  #shutdown = new AbortController()
  #running = false
  #settled: Promise<void> = Promise.resolve()

  constructor (components: RelayKeeperComponents, init: RelayKeeperInit) {
    super()
    this.#components = components
    this.#init = init
    this.#log = components.logger.forComponent('fara:relay-keeper')
    this.#entries = init.relays.map(({ addr, id }) => ({
      relay: addr, id, state: 'reserving', addrs: [], error: undefined, bound: false, failures: 0, timer: undefined
    }))
  }

  get relays (): RelayStatus[] { return this.#entries.map(statusOf) }

  start (): void {
    this.#shutdown = new AbortController()
    this.#running = true
    // stopping the node closed every listener: a restarted node binds new ones
    for (const e of this.#entries) Object.assign(e, { state: 'reserving', addrs: [], bound: false, failures: 0 })
  }

  async afterStart (): Promise<void> {
    await this.#gateStop()
    // a listener announces every change of its addresses at once (self:peer:update is debounced,
    // and a slot lost within a second of being granted would never show there)
    this.#components.events.addEventListener('transport:listening', this.#onAddrs)
    this.#components.events.addEventListener('transport:close', this.#onAddrs)
    this.#settled = Promise.all(this.#entries.map(async e => this.#attempt(e))).then(() => {})
  }

  /** Resolves once every relay's first attempt has ended, reserved or failed. */
  async settled (): Promise<void> { return this.#settled }

  beforeStop (): void {
    this.#running = false
    this.#shutdown.abort()
    this.#components.events.removeEventListener('transport:listening', this.#onAddrs)
    this.#components.events.removeEventListener('transport:close', this.#onAddrs)
    for (const e of this.#entries) clearTimeout(e.timer)
  }

  stop (): void {}

  /** Accept a relayed connection (a STOP stream) only from a configured relay. */
  async #gateStop (): Promise<void> {
    const { registrar } = this.#components
    let record: StreamHandlerRecord
    try {
      record = registrar.getHandler(RELAY_V2_STOP_CODEC)
    } catch {
      return // no relay transport, nothing to gate
    }
    const allowed = new Set(this.#entries.map(e => e.id))
    const handler = record.handler
    const gated: StreamHandler = (stream, connection) => {
      if (!allowed.has(connection.remotePeer.toString())) {
        this.#log('refuse relayed connection from %p - not a configured relay', connection.remotePeer)
        stream.abort(new Error('not a configured relay'))
        return
      }
      return handler(stream, connection)
    }
    await registrar.handle(RELAY_V2_STOP_CODEC, gated, { ...record.options, force: true })
  }

  /** This node's addresses through relay `id`, as the address manager announces them. */
  #addrsVia (id: string): Multiaddr[] {
    return this.#components.addressManager.getAddresses().filter(a => relayIdOf(a) === id)
  }

  /** The transport's reservation store, which renews a configured relay and tells its listener. */
  #store (): ReservationStoreLike | undefined {
    const transport = this.#components.transportManager.getTransports()
      .find(t => t[Symbol.toStringTag] === '@libp2p/circuit-relay-v2-transport') as { reservationStore?: Partial<ReservationStoreLike> } | undefined
    const store = transport?.reservationStore
    return typeof store?.addRelay === 'function' ? store as ReservationStoreLike : undefined
  }

  readonly #onAddrs = (): void => {
    for (const e of this.#entries) {
      if (e.state !== 'reserved') continue
      const addrs = this.#addrsVia(e.id)
      if (addrs.length > 0) {
        e.addrs = addrs
        continue
      }
      e.state = 'failed'
      e.addrs = []
      e.error = new ReservationFailedError(`Lost the slot on relay ${e.id}`)
      e.failures = 0
      this.#log('lost the slot on relay %s', e.id)
      this.safeDispatchEvent('relay:lost', { detail: statusOf(e) })
      void this.#attempt(e)
    }
  }

  async #attempt (e: Entry): Promise<void> {
    if (!this.#running) return
    clearTimeout(e.timer)
    e.timer = undefined
    e.state = 'reserving'
    const signal = AbortSignal.any([this.#shutdown.signal, AbortSignal.timeout(this.#init.reservationTimeout)])
    try {
      const connection = await this.#components.connectionManager.openConnection(e.relay, { signal })
      // a listener bound to this relay re-advertises a renewed slot; a new
      // listener is made only for the first slot (or if libp2p's store is out of reach)
      const store = e.bound ? this.#store() : undefined
      if (store != null) {
        await within(store.addRelay(connection.remotePeer, 'configured'), signal)
      } else {
        await within(this.#components.transportManager.listen([e.relay.encapsulate('/p2p-circuit')]), signal)
      }
      e.bound = true
      if (!this.#running) return
      const addrs = this.#addrsVia(e.id)
      if (addrs.length === 0) throw new Error('the relay granted a slot but no address through it is announced')
      e.state = 'reserved'
      e.addrs = addrs
      e.error = undefined
      e.failures = 0
      this.#log('reserved a slot on relay %s', e.id)
      this.safeDispatchEvent('relay:reserved', { detail: statusOf(e) })
    } catch (err) {
      if (!this.#running) return
      e.state = 'failed'
      e.addrs = []
      e.error = reservationError(e.id, err)
      const delay = Math.min(this.#init.retryMax, this.#init.retryMin * 2 ** e.failures)
      e.failures++
      this.#log('no slot on relay %s, next attempt in %d ms - %s', e.id, delay, e.error.message)
      this.safeDispatchEvent('relay:failed', { detail: statusOf(e) })
      // not unref'd: while its relay is down, this timer may be all that keeps a
      // relay-only entity's process alive; stopping the node clears it
      e.timer = setTimeout(() => { void this.#attempt(e) }, delay)
    }
  }
}

/** The relay keeper service, for a node's `services` map under `relays`. */
export function relayKeeper (init: RelayKeeperInit): (components: RelayKeeperComponents) => RelayReservations & { settled: () => Promise<void> } {
  return (components) => new RelayKeeper(components, init)
}
