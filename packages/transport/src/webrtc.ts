import { createRequire } from 'node:module'
import { multiaddr } from '@multiformats/multiaddr'
import { DEFAULT_MAX_MESSAGE_SIZE, DEFAULT_STUN_SERVERS, MAX_MAX_MESSAGE_SIZE, UPGRADE_ATTEMPTS, UPGRADE_ATTEMPT_TIMEOUT, WEBRTC_LISTEN } from './constants.ts'
import { DialFailedError, MissingDependencyError, PeerMismatchError } from './errors.ts'
import type { AbortOptions, Connection, Libp2p, PeerId, Transport } from '@libp2p/interface'
import type { PunchEvent } from './punch.ts'
import type { WebRTCTransportComponents } from '@libp2p/webrtc'
import type { Multiaddr } from '@multiformats/multiaddr'

/**
 * @libp2p/webrtc, loaded on first use (require of an ES module, Node >= 22.12):
 * it brings node-datachannel, a native addon that an entity without direct
 * paths never needs, and costs a few hundred ms to load. It is an optional
 * peer dependency (the root README.md, "Install"): an app that uses direct paths installs it.
 */
function loadWebRTC (): typeof import('@libp2p/webrtc').webRTC {
  try {
    return (createRequire(import.meta.url)('@libp2p/webrtc') as typeof import('@libp2p/webrtc')).webRTC
  } catch (err) {
    throw MissingDependencyError.wrap(err, '@libp2p/webrtc', 'Direct paths (WebRTC)')
  }
}

