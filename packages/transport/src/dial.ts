import { multiaddr } from '@multiformats/multiaddr'
import { DialFailedError, PeerMismatchError, StreamOpenError } from './errors.ts'
import type { AbortOptions, Connection, Libp2p, PeerId, Stream } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/** Options for {@link dialEntity} and {@link openStream}. */
export interface DialOptions extends AbortOptions {
  /** Send the protocol proposal with the first data instead of waiting for the answer (default true). */
  optimistic?: boolean
}

const MISMATCH = new Set(['UnexpectedPeerError', 'InvalidPeerIdError'])

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
 * Strip any `/p2p/` part: the key is checked against the Noise-authenticated
 * remote after the handshake, so a mismatch is always reported as
 * {@link PeerMismatchError} (libp2p's upgrader would turn Noise's own check
 * into an untyped EncryptionFailedError). Either way no byte of ours reaches
 * the wrong peer: streams are opened only after the check.
 */
function withoutPeer (addr: Multiaddr | string, peer: PeerId): Multiaddr {
  const ma = multiaddr(addr.toString())
  const named = ma.getComponents().find(c => c.name === 'p2p')?.value
  if (named != null && named !== peer.toString()) {
    throw new PeerMismatchError(`Address ${ma.toString()} names ${named}, expected ${peer.toString()}`)
  }
  return named == null ? ma : ma.decapsulateCode(421)
}

/**
 * Connect to `peer` at `addrs`, authenticating it with Noise: the connection
 * is made only if the remote proves it holds `peer`'s key. Every failure is a
 * typed error ({@link DialFailedError}, {@link PeerMismatchError}); nothing is thrown raw.
 */
export async function dialEntity (node: Libp2p, peer: PeerId, addrs: Array<Multiaddr | string>, options: DialOptions = {}): Promise<Connection> {
  if (addrs.length === 0) {
    throw new DialFailedError(`No addresses to dial ${peer.toString()}`)
  }
  let targets
  try {
    targets = addrs.map(a => withoutPeer(a, peer))
  } catch (err) {
    if ((err as Error).name === 'PeerMismatchError') throw err
    throw new DialFailedError(`Bad address for ${peer.toString()}: ${(err as Error).message}`, { cause: err })
  }
  try {
    const connection = await node.dial(targets, options.signal == null ? {} : { signal: options.signal })
    if (!connection.remotePeer.equals(peer)) {
      await connection.close().catch(() => {})
      throw new PeerMismatchError(`Connected to ${connection.remotePeer.toString()}, expected ${peer.toString()}`)
    }
    return connection
  } catch (err) {
    if ((err as Error)?.name === 'PeerMismatchError') throw err
    const mismatch = findMismatch(err)
    if (mismatch != null) {
      throw new PeerMismatchError(`Remote at ${targets.join(', ')} is not ${peer.toString()}: ${mismatch.message}`, { cause: err })
    }
    throw new DialFailedError(`Could not reach ${peer.toString()}: ${(err as Error)?.message ?? String(err)}`, { cause: err })
  }
}

/** Dial `peer` (see {@link dialEntity}) and open a stream on `protocol`. */
export async function openStream (node: Libp2p, peer: PeerId, addrs: Array<Multiaddr | string>, protocol: string, options: DialOptions = {}): Promise<Stream> {
  const connection = await dialEntity(node, peer, addrs, options)
  try {
    return await connection.newStream(protocol, {
      negotiateFully: options.optimistic === false,
      ...(options.signal == null ? {} : { signal: options.signal })
    })
  } catch (err) {
    throw new StreamOpenError(`Could not open ${protocol} to ${peer.toString()}: ${(err as Error)?.message ?? String(err)}`, { cause: err })
  }
}
