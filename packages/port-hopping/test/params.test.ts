import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { thrown } from '@fara/testkit'
import { createHopParams, createSchedule, decodeHopParams, encodeHopParams, hopParamsFromString, hopParamsToString, sameHopParams } from '../src/index.ts'
import { DEFAULT_INTERVAL_MS, DEFAULT_RANGE, HOP_PARAMS_BYTES, HOP_PARAMS_PREFIX, MAX_HOP_PARAMS_TEXT } from '../src/constants.ts'
import type { HopParams } from '../src/index.ts'

const KEY = new Uint8Array(32).fill(7)
const GOOD: HopParams = { key: KEY, epoch: 0, intervalMs: 1000, range: { start: 20_000, end: 20_063 } }
const TYPED = new Set(['InvalidHopParamsError', 'UnsupportedHopVersionError'])

/** Valid parameters, drawn over every field's whole range. */
const validParams = fc.record({
  key: fc.uint8Array({ minLength: 32, maxLength: 32 }),
  epoch: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
  intervalMs: fc.integer({ min: 1000, max: 86_400_000 }),
  start: fc.integer({ min: 1024, max: 65_535 - 15 })
}).chain(p => fc.integer({ min: p.start + 15, max: 65_535 }).map(end => ({ key: p.key, epoch: p.epoch, intervalMs: p.intervalMs, range: { start: p.start, end } })))

describe('createHopParams', () => {
  it('fills in a fresh 32-byte key, epoch 0, the default interval and the default range', () => {
    const a = createHopParams()
    const b = createHopParams()
    expect(a.key).toHaveLength(32)
    expect(Buffer.compare(a.key, b.key)).not.toBe(0)
    expect(a.epoch).toBe(0)
    expect(a.intervalMs).toBe(DEFAULT_INTERVAL_MS)
    expect(a.range).toEqual(DEFAULT_RANGE)
  })

  it('copies the key, so that the caller wiping its buffer changes nothing', () => {
    const key = new Uint8Array(32).fill(1)
    const params = createHopParams({ key })
    key.fill(0)
    expect(params.key.every(b => b === 1)).toBe(true)
  })

  it.each([
    ['key', { key: new Uint8Array(31) }, RangeError],
    ['key', { key: new Uint8Array(33) }, RangeError],
    ['key', { key: 'secret' }, TypeError],
    ['intervalMs', { intervalMs: 999 }, RangeError],
    ['intervalMs', { intervalMs: 1000.5 }, RangeError],
    ['intervalMs', { intervalMs: 86_400_001 }, RangeError],
    ['intervalMs', { intervalMs: '1000' }, TypeError],
    ['epoch', { epoch: -1 }, RangeError],
    ['epoch', { epoch: Number.NaN }, RangeError],
    ['range.start', { range: { start: 1023, end: 2000 } }, RangeError],
    ['range.end', { range: { start: 2000, end: 65_536 } }, RangeError],
    ['range must hold at least 16', { range: { start: 2000, end: 2014 } }, RangeError],
    ['range must hold at least 16', { range: { start: 3000, end: 2000 } }, RangeError],
    ['range', { range: '1024-2048' }, TypeError]
  ])('refuses a bad %s with a %O that names it', (field, init, type) => {
    const err = thrown(() => createHopParams({ key: KEY, ...init } as never))
    expect(err).toBeInstanceOf(type)
    expect(err.message).toContain(field)
  })

  it('accepts the edges: 1000 ms, one day, 16 ports, ports 1024 and 65535', () => {
    expect(() => createHopParams({ intervalMs: 1000, range: { start: 1024, end: 1039 } })).not.toThrow()
    expect(() => createHopParams({ intervalMs: 86_400_000, range: { start: 65_520, end: 65_535 } })).not.toThrow()
  })

  it('createSchedule refuses the same things, naming init.<field>', () => {
    expect(thrown(() => createSchedule({ ...GOOD, intervalMs: 500 })).message).toContain('init.intervalMs')
    expect(thrown(() => createSchedule({ ...GOOD, key: new Uint8Array(16) })).message).toContain('init.key')
    expect(thrown(() => createSchedule({ ...GOOD, now: 5 as never }))).toBeInstanceOf(TypeError)
  })
})