// RFC 7064 §3.1: stun-URI = scheme ":" host [ ":" port ]; no path, no query
const STUN_URI = /^stuns?:(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(:(\d{1,5}))?$/

/** Options for {@link directPaths}. */
export interface DirectPathsInit {
  /** STUN servers as `stun:host[:port]` URIs (RFC 7064), asked for this entity's public address (default {@link DEFAULT_STUN_SERVERS}: none, so only host candidates are offered). */
  stunServers?: string[]
  /** Largest data-channel message in bytes, framing included, 1024 to {@link MAX_MAX_MESSAGE_SIZE} (default {@link DEFAULT_MAX_MESSAGE_SIZE}). */
  maxMessageSize?: number
  /**
   * NAT observers (`/ip4/<host>/udp/<port>/p2p/<peer id>`, a rendezvous point's `observe` endpoints) on at least
   * two IPs. With them, `createNode` adds the birthday punch (`birthdayPunch`, spec/direct-paths.md#birthday-punching),
   * which opens direct paths between a consistent and a random (symmetric) NAT, where ICE cannot. Default: none.
   */
  observers?: string[]
  /** Called for every punch attempt, on either side, with how it went (`PunchEvent`). */
  onPunch?: (event: PunchEvent) => void
}

/**
 * What {@link directPaths} adds to a libp2p config. It needs, in the same
 * node, `circuitRelayTransport()` (the SDP offer and answer travel over a
 * relayed connection) and an identify capability (Fara's quiet identify is
 * enough: the upgrade never runs identify); without them createLibp2p throws
 * `UnmetServiceDependenciesError`.
 */
export interface DirectPaths {
  /**
   * Add to `transports`. Typed without @libp2p/webrtc's own types, so that a
   * TypeScript app without that optional dependency still compiles; the
   * factory takes a libp2p node's components.
   */
  transports: Array<(components: object) => Transport>
  /** Add to `addresses.listen` (`['/webrtc']`); the node must also listen on a relay (`…/p2p-circuit`) to be dialable. */
  listen: string[]
}

function checkStunServers (value: unknown): string[] {
  if (!Array.isArray(value)) {
    throw new TypeError(`stunServers must be an array of stun: URIs, got ${typeof value}`)
  }
  return value.map((uri: unknown, i) => {
    if (typeof uri !== 'string') {
      throw new TypeError(`stunServers[${i}] must be a string, got ${typeof uri}`)
    }
    const port = STUN_URI.exec(uri)?.[3]
    if (!STUN_URI.test(uri) || (port != null && (Number(port) < 1 || Number(port) > 65_535))) {
      throw new RangeError(`stunServers[${i}] ${JSON.stringify(uri)} is not a stun:host[:port] URI (RFC 7064)`)
    }
    return uri
  })
}

/**
 * The WebRTC transport, configured for Fara: a direct path (ICE over UDP,
 * then DTLS and SCTP) negotiated over a relayed connection. Returns the
 * transports and listen addresses to add to a libp2p config.
 *
 * @example
 * ```ts
 * import { createLibp2p } from 'libp2p'
 * import { tcp } from '@libp2p/tcp'
 * import { circuitRelayTransport } from '@libp2p/circuit-relay-v2'
 * import { identify } from '@libp2p/identify'
 * import { noise } from '@chainsafe/libp2p-noise'
 * import { yamux } from '@chainsafe/libp2p-yamux'
 * import { directPaths } from '@fara/transport'
 *
 * const relayAddr = '/ip4/198.51.100.7/tcp/40123/p2p/12D3KooW…'
 * const direct = directPaths({ stunServers: ['stun:stun.example.net:3478'] })
 * const node = await createLibp2p({
 *   addresses: { listen: [`${relayAddr}/p2p-circuit`, ...direct.listen] },
 *   transports: [tcp(), circuitRelayTransport(), ...direct.transports],
 *   connectionEncrypters: [noise()],
 *   streamMuxers: [yamux()],
 *   services: { identify: identify() }
 * })
 * await node.stop()
 * ```
 */
export function directPaths (init: DirectPathsInit = {}): DirectPaths {
  if (init == null || typeof init !== 'object') {
    throw new TypeError(`init must be an object, got ${init === null ? 'null' : typeof init}`)
  }
  const stunServers = checkStunServers(init.stunServers ?? [...DEFAULT_STUN_SERVERS])
  const maxMessageSize = init.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE
  if (!Number.isInteger(maxMessageSize)) {
    throw new TypeError(`maxMessageSize must be an integer, got ${String(maxMessageSize)}`)
  }
  if (maxMessageSize < 1024 || maxMessageSize > MAX_MAX_MESSAGE_SIZE) {
    throw new RangeError(`maxMessageSize must be 1024 to ${MAX_MAX_MESSAGE_SIZE}, got ${maxMessageSize}`)
  }
  const webRTC = loadWebRTC()({
    // an empty list is passed on as is: @libp2p/webrtc only substitutes its public servers for a missing one
    rtcConfiguration: { iceServers: stunServers.length === 0 ? [] : [{ urls: stunServers }] },
    dataChannel: { maxMessageSize }
  })
  return {
    transports: [(components: object) => webRTC(components as WebRTCTransportComponents)],
    listen: [WEBRTC_LISTEN]
  }
}

/**
 * The WebRTC address behind a relayed address of `peer`:
 * `…/p2p/<relay>/p2p-circuit[/p2p/<peer>]` becomes
 * `…/p2p/<relay>/p2p-circuit/webrtc/p2p/<peer>`. Throws a RangeError for an
 * address that is not relayed, and {@link PeerMismatchError} when it names another peer.
 */
export function webrtcAddr (relayed: Multiaddr | string, peer: PeerId): Multiaddr {
  const components = multiaddr(relayed.toString()).getComponents()
  const last = components.at(-1)
  if (last?.name === 'p2p') {
    if (last.value !== peer.toString()) {
      throw new PeerMismatchError(`Address ${relayed.toString()} names ${String(last.value)}, expected ${peer.toString()}`)
    }
    components.pop()
  }
  if (components.at(-1)?.name !== 'p2p-circuit' || components.at(-2)?.name !== 'p2p') {
    throw new RangeError(`address ${relayed.toString()} is not a relayed address (…/p2p/<relay>/p2p-circuit)`)
  }
  return multiaddr(components).encapsulate(`/webrtc/p2p/${peer.toString()}`)
}

function isRelayed (connection: Connection): boolean {
  return connection.remoteAddr.getComponents().some(c => c.name === 'p2p-circuit') &&
    !connection.remoteAddr.getComponents().some(c => c.name === 'webrtc')
}

/** Options for {@link upgradeToDirect}. */
export interface UpgradeOptions extends AbortOptions {
  /** Attempts before giving up, 1 to 10 (default {@link UPGRADE_ATTEMPTS}). */
  attempts?: number
  /** Time one attempt may take in ms before it is abandoned, 1000 to 60000 (default {@link UPGRADE_ATTEMPT_TIMEOUT}). */
  attemptTimeout?: number
}

function checkCount (name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new TypeError(`${name} must be an integer, got ${typeof value === 'number' ? value : typeof value}`)
  }
  if (value < min || value > max) {
    throw new RangeError(`${name} must be ${min} to ${max}, got ${value}`)
  }
  return value
}

