import { ProtocolError } from '@libp2p/interface'
import { lpStream } from '@libp2p/utils'
import { MAX_PING_REPLY_BYTES } from './constants.ts'
import type { AbortOptions, DialTarget } from '@libp2p/interface'
import type { ConnectionManager } from '@libp2p/interface-internal'
import type { Ping } from '@libp2p/ping'

/**
 * A DHT `Message { type: PING }`: field 1 (`type`, varint) = 5 (libp2p kad-dht
 * `dht.proto`, `MessageType.PING`). A DHT server answers with the same message.
 */
const PING_MESSAGE = Uint8Array.from([0x08, 0x05])

/**
 * Liveness check for the routing table, spoken on the DHT protocol itself
 * (spec/dht.md#peers): a peer answers only if it runs a DHT *server* on our
 * protocol id, so a successful ping both proves it is online and that it
 * belongs in the routing table. Nodes therefore need no `/ipfs/ping` service
 * and no identify.
 */
export function dhtPinger (connectionManager: ConnectionManager, protocol: string): Ping {
  return {
    async ping (peer: DialTarget, options: AbortOptions = {}): Promise<number> {
      const start = Date.now()
      const stream = await connectionManager.openStream(peer, protocol, options)
      try {
        const lp = lpStream(stream, { maxDataLength: MAX_PING_REPLY_BYTES })
        await lp.write(PING_MESSAGE, options)
        const reply = (await lp.read(options)).subarray()
        if (reply[0] !== PING_MESSAGE[0] || reply[1] !== PING_MESSAGE[1]) {
          throw new ProtocolError('peer answered a DHT PING with another message')
        }
        await stream.close(options)
        return Date.now() - start
      } catch (err) {
        stream.abort(err as Error)
        throw err
      }
    }
  }
}
