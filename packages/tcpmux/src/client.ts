import { connect as netConnect } from 'node:net'
import type { Socket } from 'node:net'
import { DEFAULT_MAX_HELP_BYTES, DEFAULT_MAX_LINE_BYTES, DEFAULT_MAX_REPLY_BYTES, DEFAULT_REPLY_TIMEOUT_MS, HELP_NAME } from './constants.ts'
import { ConnectionClosedError, ReplyTimeoutError, ReplyTooLongError } from './errors.ts'
import { LineBuffer, decodeHelp, decodeReply, encodeRequest } from './internal/codec.ts'
import { assertName, boolOption, hostOption, intOption, portOption } from './internal/options.ts'

/** Where and how long: the options shared by {@link tcpmuxConnect} and {@link tcpmuxHelp}. */
export interface TcpmuxClientOptions {
  /** Host name or address of the TCPMUX server. */
  host: string
  /** Its port (default `TCPMUX_PORT` = 1). */
  port?: number
  /** Abort the attempt: the socket is destroyed and the promise rejects with the signal's reason. */
  signal?: AbortSignal
  /** Deadline for connecting and the complete answer (default `DEFAULT_REPLY_TIMEOUT_MS`); rejects with {@link ReplyTimeoutError}. */
  timeoutMs?: number
}

/** Options of {@link tcpmuxConnect}. */
export interface TcpmuxConnectOptions extends TcpmuxClientOptions {
  /** The service name (case does not matter to RFC 1078 servers). 1 to 254 visible ASCII characters. */
  name: string
  /** Longest status line read, terminator included (default `DEFAULT_MAX_REPLY_BYTES`); longer rejects with {@link ReplyTooLongError}. */
  maxReplyBytes?: number
  /**
   * Drop one NUL byte that follows the `+` line in the same read (default
   * true). xinetd writes `+Go\r\n\0` for TCPMUXPLUS services: without this the
   * application would read a stray NUL first. Set false for a protocol whose
   * server speaks first and may start with a NUL byte.
   */
  stripNul?: boolean
}

/** An accepted request. */
export interface TcpmuxConnection {
  /**
   * The connection, positioned after the status line: paused, with any bytes
   * the server sent after it pushed back unread (nothing lost). Allows
   * half-open use: `end()` sends FIN and reading goes on.
   */
  socket: Socket
  /** The text after `+` (xinetd and inetutils-inetd send `Go`; may be empty). */
  message: string
}

/** Options of {@link tcpmuxHelp}. */
export interface TcpmuxHelpOptions extends TcpmuxClientOptions {
  /** Largest answer read (default `DEFAULT_MAX_HELP_BYTES`); larger rejects with {@link ReplyTooLongError}. */
  maxBytes?: number
}

interface Exchange<T> {
  host: string
  port: number
  request: Buffer
  signal: AbortSignal | undefined
  timeoutMs: number
  /** Feed a chunk: return a result to finish, undefined for more; throw to fail. */
  onData: (chunk: Buffer, socket: Socket) => T | undefined
  /** The server closed: return a result or throw. */
  onEnd: () => T
}

/** Connect, send one request line in one write, read until `onData`/`onEnd` decide; every failure destroys the socket. */
async function exchange<T> (x: Exchange<T>): Promise<{ result: T, socket: Socket }> {
  x.signal?.throwIfAborted()
  const socket = netConnect({ host: x.host, port: x.port, allowHalfOpen: true })
  return new Promise((resolve, reject) => {
    let settled = false
    const finish = (err: unknown, result?: T): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      x.signal?.removeEventListener('abort', onAbort)
      socket.removeListener('readable', onReadable)
      socket.removeListener('end', onEnd)
      socket.removeListener('error', finish)
      socket.removeListener('connect', onConnect)
      if (err != null) {
        socket.on('error', () => {}) // late errors of a socket given up on
        socket.destroy()
        reject(err)
      } else {
        resolve({ result: result as T, socket })
      }
    }
    const onAbort = (): void => { finish(x.signal?.reason ?? new Error('aborted')) }
    const timer = setTimeout(() => { finish(new ReplyTimeoutError(`No complete TCPMUX answer from ${x.host}:${x.port} within ${x.timeoutMs} ms`)) }, x.timeoutMs)
    // RFC 1078 servers read the request with a single read() (xinetd needs it to be the whole read): one write, nothing more before the answer
    const onConnect = (): void => { socket.write(x.request) }
    const onReadable = (): void => {
      let chunk: Buffer | null
      while (!settled && (chunk = socket.read() as Buffer | null) !== null) {
        let result: T | undefined
        try {
          result = x.onData(chunk, socket)
        } catch (err) {
          finish(err)
          return
        }
        if (result !== undefined) { finish(null, result); return }
      }
    }
    const onEnd = (): void => {
      try {
        finish(null, x.onEnd())
      } catch (err) {
        finish(err)
      }
    }
    x.signal?.addEventListener('abort', onAbort, { once: true })
    socket.once('connect', onConnect)
    socket.on('readable', onReadable)
    socket.once('end', onEnd)
    socket.once('error', finish)
  })
}