/**
 * Upgrade to a direct WebRTC connection to `peer`, negotiated over a relayed
 * connection: an open one, or one made on `relayed` addresses if there is
 * none. Returns an existing direct connection if there is one. The relayed
 * connection stays open; streams already on it are not moved
 * (spec/direct-paths.md#associations).
 *
 * Each attempt is bounded by `attemptTimeout` and a failed one is retried:
 * @libp2p/webrtc 6.0 does not report a failed DTLS handshake but waits for
 * the dial timeout (spec/direct-paths.md#defects). Fails with
 * {@link DialFailedError} when every attempt failed (ICE finds no path when a
 * symmetric NAT faces a port-restricted or symmetric one,
 * spec/direct-paths.md#nat-pairs), the caller's signal aborts, or nothing is
 * relayed to upgrade; with {@link PeerMismatchError} when a relayed address
 * names another peer.
 */
export async function upgradeToDirect (node: Libp2p, peer: PeerId, relayed: Array<Multiaddr | string> = [], options: UpgradeOptions = {}): Promise<Connection> {
  if (!Array.isArray(relayed)) {
    throw new TypeError(`relayed must be an array of multiaddrs, got ${typeof relayed}`)
  }
  const attempts = checkCount('attempts', options.attempts ?? UPGRADE_ATTEMPTS, 1, 10)
  const attemptTimeout = checkCount('attemptTimeout', options.attemptTimeout ?? UPGRADE_ATTEMPT_TIMEOUT, 1000, 60_000)
  const sources = [
    ...node.getConnections(peer).filter(c => c.status === 'open' && isRelayed(c)).map(c => c.remoteAddr),
    ...relayed
  ]
  const targets = new Map<string, Multiaddr>()
  try {
    for (const source of sources) {
      const target = webrtcAddr(source, peer)
      targets.set(target.toString(), target)
    }
  } catch (err) {
    if ((err as Error).name === PeerMismatchError.name) throw err
    throw new DialFailedError(`Bad relayed address for ${peer.toString()}: ${(err as Error).message}`, { cause: err })
  }
  if (targets.size === 0) {
    throw new DialFailedError(`No relayed connection or address to upgrade for ${peer.toString()}`)
  }
  const errors: unknown[] = []
  let connection: Connection | undefined
  for (let attempt = 1; connection == null; attempt++) {
    const timeout = AbortSignal.timeout(attemptTimeout)
    const signal = options.signal == null ? timeout : AbortSignal.any([options.signal, timeout])
    try {
      connection = await node.dial([...targets.values()], { signal })
    } catch (err) {
      errors.push(err)
      if (attempt >= attempts || options.signal?.aborted === true) {
        const why = errors.map((e, i) => `attempt ${i + 1}: ${(e as Error)?.message ?? String(e)}`).join('; ')
        throw new DialFailedError(`No direct path to ${peer.toString()} (${why})`, { cause: errors.length === 1 ? err : new AggregateError(errors) })
      }
    }
  }
  if (!connection.remotePeer.equals(peer)) {
    await connection.close().catch(() => {})
    throw new PeerMismatchError(`Connected to ${connection.remotePeer.toString()}, expected ${peer.toString()}`)
  }
  if (!connection.direct) {
    // the dial queue hands back an existing connection when it judges it good enough
    throw new DialFailedError(`Dial to ${peer.toString()} returned the relayed connection ${connection.remoteAddr.toString()}, not a direct one`)
  }
  return connection
}
