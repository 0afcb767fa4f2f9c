import { isIP } from 'node:net'
import { multiaddr } from '@multiformats/multiaddr'
import type { Component, Multiaddr } from '@multiformats/multiaddr'

/** Multiaddr protocols that name a host in front of `/tcp/`. */
const HOST_PROTOCOLS = new Set(['ip4', 'ip6', 'dns', 'dns4', 'dns6'])

/** Longest DNS name (RFC 1035 § 2.3.4). */
const MAX_DNS_NAME = 253

/** The host and port of a `/<host>/<value>/tcp/<port>[/…]` multiaddr, or undefined for any other shape. */
export interface TcpTarget {
  /** Host as the book keys it: an IP as multiaddr prints it, a DNS name in lower case. */
  host: string
  port: number
  components: Component[]
}

export function tcpTarget (ma: Multiaddr): TcpTarget | undefined {
  const components = ma.getComponents()
  const [host, tcp] = components
  if (host == null || tcp == null || !HOST_PROTOCOLS.has(host.name) || tcp.name !== 'tcp' || host.value == null) return undefined
  const port = Number(tcp.value)
  if (!Number.isInteger(port)) return undefined
  return { host: host.name.startsWith('dns') ? host.value.toLowerCase() : host.value, port, components }
}

/** The same multiaddr with another TCP port (everything after `/tcp/<port>` kept, e.g. `/p2p/<id>`). */
export function withPort (target: TcpTarget, port: number): Multiaddr {
  return multiaddr(target.components.map((c, i) => i === 1 ? { code: c.code, name: c.name, value: String(port) } : { code: c.code, name: c.name, ...(c.value == null ? {} : { value: c.value }) }))
}

/**
 * Normalise a host given as text (IPv4, IPv6 with or without brackets, or a
 * DNS name) to the book key and the multiaddr protocol that carries it.
 * Throws a `TypeError`/`RangeError` naming `host`.
 */
export function parseHost (host: string): { key: string, protocol: 'ip4' | 'ip6' | 'dns' } {
  if (typeof host !== 'string') throw new TypeError(`host must be a string, got ${typeof host}`)
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host
  const family = isIP(bare)
  if (family === 4) return { key: bare, protocol: 'ip4' }
  if (family === 6) {
    const value = multiaddr(`/ip6/${bare}`).getComponents()[0]?.value
    if (value == null) throw new RangeError(`host ${JSON.stringify(host)} is not a usable IPv6 address`)
    return { key: value, protocol: 'ip6' }
  }
  if (bare.length === 0 || bare.length > MAX_DNS_NAME || !/^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/.test(bare)) {
    throw new RangeError(`host must be an IPv4 or IPv6 address or a DNS name, got ${JSON.stringify(host.slice(0, 64))}`)
  }
  return { key: bare.toLowerCase(), protocol: 'dns' }
}
