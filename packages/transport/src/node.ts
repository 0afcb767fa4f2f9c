import { yamux } from '@chainsafe/libp2p-yamux'
import { circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { DEFAULT_LISTEN, ENTITY_CONNECTION_LIMITS, LIVENESS, MAX_PENDING_PER_HOST, STREAMS_PER_CONNECTION, RELAY_CLIENT_LIMITS, RELAY_SERVER_LIMITS, WELL_KNOWN_PORT_LIMIT, YAMUX_STREAM } from './constants.ts'
import { relayIdOf } from './internal/addrs.ts'
import { quietIdentify } from './internal/identify.ts'
import { directPaths } from './webrtc.ts'
import { birthdayPunch } from './punch.ts'
import type { BirthdayPunch } from './punch.ts'
import type { DirectPathsInit } from './webrtc.ts'
import { relayKeeper, within } from './internal/relay-keeper.ts'
import { checkRelayAddrs } from './relay.ts'
import { pendingPerHostGate } from './internal/pending-gate.ts'
import { optimisticSelect } from './internal/optimistic-select.ts'
import { noiseCrypto, warmNoiseKeys } from './internal/noise-crypto.ts'
import { noiseWithKeptSignature } from './internal/noise-signature.ts'
import { quietLogger } from './internal/quiet-logger.ts'
import { unobservable } from './unobservable.ts'
import type { UnobservableInit } from './unobservable.ts'
import type { RelayReservations } from './relay.ts'
import type { Identify } from '@libp2p/identify'
import type { Libp2p, PrivateKey, ServiceMap, Transport } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { ConnectionManagerInit, Libp2pOptions } from 'libp2p'

/** Options for {@link createNode}. */
export interface NodeInit<S extends ServiceMap = ServiceMap> {
  /** The entity's own key: one node, one key, one application. */
  privateKey: PrivateKey
  /** TCP listen multiaddrs; port 0 (OS-assigned) unless `allowPinnedPort` (default {@link DEFAULT_LISTEN}). Pass `[]` for a dial-only node. */
  listen?: string[]
  /** Allow a fixed listening port at or above 1024, for a rendezvous point behind a firewall rule (default false). */
  allowPinnedPort?: boolean
  /** Connection-manager overrides (default {@link ENTITY_CONNECTION_LIMITS}). */
  connectionManager?: ConnectionManagerInit
  /** libp2p services to run on this node (the rendezvous point is one). */
  services?: Libp2pOptions<S>['services']
  /**
   * Relays to hold a slot on, each a multiaddr ending in `/p2p/<relay id>`
   * (at most {@link @fara/transport!constants.MAX_RELAYS | MAX_RELAYS}): the node is then also reachable at
   * `<relay>/p2p-circuit/p2p/<self>`, even with `listen: []`. Slots are
   * renewed, and restored after a loss (spec/transport.md#relays). Implies `dialRelayed`.
   */
  relays?: string[]
  /** Dial relayed addresses (`…/p2p/<relay>/p2p-circuit/p2p/<peer>`) (default: true with `relays` or `direct`, else false). */
  dialRelayed?: boolean
  /**
   * Direct paths (spec/nat-lab.md): add WebRTC (ICE over UDP, with these STUN
   * servers) so a relayed connection can be upgraded to a direct one with
   * `upgradeToDirect`; with `relays`, the node also listens for WebRTC behind
   * its relay slots. Implies `dialRelayed`.
   */
  direct?: boolean | DirectPathsInit
  /**
   * Check every connection's liveness and abort dead ones (spec/transport.md#liveness),
   * `false` to turn it off (default {@link LIVENESS}).
   */
  liveness?: false | LivenessInit
  /**
   * The TCP transport to use instead of `@libp2p/tcp`'s, e.g. a hopping one
   * (`hoppingTcp` of `@fara/port-hopping`, which is plain TCP where no schedule applies).
   */
  tcp?: (components: any) => Transport // eslint-disable-line @typescript-eslint/no-explicit-any
  /**
   * Settings of the unobservable layer that every TCP and relayed connection of the node runs
   * under (spec/unobservable.md): always on; here only its timing, padding and replay memory
   * can be changed (defaults in {@link @fara/transport!constants.UNOBSERVABLE | UNOBSERVABLE}).
   */
  unobservable?: UnobservableInit
  /**
   * Abort the creation: `createNode` rejects with the signal's reason, and the
   * node it started is stopped (its listeners and connections closed, its
   * first relay reservations given up).
   */
  signal?: AbortSignal
}

/** Liveness check settings, in ms (defaults in {@link LIVENESS}). */
export interface LivenessInit {
  /** Between checks of one connection. */
  interval?: number
  /** Least time a check may take before the connection is declared dead. */
  minTimeout?: number
  /** Most time a check may take. */
  maxTimeout?: number
}

/** Services {@link createNode} adds to a node with `relays` or `dialRelayed`. */
export interface RelayNodeServices {
  /** This node's slots on its relays. */
  relays: RelayReservations
  /** Identify as a capability only: it answers nobody and never runs by itself (spec/transport.md#identify). */
  identify: Identify
  /** The birthday punch, when `direct.observers` were given (spec/direct-paths.md#birthday-punching). */
  punch: BirthdayPunch
}

/**
 * Check listen addresses: only TCP, never a well-known port, and port 0 unless
 * pinning is allowed. Throws a RangeError that names the offending address.
 */
export function checkListenAddrs (addrs: string[], allowPinnedPort = false): void {
  for (const addr of addrs) {
    let components
    try {
      components = multiaddr(addr).getComponents()
    } catch (err) {
      throw new RangeError(`listen address ${JSON.stringify(addr)} is not a multiaddr: ${(err as Error).message}`)
    }
    const tcpPart = components.find(c => c.name === 'tcp')
    if (tcpPart == null) {
      throw new RangeError(`listen address ${addr} has no /tcp/ part`)
    }
    const port = Number(tcpPart.value)
    if (port === 0) continue
    if (port < WELL_KNOWN_PORT_LIMIT) {
      throw new RangeError(`listen address ${addr} uses well-known port ${port}; Fara never listens below ${WELL_KNOWN_PORT_LIMIT}`)
    }
    if (!allowPinnedPort) {
      throw new RangeError(`listen address ${addr} pins port ${port}; use port 0 (OS-assigned) or set allowPinnedPort`)
    }
  }
}

type TransportFactory = NonNullable<Libp2pOptions['transports']>[number]

/**
 * Create and start one libp2p node for one entity: TCP on an OS-assigned
 * port, Noise, Yamux, and connection limits set on purpose. No ping, no
 * discovery, no identify answers: the node says nothing it does not have to.
 * With `relays` or `dialRelayed` it also runs the circuit relay v2 transport
 * (spec/transport.md#relays); with `relays` it resolves once each relay has
 * granted a slot or failed a first attempt (failed ones are retried).
 */
export async function createNode<S extends ServiceMap = ServiceMap> (init: NodeInit<S>): Promise<Libp2p<S & Partial<RelayNodeServices>>> {
  if (init?.privateKey == null) {
    throw new TypeError('privateKey is required: every entity has its own key')
  }
  init.signal?.throwIfAborted()
  const listen = init.listen ?? DEFAULT_LISTEN
  if (!Array.isArray(listen)) {
    throw new TypeError('listen must be an array of multiaddr strings')
  }
  checkListenAddrs(listen, init.allowPinnedPort)
  const relays = init.relays == null ? [] : checkRelayAddrs(init.relays)
  if (init.dialRelayed != null && typeof init.dialRelayed !== 'boolean') {
    throw new TypeError(`dialRelayed must be a boolean, got ${typeof init.dialRelayed}`)
  }
  const direct = init.direct == null || init.direct === false ? undefined : directPaths(init.direct === true ? {} : init.direct)
  const relayed = relays.length > 0 || init.dialRelayed === true || direct != null

  // one list per kind, so that a further transport (WebRTC) is one more entry
  const transports: TransportFactory[] = [init.tcp ?? tcp()]
  const services: Record<string, unknown> = {}
  const addresses: NonNullable<Libp2pOptions['addresses']> = { listen: [...listen] }
  if (direct != null) {
    transports.push(...(direct.transports as TransportFactory[]))
    // WebRTC is signalled over a relayed connection: it listens only behind relay slots
    if (relays.length > 0) addresses.listen!.push(...direct.listen)
  }
  if (relayed) {
    transports.push(circuitRelayTransport({
      reservationConcurrency: Math.max(1, relays.length),
      reservationCompletionTimeout: RELAY_CLIENT_LIMITS.reservationTimeout,
      maxInboundStopStreams: RELAY_SERVER_LIMITS.maxCircuitsPerEntity
    }) as TransportFactory)
    services.identify = quietIdentify()
    services.relays = relayKeeper({ relays, ...RELAY_CLIENT_LIMITS })
    // announce relayed addresses only through the configured relays
    const configured = new Set(relays.map(r => r.id))
    addresses.announceFilter = (addrs: Multiaddr[]) => addrs.filter(a => {
      const relay = relayIdOf(a)
      return relay == null || configured.has(relay)
    })
  }
  warmNoiseKeys()
  const options: Libp2pOptions<S> = {
    privateKey: init.privateKey,
    addresses,
    transports,
    connectionProtector: unobservable(init.unobservable),
    connectionEncrypters: [noiseWithKeptSignature({ crypto: noiseCrypto })],
    logger: quietLogger(),
    streamMuxers: [optimisticSelect(yamux({ maxEarlyStreams: STREAMS_PER_CONNECTION, streamOptions: { ...YAMUX_STREAM } } as Parameters<typeof yamux>[0]))],
    connectionManager: { ...ENTITY_CONNECTION_LIMITS, ...init.connectionManager },
    connectionGater: pendingPerHostGate(MAX_PENDING_PER_HOST),
    connectionMonitor: init.liveness === false
      ? { enabled: false }
      : {
          enabled: true,
          protocolPrefix: LIVENESS.protocolPrefix,
          pingInterval: init.liveness?.interval ?? LIVENESS.interval,
          abortConnectionOnPingFailure: true,
          pingTimeout: { minTimeout: init.liveness?.minTimeout ?? LIVENESS.minTimeout, maxTimeout: init.liveness?.maxTimeout ?? LIVENESS.maxTimeout }
        }
  }
  if (direct != null && typeof init.direct === 'object' && init.direct.observers != null && init.direct.observers.length > 0) {
    // consistent <-> random NAT pairs, which ICE cannot open (spec/direct-paths.md#birthday-punching)
    const onPunch = init.direct.onPunch
    services.punch = birthdayPunch({ observers: init.direct.observers, ...(onPunch == null ? {} : { onAttempt: onPunch }) })
  }
  if (relayed || init.services != null) {
    // the caller's services win, so a caller may bring its own identify
    options.services = { ...services, ...init.services } as NonNullable<Libp2pOptions<S>['services']>
  }
  const node = await createLibp2p(options) as Libp2p<S & Partial<RelayNodeServices>>
  // libp2p's peer store keeps every peer that ever connected, and clients come with fresh keys:
  // forget a peer when its last connection closes (relays excepted: their slots are kept), or memory grows without bound
  const keep = new Set(relays.map(r => r.id))
  node.addEventListener('peer:disconnect', (evt) => {
    const peer = evt.detail
    if (keep.has(peer.toString()) || node.getConnections(peer).length > 0) return
    node.peerStore.delete(peer).catch(() => {})
  })
  const settled = relays.length > 0 ? (node.services.relays as (RelayReservations & { settled?: () => Promise<void> }) | undefined)?.settled?.() : undefined
  try {
    // libp2p starts the node in one step: an abort during it is honoured here, by stopping the node
    init.signal?.throwIfAborted()
    if (settled != null) await (init.signal == null ? settled : within(settled, init.signal))
  } catch (err) {
    await node.stop()
    throw err
  }
  return node
}
