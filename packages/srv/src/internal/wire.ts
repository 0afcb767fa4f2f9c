// Bounded readers and writers of DNS wire data (RFC 1035 §3.1, §4.1.4): names,
// integers, labels. Every failure is a MalformedMessageError.
import { MAX_LABEL_BYTES, MAX_NAME_BYTES, MAX_POINTER_HOPS } from '../constants.ts'
import { MalformedMessageError } from '../errors.ts'

const DOT = 0x2e
const BACKSLASH = 0x5c

/**
 * Split a domain name in presentation form into its labels (RFC 1035 §5.1
 * escapes: `\.`, `\\`, `\DDD`). A trailing dot is optional; `''` and `'.'`
 * are the root. Throws RangeError for an empty or over-long label or name.
 */
export function nameToLabels (name: string): Uint8Array[] {
  if (typeof name !== 'string') throw new TypeError(`domain name must be a string, got ${typeof name}`)
  if (name === '' || name === '.') return []
  const bytes = new TextEncoder().encode(name)
  const labels: Uint8Array[] = []
  let current: number[] = []
  let i = 0
  let open = true
  const end = (): void => {
    if (current.length === 0) throw new RangeError(`domain name ${JSON.stringify(name)} has an empty label`)
    if (current.length > MAX_LABEL_BYTES) throw new RangeError(`domain name ${JSON.stringify(name)} has a label of ${current.length} octets; at most ${MAX_LABEL_BYTES}`)
    labels.push(Uint8Array.from(current))
    current = []
  }
  while (i < bytes.length) {
    const b = bytes[i]!
    if (b === BACKSLASH) {
      const next = bytes[i + 1]
      if (next == null) throw new RangeError(`domain name ${JSON.stringify(name)} ends in a lone backslash`)
      if (next >= 0x30 && next <= 0x39) {
        const digits = String.fromCharCode(...bytes.subarray(i + 1, i + 4))
        if (!/^\d{3}$/.test(digits) || Number(digits) > 255) throw new RangeError(`domain name ${JSON.stringify(name)} has a bad \\DDD escape`)
        current.push(Number(digits))
        i += 4
      } else {
        current.push(next)
        i += 2
      }
    } else if (b === DOT) {
      end()
      i++
      if (i === bytes.length) open = false // the trailing dot of an absolute name
    } else {
      current.push(b)
      i++
    }
  }
  if (open) end()
  const wire = labels.reduce((n, l) => n + l.length + 1, 1)
  if (wire > MAX_NAME_BYTES) throw new RangeError(`domain name ${JSON.stringify(name)} is ${wire} octets in wire form; at most ${MAX_NAME_BYTES}`)
  return labels
}

/** Presentation form of labels, without the trailing dot, escaping `.`, `\` and non-printable octets. */
export function labelsToName (labels: Uint8Array[]): string {
  return labels.map(label => {
    let s = ''
    for (const b of label) {
      if (b === DOT || b === BACKSLASH || b === 0x22 || b === 0x3b || b === 0x28 || b === 0x29 || b === 0x40 || b === 0x24) s += `\\${String.fromCharCode(b)}`
      else if (b <= 0x20 || b >= 0x7f) s += `\\${String(b).padStart(3, '0')}`
      else s += String.fromCharCode(b)
    }
    return s
  }).join('.')
}

const lower = (l: Uint8Array): Uint8Array => l.map(b => b >= 0x41 && b <= 0x5a ? b + 0x20 : b)

/** Canonical form of a name (RFC 4034 §6.2: lowercase ASCII), for comparisons. */
export function canonicalName (name: string): string {
  return labelsToName(nameToLabels(name).map(lower))
}

/** True if `name` is `zone` or below it, label by label, without case. */
export function inZone (name: string, zone: string): boolean {
  const n = nameToLabels(name).map(lower)
  const z = nameToLabels(zone).map(lower)
  const offset = n.length - z.length
  return offset >= 0 && z.every((l, i) => Buffer.compare(l, n[offset + i]!) === 0)
}

/** True if two names are equal, comparing ASCII letters without case (RFC 4343). */
export function sameName (a: string, b: string): boolean {
  return canonicalName(a) === canonicalName(b)
}

/** A name in uncompressed wire form. */
export function encodeName (name: string, canonical = false): Uint8Array {
  const labels = nameToLabels(canonical ? canonicalName(name) : name)
  const out = new Uint8Array(labels.reduce((n, l) => n + l.length + 1, 1))
  let o = 0
  for (const l of labels) {
    out[o++] = l.length
    out.set(l, o)
    o += l.length
  }
  out[o] = 0
  return out
}

