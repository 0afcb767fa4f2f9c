import { webRTC } from '@libp2p/webrtc'
import { multiaddr } from '@multiformats/multiaddr'
import { DialFailedError, PeerMismatchError } from './errors.ts'
import type { AbortOptions, Connection, Libp2p, PeerId, Transport } from '@libp2p/interface'
import type { WebRTCTransportComponents } from '@libp2p/webrtc'
import type { Multiaddr } from '@multiformats/multiaddr'

/**
 * The WebRTC transport's listen address. It opens no socket of its own: it
 * turns every relayed address `…/p2p-circuit` into `…/p2p-circuit/webrtc`,
 * which a peer dials to be offered a direct path (spec/direct-paths.md).
 */
export const WEBRTC_LISTEN = '/webrtc'

/**
 * STUN servers used unless told otherwise: none. @libp2p/webrtc would
 * otherwise ask four public servers (Google, Twilio, Cloudflare, Mozilla) on
 * every connection, telling each of them that this entity exists; Fara says
 * nothing it does not have to (spec/direct-paths.md#stun).
 */
export const DEFAULT_STUN_SERVERS: readonly string[] = []

/** Largest data-channel message, framing included: @libp2p/webrtc's own default (spec/direct-paths.md#limits). */
export const DEFAULT_MAX_MESSAGE_SIZE = 16_384

/** Highest `maxMessageSize` accepted: libdatachannel announces `a=max-message-size:262144` (RFC 8841 §6). */
export const MAX_MAX_MESSAGE_SIZE = 262_144

// RFC 7064 §3.1: stun-URI = scheme ":" host [ ":" port ]; no path, no query
const STUN_URI = /^stuns?:(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(:(\d{1,5}))?$/

/** Options for {@link directPaths}. */
export interface DirectPathsInit {
  /** STUN servers as `stun:host[:port]` URIs (RFC 7064), asked for this entity's public address (default {@link DEFAULT_STUN_SERVERS}: none, so only host candidates are offered). */
  stunServers?: string[]
  /** Largest data-channel message in bytes, framing included, 1024 to {@link MAX_MAX_MESSAGE_SIZE} (default {@link DEFAULT_MAX_MESSAGE_SIZE}). */
  maxMessageSize?: number
}

/**
 * What {@link directPaths} adds to a libp2p config. It needs, in the same
 * node, `circuitRelayTransport()` (the SDP offer and answer travel over a
 * relayed connection) and the `identify` service: without them createLibp2p
 * throws `UnmetServiceDependenciesError`.
 */
export interface DirectPaths {
  /** Add to `transports`. */
  transports: Array<(components: WebRTCTransportComponents) => Transport>
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
 * const direct = directPaths({ stunServers: ['stun:stun.example.net:3478'] })
 * const node = await createLibp2p({
 *   addresses: { listen: [`${relayAddr}/p2p-circuit`, ...direct.listen] },
 *   transports: [tcp(), circuitRelayTransport(), ...direct.transports],
 *   connectionEncrypters: [noise()],
 *   streamMuxers: [yamux()],
 *   services: { identify: identify() }
 * })
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
  return {
    transports: [webRTC({
      // an empty list is passed on as is: @libp2p/webrtc only substitutes its public servers for a missing one
      rtcConfiguration: { iceServers: stunServers.length === 0 ? [] : [{ urls: stunServers }] },
      dataChannel: { maxMessageSize }
    })],
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

/**
 * Upgrade to a direct WebRTC connection to `peer`, negotiated over a relayed
 * connection: an open one, or one made on `relayed` addresses if there is
 * none. The relayed connection stays open; streams already on it are not
 * moved (spec/direct-paths.md#associations). Fails with
 * {@link DialFailedError} when ICE finds no path (a symmetric NAT on either
 * side, see spec/direct-paths.md#nat-pairs) or nothing is relayed to upgrade.
 */
export async function upgradeToDirect (node: Libp2p, peer: PeerId, relayed: Array<Multiaddr | string> = [], options: AbortOptions = {}): Promise<Connection> {
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
    if ((err as Error).name === 'PeerMismatchError') throw err
    throw new DialFailedError(`Bad relayed address for ${peer.toString()}: ${(err as Error).message}`, { cause: err })
  }
  if (targets.size === 0) {
    throw new DialFailedError(`No relayed connection or address to upgrade for ${peer.toString()}`)
  }
  let connection: Connection
  try {
    connection = await node.dial([...targets.values()], options.signal == null ? {} : { signal: options.signal })
  } catch (err) {
    throw new DialFailedError(`No direct path to ${peer.toString()}: ${(err as Error)?.message ?? String(err)}`, { cause: err })
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
