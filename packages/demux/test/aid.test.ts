import { describe, expect, it } from 'vitest'
import { aidFromHex, aidToHex, csprng, isAid, randomAid } from '../src/index.ts'
import { AID_BYTES } from '../src/constants.ts'

describe('randomAid', () => {
  it('returns 8 bytes (64 bits)', () => {
    expect(AID_BYTES).toBe(8)
    const aid = randomAid()
    expect(aid).toBeInstanceOf(Uint8Array)
    expect(aid.byteLength).toBe(8)
  })

  it('draws 1000 distinct AIds', () => {
    const seen = new Set<string>()
    for (let i = 0; i < 1000; i++) seen.add(aidToHex(randomAid()))
    expect(seen.size).toBe(1000)
  })

  it('uses every byte position: no byte is constant over 1000 draws', () => {
    const values = Array.from({ length: AID_BYTES }, () => new Set<number>())
    for (let i = 0; i < 1000; i++) {
      randomAid().forEach((b, j) => values[j]!.add(b))
    }
    for (const v of values) expect(v.size).toBeGreaterThan(100)
  })

  it('takes its bytes from the injected random source', () => {
    const fixed = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8])
    const lengths: number[] = []
    const aid = randomAid((n) => { lengths.push(n); return fixed })
    expect(lengths).toEqual([8])
    expect(Array.from(aid)).toEqual([1, 2, 3, 4, 5, 6, 7, 8])
  })

  it.each([
    ['too few bytes', () => new Uint8Array(7)],
    ['too many bytes', () => new Uint8Array(9)],
    ['not a Uint8Array', () => [1, 2, 3, 4, 5, 6, 7, 8] as unknown as Uint8Array]
  ])('throws a RangeError when the random source returns %s', (_what, source) => {
    expect(() => randomAid(source)).toThrow(RangeError)
  })

  it('csprng returns the requested number of bytes', () => {
    expect(csprng(32).byteLength).toBe(32)
    expect(aidToHex(csprng(8))).not.toBe(aidToHex(csprng(8)))
  })
})

describe('isAid', () => {
  it('is true only for a Uint8Array of exactly 8 bytes', () => {
    expect(isAid(new Uint8Array(8))).toBe(true)
    expect(isAid(Buffer.alloc(8))).toBe(true)
    expect(isAid(new Uint8Array(7))).toBe(false)
    expect(isAid(new Uint8Array(9))).toBe(false)
    expect(isAid('0011223344556677')).toBe(false)
    expect(isAid(undefined)).toBe(false)
    expect(isAid(new Uint16Array(4))).toBe(false)
  })
})

describe('aidToHex / aidFromHex', () => {
  it('round-trips random AIds', () => {
    for (let i = 0; i < 100; i++) {
      const aid = randomAid()
      const hex = aidToHex(aid)
      expect(hex).toMatch(/^[0-9a-f]{16}$/)
      expect(Array.from(aidFromHex(hex))).toEqual(Array.from(aid))
    }
  })

  it('encodes a known AId as lower-case hex', () => {
    expect(aidToHex(new Uint8Array([0x00, 0x01, 0xab, 0xcd, 0xef, 0x10, 0xff, 0x7f]))).toBe('0001abcdef10ff7f')
  })

  it('encodes only the view of an AId that is a subarray of a larger buffer', () => {
    const big = new Uint8Array(24).map((_, i) => i)
    expect(aidToHex(big.subarray(8, 16))).toBe('08090a0b0c0d0e0f')
  })

  it('parses upper-case hex', () => {
    expect(Array.from(aidFromHex('0001ABCDEF10FF7F'))).toEqual([0x00, 0x01, 0xab, 0xcd, 0xef, 0x10, 0xff, 0x7f])
  })

  it.each([new Uint8Array(0), new Uint8Array(7), new Uint8Array(16), undefined, 'abcdabcdabcdabcd'])(
    'aidToHex throws a RangeError for %o', (value) => {
      expect(() => aidToHex(value as Uint8Array)).toThrow(RangeError)
      expect(() => aidToHex(value as Uint8Array)).toThrow(/^aid must be 8 bytes/)
    })

  it.each(['', '0011223344556', '00112233445566778', '001122334455667g', ' 0011223344556677', '0x11223344556677', 42, null])(
    'aidFromHex throws a RangeError for %j', (value) => {
      expect(() => aidFromHex(value as string)).toThrow(RangeError)
      expect(() => aidFromHex(value as string)).toThrow(/^aid must be 16 hex digits/)
    })
})
