import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { MAX_RECORDS, RecordClass, RecordType } from '../src/constants.ts'
import { decodeMessage, encodeMessage } from '../src/internal/message.ts'
import { encodeRdata } from '../src/internal/rdata.ts'
import { encodeName, inZone, labelsToName, nameToLabels, sameName } from '../src/internal/wire.ts'
import type { OutgoingMessage } from '../src/internal/message.ts'
import type { DnsRecord } from '../src/index.ts'

const header = { id: 0x1234, qr: true, opcode: 0, aa: true, tc: false, rd: false, ra: false, rcode: 0 }

function message (records: DnsRecord[], extra: Partial<OutgoingMessage> = {}): Uint8Array {
  return encodeMessage({
    ...header,
    questions: [{ name: 'example.test', type: RecordType.SRV, class: RecordClass.IN }],
    answers: records.map(r => ({ name: r.name, type: r.type === 'OTHER' ? r.code : RecordType[r.type], class: RecordClass.IN, ttl: r.ttl, rdata: encodeRdata(r) })),
    authorities: [],
    additionals: [],
    ...extra
  })
}

/** Build raw bytes: a header with the given counts, then `body`. */
function raw (counts: [number, number, number, number], ...body: number[]): Uint8Array {
  return Uint8Array.from([0x12, 0x34, 0x84, 0x00, ...counts.flatMap(c => [c >> 8, c & 0xff]), ...body])
}

const malformedName = expect.objectContaining({ name: 'MalformedMessageError' })

describe('domain names', () => {
  it('round-trips presentation escapes (\\. \\\\ \\DDD) through labels', () => {
    const labels = nameToLabels('a\\.b.c\\\\d.\\000x.example.')
    expect(labels.map(l => Array.from(l))).toEqual([[97, 46, 98], [99, 92, 100], [0, 120], Array.from(Buffer.from('example'))])
    expect(labelsToName(labels)).toBe('a\\.b.c\\\\d.\\000x.example')
    expect(nameToLabels(labelsToName(labels))).toEqual(labels)
  })

  it('treats "" and "." as the root and a trailing dot as optional', () => {
    expect(nameToLabels('')).toEqual([])
    expect(nameToLabels('.')).toEqual([])
    expect(encodeName('a.b.')).toEqual(encodeName('a.b'))
  })

  it('rejects empty labels, labels over 63 octets, names over 255 octets and bad escapes', () => {
    expect(() => nameToLabels('a..b')).toThrow(RangeError)
    expect(() => nameToLabels('.a')).toThrow(RangeError)
    expect(() => nameToLabels('x'.repeat(64))).toThrow(/63/)
    expect(() => nameToLabels(Array(5).fill('x'.repeat(63)).join('.'))).toThrow(/255/)
    expect(() => nameToLabels('a\\')).toThrow(RangeError)
    expect(() => nameToLabels('a\\999')).toThrow(RangeError)
    expect(() => nameToLabels(3 as never)).toThrow(TypeError)
  })

  it('accepts the longest legal name (255 octets in wire form)', () => {
    const name = [...Array(3).fill('x'.repeat(63)), 'y'.repeat(61)].join('.')
    expect(encodeName(name).byteLength).toBe(255)
  })

  it('compares names without case and tells zones apart label by label', () => {
    expect(sameName('A.Example.TEST.', 'a.example.test')).toBe(true)
    expect(inZone('x.Fara.Test', 'fara.test')).toBe(true)
    expect(inZone('fara.test', 'fara.test')).toBe(true)
    expect(inZone('xfara.test', 'fara.test')).toBe(false)
    expect(inZone('test', 'fara.test')).toBe(false)
  })
})

