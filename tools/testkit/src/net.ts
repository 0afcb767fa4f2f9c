// Loopback sockets for tests: a port nothing listens on, how a connection attempt fails,
// and one TCP round trip.
import { createSocket } from 'node:dgram'
import { once } from 'node:events'
import { connect, createServer } from 'node:net'

/** Options for {@link freePort}. */
export interface FreePortOptions {
  /** Free for `tcp` (default), `udp`, or `both` at once (e.g. for a DNS server). */
  protocol?: 'tcp' | 'udp' | 'both'
}

async function freeTcpPort (port = 0): Promise<number> {
  const server = createServer()
  server.listen(port, '127.0.0.1')
  await once(server, 'listening')
  const { port: taken } = server.address() as { port: number }
  server.close()
  await once(server, 'close')
  return taken
}

/** Bind UDP `port` (0: any) on 127.0.0.1 and release it; the port, or undefined if it was taken. */
async function freeUdpPort (port = 0): Promise<number | undefined> {
  const socket = createSocket('udp4')
  const bound = await new Promise<boolean>(resolve => {
    socket.once('error', () => { resolve(false) })
    socket.bind(port, '127.0.0.1', () => { resolve(true) })
  })
  const taken = bound ? socket.address().port : undefined
  await new Promise<void>(resolve => { socket.close(() => { resolve() }) }).catch(() => {})
  return taken
}

/**
 * A port on 127.0.0.1 that was free a moment ago: nothing listens there, for a test
 * that needs a closed port or a program that cannot be told to take port 0.
 */
export async function freePort (options: FreePortOptions = {}): Promise<number> {
  const protocol = options.protocol ?? 'tcp'
  if (protocol === 'tcp') return freeTcpPort()
  if (protocol === 'udp') {
    const port = await freeUdpPort()
    if (port == null) throw new Error('could not bind a UDP port on 127.0.0.1')
    return port
  }
  for (let i = 0; i < 20; i++) {
    const port = await freeTcpPort()
    if (await freeUdpPort(port) != null) return port
  }
  throw new Error('no port free for both TCP and UDP')
}

/** The error code of a TCP connection attempt to 127.0.0.1:`port` (undefined if it connected). */
export async function connectError (port: number): Promise<string | undefined> {
  const socket = connect(port, '127.0.0.1')
  try {
    await once(socket, 'connect')
    return undefined
  } catch (err) {
    return (err as NodeJS.ErrnoException).code
  } finally {
    socket.destroy()
  }
}

/** Send `payload` through a TCP connection to 127.0.0.1:`port` (then FIN) and read until the other end closes. */
export async function tcpRoundTrip (port: number, payload: Uint8Array): Promise<Buffer> {
  const socket = connect({ host: '127.0.0.1', port, allowHalfOpen: true })
  const chunks: Buffer[] = []
  socket.on('data', (c: Buffer) => chunks.push(c))
  await once(socket, 'connect')
  socket.end(payload)
  await once(socket, 'end')
  socket.destroy()
  return Buffer.concat(chunks)
}
