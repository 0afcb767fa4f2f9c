// A UDX path between two libp2p nodes, built as the birthday punch builds the
// one it wins (packages/transport/src/punch.ts `#run`): a udx-native stream
// (Holepunch's reliable, congestion-controlled UDP) on a bound UDP socket,
// connected to the other side's socket and stream id, wrapped by
// `udxConnection()` and upgraded by the node's own upgrader (the unobservable
// layer where the node has it, Noise XX, Yamux). On loopback there is no NAT to
// punch: the two sockets simply know each other's port.
import { createRequire } from 'node:module'
import { multiaddr } from '@multiformats/multiaddr'
import { udxConnection } from '@fara/transport'
import { PUNCH } from '@fara/transport/constants'
import type { Connection, Libp2p, Upgrader } from '@libp2p/interface'
import type { Duplex } from 'node:stream'

/** The parts of udx-native the bench uses (it ships no typings; @fara/transport keeps its own, privately). */
export interface UdxSocket {
  address: () => { host: string, port: number }
  bind: (port?: number, host?: string) => void
  close: () => Promise<void>
  setRecvBufferSize: (size: number) => number
  setSendBufferSize: (size: number) => number
}

/** A udx-native stream: a streamx Duplex, typed as node's (whose methods it has). */
export interface UdxStream extends Duplex {
  connect: (socket: UdxSocket, remoteId: number, port: number, host?: string) => void
}

/** A udx-native instance (one per process: it owns the native event loop handle). */
export interface Udx {
  createSocket: () => UdxSocket
  createStream: (id: number) => UdxStream
}

const UDX = createRequire(import.meta.url)('udx-native') as new () => Udx

let shared: Udx | undefined

/** A UDP socket bound on `host` (an ephemeral port), as each side of a punch holds one. */
export function udxSocket (host = '127.0.0.1'): { udx: Udx, socket: UdxSocket, port: number } {
  const udx = shared ??= new UDX()
  const socket = udx.createSocket()
  socket.bind(0, host)
  // the buffers the punch gives a socket that carries a connection
  socket.setRecvBufferSize(PUNCH.socketBufferBytes)
  socket.setSendBufferSize(PUNCH.socketBufferBytes)
  return { udx, socket, port: socket.address().port }
}

/** Where one end of a UDX path goes. */
export interface UdxPathInit {
  udx: Udx
  socket: UdxSocket
  /** This side's stream id, and the other side's. */
  localId: number
  remoteId: number
  /** The other side's UDP socket. */
  host: string
  port: number
  /** The other side's peer id (the outbound side's remoteAddr must end in /p2p/<peer id>). */
  peer: string
  signal: AbortSignal
}

/** libp2p's node object carries its components; the punch gets the upgrader injected as a service does. */
function upgraderOf (node: Libp2p): Upgrader {
  return (node as unknown as { components: { upgrader: Upgrader } }).components.upgrader
}

function wrap (node: Libp2p, init: UdxPathInit, direction: 'inbound' | 'outbound'): { stream: UdxStream, maConn: ReturnType<typeof udxConnection> } {
  const stream = init.udx.createStream(init.localId)
  stream.connect(init.socket, init.remoteId, init.port, init.host)
  const maConn = udxConnection({
    stream,
    direction,
    remoteAddr: multiaddr(`/ip4/${init.host}/udp/${init.port}${direction === 'outbound' ? `/p2p/${init.peer}` : ''}`),
    log: node.logger.forComponent('bench:udx')
  })
  return { stream, maConn }
}

/** The dialling side: upgrade outbound, as the punch's outbound side does. */
export async function dialUdx (node: Libp2p, init: UdxPathInit): Promise<Connection> {
  const { maConn } = wrap(node, init, 'outbound')
  return upgraderOf(node).upgradeOutbound(maConn, { signal: init.signal })
}

/**
 * The other side: upgrade inbound, then find the connection among the node's
 * own (upgradeInbound hands it to the connection manager, not to the caller).
 */
export async function acceptUdx (node: Libp2p, init: UdxPathInit): Promise<Connection> {
  const { maConn } = wrap(node, init, 'inbound')
  await upgraderOf(node).upgradeInbound(maConn, { signal: init.signal })
  const prefix = `/ip4/${init.host}/udp/${init.port}`
  const connection = node.getConnections().find(c => c.remotePeer.toString() === init.peer && c.remoteAddr.toString().startsWith(prefix))
  if (connection == null) throw new Error(`udx: no connection from ${init.peer} after the inbound upgrade`)
  return connection
}
