import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { MAX_SIGNED_PRIVATE_RECORD_BYTES } from '@fara/rendezvous/constants'
import { privateOwnerName } from '../src/index.ts'
import { FARA_PRIVATE_LABEL, SEALED_CHUNK_BYTES, TXT_TAG_SEALED } from '../src/constants.ts'
import { MAX_SEALED_STRINGS, decodeSealedTxt, encodeSealedTxt } from '../src/internal/sealed.ts'
import { nameToLabels } from '../src/internal/wire.ts'

const zone = 'fara.example.com'

/** An independent RFC 4648 §6 encoder (bit string, 5 bits a character) to check the label against. */
function referenceBase32 (bytes: Uint8Array): string {
  const bits = Array.from(bytes, b => b.toString(2).padStart(8, '0')).join('')
  const padded = bits.padEnd(Math.ceil(bits.length / 5) * 5, '0')
  return Array.from({ length: padded.length / 5 }, (_, i) => 'abcdefghijklmnopqrstuvwxyz234567'[parseInt(padded.slice(5 * i, 5 * i + 5), 2)]).join('')
}

describe('privateOwnerName: lookup key → DNS owner name', () => {
  it('is 52 lower-case base32 characters under _fara-p', () => {
    expect(privateOwnerName(new Uint8Array(32), zone)).toBe(`${'a'.repeat(52)}.${FARA_PRIVATE_LABEL}.${zone}`)
    expect(privateOwnerName(new Uint8Array(32).fill(0xff), `${zone}.`)).toBe(`${'7'.repeat(51)}q._fara-p.${zone}`)
  })

  it('matches RFC 4648 base32 for any key, and every label fits in 63 octets (property)', () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (key) => {
      const name = privateOwnerName(key, zone)
      const labels = nameToLabels(name)
      expect(Buffer.from(labels[0]!).toString()).toBe(referenceBase32(key))
      expect(labels.every(l => l.byteLength <= 63)).toBe(true)
      expect(name).toBe(name.toLowerCase()) // DNS folds case: one case means no two keys meet
    }), { numRuns: 500 })
  })

  it('refuses a lookup key of the wrong type or length', () => {
    expect(() => privateOwnerName(new Uint8Array(31), zone)).toThrow(RangeError)
    expect(() => privateOwnerName(new Uint8Array(33), zone)).toThrow(RangeError)
    expect(() => privateOwnerName('a'.repeat(32) as unknown as Uint8Array, zone)).toThrow(TypeError)
    expect(() => privateOwnerName(new Uint8Array(32), 'a..b')).toThrow(RangeError)
  })
})

describe('TXT layout of a sealed private record', () => {
  it('is the tag, then 255-octet strings and a shorter last one, and reads back', () => {
    const bytes = new Uint8Array(1190).map((_, i) => i * 7)
    const strings = encodeSealedTxt(bytes)
    expect(Buffer.from(strings[0]!).toString()).toBe(TXT_TAG_SEALED)
    expect(strings.slice(1).map(s => s.byteLength)).toEqual([255, 255, 255, 255, 170])
    expect(decodeSealedTxt(strings)).toEqual(bytes)
    expect(decodeSealedTxt([TXT_TAG_SEALED, new Uint8Array([1, 2, 3])])).toEqual(new Uint8Array([1, 2, 3]))
  })

  it('reads back every length up to the bound (property)', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: MAX_SIGNED_PRIVATE_RECORD_BYTES }), fc.integer({ min: 0, max: 255 }), (length, fill) => {
      const bytes = new Uint8Array(length).fill(fill)
      const strings = encodeSealedTxt(bytes)
      expect(strings.length).toBeLessThanOrEqual(MAX_SEALED_STRINGS)
      expect(Buffer.from(decodeSealedTxt(strings)).equals(bytes)).toBe(true)
    }), { numRuns: 300 })
  })

  it('refuses to encode nothing or more than the bound', () => {
    expect(() => encodeSealedTxt(new Uint8Array(0))).toThrow(RangeError)
    expect(() => encodeSealedTxt(new Uint8Array(MAX_SIGNED_PRIVATE_RECORD_BYTES + 1))).toThrow(RangeError)
  })

  const chunk = new Uint8Array(SEALED_CHUNK_BYTES)
  for (const [what, strings] of [
    ['no payload', [TXT_TAG_SEALED]],
    ['another tag', ['fara1 slot', chunk]],
    ['a tag with a trailing space', [`${TXT_TAG_SEALED} `, chunk]],
    ['a short string before the last', [TXT_TAG_SEALED, new Uint8Array(254), chunk]],
    ['an empty last string', [TXT_TAG_SEALED, chunk, new Uint8Array(0)]],
    ['too many strings', [TXT_TAG_SEALED, ...new Array<Uint8Array>(MAX_SEALED_STRINGS).fill(chunk)]],
    ['a payload over the bound', [TXT_TAG_SEALED, ...new Array<Uint8Array>(MAX_SEALED_STRINGS - 1).fill(chunk)]]
  ] as const) {
    it(`refuses ${what} with MalformedMessageError`, () => {
      expect(() => decodeSealedTxt(strings)).toThrow(expect.objectContaining({ name: 'MalformedMessageError' }))
    })
  }

  it('never throws anything but MalformedMessageError on arbitrary strings (property)', () => {
    fc.assert(fc.property(fc.array(fc.oneof(fc.uint8Array({ maxLength: 255 }), fc.constant(chunk), fc.constant(TXT_TAG_SEALED)), { maxLength: 60 }), (strings) => {
      try {
        decodeSealedTxt(strings)
      } catch (err) {
        expect(err).toMatchObject({ name: 'MalformedMessageError' })
      }
    }), { numRuns: 3_000 })
  })
})