describe('DNS message decoder', () => {
  it('decodes what the encoder wrote, every record type', () => {
    const records: DnsRecord[] = [
      { type: 'A', name: 'a.example.test', ttl: 60, address: '192.0.2.7' },
      { type: 'AAAA', name: 'a.example.test', ttl: 60, address: '2001:db8::7' },
      { type: 'SRV', name: '_x._tcp.example.test', ttl: 5, priority: 1, weight: 2, port: 3, target: 'a.example.test' },
      { type: 'TXT', name: 't.example.test', ttl: 0, strings: [new Uint8Array([1, 2]), new Uint8Array(0), new Uint8Array(255).fill(65)] },
      { type: 'OTHER', name: 'o.example.test', ttl: 1, code: 99, data: new Uint8Array([9, 9]) }
    ]
    const m = decodeMessage(message(records))
    expect(m).toMatchObject({ id: 0x1234, qr: true, aa: true, rcode: 0, questions: [{ name: 'example.test', type: RecordType.SRV }] })
    expect(m.answers.map(a => a.record)).toEqual(records)
  })

  it('follows compression pointers, also in an SRV target (which RFC 2782 forbids but servers send)', () => {
    const bytes = raw([1, 1, 0, 0],
      1, 0x61, 7, ...Buffer.from('example'), 0, 0, 33, 0, 1, // question a.example (offset 12)
      0xc0, 12, 0, 33, 0, 1, 0, 0, 0, 60, 0, 10, 0, 1, 0, 2, 0, 3, 1, 0x62, 0xc0, 14) // answer: ptr → a.example, target b + ptr → example
    const m = decodeMessage(bytes)
    expect(m.answers[0]!.record).toEqual({ type: 'SRV', name: 'a.example', ttl: 60, priority: 1, weight: 2, port: 3, target: 'b.example' })
  })

  it('decodes names in NS/SOA RDATA to an uncompressed copy', () => {
    const bytes = raw([1, 1, 0, 0],
      7, ...Buffer.from('example'), 0, 0, 2, 0, 1,
      0xc0, 12, 0, 2, 0, 1, 0, 0, 0, 60, 0, 4, 1, 0x6e, 0xc0, 12)
    expect(decodeMessage(bytes).answers[0]!.record).toMatchObject({ type: 'OTHER', code: 2, data: encodeName('n.example') })
  })

  const cases: Array<[string, Uint8Array]> = [
    ['shorter than a header', new Uint8Array(11)],
    ['a question past the end', raw([1, 0, 0, 0], 3, 0x61)],
    ['a pointer to itself', raw([1, 0, 0, 0], 0xc0, 12, 0, 1, 0, 1)],
    ['a forward pointer', raw([1, 0, 0, 0], 0xc0, 18, 0, 1, 0, 1, 1, 0x61, 0)],
    ['a pointer loop between two names', raw([2, 0, 0, 0], 1, 0x61, 0xc0, 18, 0, 1, 0, 1, 1, 0x62, 0xc0, 12, 0, 1, 0, 1)],
    ['a pointer into the middle of its own name', raw([1, 0, 0, 0], 1, 0x61, 1, 0x62, 0xc0, 14, 0, 1, 0, 1)],
    ['a reserved label type (0x40)', raw([1, 0, 0, 0], 0x41, 0x61, 0, 0, 1, 0, 1)],
    ['a name over 255 octets', raw([1, 0, 0, 0], ...Array(5).fill([63, ...new Array<number>(63).fill(0x61)]).flat(), 0, 0, 1, 0, 1)],
    ['counts the message cannot hold', raw([0, 100, 0, 0], 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0)],
    ['more records than MAX_RECORDS', raw([0, MAX_RECORDS, 1, 0])],
    ['an RDLENGTH past the end', raw([0, 1, 0, 0], 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 9, 1, 2, 3, 4)],
    ['an A record of 3 octets', raw([0, 1, 0, 0], 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 3, 1, 2, 3)],
    ['an AAAA record of 4 octets', raw([0, 1, 0, 0], 0, 0, 28, 0, 1, 0, 0, 0, 0, 0, 4, 1, 2, 3, 4)],
    ['a TXT string longer than its RDATA', raw([0, 1, 0, 0], 0, 0, 16, 0, 1, 0, 0, 0, 0, 0, 2, 5, 0x61)],
    ['an empty TXT RDATA', raw([0, 1, 0, 0], 0, 0, 16, 0, 1, 0, 0, 0, 0, 0, 0)],
    ['an SRV target running past its RDATA', raw([0, 1, 0, 0], 0, 0, 33, 0, 1, 0, 0, 0, 0, 0, 8, 0, 1, 0, 2, 0, 3, 1, 0x61, 0)],
    ['octets left over in an SRV RDATA', raw([0, 1, 0, 0], 0, 0, 33, 0, 1, 0, 0, 0, 0, 0, 8, 0, 1, 0, 2, 0, 3, 0, 9)],
    ['trailing octets after the last record', raw([0, 0, 0, 0], 1)],
    ['a TSIG record in the answer section', raw([0, 1, 0, 0], 0, 0, 250, 0, 255, 0, 0, 0, 0, 0, 0)],
    ['a TSIG record that is not last', raw([0, 0, 0, 2], 0, 0, 250, 0, 255, 0, 0, 0, 0, 0, 17, 0, 0, 0, 0, 0, 0, 0, 1, 44, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0)],
    ['a TSIG MAC over 64 octets', raw([0, 0, 0, 1], 0, 0, 250, 0, 255, 0, 0, 0, 0, 0, 11, 0, 0, 0, 0, 0, 0, 0, 1, 44, 0, 65)],
    ['a truncated TSIG RDATA', raw([0, 0, 0, 1], 0, 0, 250, 0, 255, 0, 0, 0, 0, 0, 3, 0, 0, 0)]
  ]

  for (const [what, bytes] of cases) {
    it(`refuses ${what} with MalformedMessageError`, () => {
      expect(() => decodeMessage(bytes)).toThrow(malformedName)
    })
  }

  it('refuses a message over 65535 octets and non-bytes', () => {
    expect(() => decodeMessage(new Uint8Array(65_536))).toThrow(malformedName)
    expect(() => decodeMessage('x' as never)).toThrow(malformedName)
  })

  it('never throws anything but MalformedMessageError on arbitrary bytes (property)', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
      try {
        decodeMessage(bytes)
      } catch (err) {
        expect(err).toMatchObject({ name: 'MalformedMessageError' })
      }
    }), { numRuns: 5_000 })
  })

  it('never throws anything but MalformedMessageError on mutated or truncated valid messages (property)', () => {
    const valid = message([
      { type: 'SRV', name: '_x._tcp.example.test', ttl: 5, priority: 1, weight: 2, port: 3, target: 'a.example.test' },
      { type: 'TXT', name: 't.example.test', ttl: 0, strings: ['hello', 'world'] },
      { type: 'AAAA', name: 'a.example.test', ttl: 60, address: '::1' }
    ])
    fc.assert(fc.property(
      fc.array(fc.tuple(fc.nat({ max: valid.byteLength - 1 }), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }),
      fc.nat({ max: valid.byteLength }),
      (flips, cut) => {
        const bytes = valid.slice(0, Math.max(cut, 12))
        for (const [at, value] of flips) if (at < bytes.byteLength) bytes[at] = value
        try {
          decodeMessage(bytes)
        } catch (err) {
          expect(err).toMatchObject({ name: 'MalformedMessageError' })
        }
      }), { numRuns: 5_000 })
  })

  it('round-trips arbitrary SRV and TXT records (property)', () => {
    const label = fc.stringMatching(/^[a-z0-9_-]{1,20}$/)
    const name = fc.array(label, { minLength: 1, maxLength: 4 }).map(l => l.join('.'))
    const srv = fc.record({
      type: fc.constant('SRV' as const), name, ttl: fc.nat({ max: 2 ** 31 - 1 }),
      priority: fc.nat({ max: 65535 }), weight: fc.nat({ max: 65535 }), port: fc.nat({ max: 65535 }), target: name
    })
    const txt = fc.record({
      type: fc.constant('TXT' as const), name, ttl: fc.nat({ max: 2 ** 31 - 1 }),
      strings: fc.array(fc.uint8Array({ maxLength: 255 }), { minLength: 1, maxLength: 5 })
    })
    fc.assert(fc.property(fc.array(fc.oneof(srv, txt), { maxLength: 5 }), (records) => {
      expect(decodeMessage(message(records)).answers.map(a => a.record)).toEqual(records)
    }), { numRuns: 500 })
  })
})

