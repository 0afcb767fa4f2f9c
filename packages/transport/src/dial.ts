import { ConnectionClosedError, InvalidPeerIdError, UnexpectedPeerError } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import { DIRECT_DIAL_HEAD_START, STREAMS_PER_CONNECTION } from './constants.ts'
import { DialFailedError, PeerMismatchError, StreamOpenError } from './errors.ts'
import { OPTIMISTIC_SELECT } from './internal/optimistic-select.ts'
import type { AbortOptions, Connection, Libp2p, PeerId, Stream } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/** Options for {@link dialEntity} and {@link openStream}. */
export interface DialOptions extends AbortOptions {
  /**
   * Send the protocol proposal with the first data instead of waiting for the
   * answer (default false; the SDK opens its associations this way). A remote
   * that does not speak the protocol is then discovered on the first read.
   */
  optimistic?: boolean
}

/** libp2p's errors for a remote that is not the peer dialled. */
const MISMATCH = new Set([UnexpectedPeerError.name, InvalidPeerIdError.name])

function findMismatch (err: unknown, depth = 0): Error | undefined {
  if (err == null || typeof err !== 'object' || depth > 4) return undefined
  const e = err as Error & { errors?: unknown[], cause?: unknown }
  if (MISMATCH.has(e.name)) return e
  for (const inner of e.errors ?? []) {
    const found = findMismatch(inner, depth + 1)
    if (found != null) return found
  }
  return findMismatch(e.cause, depth + 1)
}

/**
 * Every address is dialled with its final `/p2p/<peer>` (kept, or added):
 * the unobservable layer needs the peer's key before the first byte
 * (spec/unobservable.md), and Noise then pins the same key. A listener that
 * does not hold it answers nothing and closes (the dial fails with
 * {@link DialFailedError}, as for a port where no Fara node listens); a
 * remote that somehow passed and then proved another key in Noise is
 * reported as {@link PeerMismatchError}. For a relayed address the relay is
 * asked for that peer.
 */
function target (addr: Multiaddr | string, peer: PeerId): { addr: Multiaddr, relayed: boolean } {
  const ma = multiaddr(addr.toString())
  const components = ma.getComponents()
  const circuit = components.findLastIndex(c => c.name === 'p2p-circuit')
  const named = (circuit < 0 ? components : components.slice(circuit + 1)).find(c => c.name === 'p2p')?.value
  if (named != null && named !== peer.toString()) {
    throw new PeerMismatchError(`Address ${ma.toString()} names ${named}, expected ${peer.toString()}`)
  }
  return { addr: named == null ? ma.encapsulate(`/p2p/${peer.toString()}`) : ma, relayed: circuit >= 0 }
}

async function dial (node: Libp2p, peer: PeerId, targets: Multiaddr[], options: DialOptions): Promise<Connection> {
  try {
    const connection = await node.dial(targets, options.signal == null ? {} : { signal: options.signal })
    if (!connection.remotePeer.equals(peer)) {
      await connection.close().catch(() => {})
      throw new PeerMismatchError(`Connected to ${connection.remotePeer.toString()}, expected ${peer.toString()}`)
    }
    return connection
  } catch (err) {
    if ((err as Error)?.name === PeerMismatchError.name) throw err
    const mismatch = findMismatch(err)
    if (mismatch != null) {
      throw new PeerMismatchError(`Remote at ${targets.join(', ')} is not ${peer.toString()}: ${mismatch.message}`, { cause: err })
    }
    throw new DialFailedError(`Could not reach ${peer.toString()}: ${(err as Error)?.message ?? String(err)}`, { cause: err })
  }
}

/** True unless the connection runs through a relay (a WebRTC connection signalled over a relay is direct). */
function isDirectPath (connection: Connection): boolean {
  const names = connection.remoteAddr.getComponents().map(c => c.name)
  return !names.includes('p2p-circuit') || names.includes('webrtc')
}

