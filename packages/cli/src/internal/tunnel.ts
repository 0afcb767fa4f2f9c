// A local TCP port that tunnels to a named service: `fara connect --listen`
// (one tunnel) and the "tunnels" of `fara up` (many, from one entity).
import { createServer } from 'node:net'
import { once } from 'node:events'
import { formatHostPort, localAddressError } from './args.ts'
import { describeFailure } from './failure.ts'
import { bridge } from './pipe.ts'
import type { HostPort } from './args.ts'
import type { Context } from './command.ts'
import type { ConnectOptions, Entity } from '@fara/sdk'
import type { AddressInfo, Socket } from 'node:net'

/** A listening tunnel. */
export interface Tunnel {
  address: string
  host: string
  port: number
  /** Connections open now. */
  readonly active: number
  /** Stop listening and close every connection. */
  close: () => void
}

/** What a tunnel is for: where its errors point, and the fields its events carry. */
export interface TunnelInit {
  /** The command whose `--help` a listen error points to. */
  command: string
  /** Most connections at once. */
  max: number
  /** Stops the tunnel's associations (default the command's signal). */
  signal?: AbortSignal
  /** Fields every event of the tunnel carries (fara up: which tunnel). */
  tag?: Record<string, unknown>
}

/** Listen on `local`; every connection accepted there is tunnelled to `name` in its own association. */
export async function openTunnel (ctx: Context, entity: Entity, name: string, local: HostPort, options: ConnectOptions, init: TunnelInit): Promise<Tunnel> {
  const signal = init.signal ?? ctx.signal
  const tag = init.tag ?? {}
  let count = 0
  const sockets = new Set<Socket>()
  const server = createServer({ allowHalfOpen: true, pauseOnConnect: true }, (socket) => {
    const id = ++count
    sockets.add(socket)
    socket.on('error', () => {}) // reported through the bridge
    socket.once('close', () => { sockets.delete(socket) })
    const from = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`
    ctx.out.status('connection', { ...tag, id, from }, `#${id} ${from} → ${JSON.stringify(name)}`)
    entity.connect(name, { ...options, signal }).then(async (association) => {
      const { sent, received } = await bridge(socket, association.toDuplex())
      ctx.out.status('closed', { ...tag, id, toService: sent, toClient: received }, `#${id} closed: ${sent} bytes to the service, ${received} back`)
    }).catch((err: unknown) => {
      socket.destroy()
      if (signal.aborted) return
      const failure = describeFailure(err, { name })
      ctx.out.warn('connection-failed', { ...tag, id, error: failure.name, message: failure.message }, `#${id} ${failure.message}`)
    })
  })
  server.maxConnections = init.max
  server.listen({ host: local.host, port: local.port })
  try {
    await once(server, 'listening') // rejects with the 'error' (EADDRINUSE, EACCES) instead
  } catch (err) {
    throw localAddressError(init.command, '--listen', err, local)
  }
  // later errors (accept failing: EMFILE) cost one connection, not the tunnel
  server.on('error', (err) => { ctx.out.warn('accept-failed', { ...tag, message: err.message }, `accepting a connection failed: ${err.message}`) })
  const bound = server.address() as AddressInfo
  return {
    address: formatHostPort({ host: bound.address, port: bound.port }),
    host: bound.address,
    port: bound.port,
    get active () { return sockets.size },
    close: () => {
      server.close()
      for (const s of sockets) s.destroy()
    }
  }
}
