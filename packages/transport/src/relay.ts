import { AsyncLocalStorage } from 'node:async_hooks'
import { circuitRelayServer } from '@libp2p/circuit-relay-v2'
import { multiaddr } from '@multiformats/multiaddr'
import { MAX_RELAYS, RELAY_SERVER_LIMITS } from './constants.ts'
import { RefusalReports, checkSourcePrefixes, sourceOf } from './source.ts'
import type { SourcePrefixes } from './source.ts'
import type { CircuitRelayServerComponents, CircuitRelayService } from '@libp2p/circuit-relay-v2'
import type { AbortOptions, Connection, Libp2pEvents, Logger, Stream, TypedEventTarget } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/** Options for {@link relayServer}. Data and duration are never limited (spec/transport.md#relay-limits). */
export interface RelayServerInit {
  /** Entities holding a slot at once, 1 or more (default `RELAY_SERVER_LIMITS.maxReservations`). */
  maxReservations?: number
  /** Lifetime of a slot unless renewed, 1 minute to 24 hours in ms (default `RELAY_SERVER_LIMITS.reservationTtl`). */
  reservationTtl?: number
  /** Relayed connections open at once to one reserving entity, 1 or more (default `RELAY_SERVER_LIMITS.maxCircuitsPerEntity`). */
  maxCircuitsPerEntity?: number
  /** Slots held at once by entities at one source address (IPv4 address, IPv6 /64), 1 or more (default: `maxReservations` / 8, at least 1). */
  maxReservationsPerSource?: number
  /** Relayed connections open at once from one source address to one reserving entity, 1 or more (default: `maxCircuitsPerEntity` / 8, at least 1). */
  maxCircuitsPerSource?: number
  /** Slots held at once by entities at one source prefix (IPv4 /24, IPv6 /56), 1 or more (default: `maxReservations` / 4, at least 1). */
  maxReservationsPerPrefix?: number
  /** Relayed connections open at once from one source prefix to one reserving entity, 1 or more (default: `maxCircuitsPerEntity` / 4, at least 1). */
  maxCircuitsPerPrefix?: number
  /** Relayed connections open at once from one key (peer id) to one reserving entity, 1 or more (default: `maxCircuitsPerEntity` / 32, at least 1). */
  maxCircuitsPerPeer?: number
  /** Prefix lengths of the per-prefix limits (default `{ ip4: 24, ip6: 56 }`, `SOURCE_PREFIXES`). */
  sourcePrefixes?: SourcePrefixes
}

/**
 * A request the relay refused by a per-source or per-key limit
 * (spec/transport.md#relay-limits), reported at most once per
 * `REFUSAL_REPORT_INTERVAL_MS` per limit, source and target.
 */
export interface RelayRefusal {
  /** `reservation`: a slot; `circuit`: a relayed connection to `target`. */
  readonly kind: 'reservation' | 'circuit'
  /** The limit that refused it: per source `address`, per source `prefix`, or per key (`peer`). */
  readonly limit: 'address' | 'prefix' | 'peer'
  /** The address, the prefix, or the peer id that the limit counts. */
  readonly source: string
  /** The requesting peer. */
  readonly peer: string
  /** For a circuit: the entity it was for. */
  readonly target?: string
  /** The limit's value. */
  readonly max: number
  /** Requests refused by this limit for this source (and target) since the last report, this one included. */
  readonly refused: number
}

/** Events a Fara relay adds to circuit relay v2's. */
export interface RelayServerEvents {
  /** A per-source or per-key limit refused a slot or a relayed connection (also one error log line). */
  'relay:refused': CustomEvent<RelayRefusal>
}

/** A running relay: circuit relay v2's server, with its live reservations, and `relay:refused` events. */
export type RelayServer = CircuitRelayService & TypedEventTarget<RelayServerEvents>

/** What {@link relayServer} needs from the node: the circuit relay server's components and the event bus. */
export type RelayServerComponents = CircuitRelayServerComponents & { events: TypedEventTarget<Libp2pEvents> }

/** The state of this node's slot on one relay. */
export type RelayState = 'reserving' | 'reserved' | 'failed'

/** This node's slot on one configured relay. */
export interface RelayStatus {
  /** The relay, as configured (ends in `/p2p/<relay id>`). */
  readonly relay: Multiaddr
  /** The relay's peer id, from its address. */
  readonly id: string
  /** `reserving` while an attempt runs, `reserved` while a slot is held, `failed` until the next attempt (which is scheduled). */
  readonly state: RelayState
  /** This node's addresses through the relay (`…/p2p/<relay>/p2p-circuit/p2p/<self>`) while reserved, else empty. */
  readonly addrs: Multiaddr[]
  /** Why the last attempt failed or the slot was lost: {@link ReservationRefusedError} or {@link ReservationFailedError}. */
  readonly error: Error | undefined
}