describe('RDATA encoder', () => {
  it('rejects out-of-range fields at the boundary, naming them', () => {
    expect(() => encodeRdata({ type: 'SRV', name: 'a', ttl: 1, priority: 70_000, weight: 0, port: 1, target: 'b' })).toThrow(/SRV priority/)
    expect(() => encodeRdata({ type: 'SRV', name: 'a', ttl: -1, priority: 0, weight: 0, port: 1, target: 'b' })).toThrow(/ttl/)
    expect(() => encodeRdata({ type: 'TXT', name: 'a', ttl: 1, strings: ['x'.repeat(256)] })).toThrow(/255/)
    expect(() => encodeRdata({ type: 'TXT', name: 'a', ttl: 1, strings: [] })).toThrow(RangeError)
    expect(() => encodeRdata({ type: 'A', name: 'a', ttl: 1, address: '::1' })).toThrow(RangeError)
    expect(() => encodeRdata({ type: 'AAAA', name: 'a', ttl: 1, address: '1.2.3.4' })).toThrow(RangeError)
  })

  it('writes IPv6 addresses in all their text forms', () => {
    expect(Array.from(encodeRdata({ type: 'AAAA', name: 'a', ttl: 1, address: '::ffff:192.0.2.1' }))).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 1])
    expect(Array.from(encodeRdata({ type: 'AAAA', name: 'a', ttl: 1, address: '2001:db8::' }))).toEqual([0x20, 1, 0xd, 0xb8, ...new Array<number>(12).fill(0)])
  })
})
