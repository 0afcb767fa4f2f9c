import type { Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import { DEFAULT_CONNECT_TIMEOUT_MS, HELP_NAME, Refusal } from './constants.ts'
import { createListener } from './internal/listener.ts'
import { assertName, commonOptions, intOption } from './internal/options.ts'
import type { AbortOptions, TcpmuxAddress } from './server.ts'

/**
 * Opens a byte stream to the service `name`, wherever it is: for Fara,
 * `entity.connect(name, { signal })` then `association.toDuplex()`. The
 * gateway passes the name in lower case (TCPMUX names are case-insensitive,
 * Fara names are lower case). Rejecting (any error) refuses the request.
 */
export type GatewayConnect = (name: string, options: { signal: AbortSignal }) => Promise<Duplex>

/** Options of {@link createTcpmuxGateway}. */
export interface TcpmuxGatewayInit {
  /** How a name becomes a stream (required); see {@link GatewayConnect}. */
  connect: GatewayConnect
  /** Forward only these names (case-insensitive); default: every valid name goes to `connect`. HELP, when on, lists exactly these. */
  names?: Iterable<string>
  /** Deadline for `connect` (default `DEFAULT_CONNECT_TIMEOUT_MS`); its signal aborts and the request is refused. */
  connectTimeoutMs?: number
  /**
   * Address to listen on (default `127.0.0.1`: the hop from the legacy client
   * is clear TCP, name included, and the gateway reaches every name its
   * rendezvous knows; open it wider on purpose only).
   */
  host?: string
  /** Port to listen on (default `TCPMUX_PORT` = 1; 0 lets the OS pick a free one). */
  port?: number
  /** Answer HELP with `names` (default false, and without `names` it lists nothing). */
  help?: boolean
  /** Longest request line, terminator included (default `DEFAULT_MAX_LINE_BYTES`). */
  maxLineBytes?: number
  /** Deadline for the complete request line (default `DEFAULT_READ_TIMEOUT_MS`). */
  readTimeoutMs?: number
  /**
   * Requests held before hand-over, `connect` in progress included (default `DEFAULT_MAX_PENDING`): bounds
   * concurrent lookups too. Beyond, the connection reading its request line the longest is dropped to make
   * room; if none is still reading, the new connection is closed at once.
   */
  maxPending?: number
  /** Connections open at once, carried ones included (default: no limit). */
  maxConnections?: number
  /** Receives the real reason of every refusal and every broken carried connection (the client only ever sees `-Service not available`). */
  onError?: (err: Error) => void
}

/** A TCPMUX front door to services reached through `connect`. */
export interface TcpmuxGateway {
  /** Start listening; resolves once bound. */
  listen (options?: AbortOptions): Promise<void>
  /** Stop listening, abort `connect` calls in progress, destroy every connection and stream. */
  close (options?: AbortOptions): Promise<void>
  /** Where it listens, or null. */
  readonly address: TcpmuxAddress | null
  /** Connections open (pending and carried). */
  readonly connections: number
}

/**
 * Copy both ways between the client's socket and the service's stream, half
 * closes included (the client's FIN ends the stream's writable side and the
 * stream's end ends the socket), with backpressure. An error or an abrupt
 * close on either side resets the other: the client sees a reset, never a
 * clean FIN after truncated data.
 */
function splice (socket: Socket, stream: Duplex, report: (err: Error) => void): void {
  const clean = (s: Duplex | Socket): boolean => s.readableEnded && s.writableFinished
  const fail = (err?: Error): void => {
    if (err != null) report(err)
    if (!socket.destroyed) socket.resetAndDestroy()
    stream.destroy()
  }
  socket.on('error', fail)
  stream.on('error', fail)
  // a side that closes without having ended both ways was cut: cut the other one too
  socket.once('close', () => { if (!clean(socket)) stream.destroy() })
  stream.once('close', () => { if (!clean(stream) && !socket.destroyed) socket.resetAndDestroy() })
  socket.pipe(stream)
  stream.pipe(socket)
}

/** `connect(name)`, rejected with the signal's reason once it aborts even if `connect` ignores it; a stream that comes late is destroyed. */
async function withDeadline (connect: GatewayConnect, name: string, signal: AbortSignal): Promise<Duplex> {
  signal.throwIfAborted()
  return new Promise<Duplex>((resolve, reject) => {
    const onAbort = (): void => { reject(signal.reason) }
    signal.addEventListener('abort', onAbort, { once: true })
    connect(name, { signal }).then((stream) => {
      signal.removeEventListener('abort', onAbort)
      if (signal.aborted) stream.destroy()
      else resolve(stream)
    }, (err: unknown) => {
      signal.removeEventListener('abort', onAbort)
      reject(err)
    })
  })
}

/**
 * Create a TCPMUX gateway: a legacy client asks for a name (RFC 1078), the
 * gateway calls `connect(name)` (rendezvous lookup and an encrypted Fara
 * association, for the SDK), answers `+` once it has the stream and carries
 * the bytes both ways. Every failure is answered `-Service not available`:
 * the client learns nothing beyond "not found"; `onError` gets the real reason
 * (e.g. a `NameNotFoundError` from `connect`).
 *
 * @example
 * ```ts
 * import { createEntity, rendezvousPoint } from '@fara/sdk'
 * import { createTcpmuxGateway } from '@fara/tcpmux'
 *
 * const entity = await createEntity({ app: 'tcpmux-gateway', rendezvous: rendezvousPoint('/ip4/198.51.100.7/tcp/40123/p2p/12D3KooW...'), listen: [] })
 * const gateway = createTcpmuxGateway({
 *   port: 1, // loopback by default
 *   names: ['echo', 'chat'],
 *   connect: async (name, { signal }) => (await entity.connect(name, { signal })).toDuplex(),
 *   onError: (err) => { console.error('tcpmux gateway:', err) }
 * })
 * await gateway.listen()
 * // printf 'echo\r\n' | nc -N 127.0.0.1 1  ->  "+" CRLF, then the Fara service "echo"
 * await gateway.close()
 * await entity.close()
 * ```
 *
 * @throws {@link ServerStateError} when `listen()` is called on a gateway that is listening or closed.
 * @throws `TypeError` when `connect` is not a function, or `names` not an iterable of strings.
 * @throws `RangeError` when a bound is out of range, or one of `names` is not a valid TCPMUX name or is `HELP`.
 */
export function createTcpmuxGateway (init: TcpmuxGatewayInit): TcpmuxGateway {
  const options = commonOptions(init, 'init')
  options.host ??= '127.0.0.1'
  if (typeof init.connect !== 'function') throw new TypeError(`init.connect must be a function, got ${typeof init.connect}`)
  const connect = init.connect
  const connectTimeoutMs = intOption('init.connectTimeoutMs', init.connectTimeoutMs, DEFAULT_CONNECT_TIMEOUT_MS, 1, 3_600_000)
  let allowed: Map<string, string> | undefined
  if (init.names !== undefined) {
    if (init.names === null || typeof (init.names as Iterable<string>)[Symbol.iterator] !== 'function') throw new TypeError('init.names must be an iterable of strings')
    allowed = new Map()
    for (const name of init.names) {
      assertName('init.names[]', name, options.maxLineBytes)
      if (name.toUpperCase() === HELP_NAME) throw new RangeError(`init.names: ${JSON.stringify(name)} is reserved by RFC 1078`)
      allowed.set(name.toLowerCase(), name)
    }
  }
  const report = (err: Error): void => {
    try { options.onError?.(err) } catch { /* never break serving */ }
  }

  const listener = createListener({
    ...options,
    help: () => options.help ? [...(allowed?.values() ?? [])] : null,
    route: async (requested, { signal }) => {
      const name = requested.toLowerCase()
      if (allowed != null && !allowed.has(name)) return { accept: false, message: Refusal.NOT_AVAILABLE }
      let stream: Duplex
      try {
        stream = await withDeadline(connect, name, AbortSignal.any([signal, AbortSignal.timeout(connectTimeoutMs)]))
      } catch (err) {
        // the reason goes to the operator, never to the client
        report(err instanceof Error ? err : new Error(String(err)))
        return { accept: false, message: Refusal.NOT_AVAILABLE }
      }
      return {
        accept: true,
        run: (socket) => { splice(socket, stream, report) },
        abandon: () => { stream.destroy() }
      }
    }
  })

  return {
    listen: listener.listen,
    close: listener.close,
    get address () { return listener.address },
    get connections () { return listener.connections }
  }
}