/** Events of {@link RelayReservations}; each carries the relay's new {@link RelayStatus}. */
export interface RelayReservationEvents {
  /** A slot was reserved, renewed after a loss, or restored after the relay came back. */
  'relay:reserved': CustomEvent<RelayStatus>
  /** A held slot is gone (the relay closed the connection, restarted, or refused a renewal); a new attempt follows. */
  'relay:lost': CustomEvent<RelayStatus>
  /** An attempt failed; the next one is scheduled with exponential backoff. */
  'relay:failed': CustomEvent<RelayStatus>
}

/**
 * The slots a node keeps on its relays (`node.services.relays`, present when
 * the node was created with `relays` or `dialRelayed`). Every slot is
 * renewed before it expires and restored whenever it is lost, for as long as
 * the node runs.
 */
export interface RelayReservations extends TypedEventTarget<RelayReservationEvents> {
  /** One entry per configured relay, in the configured order. */
  readonly relays: RelayStatus[]
}

function checkCount (name: string, value: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (value == null) return undefined
  if (typeof value !== 'number' || !Number.isInteger(value)) throw new TypeError(`${name} must be an integer, got ${String(value)}`)
  if (value < min || value > max) throw new RangeError(`${name} must be ${min} to ${max}, got ${value}`)
  return value
}

/**
 * Check relay multiaddrs for `createNode({ relays })`: each a multiaddr that
 * ends in `/p2p/<relay id>` and is not itself relayed, at most
 * {@link @fara/transport!constants.MAX_RELAYS | MAX_RELAYS}, no relay twice. Returns them parsed, with their peer ids.
 */
export function checkRelayAddrs (relays: unknown): Array<{ addr: Multiaddr, id: string }> {
  if (!Array.isArray(relays)) throw new TypeError('relays must be an array of multiaddr strings')
  if (relays.length > MAX_RELAYS) throw new RangeError(`relays holds ${relays.length} addresses; at most ${MAX_RELAYS}`)
  const seen = new Set<string>()
  return relays.map((value: unknown) => {
    if (typeof value !== 'string') throw new TypeError(`relay address must be a string, got ${typeof value}`)
    let addr: Multiaddr
    try {
      addr = multiaddr(value)
    } catch (err) {
      throw new RangeError(`relay address ${JSON.stringify(value)} is not a multiaddr: ${(err as Error).message}`)
    }
    const components = addr.getComponents()
    const last = components.at(-1)
    if (last?.name !== 'p2p' || last.value == null) {
      throw new RangeError(`relay address ${value} must end in /p2p/<relay id>: the relay's key is checked by Noise`)
    }
    if (components.some(c => c.name === 'p2p-circuit')) {
      throw new RangeError(`relay address ${value} is itself relayed; a reservation is made on a direct connection`)
    }
    if (seen.has(last.value)) throw new RangeError(`relay ${last.value} is given twice`)
    seen.add(last.value)
    return { addr, id: last.value }
  })
}

// circuit relay v2 (libp2p/specs relay/circuit-v2.md): HopMessage { type = 1, status = 5 }, Type.STATUS = 2
const HOP_STATUS = { RESERVATION_REFUSED: 200, RESOURCE_LIMIT_EXCEEDED: 201 } as const
/** A HopMessage of type STATUS carrying `status` (a two-byte varint for both statuses above). */
const statusMessage = { encode: (status: number): Uint8Array => Uint8Array.of(0x08, 0x02, 0x28, 0x80 | (status & 0x7f), status >> 7) }

/** The parts of @libp2p/circuit-relay-v2's server (4.2) that the per-source limits wrap. */
interface HopHandlers {
  onHop: (stream: Stream, connection: Connection) => Promise<void>
  handleReserve: (hop: HopRequest, options: AbortOptions) => Promise<void>
  handleConnect: (hop: HopRequest, options: AbortOptions) => Promise<void>
}

interface HopRequest {
  connection: Connection
  request: { peer?: { id?: Uint8Array } }
  stream: { write: (status: number, codec: typeof statusMessage, options?: AbortOptions) => Promise<void> }
}

function add (counts: Map<string, number>, key: string, n: number): void {
  const next = (counts.get(key) ?? 0) + n
  if (next > 0) counts.set(key, next)
  else counts.delete(key)
}

/** The per-source and per-key limits that {@link limitPerSource} applies. */
interface SourceLimits {
  reservations: { address: number, prefix: number }
  circuits: { address: number, prefix: number, peer: number }
  prefixes: Required<SourcePrefixes>
}

