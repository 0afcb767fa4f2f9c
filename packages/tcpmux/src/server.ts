import { HELP_NAME, Refusal } from './constants.ts'
import { ServiceExistsError } from './errors.ts'
import { createListener } from './internal/listener.ts'
import { assertName, commonOptions, messageOption } from './internal/options.ts'
import type { Socket } from 'node:net'

/** Options of every async call: abort it with `signal`. */
export interface AbortOptions { signal?: AbortSignal }

/** Where a server or gateway listens. */
export interface TcpmuxAddress { host: string, port: number }

/** What the handler learns about the request. */
export interface TcpmuxRequest {
  /** The service name as it was registered (the client's spelling may differ in case). */
  name: string
}

/**
 * Serves one accepted request. The socket comes after the server sent `+`,
 * paused, with every byte the client sent after its request line still
 * unread in it. The handler owns the socket: it ends or destroys it. The
 * socket allows half-open connections (`allowHalfOpen`): after the client's
 * FIN the handler can still write, and must `end()` when done. A throw or a
 * rejection destroys the socket (and is reported to `onError`).
 */
export type TcpmuxHandler = (socket: Socket, request: TcpmuxRequest) => void | Promise<void>

/** Options of {@link TcpmuxServer.register}. */
export interface RegisterOptions {
  /** Text after `+` in the positive reply (default none: `+\r\n`). No control characters, at most 200. */
  message?: string
}

/** Options of {@link createTcpmuxServer}; all optional. */
export interface TcpmuxServerInit {
  /** Address to listen on (default: every interface, as inetd does). */
  host?: string
  /** Port to listen on (default {@link @fara/tcpmux!constants.TCPMUX_PORT | TCPMUX_PORT} = 1; 0 lets the OS pick a free one). */
  port?: number
  /** Services served from the start: name → handler. Names compare case-insensitively. */
  services?: Record<string, TcpmuxHandler>
  /** Answer HELP with the list of names (default false: HELP is refused like an unknown name, since the list tells anyone what the host offers). */
  help?: boolean
  /** Longest request line, terminator included (default {@link @fara/tcpmux!constants.DEFAULT_MAX_LINE_BYTES | DEFAULT_MAX_LINE_BYTES}). Longer lines are refused and the connection closed. */
  maxLineBytes?: number
  /** Deadline for the complete request line, from accept (default {@link @fara/tcpmux!constants.DEFAULT_READ_TIMEOUT_MS | DEFAULT_READ_TIMEOUT_MS}); also bounds how long a refused client may linger. */
  readTimeoutMs?: number
  /**
   * Connections held before hand-over (default {@link @fara/tcpmux!constants.DEFAULT_MAX_PENDING | DEFAULT_MAX_PENDING}). Beyond, the one that has been
   * reading its request line the longest is dropped to make room (slow clients cannot keep others out); if none
   * is still reading, the new connection is closed at once.
   */
  maxPending?: number
  /** Connections open at once, handed-over ones included (default: no limit); beyond, the OS connection is closed at once. */
  maxConnections?: number
  /** Called with a handler's error and with server errors after listen (default: ignored). */
  onError?: (err: Error) => void
}

/** A TCPMUX server (RFC 1078). */
export interface TcpmuxServer {
  /** Start listening; resolves once bound, rejects with the OS error (e.g. `EADDRINUSE`, `EACCES` on port 1 without privilege). */
  listen (options?: AbortOptions): Promise<void>
  /** Stop listening and destroy every connection, pending or handed over. */
  close (options?: AbortOptions): Promise<void>
  /** Where it listens, or null before `listen()` and after `close()`. */
  readonly address: TcpmuxAddress | null
  /** Serve `name` with `handler` from now on; throws {@link ServiceExistsError} if it is taken (in any case). */
  register (name: string, handler: TcpmuxHandler, options?: RegisterOptions): void
  /** Stop serving `name` (connections already handed over stay); true if it was registered. */
  unregister (name: string): boolean
  /** The registered names, as registered. */
  readonly services: string[]
  /** Connections not yet handed over: reading, or lingering after a refusal. */
  readonly pending: number
  /** Open connections, pending and handed over. */
  readonly connections: number
}

