// A connected udx-native stream as a libp2p MultiaddrConnection: what the
// birthday punch hands to the node's upgrader (spec/direct-paths.md#the-connection).
import { UdxConnection } from './internal/punch/udx-connection.ts'
import type { UdxConnectionInit } from './internal/punch/udx-connection.ts'
import type { MultiaddrConnection } from '@libp2p/interface'

export type { UdxConnectionInit } from './internal/punch/udx-connection.ts'

/**
 * Wrap a connected udx-native stream (reliable, ordered, congestion-controlled
 * UDP) so that a libp2p upgrader can run on it: the unobservable layer where
 * the node has it, then Noise and Yamux. `remoteAddr` of an outbound one must
 * end in `/p2p/<peer id>` (the upgrader checks the peer against it).
 *
 * @example
 * ```ts
 * // fragment: udx-native ships no type declarations, and the ids, host and port come from a punch's negotiation
 * import UDX from 'udx-native'
 * const udx = new UDX()
 * const socket = udx.createSocket(); socket.bind(0, '0.0.0.0')
 * const stream = udx.createStream(localId); stream.connect(socket, remoteId, port, host)
 * const maConn = udxConnection({ stream, direction: 'outbound', remoteAddr: multiaddr(`/ip4/${host}/udp/${port}/p2p/${peer}`), log })
 * ```
 */
export function udxConnection (init: UdxConnectionInit): MultiaddrConnection {
  return new UdxConnection(init)
}
