// DNS messages (RFC 1035 §4.1; UPDATE sections RFC 2136 §2; TSIG RR RFC 8945 §4.2).
// The decoder is bounded: message size, record counts, names (see wire.ts),
// RDATA lengths; anything else is a MalformedMessageError.
import { MAX_DNS_MESSAGE_BYTES, MAX_RECORDS, RecordClass, RecordType } from '../constants.ts'
import { MalformedMessageError } from '../errors.ts'
import { decodeRdata } from './rdata.ts'
import { Reader, Writer } from './wire.ts'
import type { DnsRecord } from '../records.ts'

export interface Question { name: string, type: number, class: number }

/** A record ready for the wire: RDATA already encoded (uncompressed). */
export interface WireRecord { name: string, type: number, class: number, ttl: number, rdata: Uint8Array }

/** A decoded record: `record` holds the typed RDATA of class IN records (OPT's class is a size, not a class). */
export interface DecodedRecord { name: string, type: number, class: number, ttl: number, record?: DnsRecord }

/** The TSIG RR of a message (RFC 8945 §4.2) and where it starts. */
export interface Tsig {
  /** Offset of the TSIG RR in the message: the signed bytes end here. */
  offset: number
  keyName: string
  algorithm: string
  /** Seconds since the epoch. */
  timeSigned: number
  fudge: number
  mac: Uint8Array
  originalId: number
  error: number
  otherData: Uint8Array
}

export interface Header {
  id: number
  qr: boolean
  opcode: number
  aa: boolean
  tc: boolean
  rd: boolean
  ra: boolean
  rcode: number
}

/** A message to encode; in an UPDATE the sections are zone, prerequisite, update, additional (RFC 2136 §2). */
export interface OutgoingMessage extends Header {
  questions: Question[]
  answers: WireRecord[]
  authorities: WireRecord[]
  additionals: WireRecord[]
}

export interface DecodedMessage extends Header {
  questions: Question[]
  answers: DecodedRecord[]
  authorities: DecodedRecord[]
  additionals: DecodedRecord[]
  tsig?: Tsig
}

/** Most octets a TSIG MAC may have (HMAC-SHA512). */
const MAX_MAC_BYTES = 64
/** Most octets of TSIG Other Data (6 for BADTIME, RFC 8945 §5.2.3). */
const MAX_OTHER_BYTES = 16
const HEADER_BYTES = 12
/** Smallest question: root name, type, class. */
const MIN_QUESTION_BYTES = 5
/** Smallest record: root name, type, class, TTL, RDLENGTH. */
const MIN_RECORD_BYTES = 11

export function flags (h: Header): number {
  return (h.qr ? 0x8000 : 0) | ((h.opcode & 0xf) << 11) | (h.aa ? 0x0400 : 0) | (h.tc ? 0x0200 : 0) |
    (h.rd ? 0x0100 : 0) | (h.ra ? 0x0080 : 0) | (h.rcode & 0xf)
}

function writeRecord (w: Writer, rr: WireRecord): void {
  w.name(rr.name).u16(rr.type).u16(rr.class).u32(rr.ttl).u16(rr.rdata.byteLength).bytes(rr.rdata)
}

/** Encode a message, names uncompressed; RangeError if it exceeds {@link MAX_DNS_MESSAGE_BYTES}. */
export function encodeMessage (m: OutgoingMessage): Uint8Array {
  const w = new Writer()
  w.u16(m.id).u16(flags(m)).u16(m.questions.length).u16(m.answers.length).u16(m.authorities.length).u16(m.additionals.length)
  for (const q of m.questions) w.name(q.name).u16(q.type).u16(q.class)
  for (const rr of [...m.answers, ...m.authorities, ...m.additionals]) writeRecord(w, rr)
  if (w.length > MAX_DNS_MESSAGE_BYTES) throw new RangeError(`DNS message would be ${w.length} octets; at most ${MAX_DNS_MESSAGE_BYTES}`)
  return w.finish()
}

