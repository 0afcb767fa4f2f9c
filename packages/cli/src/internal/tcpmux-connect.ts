// `fara connect tcpmux://host[:port]/<service>`: reach a service on any legacy
// TCPMUX server (RFC 1078: xinetd, inetutils-inetd, `fara tcpmux`) with the
// modes of `fara connect` — a local port whose every connection makes its own
// TCPMUX request, or one request over stdin/stdout. No rendezvous, no key: the
// server is named by its address and the service by its TCPMUX name.
import { once } from 'node:events'
import { createServer, isIP } from 'node:net'
import { ConnectionClosedError, MalformedReplyError, ReplyTimeoutError, ReplyTooLongError, ServiceRefusedError, tcpmuxConnect } from '@fara/tcpmux'
import { DEFAULT_MAX_LINE_BYTES, HELP_NAME, TCPMUX_PORT } from '@fara/tcpmux/constants'
import { DEFAULT_MAX_CONNECTIONS, ExitCode } from '../constants.ts'
import { UsageError } from '../errors.ts'
import { formatHostPort, intOf, parseHostPort, positionalsOf, stringOf } from './args.ts'
import { exitAfterStop, untilAborted } from './command.ts'
import { describeFailure } from './failure.ts'
import { bridge, bridgeStdio } from './pipe.ts'
import type { HostPort } from './args.ts'
import type { Context } from './command.ts'
import type { Failure } from './failure.ts'
import type { AddressInfo, Server, Socket } from 'node:net'

/** A TCPMUX service named by URL: the server's address and the service's TCPMUX name. */
export interface TcpmuxTarget extends HostPort {
  /** The TCPMUX service name, as given (servers compare names case-insensitively). */
  name: string
  /** `tcpmux://host:port/name`, port written out. */
  url: string
}

/** True if `name` is meant as a `tcpmux:` URL (a Fara service name never holds a colon). */
export function isTcpmuxUrl (name: string | undefined): name is string {
  return name != null && /^tcpmux:/i.test(name)
}

/** True for a byte a TCPMUX name may hold: visible ASCII, no space (RFC 1078 names; the limit of @fara/tcpmux). */
const isNameText = (s: string): boolean => /^[\x21-\x7e]+$/.test(s)

/**
 * Parse `tcpmux://host[:port]/<service>` (port 1 by default, RFC 1078;
 * `[v6]` in brackets; `%XX` escapes in the service name are decoded).
 * Anything else is a {@link UsageError} that says what is wrong.
 */
