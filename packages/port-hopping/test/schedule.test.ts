import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { thrown } from '@fara/testkit'
import { createSchedule } from '../src/index.ts'
import { MAX_HMAC_BLOCKS } from '../src/constants.ts'
import { reduce } from '../src/internal/derive.ts'
import type { HopParams } from '../src/index.ts'

const KEY = new Uint8Array(32).map((_, i) => i * 3)
const EPOCH = 1_700_000_000_000
const PARAMS: HopParams = { key: KEY, epoch: EPOCH, intervalMs: 1000, range: { start: 20_000, end: 20_999 } }

describe('slots', () => {
  const schedule = createSchedule(PARAMS)

  it('cuts time into slots of intervalMs from the epoch; a time on a boundary belongs to the new slot', () => {
    expect(schedule.slotAt(EPOCH)).toBe(0)
    expect(schedule.slotAt(EPOCH + 999)).toBe(0)
    expect(schedule.slotAt(EPOCH + 1000)).toBe(1)
    expect(schedule.slotAt(EPOCH + 123_456)).toBe(123)
  })

  it('numbers slots before the epoch negatively, and still maps them to ports', () => {
    expect(schedule.slotAt(EPOCH - 1)).toBe(-1)
    expect(schedule.slotAt(EPOCH - 1000)).toBe(-1)
    expect(schedule.slotAt(EPOCH - 1001)).toBe(-2)
    expect(schedule.portOf(-2)).toBeGreaterThanOrEqual(20_000)
  })

  it('gives the start of the next slot as the next change, for any time', () => {
    fc.assert(fc.property(fc.integer({ min: EPOCH - 1e9, max: EPOCH + 1e9 }), (t) => {
      const next = schedule.nextChangeAt(t)
      expect(next).toBeGreaterThan(t)
      expect(next - t).toBeLessThanOrEqual(1000)
      expect(schedule.slotAt(next)).toBe(schedule.slotAt(t) + 1)
      expect(schedule.slotAt(next - 1)).toBe(schedule.slotAt(t))
    }))
  })

  it('reads the injected clock for current(), ports() and nextChangeAt() without a time', () => {
    let t = EPOCH + 5_500
    const clocked = createSchedule({ ...PARAMS, now: () => t })
    expect(clocked.current()).toEqual({ slot: 5, port: schedule.portOf(5) })
    expect(clocked.ports()).toEqual(schedule.ports(EPOCH + 5_500))
    expect(clocked.nextChangeAt()).toBe(EPOCH + 6_000)
    t += 1000
    expect(clocked.current().slot).toBe(6)
  })

  it('refuses a time that is not a finite number, and a clock that returns one', () => {
    expect(thrown(() => schedule.slotAt(Number.NaN))).toBeInstanceOf(RangeError)
    expect(thrown(() => schedule.slotAt('1' as never))).toBeInstanceOf(TypeError)
    expect(thrown(() => createSchedule({ ...PARAMS, now: () => Number.POSITIVE_INFINITY }).current()).message).toContain('now()')
    expect(thrown(() => schedule.portOf(1.5))).toBeInstanceOf(RangeError)
  })
})

describe('ports', () => {
  it('are always inside the range, for any key, range and slot', () => {
    const arb = fc.record({
      key: fc.uint8Array({ minLength: 32, maxLength: 32 }),
      start: fc.integer({ min: 1024, max: 65_520 }),
      size: fc.integer({ min: 16, max: 64_512 }),
      slot: fc.integer({ min: -1e15, max: 1e15 })
    })
    fc.assert(fc.property(arb, ({ key, start, size, slot }) => {
      const end = Math.min(65_535, start + size - 1)
      const port = createSchedule({ key, range: { start, end } }).portOf(slot)
      expect(port).toBeGreaterThanOrEqual(start)
      expect(port).toBeLessThanOrEqual(end)
    }), { numRuns: 500 })
  })

  it('depend on the key: the same slots under another key give another sequence', () => {
    const a = createSchedule(PARAMS)
    const b = createSchedule({ ...PARAMS, key: KEY.map(x => x ^ 1) })
    const slots = Array.from({ length: 32 }, (_, i) => i)
    expect(slots.map(s => a.portOf(s))).not.toEqual(slots.map(s => b.portOf(s)))
    expect(slots.map(s => a.portOf(s))).toEqual(slots.map(s => createSchedule(PARAMS).portOf(s)))
  })

  it('live at a time are the ports of slots s-1, s and s+1, and one interval later the window has moved by one slot', () => {
    const schedule = createSchedule(PARAMS)
    for (let s = 0; s < 50; s++) {
      const t = EPOCH + s * 1000 + 250
      const expected = [...new Set([s - 1, s, s + 1].map(x => schedule.portOf(x)))]
      expect(schedule.ports(t)).toEqual(expected)
      expect(schedule.ports(t + 1000)).toEqual([...new Set([s, s + 1, s + 2].map(x => schedule.portOf(x)))])
    }
  })

  it('collapse in the window when adjacent slots share a port (a 16-port range makes that common)', () => {
    const small = createSchedule({ ...PARAMS, range: { start: 40_000, end: 40_015 } })
    let s = 0
    while (small.portOf(s) !== small.portOf(s + 1)) s++
    const window = small.ports(EPOCH + s * 1000)
    expect(window.length).toBeLessThan(3)
    expect(new Set(window).size).toBe(window.length)
    expect(window).toContain(small.portOf(s))
  })

  it('are dialled current first, then the neighbour across the nearer boundary', () => {
    const schedule = createSchedule(PARAMS)
    const [prev, cur, next] = [9, 10, 11].map(s => schedule.portOf(s))
    const early = schedule.dialPorts(EPOCH + 10_000 + 499)
    const late = schedule.dialPorts(EPOCH + 10_000 + 500)
    expect(early).toEqual([...new Set([cur, prev, next])])
    expect(late).toEqual([...new Set([cur, next, prev])])
  })
})

describe('unbiased reduction', () => {
  const block = (...words: number[]): Uint8Array => {
    const out = Buffer.alloc(32, 0xff)
    words.forEach((w, i) => { out.writeUInt32BE(w, 4 * i) })
    return new Uint8Array(out)
  }

  it('takes the first candidate below n * floor(2^32 / n) and reduces it mod n', () => {
    const n = 1000
    const limit = n * Math.floor(2 ** 32 / n)
    expect(reduce(() => block(limit - 1), n)).toBe((limit - 1) % n)
    // limit itself is rejected; the next candidate is used
    expect(reduce(() => block(limit, 1234), n)).toBe(234)
  })

  it('moves on to the next HMAC block when all 8 candidates of a block are rejected', () => {
    const asked: number[] = []
    const port = reduce(b => { asked.push(b); return b === 0 ? block() : block(7) }, 1000)
    expect(asked).toEqual([0, 1])
    expect(port).toBe(7)
  })

  it('throws HopDerivationError after MAX_HMAC_BLOCKS blocks of rejected candidates', () => {
    let asked = 0
    const err = thrown(() => reduce(() => { asked++; return block() }, 1000))
    expect(err.name).toBe('HopDerivationError')
    expect(asked).toBe(MAX_HMAC_BLOCKS)
  })

  it('rejects nothing when n divides 2^32', () => {
    expect(reduce(() => block(0xffffffff), 16_384)).toBe(0xffffffff % 16_384)
  })
})