/**
 * Connect to `peer` at `addrs`, authenticating it with Noise: the connection
 * is made only if the remote proves it holds `peer`'s key. Direct addresses
 * are tried first (for at most {@link DIRECT_DIAL_HEAD_START} ms when there
 * are relayed ones too), relayed ones (`…/p2p/<relay>/p2p-circuit`, which
 * need a node created with `dialRelayed`) only if no direct one answers. Every
 * failure is a typed error ({@link DialFailedError}, {@link PeerMismatchError}); nothing is thrown raw.
 */
export async function dialEntity (node: Libp2p, peer: PeerId, addrs: Array<Multiaddr | string>, options: DialOptions = {}): Promise<Connection> {
  // an open direct connection (TCP, or WebRTC after an upgrade) beats any new dial and any relayed one
  const direct = node.getConnections(peer).find(c => c.status === 'open' && isDirectPath(c))
  if (direct != null) return direct
  if (addrs.length === 0) {
    throw new DialFailedError(`No addresses to dial ${peer.toString()}`)
  }
  let targets
  try {
    targets = addrs.map(a => target(a, peer))
  } catch (err) {
    if ((err as Error).name === PeerMismatchError.name) throw err
    throw new DialFailedError(`Bad address for ${peer.toString()}: ${(err as Error).message}`, { cause: err })
  }
  const directAddrs = targets.filter(t => !t.relayed).map(t => t.addr)
  const viaRelay = targets.filter(t => t.relayed).map(t => t.addr)
  // a WebRTC address waits for ICE, which may never succeed (symmetric NATs): reach the peer
  // through the relay first, and let the caller upgrade to WebRTC in the background (upgradeToDirect)
  const plainCircuits = viaRelay.filter(a => !a.getComponents().some(c => c.name === 'webrtc'))
  const relayed = plainCircuits.length > 0 ? plainCircuits : viaRelay
  // libp2p dials a list only if every address names the same peer or none does
  if (relayed.length === 0) return dial(node, peer, directAddrs, options)
  if (directAddrs.length === 0) return dial(node, peer, relayed, options)
  let first: Error
  try {
    // a direct address that drops SYNs (behind NAT) must not hold the relayed path back for a whole dialTimeout
    const headStart = AbortSignal.timeout(DIRECT_DIAL_HEAD_START)
    return await dial(node, peer, directAddrs, { ...options, signal: options.signal == null ? headStart : AbortSignal.any([options.signal, headStart]) })
  } catch (err) {
    first = err as Error
  }
  if (options.signal?.aborted === true) throw first
  try {
    return await dial(node, peer, relayed, options)
  } catch (err) {
    // a key mismatch says more than an unreachable address
    if (first.name === PeerMismatchError.name) throw first
    if ((err as Error).name === PeerMismatchError.name) throw err
    throw new DialFailedError(`Could not reach ${peer.toString()} directly (${first.message}) nor through a relay (${(err as Error).message})`, { cause: err })
  }
}

/** Dial `peer` (see {@link dialEntity}) and open a stream on `protocol`. */
export async function openStream (node: Libp2p, peer: PeerId, addrs: Array<Multiaddr | string>, protocol: string, options: DialOptions = {}): Promise<Stream> {
  for (let attempt = 0; ; attempt++) {
    const connection = await dialEntity(node, peer, addrs, options)
    try {
      return await connection.newStream(protocol, {
        negotiateFully: options.optimistic !== true,
        // libp2p 3 negotiates fully whatever negotiateFully says: the muxer of a node made by
        // createNode selects optimistically when told so (internal/optimistic-select.ts)
        ...(options.optimistic === true ? { [OPTIMISTIC_SELECT]: true } : {}),
        maxOutboundStreams: STREAMS_PER_CONNECTION,
        ...(options.signal == null ? {} : { signal: options.signal })
      })
    } catch (err) {
      // the open connection it took was closing (the remote closed it meanwhile): once more, on a new one
      const closing = connection.status !== 'open' || (err as Error)?.name === ConnectionClosedError.name
      if (attempt === 0 && closing && options.signal?.aborted !== true) {
        // its muxer may have ended (the remote's GoAway) before the connection itself: let it go now
        if (connection.status === 'open') connection.abort(err as Error)
        continue
      }
      throw new StreamOpenError(`Could not open ${protocol} to ${peer.toString()}: ${(err as Error)?.message ?? String(err)}`, { cause: err })
    }
  }
}