function readTsig (r: Reader, offset: number, keyName: string): Tsig {
  const algorithm = r.name('the TSIG algorithm')
  const timeSigned = r.u48('TSIG time signed')
  const fudge = r.u16('TSIG fudge')
  const macSize = r.u16('TSIG MAC size')
  if (macSize > MAX_MAC_BYTES) throw new MalformedMessageError(`TSIG MAC of ${macSize} octets; at most ${MAX_MAC_BYTES}`)
  const mac = r.bytes(macSize, 'the TSIG MAC')
  const originalId = r.u16('TSIG original id')
  const error = r.u16('TSIG error')
  const otherLen = r.u16('TSIG other length')
  if (otherLen > MAX_OTHER_BYTES) throw new MalformedMessageError(`TSIG other data of ${otherLen} octets; at most ${MAX_OTHER_BYTES}`)
  const otherData = r.bytes(otherLen, 'TSIG other data')
  if (r.remaining !== 0) throw new MalformedMessageError(`${r.remaining} octets left over in the TSIG RDATA`)
  return { offset, keyName, algorithm, timeSigned, fudge, mac, originalId, error, otherData }
}

/** Decode a DNS message (any opcode), bounded in size, counts, names and RDATA. */
export function decodeMessage (buf: Uint8Array): DecodedMessage {
  if (!(buf instanceof Uint8Array)) throw new MalformedMessageError('a DNS message must be bytes')
  if (buf.byteLength > MAX_DNS_MESSAGE_BYTES) throw new MalformedMessageError(`DNS message of ${buf.byteLength} octets; at most ${MAX_DNS_MESSAGE_BYTES}`)
  if (buf.byteLength < HEADER_BYTES) throw new MalformedMessageError(`DNS message of ${buf.byteLength} octets is shorter than its header`)
  const r = new Reader(buf)
  const id = r.u16()
  const f = r.u16()
  const counts = [r.u16(), r.u16(), r.u16(), r.u16()] as const
  const [qd, an, ns, ar] = counts
  if (an + ns + ar > MAX_RECORDS) throw new MalformedMessageError(`DNS message claims ${an + ns + ar} records; at most ${MAX_RECORDS}`)
  if (qd * MIN_QUESTION_BYTES + (an + ns + ar) * MIN_RECORD_BYTES > buf.byteLength - HEADER_BYTES) {
    throw new MalformedMessageError(`DNS message of ${buf.byteLength} octets cannot hold ${qd} questions and ${an + ns + ar} records`)
  }
  const header: Header = {
    id,
    qr: (f & 0x8000) !== 0,
    opcode: (f >> 11) & 0xf,
    aa: (f & 0x0400) !== 0,
    tc: (f & 0x0200) !== 0,
    rd: (f & 0x0100) !== 0,
    ra: (f & 0x0080) !== 0,
    rcode: f & 0xf
  }
  const questions: Question[] = []
  for (let i = 0; i < qd; i++) questions.push({ name: r.name('a question name'), type: r.u16('a question type'), class: r.u16('a question class') })
  let tsig: Tsig | undefined
  const section = (count: number, additional: boolean): DecodedRecord[] => {
    const out: DecodedRecord[] = []
    for (let i = 0; i < count; i++) {
      if (tsig != null) throw new MalformedMessageError('the TSIG record must be the last record of the message')
      const start = r.offset
      const name = r.name('a record owner')
      const type = r.u16('a record type')
      const cls = r.u16('a record class')
      const ttl = r.u32('a record TTL')
      const rdlength = r.u16('an RDLENGTH')
      if (rdlength > r.remaining) throw new MalformedMessageError(`RDLENGTH ${rdlength} runs past the end of the message (${r.remaining} octets left)`)
      const end = r.offset + rdlength
      const rd = new Reader(buf, r.offset, end)
      if (type === RecordType.TSIG) {
        if (!additional) throw new MalformedMessageError('a TSIG record outside the additional section')
        tsig = readTsig(rd, start, name)
        out.push({ name, type, class: cls, ttl })
      } else if (cls === RecordClass.IN && type !== RecordType.OPT) {
        out.push({ name, type, class: cls, ttl, record: decodeRdata(name, type, ttl, rd) })
      } else {
        out.push({ name, type, class: cls, ttl })
      }
      r.offset = end
    }
    return out
  }
  const answers = section(an, false)
  const authorities = section(ns, false)
  const additionals = section(ar, true)
  if (r.remaining !== 0) throw new MalformedMessageError(`${r.remaining} octets after the last record`)
  return { ...header, questions, answers, authorities, additionals, ...(tsig == null ? {} : { tsig }) }
}
