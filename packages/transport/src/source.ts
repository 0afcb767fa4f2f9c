import { MAX_REPORTED_SOURCES, REFUSAL_REPORT_INTERVAL_MS, SOURCE_PREFIXES } from './constants.ts'
import type { Multiaddr } from '@multiformats/multiaddr'


/** Prefix lengths of a per-source limit (spec/security.md#sources); each defaults to {@link SOURCE_PREFIXES}. */
export interface SourcePrefixes {
  /** Bits of an IPv4 address that name its prefix, 1 to 32 (default `SOURCE_PREFIXES.prefix4` = 24). */
  ip4?: number
  /** Bits of an IPv6 address that name its prefix, 1 to 64 (default `SOURCE_PREFIXES.prefix6` = 56). */
  ip6?: number
}

/** Where a direct connection comes from, as per-source limits count it. */
export interface Source {
  /** The remote address: an IPv4 address (`203.0.113.7`), or the /64 of an IPv6 one (`2001:db8:0:1::/64`). */
  readonly address: string
  /** Its prefix: `203.0.113.0/24`, `2001:db8::/56` at the defaults. */
  readonly prefix: string
}

/** Check prefix lengths at the API boundary; returns them with the defaults filled in. */
export function checkSourcePrefixes (value: unknown, name = 'sourcePrefixes'): Required<SourcePrefixes> {
  if (value == null) return { ip4: SOURCE_PREFIXES.prefix4, ip6: SOURCE_PREFIXES.prefix6 }
  if (typeof value !== 'object') throw new TypeError(`${name} must be an object, got ${typeof value}`)
  const { ip4, ip6 } = value as SourcePrefixes
  const bits = (field: string, v: unknown, max: number, fallback: number): number => {
    if (v == null) return fallback
    if (typeof v !== 'number' || !Number.isInteger(v)) throw new TypeError(`${name}.${field} must be an integer, got ${String(v)}`)
    if (v < 1 || v > max) throw new RangeError(`${name}.${field} must be 1 to ${max}, got ${v}`)
    return v
  }
  return { ip4: bits('ip4', ip4, SOURCE_PREFIXES.address4, SOURCE_PREFIXES.prefix4), ip6: bits('ip6', ip6, SOURCE_PREFIXES.address6, SOURCE_PREFIXES.prefix6) }
}

/** The four bytes of a dotted-quad IPv4 address, or undefined. */
function ip4Bytes (text: string): number[] | undefined {
  const parts = text.split('.')
  if (parts.length !== 4) return undefined
  const bytes = parts.map(p => /^\d{1,3}$/.test(p) ? Number(p) : Number.NaN)
  return bytes.every(b => b <= 255) ? bytes : undefined
}

/** The sixteen bytes of an IPv6 address (`::` shorthand, an embedded IPv4 tail), or undefined. */
function ip6Bytes (text: string): number[] | undefined {
  const halves = text.split('::')
  if (halves.length > 2) return undefined
  const groups = (half: string | undefined): number[] | undefined => {
    if (half == null || half === '') return []
    const out: number[] = []
    const parts = half.split(':')
    for (const [i, part] of parts.entries()) {
      if (i === parts.length - 1 && part.includes('.')) {
        const v4 = ip4Bytes(part)
        if (v4 == null) return undefined
        out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!)
      } else {
        if (!/^[0-9a-f]{1,4}$/i.test(part)) return undefined
        out.push(Number.parseInt(part, 16))
      }
    }
    return out
  }
  const left = groups(halves[0])
  const right = groups(halves[1])
  if (left == null || right == null) return undefined
  const missing = 8 - left.length - right.length
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined
  const all = [...left, ...Array<number>(halves.length === 1 ? 0 : missing).fill(0), ...right]
  return all.flatMap(g => [g >> 8, g & 0xff])
}

/** The first `bits` bits of `bytes`, the rest zero. */
function masked (bytes: number[], bits: number): number[] {
  return bytes.map((b, i) => {
    const keep = Math.max(0, Math.min(8, bits - i * 8))
    return b & (0xff << (8 - keep)) & 0xff
  })
}