/** Appends bytes; the result is bounded by the caller. */
export class Writer {
  readonly #parts: Uint8Array[] = []
  #length = 0

  get length (): number { return this.#length }

  bytes (b: Uint8Array): this {
    this.#parts.push(b)
    this.#length += b.byteLength
    return this
  }

  u8 (n: number): this { return this.bytes(Uint8Array.of(n & 0xff)) }
  u16 (n: number): this { return this.bytes(Uint8Array.of((n >>> 8) & 0xff, n & 0xff)) }
  u32 (n: number): this { return this.bytes(Uint8Array.of((n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff)) }
  /** A 48-bit unsigned integer (the TSIG Time Signed field). */
  u48 (n: number): this { return this.u16(Math.floor(n / 2 ** 32)).u32(n % 2 ** 32) }
  name (name: string, canonical = false): this { return this.bytes(encodeName(name, canonical)) }

  finish (): Uint8Array {
    const out = new Uint8Array(this.#length)
    let o = 0
    for (const p of this.#parts) {
      out.set(p, o)
      o += p.byteLength
    }
    return out
  }
}

/**
 * Reads a message front to back. `end` bounds reads (an RDATA's end while
 * reading inside it); names may point anywhere earlier in `buf`.
 */
export class Reader {
  readonly buf: Uint8Array
  offset: number
  end: number

  constructor (buf: Uint8Array, offset = 0, end = buf.byteLength) {
    this.buf = buf
    this.offset = offset
    this.end = end
  }

  get remaining (): number { return this.end - this.offset }

  #need (n: number, what: string): void {
    if (this.offset + n > this.end) throw new MalformedMessageError(`message ends inside ${what} at offset ${this.offset}`)
  }

  u8 (what = 'an octet'): number {
    this.#need(1, what)
    return this.buf[this.offset++]!
  }

  u16 (what = 'a 16-bit field'): number {
    this.#need(2, what)
    const v = (this.buf[this.offset]! << 8) | this.buf[this.offset + 1]!
    this.offset += 2
    return v
  }

  u32 (what = 'a 32-bit field'): number {
    this.#need(4, what)
    const v = ((this.buf[this.offset]! << 24) >>> 0) + (this.buf[this.offset + 1]! << 16) + (this.buf[this.offset + 2]! << 8) + this.buf[this.offset + 3]!
    this.offset += 4
    return v
  }

  u48 (what = 'a 48-bit field'): number {
    const hi = this.u16(what)
    return hi * 2 ** 32 + this.u32(what)
  }

  bytes (n: number, what = 'a byte string'): Uint8Array {
    this.#need(n, what)
    const out = this.buf.slice(this.offset, this.offset + n)
    this.offset += n
    return out
  }

  /**
   * A possibly compressed name (RFC 1035 §4.1.4). A pointer must point
   * strictly before the start of the labels being read, so each jump goes
   * further back and no chain can loop; hops, label lengths (63) and the
   * name length (255) are bounded too.
   */
  name (what = 'a name'): string {
    const labels: Uint8Array[] = []
    let pos = this.offset
    let segmentStart = pos
    let after = -1
    let wire = 1
    let hops = 0
    for (;;) {
      const limit = after < 0 ? this.end : this.buf.byteLength
      if (pos >= limit) throw new MalformedMessageError(`message ends inside ${what} at offset ${pos}`)
      const len = this.buf[pos]!
      if ((len & 0xc0) === 0xc0) {
        if (pos + 1 >= limit) throw new MalformedMessageError(`message ends inside a compression pointer of ${what}`)
        const target = ((len & 0x3f) << 8) | this.buf[pos + 1]!
        if (target >= segmentStart) throw new MalformedMessageError(`compression pointer of ${what} at offset ${pos} points forward or into itself (to ${target})`)
        if (++hops > MAX_POINTER_HOPS) throw new MalformedMessageError(`${what} follows more than ${MAX_POINTER_HOPS} compression pointers`)
        if (after < 0) after = pos + 2
        pos = segmentStart = target
        continue
      }
      if ((len & 0xc0) !== 0) throw new MalformedMessageError(`${what} uses a reserved label type 0x${(len & 0xc0).toString(16)}`)
      if (len === 0) {
        pos++
        break
      }
      if (pos + 1 + len > limit) throw new MalformedMessageError(`message ends inside a label of ${what}`)
      wire += len + 1
      if (wire > MAX_NAME_BYTES) throw new MalformedMessageError(`${what} is longer than ${MAX_NAME_BYTES} octets`)
      labels.push(this.buf.subarray(pos + 1, pos + 1 + len))
      pos += 1 + len
    }
    this.offset = after < 0 ? pos : after
    return labelsToName(labels)
  }
}
