// Raw TCP peers for the tests: no TCPMUX code on this side of the wire.
import { connect, createServer } from 'node:net'
import type { Server, Socket } from 'node:net'
import { afterEach } from 'vitest'

/** What a raw client received before the connection closed. */
export interface Received { bytes: Buffer, text: string, hadError: boolean }

/**
 * Connect, write `send` in one write (then FIN unless `end` is false), collect
 * everything until the server closes the connection.
 */
export async function raw (port: number, send: string | Buffer, options: { end?: boolean } = {}): Promise<Received> {
  const socket = connect({ host: '127.0.0.1', port, allowHalfOpen: true })
  // like most clients: once the server has closed its side, close ours
  socket.on('end', () => { socket.end() })
  socket.on('connect', () => {
    if (options.end === false) socket.write(send)
    else socket.end(send)
  })
  return collect(socket)
}

/** Everything `socket` receives until it closes. */
export async function collect (socket: Socket): Promise<Received> {
  const chunks: Buffer[] = []
  socket.on('data', (c: Buffer) => chunks.push(c))
  socket.on('error', () => {})
  const hadError = await new Promise<boolean>(resolve => socket.once('close', resolve))
  const bytes = Buffer.concat(chunks)
  return { bytes, text: bytes.toString('latin1'), hadError }
}

/** A connected socket that has sent nothing. */
export async function silent (port: number): Promise<Socket> {
  const socket = connect({ host: '127.0.0.1', port })
  socket.on('error', () => {})
  await new Promise(resolve => socket.once('connect', resolve))
  return socket
}

const servers = new Set<Server>()
const sockets = new Set<Socket>()
afterEach(async () => {
  for (const s of sockets) s.destroy()
  sockets.clear()
  await Promise.all([...servers].map(async s => new Promise(resolve => s.close(resolve))))
  servers.clear()
})

/** A scripted server on a free loopback port: `onConnection` plays the other end. Closed after each test. */
export async function scripted (onConnection: (socket: Socket) => void): Promise<number> {
  const server = createServer({ allowHalfOpen: true }, (socket) => {
    sockets.add(socket)
    socket.on('error', () => {})
    onConnection(socket)
  })
  servers.add(server)
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  if (address == null || typeof address === 'string') throw new Error('no address')
  return address.port
}

/** The first chunk a scripted server receives. */
export async function firstChunk (socket: Socket): Promise<Buffer> {
  return new Promise(resolve => socket.once('data', resolve))
}
