// Loopback ports for tests that must show a socket was closed (or never opened).
import { once } from 'node:events'
import { connect, createServer } from 'node:net'

/** A port on 127.0.0.1 that was free a moment ago. */
export async function freePort (): Promise<number> {
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as { port: number }
  server.close()
  await once(server, 'close')
  return port
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
