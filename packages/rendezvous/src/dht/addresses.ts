import { isPrivate, lpStream } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import protobuf from 'protobufjs/light.js'
import { MAX_ADDRS, MAX_ADDR_BYTES } from '../constants.ts'
import { DHT_REQUEST_TIMEOUT_MS, MAX_FIND_NODE_REPLY_BYTES, MAX_VERIFIED_ADDRS } from './constants.ts'
import type { AbortOptions, PeerId } from '@libp2p/interface'
import type { ConnectionManager } from '@libp2p/interface-internal'
import type { Multiaddr } from '@multiformats/multiaddr'

// The part of libp2p kad-dht's dht.proto this module speaks: Message.type (1), .key (2), .closerPeers (8); Peer.id (1), .addrs (2)
const root = protobuf.Root.fromJSON({
  nested: {
    Message: { fields: { type: { type: 'int32', id: 1 }, key: { type: 'bytes', id: 2 }, closer: { rule: 'repeated', type: 'Peer', id: 8 } } },
    Peer: { fields: { id: { type: 'bytes', id: 1 }, addrs: { rule: 'repeated', type: 'bytes', id: 2 } } }
  }
})
const Message = root.lookupType('Message')
const FIND_NODE = 4

function equal (a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && a.every((x, i) => x === b[i])
}

/**
 * Ask a connected peer where it listens, on the DHT protocol: a `FIND_NODE`
 * for the peer's own id, which a DHT server answers with itself and its
 * addresses (the @libp2p/kad-dht FIND_NODE handler). A peer that does not
 * run a DHT server refuses the protocol, so this is also the server probe.
 * Returns the addresses it claims (bounded), unverified.
 */
export async function askListenAddrs (connectionManager: ConnectionManager, protocol: string, peer: PeerId, options: AbortOptions = {}): Promise<Multiaddr[]> {
  const self = peer.toMultihash().bytes
  const stream = await connectionManager.openStream(peer, protocol, options)
  try {
    const lp = lpStream(stream, { maxDataLength: MAX_FIND_NODE_REPLY_BYTES })
    await lp.write(Message.encode({ type: FIND_NODE, key: self }).finish(), options)
    const reply = Message.toObject(Message.decode((await lp.read(options)).subarray())) as { closer?: Array<{ id?: Uint8Array, addrs?: Uint8Array[] }> }
    await stream.close(options)
    const own = (reply.closer ?? []).find(p => p.id != null && equal(p.id, self))
    const addrs: Multiaddr[] = []
    for (const bytes of (own?.addrs ?? []).slice(0, MAX_ADDRS)) {
      if (bytes.byteLength > MAX_ADDR_BYTES) continue
      try {
        addrs.push(multiaddr(bytes))
      } catch { /* not a multiaddr: ignored */ }
    }
    return addrs
  } catch (err) {
    stream.abort(err as Error)
    throw err
  }
}

/**
 * The first claimed address at which `peer` really answers with its key
 * (spec/dht.md#peers): addresses are dialled back in turn, and one is kept
 * only if the Noise handshake there proves `peer`'s key. A peer can therefore
 * not make DHT nodes advertise, and others dial, an address that is not its
 * own. The proving connection is kept open: it is an ordinary outbound
 * connection to the peer (closing it would race the streams the routing
 * table opens next). Private and loopback addresses are dropped unless allowed.
 */
export async function verifiedListenAddr (connectionManager: ConnectionManager, peer: PeerId, claimed: Multiaddr[], allowPrivate: boolean, options: AbortOptions = {}): Promise<Multiaddr | undefined> {
  const candidates = claimed.filter(a => allowPrivate || !isPrivate(a)).slice(0, MAX_VERIFIED_ADDRS)
  for (const addr of candidates) {
    options.signal?.throwIfAborted()
    const signal = AbortSignal.any([AbortSignal.timeout(DHT_REQUEST_TIMEOUT_MS), ...(options.signal == null ? [] : [options.signal])])
    const bare = addr.getComponents().some(c => c.name === 'p2p') ? addr.decapsulateCode(421) : addr
    try {
      // libp2p refuses the connection unless the remote proves the key named in /p2p/
      const connection = await connectionManager.openConnection(bare.encapsulate(`/p2p/${peer.toString()}`), { force: true, signal })
      if (connection.remotePeer.equals(peer)) return bare
    } catch { /* not reachable there, or another key: not advertised */ }
  }
  return undefined
}