/**
 * Per-source limits (spec/transport.md#relay-limits): at most
 * `reservations.address` slots held by entities at one source address and
 * `reservations.prefix` at one prefix (a slot is held per peer id, so one per
 * key); and at most `circuits.address` / `.prefix` / `.peer` relayed
 * connections open at once to one entity from one source address, one prefix,
 * one key. Beyond them RESERVE is answered RESERVATION_REFUSED and CONNECT
 * RESOURCE_LIMIT_EXCEEDED, and the relay dispatches `relay:refused` (at most
 * once per `REFUSAL_REPORT_INTERVAL_MS` per limit and source). A circuit
 * counts until its HOP stream closes.
 */
function limitPerSource (service: RelayServer, limits: SourceLimits, log: Logger): void {
  const hop = service as unknown as Partial<HopHandlers>
  if (typeof hop.onHop !== 'function' || typeof hop.handleReserve !== 'function' || typeof hop.handleConnect !== 'function') {
    throw new Error('@libp2p/circuit-relay-v2 no longer has the HOP handlers that Fara\'s per-source relay limits wrap')
  }
  const [onHop, reserve, connect] = [hop.onHop.bind(service), hop.handleReserve.bind(service), hop.handleConnect.bind(service)]
  // the HOP stream of the request being handled (a CONNECT's circuit lives as long as it)
  const current = new AsyncLocalStorage<Stream>()
  hop.onHop = async (stream, connection) => current.run(stream, async () => onHop(stream, connection))
  const reports = new RefusalReports()
  const refuse = (refusal: Omit<RelayRefusal, 'refused'>): void => {
    const refused = reports.refused(`${refusal.kind} ${refusal.limit} ${refusal.source} ${refusal.target ?? ''}`)
    if (refused === 0) return
    log.error('refuse %s from %s %s (peer %s%s): at most %d; %d refused since the last report', refusal.kind, refusal.limit, refusal.source,
      refusal.peer, refusal.target == null ? '' : ` to ${refusal.target}`, refusal.max, refused)
    service.dispatchEvent(new CustomEvent('relay:refused', { detail: { ...refusal, refused } }) as never)
  }

  const granting = new Map<string, number>()
  hop.handleReserve = async (request, options) => {
    const source = sourceOf(request.connection.remoteAddr, limits.prefixes)
    // a renewal is always let through
    if (source == null || service.reservations.has(request.connection.remotePeer)) { await reserve(request, options); return }
    let byAddress = granting.get(source.address) ?? 0
    let byPrefix = granting.get(source.prefix) ?? 0
    for (const r of service.reservations.values()) {
      const held = sourceOf(r.addr, limits.prefixes)
      if (held?.address === source.address) byAddress++
      if (held?.prefix === source.prefix) byPrefix++
    }
    const over = byAddress >= limits.reservations.address
      ? { limit: 'address' as const, source: source.address, max: limits.reservations.address }
      : byPrefix >= limits.reservations.prefix ? { limit: 'prefix' as const, source: source.prefix, max: limits.reservations.prefix } : undefined
    if (over != null) {
      refuse({ kind: 'reservation', ...over, peer: request.connection.remotePeer.toString() })
      await request.stream.write(HOP_STATUS.RESERVATION_REFUSED, statusMessage, options)
      return
    }
    add(granting, source.address, 1)
    add(granting, source.prefix, 1)
    try {
      await reserve(request, options)
    } finally {
      add(granting, source.address, -1)
      add(granting, source.prefix, -1)
    }
  }

  const circuits = new Map<string, number>()
  hop.handleConnect = async (request, options) => {
    const source = sourceOf(request.connection.remoteAddr, limits.prefixes)
    const target = request.request.peer?.id
    const stream = current.getStore()
    // a peer id is a multihash of at most 42 bytes; a longer one holds no slot, and the relay refuses it itself
    if (target == null || target.byteLength > 64 || stream == null || stream.status !== 'open') { await connect(request, options); return }
    const to = Array.from(target, b => b.toString(16).padStart(2, '0')).join('')
    const peer = request.connection.remotePeer.toString()
    const counted = [
      { limit: 'peer' as const, source: peer, max: limits.circuits.peer },
      ...(source == null
        ? []
        : [
            { limit: 'address' as const, source: source.address, max: limits.circuits.address },
            { limit: 'prefix' as const, source: source.prefix, max: limits.circuits.prefix }
          ])
    ].map(c => ({ ...c, key: `${c.limit} ${c.source} ${to}` }))
    const over = counted.find(c => (circuits.get(c.key) ?? 0) >= c.max)
    if (over != null) {
      refuse({ kind: 'circuit', limit: over.limit, source: over.source, max: over.max, peer, target: targetText(service, target) })
      await request.stream.write(HOP_STATUS.RESOURCE_LIMIT_EXCEEDED, statusMessage, options)
      return
    }
    for (const c of counted) add(circuits, c.key, 1)
    // released with the circuit, or when the requester drops a refused request
    stream.addEventListener('close', () => { for (const c of counted) add(circuits, c.key, -1) }, { once: true })
    await connect(request, options)
  }
}