function clientOptions (options: TcpmuxClientOptions, fn: string): { host: string, port: number, signal: AbortSignal | undefined, timeoutMs: number } {
  if (options == null || typeof options !== 'object') throw new TypeError(`${fn}: options must be an object, got ${options === null ? 'null' : typeof options}`)
  const host = hostOption('options.host', options.host)
  if (host == null) throw new TypeError('options.host must be a non-empty string, got undefined')
  if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) throw new TypeError('options.signal must be an AbortSignal')
  return {
    host,
    port: portOption('options.port', options.port),
    signal: options.signal,
    timeoutMs: intOption('options.timeoutMs', options.timeoutMs, DEFAULT_REPLY_TIMEOUT_MS, 1, 3_600_000)
  }
}

/**
 * Ask a TCPMUX server for `name` and, on `+`, hand over the connection.
 * Rejects with the signal's reason on abort, and with the socket's error
 * (e.g. `ECONNREFUSED`) when it cannot connect.
 *
 * @example
 * ```ts
 * import { ServiceRefusedError, tcpmuxConnect } from '@fara/tcpmux'
 *
 * try {
 *   const { socket } = await tcpmuxConnect({ host: '192.0.2.7', name: 'echo', signal: AbortSignal.timeout(5_000) })
 *   socket.end('hello')
 *   for await (const chunk of socket) console.log(String(chunk)) // hello
 * } catch (err) {
 *   if ((err as Error).name !== ServiceRefusedError.name) throw err
 *   console.log('refused:', (err as ServiceRefusedError).reason) // e.g. Service not available
 * }
 * ```
 *
 * @throws {@link ServiceRefusedError} when the server answers `-`; `reason` holds its message.
 * @throws {@link MalformedReplyError} when the answer is neither `+…` nor `-…` CRLF.
 * @throws {@link ReplyTooLongError} when the status line is longer than `maxReplyBytes`.
 * @throws {@link ConnectionClosedError} when the server closes before a complete status line.
 * @throws {@link ReplyTimeoutError} when connecting and the status line take longer than `timeoutMs`.
 * @throws `TypeError` when an option has the wrong type.
 * @throws `RangeError` when `name` is not 1–254 visible ASCII characters, or a bound is out of range.
 */
export async function tcpmuxConnect (options: TcpmuxConnectOptions): Promise<TcpmuxConnection> {
  const base = clientOptions(options, 'tcpmuxConnect')
  assertName('options.name', options.name, DEFAULT_MAX_LINE_BYTES)
  const maxReplyBytes = intOption('options.maxReplyBytes', options.maxReplyBytes, DEFAULT_MAX_REPLY_BYTES, 3, 65_536)
  const stripNul = boolOption('options.stripNul', options.stripNul, true)
  const lines = new LineBuffer(maxReplyBytes)
  const { result, socket } = await exchange({
    ...base,
    request: encodeRequest(options.name),
    onData: (chunk, socket) => {
      const found = lines.push(chunk)
      if (found === undefined) return undefined
      if (found === 'too-long') throw new ReplyTooLongError(`TCPMUX status line longer than ${maxReplyBytes} bytes`)
      const { message } = decodeReply(found.line)
      let rest = found.rest
      if (stripNul && rest[0] === 0) rest = rest.subarray(1)
      // push back what followed the status line before anything else reads (nothing lost)
      if (rest.byteLength > 0) socket.unshift(rest)
      return { message }
    },
    onEnd: () => {
      throw new ConnectionClosedError(lines.length === 0
        ? `${base.host}:${base.port} closed the connection without a TCPMUX reply (xinetd does this for a request it cannot parse)`
        : `${base.host}:${base.port} closed the connection in the middle of the TCPMUX status line`)
    }
  })
  return { socket, message: result.message }
}

/**
 * Ask a TCPMUX server for its list of services (`HELP`) and read to its
 * close. Resolves with the names; an empty list if the server closed without
 * answering. Rejects with the signal's reason on abort, and with the socket's
 * error when it cannot connect.
 *
 * @example
 * ```ts
 * import { tcpmuxHelp } from '@fara/tcpmux'
 *
 * const names = await tcpmuxHelp({ host: '127.0.0.1', port: 1, timeoutMs: 2_000 })
 * console.log(names) // e.g. [ 'echo', 'daytime' ], or [] from a server that lists nothing
 * ```
 *
 * @throws {@link ServiceRefusedError} when the server answers `-` (xinetd does: it has no HELP).
 * @throws {@link MalformedReplyError} when the answer is not a list of names.
 * @throws {@link ReplyTooLongError} when the answer is longer than `maxBytes`.
 * @throws {@link ReplyTimeoutError} when the server does not close within `timeoutMs` (one that lists and stays open).
 * @throws `TypeError` when an option has the wrong type.
 * @throws `RangeError` when a bound is out of range.
 */
export async function tcpmuxHelp (options: TcpmuxHelpOptions): Promise<string[]> {
  const base = clientOptions(options, 'tcpmuxHelp')
  const maxBytes = intOption('options.maxBytes', options.maxBytes, DEFAULT_MAX_HELP_BYTES, 1, 16 * 1024 * 1024)
  const chunks: Buffer[] = []
  let length = 0
  const { result, socket } = await exchange<string[]>({
    ...base,
    request: encodeRequest(HELP_NAME),
    onData: (chunk) => {
      length += chunk.byteLength
      if (length > maxBytes) throw new ReplyTooLongError(`HELP answer longer than ${maxBytes} bytes`)
      chunks.push(chunk)
      return undefined
    },
    onEnd: () => decodeHelp(Buffer.concat(chunks), DEFAULT_MAX_LINE_BYTES)
  })
  socket.destroy()
  return result
}
