import { circuitRelayServer } from '@libp2p/circuit-relay-v2'
import { multiaddr } from '@multiformats/multiaddr'
import { MAX_RELAYS, RELAY_SERVER_LIMITS } from './constants.ts'
import type { CircuitRelayServerComponents, CircuitRelayService } from '@libp2p/circuit-relay-v2'
import type { Libp2pEvents, TypedEventTarget } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/** Options for {@link relayServer}. Data and duration are never limited (spec/transport.md#relay-limits). */
export interface RelayServerInit {
  /** Entities holding a slot at once, 1 or more (default `RELAY_SERVER_LIMITS.maxReservations`). */
  maxReservations?: number
  /** Lifetime of a slot unless renewed, 1 minute to 24 hours in ms (default `RELAY_SERVER_LIMITS.reservationTtl`). */
  reservationTtl?: number
  /** Relayed connections open at once to one reserving entity, 1 or more (default `RELAY_SERVER_LIMITS.maxCircuitsPerEntity`). */
  maxCircuitsPerEntity?: number
}

/** A running relay: circuit relay v2's server, with its live reservations. */
export type RelayServer = CircuitRelayService

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
 * {@link MAX_RELAYS}, no relay twice. Returns them parsed, with their peer ids.
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

/**
 * A circuit relay v2 server with Fara's limits (spec/transport.md#relay-limits),
 * for a node's `services` map: the rendezvous point runs one with
 * `createRendezvousPoint({ relay: true })`.
 *
 * Relayed connections are not limited in data or duration (libp2p's default
 * would reset every relayed connection after 128 KiB or 2 minutes); the
 * relay bounds the number of slots and of connections per slot instead. A
 * slot is freed as soon as its entity disconnects, not only when it expires.
 * The relay forwards Noise ciphertext: the two entities run Noise end to end
 * through it.
 */
export function relayServer (init: RelayServerInit = {}): (components: RelayServerComponents) => RelayServer {
  if (init == null || typeof init !== 'object') throw new TypeError(`relay server init must be an object, got ${init === null ? 'null' : typeof init}`)
  const maxReservations = checkCount('maxReservations', init.maxReservations, 1) ?? RELAY_SERVER_LIMITS.maxReservations
  const reservationTtl = checkCount('reservationTtl', init.reservationTtl, 60_000, 24 * 60 * 60_000) ?? RELAY_SERVER_LIMITS.reservationTtl
  const maxCircuits = checkCount('maxCircuitsPerEntity', init.maxCircuitsPerEntity, 1) ?? RELAY_SERVER_LIMITS.maxCircuitsPerEntity
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
    const service = factory(components)
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
