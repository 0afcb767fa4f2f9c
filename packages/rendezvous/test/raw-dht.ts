// The DHT as an attacker speaks it: one raw kad-dht message, sent by hand.
import { Libp2pRecord } from '@libp2p/record'
import { lpStream } from '@libp2p/utils'
import protobuf from 'protobufjs'
import { DHT_PROTOCOL } from '../src/constants.ts'
import type { Libp2p } from '@libp2p/interface'

/** The DHT wire message (libp2p kad-dht dht.proto), the fields a put needs. */
export const Message = new protobuf.Type('Message')
  .add(new protobuf.Field('type', 1, 'int32'))
  .add(new protobuf.Field('key', 2, 'bytes'))
  .add(new protobuf.Field('record', 3, 'bytes'))

/** Send one raw PUT_VALUE to `target` and report whether it echoed the value (= stored it). */
export async function rawPut (from: Libp2p, target: Libp2p, key: Uint8Array, value: Uint8Array): Promise<boolean> {
  const stream = await from.dialProtocol(target.getMultiaddrs(), DHT_PROTOCOL, { signal: AbortSignal.timeout(5_000) })
  const lp = lpStream(stream, { maxDataLength: 65_536 })
  await lp.write(Message.encode({ type: 0, key, record: new Libp2pRecord(key, value, new Date()).serialize() }).finish())
  try {
    const reply = Message.decode((await lp.read({ signal: AbortSignal.timeout(5_000) })).subarray()) as unknown as { record?: Uint8Array }
    await stream.close().catch(() => {})
    return reply.record != null && Buffer.from(Libp2pRecord.deserialize(reply.record).value).equals(Buffer.from(value))
  } catch {
    return false // a DHT node refuses a put by resetting the stream
  }
}
