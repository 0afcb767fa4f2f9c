import { createHash } from 'node:crypto'
import { peerIdFromMultihash } from '@libp2p/peer-id'
import { Libp2pRecord } from '@libp2p/record'
import { isPrivate, lpStream } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import protobuf from 'protobufjs/light.js'
import { MAX_ADDRS, MAX_ADDR_BYTES } from '../constants.ts'
import { DHT_REQUEST_TIMEOUT_MS, MAX_FIND_NODE_REPLY_BYTES, MAX_WALK_ROUNDS } from './constants.ts'
import { bytesEqual } from './records.ts'
import type { AbortOptions, PeerId, PeerStore } from '@libp2p/interface'
import type { ConnectionManager } from '@libp2p/interface-internal'
import type { QueryEvent } from '@libp2p/kad-dht'
import type { Multiaddr } from '@multiformats/multiaddr'

// The part of libp2p kad-dht's dht.proto a GET_VALUE needs: Message.type (1), .key (2), .record (3), .closerPeers (8);
// Peer.id (1), .addrs (2)
const root = protobuf.Root.fromJSON({
  nested: {
    Message: {
      fields: {
        type: { type: 'int32', id: 1 },
        key: { type: 'bytes', id: 2 },
        record: { type: 'bytes', id: 3 },
        closer: { rule: 'repeated', type: 'Peer', id: 8 }
      }
    },
    Peer: { fields: { id: { type: 'bytes', id: 1 }, addrs: { rule: 'repeated', type: 'bytes', id: 2 } } }
  }
})
const Message = root.lookupType('Message')
const GET_VALUE = 1

/** What a walk needs of the node. */
export interface WalkContext {
  connectionManager: ConnectionManager
  peerStore: PeerStore
  protocol: string
  self: PeerId
  /** Replication factor: how many closest peers a walk ends with. */
  k: number
  /** Keep private and loopback addresses that responders give for other peers. */
  allowPrivate: boolean
}

/** What a walk found: the `k` closest peers that answered, and every value they (or the seed lookup) returned for the key. */
export interface WalkResult {
  closest: PeerId[]
  values: Uint8Array[]
}

interface Heard { id: PeerId, multiaddrs: Multiaddr[], distance: Buffer, state: 'new' | 'asked' | 'answered' | 'failed' }

const sha256 = (bytes: Uint8Array): Buffer => createHash('sha256').update(bytes).digest()

/** An unsigned varint (at most 4 bytes: multihash codes and lengths are small) at `at`: its value and the next offset. */
function varint (bytes: Uint8Array, at: number): [number, number] {
  let value = 0
  for (let i = 0; i < 4; i++) {
    const b = bytes[at + i]
    if (b == null) break
    value += (b & 0x7f) * 2 ** (7 * i)
    if ((b & 0x80) === 0) return [value, at + i + 1]
  }
  throw new RangeError('not a varint')
}

/** A peer id from its multihash bytes (code, length, digest), as a DHT message carries it. */
function peerIdOf (bytes: Uint8Array): PeerId {
  const [code, start] = varint(bytes, 0)
  const [size, offset] = varint(bytes, start)
  if (offset + size !== bytes.byteLength) throw new RangeError('multihash length does not match')
  return peerIdFromMultihash({ code, size, digest: bytes.subarray(offset), bytes } as Parameters<typeof peerIdFromMultihash>[0])
}

function xorCompare (a: Buffer, b: Buffer, target: Buffer): number {
  for (let i = 0; i < target.length; i++) {
    const x = a[i]! ^ target[i]!
    const y = b[i]! ^ target[i]!
    if (x !== y) return x < y ? -1 : 1
  }
  return 0
}

