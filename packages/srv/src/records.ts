import { isIPv4, isIPv6 } from 'node:net'

/** Fields every resource record has. */
interface RecordBase {
  /** Owner name, presentation form (RFC 1035 §5.1 escapes; trailing dot optional). */
  name: string
  /** Time to live in seconds (0 to 2^31-1, RFC 2181 §8). */
  ttl: number
}

/** An IPv4 address record (RFC 1035 §3.4.1). */
export interface ARecord extends RecordBase { type: 'A', address: string }

/** An IPv6 address record (RFC 3596). */
export interface AaaaRecord extends RecordBase { type: 'AAAA', address: string }

/** A service location record (RFC 2782): `target` `.` (or `''`) means "decidedly not available". */
export interface SrvRecord extends RecordBase { type: 'SRV', priority: number, weight: number, port: number, target: string }

/**
 * A text record (RFC 1035 §3.3.14): one or more character-strings of at most
 * 255 octets each. Given as strings (UTF-8) or bytes; decoded as bytes.
 */
export interface TxtRecord extends RecordBase { type: 'TXT', strings: Array<Uint8Array | string> }

/** Any other record: its type number and RDATA (names in it uncompressed). */
export interface OtherRecord extends RecordBase { type: 'OTHER', code: number, data: Uint8Array }

/** A resource record of class IN. */
export type DnsRecord = ARecord | AaaaRecord | SrvRecord | TxtRecord | OtherRecord

/** The record types named by a string in this package's API. */
export type RecordTypeName = 'A' | 'AAAA' | 'SRV' | 'TXT'

/** An SRV target as `node:dns` returns it (`name` is `''` for the root target `.`). */
export interface SrvTarget {
  name: string
  port: number
  priority: number
  weight: number
}

/** 4 octets of a dotted-quad IPv4 address; RangeError if it is not one. */
export function ipv4Bytes (address: string): Uint8Array {
  if (!isIPv4(address)) throw new RangeError(`address must be an IPv4 address, got ${JSON.stringify(address)}`)
  return Uint8Array.from(address.split('.').map(Number))
}

/** 16 octets of an IPv6 address (with `::` and a trailing dotted quad allowed); RangeError if it is not one. */
export function ipv6Bytes (address: string): Uint8Array {
  if (!isIPv6(address) || address.includes('%')) throw new RangeError(`address must be an IPv6 address, got ${JSON.stringify(address)}`)
  const groups = (part: string): number[] => {
    if (part === '') return []
    const out: number[] = []
    for (const g of part.split(':')) {
      if (g.includes('.')) {
        const [a, b, c, d] = ipv4Bytes(g)
        out.push((a! << 8) | b!, (c! << 8) | d!)
      } else {
        out.push(parseInt(g, 16))
      }
    }
    return out
  }
  const [head, tail] = address.split('::') as [string, string | undefined]
  const h = groups(head)
  const t = tail == null ? [] : groups(tail)
  const all = [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t]
  const out = new Uint8Array(16)
  all.forEach((g, i) => { out[2 * i] = g >> 8; out[2 * i + 1] = g & 0xff })
  return out
}

/** RFC 5952 text of 16 IPv6 octets: lowercase, leading zeros dropped, the longest run (≥ 2) of zero groups as `::`. */
export function ipv6Text (bytes: Uint8Array): string {
  const g = Array.from({ length: 8 }, (_, i) => (bytes[2 * i]! << 8) | bytes[2 * i + 1]!)
  let best = -1
  let bestLen = 1
  for (let i = 0; i < 8;) {
    if (g[i] !== 0) { i++; continue }
    let j = i
    while (j < 8 && g[j] === 0) j++
    if (j - i > bestLen) { best = i; bestLen = j - i }
    i = j
  }
  const hex = g.map(n => n.toString(16))
  if (best < 0) return hex.join(':')
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`
}
