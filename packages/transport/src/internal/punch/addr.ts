// A UDP endpoint on the wire of the punch protocols: 16 bytes of IPv6 (IPv4
// as ::ffff:a.b.c.d, RFC 4291 §2.5.5.2) and a 2-byte big-endian port.
import { isIPv4, isIPv6 } from 'node:net'

/** Bytes of an encoded endpoint. */
export const ENDPOINT_BYTES = 18

/** A UDP endpoint: an IPv4 or IPv6 address and a port. */
export interface Endpoint { host: string, port: number }

/** Encode `host:port`; throws RangeError for anything but an IP literal (no zone id) and a port 1–65535. */
export function encodeEndpoint (endpoint: Endpoint): Uint8Array {
  const out = new Uint8Array(ENDPOINT_BYTES)
  const { port } = endpoint
  const host = endpoint.host
  if (!(Number.isInteger(port) && port >= 1 && port <= 65_535)) throw new RangeError(`port must be 1 to 65535, got ${String(port)}`)
  if (isIPv4(host)) {
    out[10] = 0xff
    out[11] = 0xff
    host.split('.').forEach((b, i) => { out[12 + i] = Number(b) })
  } else if (isIPv6(host) && !host.includes('%')) {
    // a dotted IPv4 tail (RFC 4291 §2.2, e.g. 64:ff9b::192.0.2.1) is two groups of hex
    let text = host
    const dotted = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(host)
    if (dotted != null) {
      const b = dotted[2]!.split('.').map(Number)
      text = `${dotted[1]!}${((b[0]! << 8) | b[1]!).toString(16)}:${((b[2]! << 8) | b[3]!).toString(16)}`
    }
    const [head = '', tail = ''] = text.includes('::') ? text.split('::') : [text, '']
    const groups = (s: string): number[] => s === '' ? [] : s.split(':').map(g => parseInt(g, 16))
    const h = groups(head)
    const t = groups(tail)
    const all = [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t]
    all.forEach((g, i) => { out[2 * i] = g >> 8; out[2 * i + 1] = g & 0xff })
  } else {
    throw new RangeError(`host must be an IPv4 or IPv6 literal, got ${JSON.stringify(host)}`)
  }
  out[16] = port >> 8
  out[17] = port & 0xff
  return out
}

/** Decode an endpoint; null if the bytes are not 18 long or the port is 0. */
export function decodeEndpoint (bytes: Uint8Array): Endpoint | null {
  if (bytes.byteLength !== ENDPOINT_BYTES) return null
  const port = (bytes[16]! << 8) | bytes[17]!
  if (port === 0) return null
  const mapped = bytes.subarray(0, 10).every(b => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff
  if (mapped) return { host: Array.from(bytes.subarray(12, 16)).join('.'), port }
  const groups: string[] = []
  for (let i = 0; i < 8; i++) groups.push(((bytes[2 * i]! << 8) | bytes[2 * i + 1]!).toString(16))
  return { host: groups.join(':'), port }
}