/** Ask one peer GET_VALUE for `key`: the value it holds (if any, for this key) and the closer peers it names (bounded). */
async function getValue (ctx: WalkContext, peer: PeerId, key: Uint8Array, options: AbortOptions): Promise<{ value?: Uint8Array, closer: Array<{ id: PeerId, multiaddrs: Multiaddr[] }> }> {
  const stream = await ctx.connectionManager.openStream(peer, ctx.protocol, options)
  try {
    const lp = lpStream(stream, { maxDataLength: MAX_FIND_NODE_REPLY_BYTES })
    await lp.write(Message.encode({ type: GET_VALUE, key }).finish(), options)
    const reply = Message.toObject(Message.decode((await lp.read(options)).subarray())) as { record?: Uint8Array, closer?: Array<{ id?: Uint8Array, addrs?: Uint8Array[] }> }
    await stream.close(options)
    let value: Uint8Array | undefined
    if (reply.record != null) {
      try {
        const record = Libp2pRecord.deserialize(reply.record)
        if (bytesEqual(record.key, key)) value = record.value
      } catch { /* not a record: no value */ }
    }
    const closer: Array<{ id: PeerId, multiaddrs: Multiaddr[] }> = []
    // a peer names at most k closer peers; more are ignored
    for (const p of (reply.closer ?? []).slice(0, 2 * ctx.k)) {
      try {
        const id = peerIdOf(p.id ?? new Uint8Array(0))
        const multiaddrs: Multiaddr[] = []
        for (const bytes of (p.addrs ?? []).slice(0, MAX_ADDRS)) {
          if (bytes.byteLength > MAX_ADDR_BYTES) continue
          try {
            multiaddrs.push(multiaddr(bytes))
          } catch { /* not a multiaddr: ignored */ }
        }
        closer.push({ id, multiaddrs })
      } catch { /* not a peer id: ignored */ }
    }
    return value == null ? { closer } : { value, closer }
  } catch (err) {
    stream.abort(err as Error)
    throw err
  }
}

/**
 * Find the `k` peers closest to `key` (Kademlia's XOR metric on SHA-256) and
 * the values they hold for it, starting from a @libp2p/kad-dht lookup
 * (`seed`: the events of its `getClosestPeers` or `get`) and going on where
 * it stops. Its lookup queries a peer only if that peer is closer to the key
 * than the one that named it, so it can end at the first peer that knows no
 * closer one: a fresh node that knows only its bootstrap peer would put a
 * value on that one node, and look for it there only (spec/dht.md#private-records).
 * The walk asks (GET_VALUE, which also returns closer peers) every one of the
 * `k` closest peers heard of that was not asked yet, in rounds, until all of
 * them have been asked (at most `MAX_WALK_ROUNDS` rounds). Addresses that
 * responders give are added to the peer store, so that they can be dialled.
 */
export async function walk (ctx: WalkContext, key: Uint8Array, seed: AsyncIterable<QueryEvent>, options: AbortOptions = {}): Promise<WalkResult> {
  const target = sha256(key)
  const heard = new Map<string, Heard>()
  const values: Uint8Array[] = []
  const note = (peer: { id: PeerId, multiaddrs?: Multiaddr[] }, state?: Heard['state']): void => {
    if (peer.id.equals(ctx.self)) return
    const id = peer.id.toString()
    let h = heard.get(id)
    if (h == null) {
      h = { id: peer.id, multiaddrs: [], distance: sha256(peer.id.toMultihash().bytes), state: 'new' }
      heard.set(id, h)
    }
    for (const a of peer.multiaddrs ?? []) if (ctx.allowPrivate || !isPrivate(a)) h.multiaddrs.push(a)
    if (state != null) h.state = state
  }
  const closest = (): Heard[] => [...heard.values()].filter(h => h.state !== 'failed').sort((a, b) => xorCompare(a.distance, b.distance, target)).slice(0, ctx.k)
  try {
    for await (const event of seed) {
      if (event.name === 'FINAL_PEER') note(event.peer)
      if (event.name === 'PEER_RESPONSE') {
        note({ id: event.from }, 'answered')
        for (const peer of event.closer) note(peer)
        if (event.record != null && bytesEqual(event.record.key, key)) values.push(event.record.value)
      }
      // VALUE events repeat what PEER_RESPONSE events carried, and this node's own value, which callers add themselves
    }
  } catch {
    options.signal?.throwIfAborted() // a failed read-repair ends the seed lookup with an error: what it found stands
  }
  for (let round = 0; round < MAX_WALK_ROUNDS; round++) {
    const pending = closest().filter(h => h.state === 'new')
    if (pending.length === 0) break
    await Promise.all(pending.map(async h => {
      h.state = 'asked'
      const signal = AbortSignal.any([AbortSignal.timeout(DHT_REQUEST_TIMEOUT_MS), ...(options.signal == null ? [] : [options.signal])])
      try {
        if (h.multiaddrs.length > 0) await ctx.peerStore.merge(h.id, { multiaddrs: h.multiaddrs }, { signal })
        const answer = await getValue(ctx, h.id, key, { signal })
        h.state = 'answered'
        for (const peer of answer.closer) note(peer)
        if (answer.value != null) values.push(answer.value)
      } catch {
        h.state = 'failed'
      }
    }))
    options.signal?.throwIfAborted()
  }
  return { closest: closest().filter(h => h.state === 'answered').map(h => h.id), values }
}