function ip4Text (bytes: number[]): string {
  return bytes.join('.')
}

/** An IPv6 prefix as `<groups up to the prefix>::/<bits>` (`2001:db8:0:1::/64`), the format the relay has always used. */
function ip6PrefixText (bytes: number[], bits: number): string {
  const groups: string[] = []
  const count = Math.max(1, Math.ceil(bits / 16))
  for (let i = 0; i < count; i++) groups.push(((bytes[2 * i]! << 8) | bytes[2 * i + 1]!).toString(16))
  return `${groups.join(':')}${count < 8 ? '::' : ''}/${bits}`
}

/**
 * The source of a remote address (spec/security.md#sources): its address
 * (IPv4, or IPv6 /64) and its prefix (IPv4 /24, IPv6 /56 unless `prefixes`
 * says otherwise). An IPv4-mapped IPv6 address counts as the IPv4 address.
 * Undefined for a relayed address (its IP is the relay's: limit the relayed
 * peer by key, and leave the relay's own per-source limits to the relay) and
 * for an address without an IP.
 */
export function sourceOf (addr: Multiaddr, prefixes: SourcePrefixes = {}): Source | undefined {
  const parts = addr.getComponents()
  if (parts.some(c => c.name === 'p2p-circuit')) return undefined
  const ip4 = parts.find(c => c.name === 'ip4')?.value
  const ip6 = ip4 == null ? parts.find(c => c.name === 'ip6')?.value : undefined
  const bits4 = prefixes.ip4 ?? SOURCE_PREFIXES.prefix4
  const bits6 = prefixes.ip6 ?? SOURCE_PREFIXES.prefix6
  let v4 = ip4 == null ? undefined : ip4Bytes(ip4)
  if (v4 == null && ip6 != null) {
    const bytes = ip6Bytes(ip6)
    if (bytes == null) return undefined
    // ::ffff:a.b.c.d is an IPv4 client of a dual-stack socket
    if (bytes.slice(0, 10).every(b => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff) {
      v4 = bytes.slice(12)
    } else {
      return {
        address: ip6PrefixText(masked(bytes, SOURCE_PREFIXES.address6), SOURCE_PREFIXES.address6),
        prefix: ip6PrefixText(masked(bytes, bits6), bits6)
      }
    }
  }
  if (v4 == null) return undefined
  return { address: ip4Text(v4), prefix: `${ip4Text(masked(v4, bits4))}/${bits4}` }
}

/**
 * Reports of refusals, at most one per key (a source and a limit) per
 * interval, each with how many were refused since the last one. Bounded:
 * the least recently reported key is forgotten first, which can only make
 * its next refusal reported early.
 */
export class RefusalReports {
  readonly #last = new Map<string, { at: number, refused: number }>()
  readonly #interval: number
  readonly #max: number
  readonly #now: () => number

  constructor (intervalMs: number = REFUSAL_REPORT_INTERVAL_MS, maxKeys: number = MAX_REPORTED_SOURCES, now: () => number = Date.now) {
    if (!(intervalMs >= 0) || !(maxKeys >= 1)) throw new RangeError(`intervalMs must be 0 or more and maxKeys positive, got ${intervalMs}, ${maxKeys}`)
    this.#interval = intervalMs
    this.#max = maxKeys
    this.#now = now
  }

  /** Count one refusal of `key`: the number refused since the last report (this one included) if a report is due now, else 0. */
  refused (key: string): number {
    const now = this.#now()
    const last = this.#last.get(key)
    if (last != null && now - last.at < this.#interval) {
      last.refused++
      return 0
    }
    const refused = (last?.refused ?? 0) + 1
    this.#last.delete(key)
    if (this.#last.size >= this.#max) {
      const oldest = this.#last.keys().next().value
      if (oldest != null) this.#last.delete(oldest)
    }
    this.#last.set(key, { at: now, refused: 0 })
    return refused
  }
}
