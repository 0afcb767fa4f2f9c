// A TCP echo server (the service behind `fara serve`) and a client that sends bytes through a
// tunnel and reads them back: what a user's program does, on a real socket.
import { once } from 'node:events'
import { createConnection, createServer } from 'node:net'
import type { AddressInfo, Server, Socket } from 'node:net'

/** A running echo server on 127.0.0.1. */
export interface EchoServer { port: number, connections: () => number, close: () => Promise<void> }

/** Echo every byte back; a half-close from the client half-closes the answer after the last byte. */
export async function startEchoServer (): Promise<EchoServer> {
  let count = 0
  const sockets = new Set<Socket>()
  const server: Server = createServer({ allowHalfOpen: true }, (socket) => {
    count++
    sockets.add(socket)
    socket.on('error', () => {})
    socket.once('close', () => { sockets.delete(socket) })
    socket.pipe(socket)
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return {
    port: (server.address() as AddressInfo).port,
    connections: () => count,
    close: async () => {
      for (const s of sockets) s.destroy()
      server.close()
      await once(server, 'close')
    }
  }
}

/** Connect to `port`, send `bytes`, half-close, and resolve with everything read until the other side ends. */
export async function roundTrip (port: number, bytes: Uint8Array, timeoutMs = 30_000): Promise<Buffer> {
  const socket = createConnection({ host: '127.0.0.1', port, allowHalfOpen: true })
  const chunks: Buffer[] = []
  socket.on('data', (d: Buffer) => chunks.push(d))
  const ended = once(socket, 'end', { signal: AbortSignal.timeout(timeoutMs) })
  await once(socket, 'connect')
  socket.end(bytes)
  try {
    await ended
  } finally {
    socket.destroy()
  }
  return Buffer.concat(chunks)
}
