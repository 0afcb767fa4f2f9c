import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { TXT_TAG_SLOT, TXT_TAG_WITHDRAWN } from '../src/constants.ts'
import { decodeTxt, encodeTxt } from '../src/internal/txt.ts'

describe('TXT layout of a Fara record', () => {
  it('is a tag, then base64 in strings of at most 255 characters, and reads back', () => {
    const bytes = new Uint8Array(4176).map((_, i) => i)
    const strings = encodeTxt({ kind: 'slot', bytes })
    expect(strings[0]).toBe(TXT_TAG_SLOT)
    expect(strings.slice(1).every(s => s.length <= 255)).toBe(true)
    expect(decodeTxt(strings)).toEqual({ kind: 'slot', bytes })
    expect(decodeTxt(encodeTxt({ kind: 'withdrawn', bytes: bytes.slice(0, 10) }))).toEqual({ kind: 'withdrawn', bytes: bytes.slice(0, 10) })
    expect(decodeTxt(encodeTxt({ kind: 'withdrawn', bytes })).kind).toBe('withdrawn')
    expect(decodeTxt([Buffer.from(TXT_TAG_WITHDRAWN), Buffer.from('AAEC')])).toEqual({ kind: 'withdrawn', bytes: new Uint8Array([0, 1, 2]) })
  })

  for (const [what, strings] of [
    ['no payload', [TXT_TAG_SLOT]],
    ['an unknown tag', ['v=spf1 -all', 'AAAA']],
    ['a payload that is not base64', [TXT_TAG_SLOT, 'AA!A']],
    ['base64 of a wrong length', [TXT_TAG_SLOT, 'AAA']],
    ['an empty payload', [TXT_TAG_SLOT, '']],
    ['too many strings', [TXT_TAG_SLOT, ...new Array<string>(40).fill('AAAA')]],
    ['a payload over the record bound', [TXT_TAG_SLOT, ...new Array<string>(21).fill('A'.repeat(255)), 'A'.repeat(217)]]
  ] as const) {
    it(`refuses ${what} with MalformedMessageError`, () => {
      expect(() => decodeTxt(strings)).toThrow(expect.objectContaining({ name: 'MalformedMessageError' }))
    })
  }

  it('never throws anything but MalformedMessageError on arbitrary strings (property)', () => {
    fc.assert(fc.property(fc.array(fc.oneof(fc.uint8Array({ maxLength: 255 }), fc.constantFrom(TXT_TAG_SLOT, TXT_TAG_WITHDRAWN), fc.base64String({ maxLength: 255 })), { maxLength: 30 }), (strings) => {
      try {
        decodeTxt(strings)
      } catch (err) {
        expect(err).toMatchObject({ name: 'MalformedMessageError' })
      }
    }), { numRuns: 3_000 })
  })
})
