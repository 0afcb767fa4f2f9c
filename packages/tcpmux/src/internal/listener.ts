// The server side of RFC 1078 shared by the server and the gateway: accept,
// read one bounded request line before a deadline, route it, answer `+`/`-`,
// hand the socket over with every byte the client sent after its line.
import { createServer } from 'node:net'
import type { Server, Socket } from 'node:net'
import { Refusal } from '../constants.ts'
import { ServerStateError } from '../errors.ts'
import { LineBuffer, decodeRequest, encodeHelp, encodeReply } from './codec.ts'

/** What a route decided for a name. */
export type Route =
  | { accept: true, message?: string, run: (socket: Socket) => void, abandon?: () => void }
  | { accept: false, message: string }

/** The limits and callbacks of a listener (all resolved, no defaults here). */
export interface ListenerConfig {
  host: string | undefined
  port: number
  maxLineBytes: number
  readTimeoutMs: number
  maxPending: number
  maxConnections: number | undefined
  /** The names HELP lists, or null when HELP is off (then it is refused like an unknown name). */
  help: () => Iterable<string> | null
  /** Decide for a requested name; `signal` aborts when the client leaves or the listener closes. */
  route: (name: string, options: { signal: AbortSignal }) => Promise<Route>
  onError: ((err: Error) => void) | undefined
}

/** Where a listener is bound. */
export interface ListenAddress { host: string, port: number }

/** A listening TCPMUX endpoint. */
export interface Listener {
  listen: (options?: { signal?: AbortSignal }) => Promise<void>
  close: (options?: { signal?: AbortSignal }) => Promise<void>
  readonly address: ListenAddress | null
  readonly pending: number
  readonly connections: number
}

export function createListener (config: ListenerConfig): Listener {
  const pending = new Set<Socket>()
  /** The pending connections still reading their request line, oldest first (a Set keeps insertion order). */
  const reading = new Set<Socket>()
  const sockets = new Set<Socket>()
  const closing = new AbortController()
  let state: 'new' | 'listening' | 'closed' = 'new'
  const server: Server = createServer({ allowHalfOpen: true })
  if (config.maxConnections != null) server.maxConnections = config.maxConnections

  const report = (err: unknown): void => {
    try { config.onError?.(err instanceof Error ? err : new Error(String(err))) } catch { /* a reporter must not break serving */ }
  }

  /** Answer `-message`, discard whatever the client still sends, close when it does or at the deadline. */
  function refuse (socket: Socket, bytes: Buffer): void {
    socket.removeAllListeners('readable')
    socket.on('data', () => { /* discard */ })
    socket.resume()
    const timer = setTimeout(() => socket.destroy(), config.readTimeoutMs)
    socket.once('close', () => { clearTimeout(timer) })
    socket.end(bytes)
  }

  function handle (socket: Socket): void {
    sockets.add(socket)
    // never crash on a reset: handlers see errors through their own listeners
    socket.on('error', () => { socket.destroy() })
    socket.once('close', () => { sockets.delete(socket); pending.delete(socket); reading.delete(socket) })
    if (state !== 'listening') {
      socket.destroy()
      return
    }
    if (pending.size >= config.maxPending) {
      // full: drop the connection that has been reading its request line the longest, so that slow clients
      // (slowloris) cannot keep a well-behaved one out; with none still reading, refuse this one
      const oldest = reading.values().next().value
      if (oldest == null) {
        socket.destroy()
        return
      }
      pending.delete(oldest)
      reading.delete(oldest)
      oldest.destroy()
    }
    pending.add(socket)
    reading.add(socket)
    const lines = new LineBuffer(config.maxLineBytes)
    const deadline = setTimeout(() => socket.destroy(), config.readTimeoutMs)
    socket.once('close', () => { clearTimeout(deadline) })

    const onReadable = (): void => {
      let chunk: Buffer | null
      while ((chunk = socket.read() as Buffer | null) !== null) {
        const found = lines.push(chunk)
        if (found === undefined) continue
        clearTimeout(deadline)
        reading.delete(socket)
        socket.removeListener('readable', onReadable)
        socket.removeListener('end', onEnd)
        if (found === 'too-long') {
          refuse(socket, encodeReply(false, Refusal.LINE_TOO_LONG))
          return
        }
        // keep what followed the line for the handler, before reading on (nothing lost)
        if (found.rest.byteLength > 0) socket.unshift(found.rest)
        answer(socket, found.line)
        return
      }
    }
    // the client closed before a complete line
    const onEnd = (): void => { socket.destroy() }
    socket.on('readable', onReadable)
    socket.once('end', onEnd)
  }

  function answer (socket: Socket, line: Buffer): void {
    const request = decodeRequest(line)
    if (request.kind === 'invalid') {
      refuse(socket, encodeReply(false, Refusal.INVALID_NAME))
      return
    }
    if (request.kind === 'help') {
      const names = config.help()
      // HELP off: refused exactly like an unknown name, so it tells nothing
      refuse(socket, names == null ? encodeReply(false, Refusal.NOT_AVAILABLE) : encodeHelp(names))
      return
    }
    const left = new AbortController()
    const onClose = (): void => { left.abort(new Error('client closed the connection')) }
    socket.once('close', onClose)
    const signal = AbortSignal.any([left.signal, closing.signal])
    config.route(request.name, { signal }).then((route) => {
      socket.removeListener('close', onClose)
      if (socket.destroyed) {
        if (route.accept) route.abandon?.()
        return
      }
      if (!route.accept) {
        refuse(socket, encodeReply(false, route.message))
        return
      }
      socket.write(encodeReply(true, route.message ?? ''))
      pending.delete(socket)
      try {
        route.run(socket)
      } catch (err) {
        report(err)
        socket.destroy()
      }
    }, (err: unknown) => {
      socket.removeListener('close', onClose)
      report(err)
      if (!socket.destroyed) refuse(socket, encodeReply(false, Refusal.NOT_AVAILABLE))
    })
  }

  server.on('connection', handle)
  server.on('error', (err) => { if (state === 'listening') report(err) })

  return {
    async listen (options = {}) {
      options.signal?.throwIfAborted()
      if (state !== 'new') throw new ServerStateError()
      await new Promise<void>((resolve, reject) => {
        const onAbort = (): void => { server.close(); done(); reject(options.signal?.reason) }
        const onError = (err: Error): void => { done(); reject(err) }
        const done = (): void => {
          options.signal?.removeEventListener('abort', onAbort)
          server.removeListener('error', onError)
        }
        options.signal?.addEventListener('abort', onAbort, { once: true })
        server.once('error', onError)
        server.listen({ port: config.port, ...(config.host == null ? {} : { host: config.host }) }, () => {
          done()
          state = 'listening'
          resolve()
        })
      })
    },
    async close (options = {}) {
      if (state === 'closed') return
      const wasListening = state === 'listening'
      state = 'closed'
      closing.abort(new Error('TCPMUX server closed'))
      for (const socket of sockets) socket.destroy()
      if (!wasListening) return
      await new Promise<void>((resolve, reject) => {
        const onAbort = (): void => { reject(options.signal?.reason) }
        options.signal?.throwIfAborted()
        options.signal?.addEventListener('abort', onAbort, { once: true })
        server.close(() => {
          options.signal?.removeEventListener('abort', onAbort)
          resolve()
        })
      })
    },
    get address () {
      const a = server.address()
      return a == null || typeof a === 'string' ? null : { host: a.address, port: a.port }
    },
    get pending () { return pending.size },
    get connections () { return sockets.size }
  }
}