describe('encodeHopParams / decodeHopParams', () => {
  it('round-trips any valid parameters through exactly 49 bytes', () => {
    fc.assert(fc.property(validParams, (params) => {
      const bytes = encodeHopParams(params)
      expect(bytes).toHaveLength(HOP_PARAMS_BYTES)
      expect(bytes[0]).toBe(1)
      expect(sameHopParams(decodeHopParams(bytes), params)).toBe(true)
    }))
  })

  it('never throws anything but its typed errors on random bytes, and what it accepts re-encodes to the same bytes', () => {
    const anyBytes = fc.uint8Array({ maxLength: 2 * HOP_PARAMS_BYTES })
    // most random inputs fail on the version byte: also draw version 1 with 48 random bytes, which reach the field checks
    const versionOne = fc.uint8Array({ minLength: 48, maxLength: 48 }).map(rest => Uint8Array.of(1, ...rest))
    fc.assert(fc.property(fc.oneof(anyBytes, versionOne), (bytes) => {
      let params: HopParams
      try {
        params = decodeHopParams(bytes)
      } catch (err) {
        expect(TYPED.has((err as Error).name), String(err)).toBe(true)
        return
      }
      expect(Buffer.from(encodeHopParams(params)).equals(Buffer.from(bytes))).toBe(true)
    }), { numRuns: 2000 })
  })

  it('reads a view into a larger buffer and copies the key out of it', () => {
    const backing = new Uint8Array(100).fill(0xee)
    backing.set(encodeHopParams(GOOD), 10)
    const view = backing.subarray(10, 10 + HOP_PARAMS_BYTES)
    const params = decodeHopParams(view)
    expect(sameHopParams(params, GOOD)).toBe(true)
    backing.fill(0)
    expect(params.key.every(b => b === 7)).toBe(true)
  })

  it('refuses a non-Uint8Array with a TypeError', () => {
    expect(thrown(() => decodeHopParams('01' as never))).toBeInstanceOf(TypeError)
  })

  it('refuses a future version by name, whatever its length', () => {
    const err = thrown(() => decodeHopParams(Uint8Array.of(2, 0, 0)))
    expect(err.name).toBe('UnsupportedHopVersionError')
    expect((err as Error & { version: number }).version).toBe(2)
  })
})

describe('hopParamsToString / hopParamsFromString', () => {
  it('round-trips any valid parameters through fara-hop:<base64url>', () => {
    fc.assert(fc.property(validParams, (params) => {
      const text = hopParamsToString(params)
      expect(text.startsWith(HOP_PARAMS_PREFIX)).toBe(true)
      expect(text.length).toBeLessThanOrEqual(MAX_HOP_PARAMS_TEXT)
      expect(sameHopParams(hopParamsFromString(text), params)).toBe(true)
    }))
  })

  it('never throws anything but its typed errors on random text', () => {
    const body = fc.string({ unit: fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_+/='.split('')), maxLength: 90 })
    fc.assert(fc.property(fc.oneof(fc.string({ maxLength: 200 }), body.map(b => HOP_PARAMS_PREFIX + b)), (text) => {
      try {
        hopParamsFromString(text)
      } catch (err) {
        expect(TYPED.has((err as Error).name), String(err)).toBe(true)
      }
    }), { numRuns: 2000 })
  })

  it('refuses a very long text before decoding any of it', () => {
    expect(thrown(() => hopParamsFromString(HOP_PARAMS_PREFIX + 'A'.repeat(1_000_000))).message).toContain('longer than')
  })
})