export function parseTcpmuxUrl (command: string, text: string): TcpmuxTarget {
  const bad = (why: string): UsageError => new UsageError(`<name> must be tcpmux://host[:port]/<service> (${why}), got ${JSON.stringify(text)}`, command)
  const m = /^tcpmux:\/\/(\[[^\]/]*\]|[^/:[\]]*)(?::([^/]*))?(\/.*)?$/i.exec(text)
  if (m == null) throw bad(/^tcpmux:\/\//i.test(text) ? 'not a host name or address' : 'it starts with tcpmux://')
  const [, hostText = '', portText, path] = m
  if (hostText === '') throw bad('no host')
  let host = hostText
  if (hostText.startsWith('[')) {
    host = hostText.slice(1, -1)
    if (isIP(host) !== 6) throw bad('not an IPv6 address in the brackets')
  } else if (isIP(host) === 0 && !/^[a-zA-Z0-9][a-zA-Z0-9.-]{0,252}$/.test(host)) {
    throw bad('not a host name or address')
  }
  let port = TCPMUX_PORT
  if (portText != null) {
    if (!/^\d{1,5}$/.test(portText) || Number(portText) < 1 || Number(portText) > 65535) throw bad('port must be 1 to 65535')
    port = Number(portText)
  }
  if (path == null || path === '/') throw bad('no service name after the host')
  if (/[?#]/.test(path)) throw bad('a query or fragment means nothing to TCPMUX')
  let name: string
  try {
    name = decodeURIComponent(path.slice(1))
  } catch {
    throw bad('a bad %-escape in the service name')
  }
  // the request line is `name CRLF` within the limit every Fara TCPMUX peer holds to
  if (!isNameText(name) || name.length > DEFAULT_MAX_LINE_BYTES - 2) throw bad(`the service name must be 1 to ${DEFAULT_MAX_LINE_BYTES - 2} visible ASCII characters`)
  if (name.toUpperCase() === HELP_NAME) throw bad('HELP is not a service: RFC 1078 reserves it for the list of services')
  return { host, port, name, url: `tcpmux://${formatHostPort({ host, port })}/${name}` }
}

/** Socket errors that mean the server could not be reached (exit 4). */
const UNREACHABLE = new Set(['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'EHOSTDOWN', 'ENETUNREACH', 'ENETDOWN', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN', 'EADDRNOTAVAIL'])

/** How a failed TCPMUX request is reported: a `-` answer is refused (5), no server is unreachable (4). */
export function describeTcpmuxFailure (err: unknown, target: TcpmuxTarget): Failure {
  const e = err as Error & { code?: string, reason?: string }
  const server = formatHostPort(target)
  switch (e?.name) {
    case ServiceRefusedError.name:
      return { exit: ExitCode.REFUSED, name: e.name, message: `${server} refused ${JSON.stringify(target.name)}: ${e.reason === '' || e.reason == null ? '(no reason given)' : e.reason}` }
    case ConnectionClosedError.name:
      return { exit: ExitCode.REFUSED, name: e.name, message: e.message }
    case ReplyTimeoutError.name:
      return { exit: ExitCode.UNREACHABLE, name: e.name, message: e.message }
    case MalformedReplyError.name:
    case ReplyTooLongError.name:
      return { exit: ExitCode.FAILURE, name: e.name, message: `${server}: ${e.message}`, hint: 'is it a TCPMUX server?' }
  }
  if (e?.code != null && UNREACHABLE.has(e.code)) {
    return { exit: ExitCode.UNREACHABLE, name: e.code, message: `TCPMUX server ${server} unreachable: ${e.message}` }
  }
  return describeFailure(err)
}

/**
 * Why a local listener could not bind, as a usage failure (exit 2, as for
 * `fara connect --listen`): no permission (a port below 1024 without root or
 * CAP_NET_BIND_SERVICE), an address in use, an address this host does not have.
 */
export function listenFailure (err: unknown, address: HostPort, advice?: string): Failure {
  const code = (err as { code?: string })?.code
  const where = formatHostPort(address)
  if (code === 'EACCES') {
    return {
      exit: ExitCode.USAGE,
      name: UsageError.name,
      message: `no permission to listen on ${where}: ports below 1024 need root or CAP_NET_BIND_SERVICE`,
      hint: advice ?? 'pick a port from 1024 up with --listen'
    }
  }
  if (code === 'EADDRNOTAVAIL') return { exit: ExitCode.USAGE, name: UsageError.name, message: `cannot listen on ${where}: no interface of this machine has that address` }
  if (code === 'EADDRINUSE') {
    return { exit: ExitCode.USAGE, name: UsageError.name, message: `cannot listen on ${where}: the address is in use (another program listens there${address.port === 1 ? ', perhaps inetd or xinetd' : ''})`, hint: 'pick another port with --listen, or 0 for any free one' }
  }
  return describeFailure(err)
}

/** Report `failure` as the command's one error line; its exit code. */
export function fail (ctx: Context, failure: Failure): ExitCode {
  ctx.out.error(failure.name, failure.message, failure.exit, failure.hint)
  return failure.exit
}

/** Bind `server` to `local`; resolves with the bound address or rejects with the socket error. */
export async function listenOn (server: Server, local: HostPort): Promise<HostPort> {
  server.listen({ host: local.host, port: local.port })
  await once(server, 'listening') // rejects with the 'error' (EADDRINUSE, EACCES) instead
  const bound = server.address() as AddressInfo
  return { host: bound.address, port: bound.port }
}

/** `--listen`: every TCP connection accepted on `local` makes its own TCPMUX request and is carried both ways. */
async function listenMode (ctx: Context, target: TcpmuxTarget, local: HostPort, max: number): Promise<ExitCode> {
  let count = 0
  const sockets = new Set<Socket>()
  const track = (socket: Socket): void => {
    sockets.add(socket)
    socket.on('error', () => {}) // reported through the bridge
    socket.once('close', () => { sockets.delete(socket) })
  }
  const server = createServer({ allowHalfOpen: true, pauseOnConnect: true }, (socket) => {
    const id = ++count
    track(socket)
    const from = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`
    ctx.out.status('connection', { id, from }, `#${id} ${from} → ${target.url}`)
    // the local client's bytes wait (paused) until the server's `+`: xinetd and inetd lose bytes sent with the request
    tcpmuxConnect({ host: target.host, port: target.port, name: target.name, signal: ctx.signal }).then(async ({ socket: remote }) => {
      track(remote)
      try {
        const { sent, received } = await bridge(socket, remote)
        ctx.out.status('closed', { id, toService: sent, toClient: received }, `#${id} closed: ${sent} bytes to the service, ${received} back`)
      } catch (err) {
        if (!ctx.signal.aborted) ctx.out.status('closed', { id, error: (err as Error).name, message: (err as Error).message }, `#${id} ended: ${(err as Error).message}`)
      }
    }, (err: unknown) => {
      socket.destroy()
      if (ctx.signal.aborted) return
      const failure = describeTcpmuxFailure(err, target)
      ctx.out.warn('connection-failed', { id, error: failure.name, message: failure.message, exit: failure.exit }, `#${id} ${failure.message}`)
    })
  })
  server.maxConnections = max
  let bound: HostPort
  try {
    bound = await listenOn(server, local)
  } catch (err) {
    return fail(ctx, listenFailure(err, local))
  }
  // later errors (accept failing: EMFILE) cost one connection, not the tunnel
  server.on('error', (err) => { ctx.out.warn('accept-failed', { message: err.message }, `accepting a connection failed: ${err.message}`) })
  const address = formatHostPort(bound)
  ctx.out.result('listening', { address, host: bound.host, port: bound.port, name: target.url, server: formatHostPort(target), service: target.name },
    `${ctx.out.out.green('listening')} on ${ctx.out.out.bold(address)} → ${target.url}`)
  try {
    await untilAborted(ctx.signal)
    ctx.out.status('stopping', { active: sockets.size }, `stopping${sockets.size === 0 ? '' : `: closing ${sockets.size} connection(s)`}`)
  } finally {
    server.close()
    for (const s of sockets) s.destroy()
  }
  return exitAfterStop(ctx.signal)
}

/** Without `--listen`: one TCPMUX request carried over stdin/stdout (status lines on stderr). */
async function stdioMode (ctx: Context, target: TcpmuxTarget): Promise<ExitCode> {
  ctx.out.stdoutIsData()
  let remote: Socket
  let message: string
  try {
    ({ socket: remote, message } = await tcpmuxConnect({ host: target.host, port: target.port, name: target.name, signal: ctx.signal }))
  } catch (err) {
    if (ctx.signal.aborted) return exitAfterStop(ctx.signal)
    return fail(ctx, describeTcpmuxFailure(err, target))
  }
  ctx.out.status('connected', { name: target.url, server: formatHostPort(target), service: target.name, message },
    `connected to ${target.url}${message === '' ? '' : ` (+${message})`}`)
  const stop = (): void => { remote.destroy() }
  ctx.signal.addEventListener('abort', stop, { once: true })
  try {
    const { sent, received } = await bridgeStdio(ctx.io.stdin, ctx.io.stdout, remote)
    ctx.out.status('closed', { toService: sent, toClient: received }, `closed: ${sent} bytes to the service, ${received} back`)
  } catch (err) {
    if (ctx.signal.aborted) return exitAfterStop(ctx.signal)
    throw err
  } finally {
    ctx.signal.removeEventListener('abort', stop)
    remote.destroy()
  }
  return ExitCode.OK
}

/** The options of `fara connect` that apply to tcpmux:// (the others concern a rendezvous or a key, which a TCPMUX server has neither of). */
const FOR_TCPMUX = new Set(['listen', 'max-connections', 'json', 'config', 'help'])

/** `fara connect tcpmux://host[:port]/<service> [--listen <host:port>] [--max-connections <n>]`. */
export async function connectTcpmux (ctx: Context, command: string): Promise<ExitCode> {
  const { args } = ctx
  const [text] = positionalsOf(command, args.positionals, ['name']) as [string]
  const target = parseTcpmuxUrl(command, text)
  const stray = Object.keys(args.values).find(o => args.values[o] !== undefined && !FOR_TCPMUX.has(o))
  if (stray != null) throw new UsageError(`--${stray} does not apply to tcpmux:// (a TCPMUX server has no rendezvous and no key)`, command)
  const listenText = stringOf(args, 'listen')
  const local = listenText == null ? undefined : parseHostPort(command, '--listen', listenText, true)
  const max = intOf(command, args, 'max-connections', 1, 4096) ?? DEFAULT_MAX_CONNECTIONS
  return local == null ? await stdioMode(ctx, target) : await listenMode(ctx, target, local, max)
}
