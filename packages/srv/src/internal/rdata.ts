// RDATA of the record types this package reads and writes (RFC 1035 §3.3,
// RFC 2782, RFC 3596). Decoding is bounded by RDLENGTH and must consume it exactly.
import { MAX_TXT_STRING_BYTES, RecordType } from '../constants.ts'
import { MalformedMessageError } from '../errors.ts'
import { ipv4Bytes, ipv6Bytes, ipv6Text } from '../records.ts'
import { Writer, nameToLabels } from './wire.ts'
import type { Reader } from './wire.ts'
import type { DnsRecord, RecordTypeName } from '../records.ts'

const MAX_TTL = 2 ** 31 - 1
const MAX_RDATA_BYTES = 65_535

/** The type number of a record. */
export function typeCode (record: DnsRecord): number {
  return record.type === 'OTHER' ? record.code : RecordType[record.type]
}

/** The type number of a type given by name or number; RangeError for anything else. */
export function typeOf (type: RecordTypeName | number): number {
  if (typeof type === 'number') {
    if (!Number.isInteger(type) || type < 1 || type > 0xffff) throw new RangeError(`type must be an integer 1-65535, got ${type}`)
    return type
  }
  if (type !== 'A' && type !== 'AAAA' && type !== 'SRV' && type !== 'TXT') throw new RangeError(`type must be 'A', 'AAAA', 'SRV', 'TXT' or a number, got ${JSON.stringify(type)}`)
  return RecordType[type]
}

function u16 (what: string, n: unknown): number {
  if (!Number.isInteger(n) || (n as number) < 0 || (n as number) > 0xffff) throw new RangeError(`${what} must be an integer 0-65535, got ${String(n)}`)
  return n as number
}

/** Validate a record's common fields; TypeError/RangeError naming the field. */
export function checkRecord (record: DnsRecord): void {
  if (record == null || typeof record !== 'object') throw new TypeError(`record must be an object, got ${record === null ? 'null' : typeof record}`)
  nameToLabels(record.name)
  if (!Number.isInteger(record.ttl) || record.ttl < 0 || record.ttl > MAX_TTL) throw new RangeError(`record ttl must be an integer 0-${MAX_TTL}, got ${record.ttl}`)
}

/** The uncompressed RDATA of a record; RangeError/TypeError if a field is out of range. */
export function encodeRdata (record: DnsRecord): Uint8Array {
  checkRecord(record)
  const w = new Writer()
  switch (record.type) {
    case 'A': return ipv4Bytes(record.address)
    case 'AAAA': return ipv6Bytes(record.address)
    case 'SRV':
      w.u16(u16('SRV priority', record.priority)).u16(u16('SRV weight', record.weight)).u16(u16('SRV port', record.port))
      w.name(record.target)
      return w.finish()
    case 'TXT': {
      if (!Array.isArray(record.strings) || record.strings.length === 0) throw new RangeError('a TXT record needs at least one character-string')
      for (const s of record.strings) {
        const bytes = typeof s === 'string' ? new TextEncoder().encode(s) : s
        if (!(bytes instanceof Uint8Array)) throw new TypeError(`TXT strings must be strings or Uint8Arrays, got ${typeof s}`)
        if (bytes.byteLength > MAX_TXT_STRING_BYTES) throw new RangeError(`a TXT character-string is at most ${MAX_TXT_STRING_BYTES} octets, got ${bytes.byteLength}`)
        w.u8(bytes.byteLength).bytes(bytes)
      }
      if (w.length > MAX_RDATA_BYTES) throw new RangeError(`TXT RDATA is ${w.length} octets; at most ${MAX_RDATA_BYTES}`)
      return w.finish()
    }
    case 'OTHER':
      u16('record code', record.code)
      if (!(record.data instanceof Uint8Array) || record.data.byteLength > MAX_RDATA_BYTES) throw new RangeError(`record data must be a Uint8Array of at most ${MAX_RDATA_BYTES} octets`)
      return record.data
    default:
      throw new RangeError(`unknown record type ${JSON.stringify((record as { type: unknown }).type)}`)
  }
}

/** Names inside RDATA that may be compressed (RFC 3597 §4: only RFC 1035 types), as an uncompressed copy. */
function decompressed (type: number, r: Reader): Uint8Array | undefined {
  const w = new Writer()
  switch (type) {
    case RecordType.NS: case RecordType.CNAME: case RecordType.PTR:
      return w.name(r.name('a name in RDATA')).finish()
    case RecordType.MX:
      return w.u16(r.u16()).name(r.name('an MX exchange')).finish()
    case RecordType.SOA:
      return w.name(r.name('an SOA MNAME')).name(r.name('an SOA RNAME')).bytes(r.bytes(20, 'SOA counters')).finish()
    default:
      return undefined
  }
}

/**
 * Decode the RDATA at `r` (whose `end` is already the RDATA's end) into a
 * record; it must consume the RDATA exactly.
 */
export function decodeRdata (name: string, type: number, ttl: number, r: Reader): DnsRecord {
  let record: DnsRecord
  switch (type) {
    case RecordType.A:
      if (r.remaining !== 4) throw new MalformedMessageError(`A RDATA must be 4 octets, got ${r.remaining}`)
      record = { type: 'A', name, ttl, address: Array.from(r.bytes(4)).join('.') }
      break
    case RecordType.AAAA:
      if (r.remaining !== 16) throw new MalformedMessageError(`AAAA RDATA must be 16 octets, got ${r.remaining}`)
      record = { type: 'AAAA', name, ttl, address: ipv6Text(r.bytes(16)) }
      break
    case RecordType.SRV:
      // RFC 2782 forbids compressing the target; some servers do, so accept it
      record = { type: 'SRV', name, ttl, priority: r.u16('SRV priority'), weight: r.u16('SRV weight'), port: r.u16('SRV port'), target: r.name('an SRV target') }
      break
    case RecordType.TXT: {
      if (r.remaining === 0) throw new MalformedMessageError('TXT RDATA is empty')
      const strings: Uint8Array[] = []
      while (r.remaining > 0) strings.push(r.bytes(r.u8('a TXT length'), 'a TXT character-string'))
      record = { type: 'TXT', name, ttl, strings }
      break
    }
    default:
      record = { type: 'OTHER', name, ttl, code: type, data: decompressed(type, r) ?? r.bytes(r.remaining) }
  }
  if (r.remaining !== 0) throw new MalformedMessageError(`${r.remaining} octets left over in the RDATA of type ${type}`)
  return record
}