/** A target for a report: the peer id of the slot it names, or the bytes in hex if no slot has it. */
function targetText (service: RelayServer, bytes: Uint8Array): string {
  const hex = Buffer.from(bytes).toString('hex')
  for (const peer of service.reservations.keys()) {
    if (Buffer.from(peer.toMultihash().bytes).toString('hex') === hex) return peer.toString()
  }
  return hex
}

/** The default per-source limit for `total`: the share that the defaults give one source (an eighth, a quarter, ...), at least 1. */
function share (total: number, perSource: number, defaultTotal: number): number {
  return Math.max(1, Math.floor(total * perSource / defaultTotal))
}

/**
 * A circuit relay v2 server with Fara's limits (spec/transport.md#relay-limits),
 * for a node's `services` map: the rendezvous point runs one with
 * `createRendezvousPoint({ relay: true })`.
 *
 * Relayed connections are not limited in data or duration (libp2p's default
 * would reset every relayed connection after 128 KiB or 2 minutes); the
 * relay bounds the number of slots and of connections per slot instead, and
 * how many of each one source address, one source prefix and one key may
 * hold, so that no one host (nor one network) can use up the slots or another
 * entity's connections. A slot is freed as soon as
 * its entity disconnects, not only when it expires.
 * The relay forwards Noise ciphertext: the two entities run Noise end to end
 * through it.
 */
export function relayServer (init: RelayServerInit = {}): (components: RelayServerComponents) => RelayServer {
  if (init == null || typeof init !== 'object') throw new TypeError(`relay server init must be an object, got ${init === null ? 'null' : typeof init}`)
  const maxReservations = checkCount('maxReservations', init.maxReservations, 1) ?? RELAY_SERVER_LIMITS.maxReservations
  const reservationTtl = checkCount('reservationTtl', init.reservationTtl, 60_000, 24 * 60 * 60_000) ?? RELAY_SERVER_LIMITS.reservationTtl
  const maxCircuits = checkCount('maxCircuitsPerEntity', init.maxCircuitsPerEntity, 1) ?? RELAY_SERVER_LIMITS.maxCircuitsPerEntity
  const L = RELAY_SERVER_LIMITS
  const perSource: SourceLimits = {
    reservations: {
      address: checkCount('maxReservationsPerSource', init.maxReservationsPerSource, 1) ?? share(maxReservations, L.maxReservationsPerSource, L.maxReservations),
      prefix: checkCount('maxReservationsPerPrefix', init.maxReservationsPerPrefix, 1) ?? share(maxReservations, L.maxReservationsPerPrefix, L.maxReservations)
    },
    circuits: {
      address: checkCount('maxCircuitsPerSource', init.maxCircuitsPerSource, 1) ?? share(maxCircuits, L.maxCircuitsPerSource, L.maxCircuitsPerEntity),
      prefix: checkCount('maxCircuitsPerPrefix', init.maxCircuitsPerPrefix, 1) ?? share(maxCircuits, L.maxCircuitsPerPrefix, L.maxCircuitsPerEntity),
      peer: checkCount('maxCircuitsPerPeer', init.maxCircuitsPerPeer, 1) ?? share(maxCircuits, L.maxCircuitsPerPeer, L.maxCircuitsPerEntity)
    },
    prefixes: checkSourcePrefixes(init.sourcePrefixes)
  }
  const factory = circuitRelayServer({
    hopTimeout: RELAY_SERVER_LIMITS.hopTimeout,
    maxInboundHopStreams: RELAY_SERVER_LIMITS.maxHopStreamsPerConnection,
    maxOutboundStopStreams: maxCircuits,
    reservations: {
      maxReservations,
      reservationTtl,
      applyDefaultLimit: RELAY_SERVER_LIMITS.applyDefaultLimit
    }
  })
  return (components) => {
    const service = factory(components) as RelayServer
    limitPerSource(service, perSource, components.logger.forComponent('fara:relay'))
    // circuit relay v2 keeps a slot until its TTL even when its entity has gone;
    // a slot is only of use over a live connection, so free it at once
    components.events.addEventListener('peer:disconnect', (evt) => {
      const reservation = service.reservations.get(evt.detail)
      if (reservation == null) return
      reservation.signal.clear() // its timer would otherwise delete a later slot of the same peer
      service.reservations.delete(evt.detail)
    })
    return service
  }
}