interface Entry { name: string, handler: TcpmuxHandler, message: string }

/**
 * Create a TCPMUX server. It reads one request line (`name CRLF`, or a bare
 * LF), matches the name case-insensitively, answers `+` and hands the socket
 * to the handler, or answers `-Service not available` and closes.
 *
 * @example
 * ```ts
 * import { createTcpmuxServer } from '@fara/tcpmux'
 *
 * const server = createTcpmuxServer({ host: '127.0.0.1', port: 0, services: { echo: (socket) => { socket.pipe(socket) } } })
 * server.register('daytime', (socket) => { socket.end(`${new Date().toUTCString()}\r\n`) })
 * await server.listen({ signal: AbortSignal.timeout(5_000) })
 * console.log(server.address, server.services) // { host: '127.0.0.1', port: … } [ 'echo', 'daytime' ]
 * await server.close()
 * ```
 *
 * @throws {@link ServiceExistsError} when two names of `init.services`, or a later `register`, differ only in case.
 * @throws {@link ServerStateError} when `listen()` is called on a server that is listening or closed.
 * @throws `TypeError` when an option or a handler has the wrong type.
 * @throws `RangeError` when a bound is out of range, or a name is not 1–254 visible ASCII characters or is `HELP`.
 */
export function createTcpmuxServer (init: TcpmuxServerInit = {}): TcpmuxServer {
  const options = commonOptions(init, 'init')
  const entries = new Map<string, Entry>()

  const register = (name: string, handler: TcpmuxHandler, registerOptions: RegisterOptions = {}): void => {
    assertName('name', name, options.maxLineBytes)
    if (name.toUpperCase() === HELP_NAME) throw new RangeError(`name ${JSON.stringify(name)} is reserved by RFC 1078`)
    if (typeof handler !== 'function') throw new TypeError(`handler must be a function, got ${typeof handler}`)
    const message = messageOption('options.message', registerOptions?.message)
    const key = name.toLowerCase()
    if (entries.has(key)) throw new ServiceExistsError(`A service named ${JSON.stringify(entries.get(key)!.name)} is already registered`)
    entries.set(key, { name, handler, message })
  }

  if (init.services !== undefined) {
    if (init.services === null || typeof init.services !== 'object') throw new TypeError(`init.services must be an object, got ${init.services === null ? 'null' : typeof init.services}`)
    for (const [name, handler] of Object.entries(init.services)) register(name, handler)
  }

  const report = (err: unknown): void => {
    try { options.onError?.(err instanceof Error ? err : new Error(String(err))) } catch { /* never break serving */ }
  }

  const listener = createListener({
    ...options,
    help: () => options.help ? [...entries.values()].map(e => e.name) : null,
    route: async (name) => {
      const entry = entries.get(name.toLowerCase())
      if (entry == null) return { accept: false, message: Refusal.NOT_AVAILABLE }
      return {
        accept: true,
        message: entry.message,
        run: (socket) => {
          let result: void | Promise<void>
          try {
            result = entry.handler(socket, { name: entry.name })
          } catch (err) {
            report(err)
            socket.destroy()
            return
          }
          if (result instanceof Promise) result.catch((err: unknown) => { report(err); socket.destroy() })
        }
      }
    }
  })

  return {
    listen: listener.listen,
    close: listener.close,
    get address () { return listener.address },
    register,
    unregister (name: string): boolean {
      if (typeof name !== 'string') throw new TypeError(`name must be a string, got ${typeof name}`)
      return entries.delete(name.toLowerCase())
    },
    get services () { return [...entries.values()].map(e => e.name) },
    get pending () { return listener.pending },
    get connections () { return listener.connections }
  }
}
