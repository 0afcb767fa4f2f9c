import { Libp2pRecord } from '@libp2p/record'
import { lpStream } from '@libp2p/utils'
import protobuf from 'protobufjs/light.js'
import { DHT_REPUBLISH_CONCURRENCY, DHT_REQUEST_TIMEOUT_MS, MAX_PUT_REPLY_BYTES } from './constants.ts'
import { bytesEqual } from './records.ts'
import { walk } from './walk.ts'
import type { WalkContext } from './walk.ts'
import type { AbortOptions, PeerId } from '@libp2p/interface'
import type { ConnectionManager } from '@libp2p/interface-internal'
import type { KadDHT } from '@libp2p/kad-dht'

// The part of libp2p kad-dht's dht.proto a PUT_VALUE needs: Message.type (1), .key (2), .record (3)
const root = protobuf.Root.fromJSON({
  nested: {
    Message: { fields: { type: { type: 'int32', id: 1 }, key: { type: 'bytes', id: 2 }, record: { type: 'bytes', id: 3 } } }
  }
})
const Message = root.lookupType('Message')
const PUT_VALUE = 0

/**
 * Send one stored record to `peer` in a `PUT_VALUE` and tell whether it
 * echoed the value (a DHT server echoes only what it stored; it resets the
 * stream to refuse). The peer verifies it as any put.
 */
export async function putTo (connectionManager: ConnectionManager, protocol: string, peer: PeerId, key: Uint8Array, record: Uint8Array, options: AbortOptions = {}): Promise<boolean> {
  const stream = await connectionManager.openStream(peer, protocol, options)
  try {
    const lp = lpStream(stream, { maxDataLength: MAX_PUT_REPLY_BYTES })
    await lp.write(Message.encode({ type: PUT_VALUE, key, record }).finish(), options)
    const reply = Message.toObject(Message.decode((await lp.read(options)).subarray())) as { record?: Uint8Array }
    await stream.close(options)
    return reply.record != null && bytesEqual(Libp2pRecord.deserialize(reply.record).value, Libp2pRecord.deserialize(record).value)
  } catch {
    stream.abort(new Error('PUT_VALUE refused or unanswered'))
    return false
  }
}

/**
 * Put each record (its DHT key and stored bytes) to the peers closest to its
 * key that a lookup finds now (spec/dht.md#persistence): what a node
 * restarted from its data directory does once it has a peer, so replicas
 * lost while it was down, or peers that joined meanwhile, hold its records
 * again. Resolves with the number of stores peers echoed.
 */
export async function republish (ctx: WalkContext & { dht: KadDHT }, records: Array<{ key: Uint8Array, record: Uint8Array }>, options: AbortOptions = {}): Promise<number> {
  let stored = 0
  const queue = [...records]
  const worker = async (): Promise<void> => {
    for (let next = queue.shift(); next != null; next = queue.shift()) {
      const { key, record } = next
      options.signal?.throwIfAborted()
      let peers: PeerId[] = []
      try {
        peers = (await walk(ctx, key, ctx.dht.getClosestPeers(key, options), options)).closest
      } catch {
        options.signal?.throwIfAborted() // a failed lookup: the next record
      }
      const signal = AbortSignal.any([AbortSignal.timeout(DHT_REQUEST_TIMEOUT_MS), ...(options.signal == null ? [] : [options.signal])])
      const echoed = await Promise.all(peers.map(async peer => putTo(ctx.connectionManager, ctx.protocol, peer, key, record, { signal }).catch(() => false)))
      stored += echoed.filter(Boolean).length
    }
  }
  await Promise.all(Array.from({ length: DHT_REPUBLISH_CONCURRENCY }, worker))
  return stored
}
