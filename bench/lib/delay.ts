// A TCP relay that holds every chunk for a fixed time in each direction: a
// link with a round-trip time, for the connect figures (this kernel has no
// netem, so `tc qdisc ... netem delay` is not available). Chunks keep their
// order (equal delays fire in order); the TCP handshake itself is not
// delayed, for the dials with and without the layer alike.
import { createConnection, createServer } from 'node:net'
import type { AddressInfo, Server, Socket } from 'node:net'

/** Forward `from` to `to`, each chunk `ms` later; a close or error on either side ends both. */
function pipeDelayed (from: Socket, to: Socket, ms: number): void {
  from.on('data', (chunk: Buffer) => {
    setTimeout(() => { if (!to.destroyed) to.write(chunk) }, ms)
  })
  from.on('end', () => { setTimeout(() => { to.end() }, ms) })
  from.on('error', () => { to.destroy() })
  from.on('close', () => { setTimeout(() => { to.destroy() }, ms) })
}

/** Listen on 127.0.0.1 and relay each connection to `target`, `oneWayMs` each way (RTT = 2 × oneWayMs). */
export async function delayRelay (target: { host: string, port: number }, oneWayMs: number): Promise<{ server: Server, port: number }> {
  const server = createServer({ noDelay: true }, (client) => {
    const upstream = createConnection({ host: target.host, port: target.port, noDelay: true })
    pipeDelayed(client, upstream, oneWayMs)
    pipeDelayed(upstream, client, oneWayMs)
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  return { server, port: (server.address() as AddressInfo).port }
}
