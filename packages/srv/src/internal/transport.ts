// One DNS exchange over UDP (RFC 1035 §4.2.1) or TCP with a 2-octet length
// prefix (§4.2.2, RFC 7766), bounded in time and size, abortable.
import { createSocket } from 'node:dgram'
import { connect, isIP } from 'node:net'
import { DnsUnavailableError } from '../errors.ts'
import type { AbortOptions } from '@libp2p/interface'

/** A DNS server's address. */
export interface ServerAddress { host: string, port: number, family: 4 | 6 }

/** Parse `'127.0.0.1:5353'`, `'[::1]:5353'`, `'127.0.0.1'` or `'::1'` (port 53); RangeError otherwise. */
export function parseServer (server: string): ServerAddress {
  if (typeof server !== 'string') throw new TypeError(`server must be a string, got ${typeof server}`)
  let host = server
  let port = 53
  const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(server)
  if (bracket != null) {
    host = bracket[1]!
    if (bracket[2] != null) port = Number(bracket[2])
  } else if (isIP(server) === 0) {
    const i = server.lastIndexOf(':')
    if (i > 0 && /^\d+$/.test(server.slice(i + 1))) {
      host = server.slice(0, i)
      port = Number(server.slice(i + 1))
    }
  }
  const family = isIP(host)
  if (family === 0) throw new RangeError(`server must be an IP address with an optional port ('127.0.0.1:5353', '[::1]:53'), got ${JSON.stringify(server)}`)
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new RangeError(`server port must be 1-65535, got ${port} in ${JSON.stringify(server)}`)
  return { host, port, family: family as 4 | 6 }
}

export interface ExchangeOptions extends AbortOptions {
  /** Deadline of the whole exchange in ms. */
  timeout: number
  /** UDP only: datagrams sent (one every `timeout / tries` ms) before giving up. */
  tries?: number
}

/** Run `body` with a signal that fires on the caller's abort or the deadline; a deadline becomes DnsUnavailableError. */
async function bounded<T> (server: ServerAddress, what: string, options: ExchangeOptions, body: (signal: AbortSignal) => Promise<T>): Promise<T> {
  options.signal?.throwIfAborted()
  const timeout = AbortSignal.timeout(options.timeout)
  const signal = options.signal == null ? timeout : AbortSignal.any([options.signal, timeout])
  try {
    return await body(signal)
  } catch (err) {
    options.signal?.throwIfAborted()
    if (timeout.aborted) throw new DnsUnavailableError(`no ${what} answer from ${server.host}:${server.port} within ${options.timeout} ms`)
    throw err
  }
}

function aborted (signal: AbortSignal): Promise<never> {
  return new Promise((_resolve, reject) => {
    if (signal.aborted) reject(signal.reason)
    signal.addEventListener('abort', () => { reject(signal.reason) }, { once: true })
  })
}

/** Send `query` by UDP and return the first datagram from the server with the same id. */
export async function exchangeUdp (server: ServerAddress, query: Uint8Array, options: ExchangeOptions): Promise<Uint8Array> {
  return bounded(server, 'UDP', options, async (signal) => {
    const socket = createSocket(server.family === 6 ? 'udp6' : 'udp4')
    const tries = Math.max(1, options.tries ?? 1)
    let timer: ReturnType<typeof setTimeout> | undefined
    try {
      const answer = new Promise<Uint8Array>((resolve, reject) => {
        socket.on('error', (err) => { reject(new DnsUnavailableError(`UDP exchange with ${server.host}:${server.port} failed: ${err.message}`, { cause: err })) })
        socket.on('message', (msg, rinfo) => {
          // a connected socket only sees the server; the id must still match (RFC 5452)
          if (rinfo.port !== server.port || msg.byteLength < 2 || msg[0] !== query[0] || msg[1] !== query[1]) return
          resolve(new Uint8Array(msg))
        })
        let sent = 0
        const send = (): void => {
          if (sent++ >= tries) return
          socket.send(query, (err) => { if (err != null) reject(new DnsUnavailableError(`UDP send to ${server.host}:${server.port} failed: ${err.message}`, { cause: err })) })
          timer = setTimeout(send, Math.ceil(options.timeout / tries))
        }
        socket.connect(server.port, server.host, send)
      })
      return await Promise.race([answer, aborted(signal)])
    } finally {
      clearTimeout(timer)
      socket.close()
    }
  })
}

/** Send `query` over a fresh TCP connection and return the one length-prefixed answer. */
export async function exchangeTcp (server: ServerAddress, query: Uint8Array, options: ExchangeOptions): Promise<Uint8Array> {
  return bounded(server, 'TCP', options, async (signal) => {
    const socket = connect({ host: server.host, port: server.port })
    try {
      const answer = new Promise<Uint8Array>((resolve, reject) => {
        const chunks: Buffer[] = []
        let have = 0
        let need = -1
        socket.on('connect', () => {
          const prefix = Buffer.from([query.byteLength >> 8, query.byteLength & 0xff])
          socket.write(Buffer.concat([prefix, query]))
        })
        socket.on('data', (d: Buffer) => {
          chunks.push(d)
          have += d.byteLength
          if (need < 0 && have >= 2) {
            const all = Buffer.concat(chunks)
            need = 2 + ((all[0]! << 8) | all[1]!)
          }
          if (need >= 0 && have >= need) resolve(new Uint8Array(Buffer.concat(chunks).subarray(2, need)))
        })
        socket.on('error', (err) => { reject(new DnsUnavailableError(`TCP exchange with ${server.host}:${server.port} failed: ${err.message}`, { cause: err })) })
        socket.on('close', () => { reject(new DnsUnavailableError(`${server.host}:${server.port} closed the TCP connection before a full answer`)) })
      })
      return await Promise.race([answer, aborted(signal)])
    } finally {
      socket.destroy()
    }
  })
}
