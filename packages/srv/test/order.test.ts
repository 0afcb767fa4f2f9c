import { describe, expect, it } from 'vitest'
import { orderSrv, resolveSrv } from '../src/index.ts'
import { seeded } from './fixtures.ts'
import type { SrvTarget } from '../src/index.ts'

const t = (name: string, priority: number, weight: number, port = 1): SrvTarget => ({ name, port, priority, weight })

/** A random source that returns the given values in turn. */
const script = (...values: number[]): () => number => () => {
  const v = values.shift()
  if (v == null) throw new Error('script ran out of values')
  return v
}

describe('orderSrv (RFC 2782)', () => {
  it('puts lower priorities first, whatever the weights', () => {
    const out = orderSrv([t('c', 30, 100), t('a', 10, 1), t('b', 20, 65535)], seeded(1))
    expect(out.map(r => r.name)).toEqual(['a', 'b', 'c'])
  })

  it('picks the first record whose running sum reaches a uniform draw in [0, sum], weight-0 records arranged first', () => {
    // arranged list: z (0), b (1), c (2); running sums 0, 1, 3; sum 3 so the draw is floor(x * 4)
    const records = [t('b', 0, 1), t('z', 0, 0), t('c', 0, 2)]
    expect(orderSrv(records, script(0, 0, 0)).map(r => r.name)).toEqual(['z', 'b', 'c']) // draw 0 → z (running 0 ≥ 0)
    expect(orderSrv(records, script(0.25, 0, 0)).map(r => r.name)).toEqual(['b', 'z', 'c']) // draw 1 → b
    expect(orderSrv(records, script(0.5, 0, 0)).map(r => r.name)).toEqual(['c', 'z', 'b']) // draw 2 → c (running 3 ≥ 2)
    expect(orderSrv(records, script(0.999, 0.999, 0)).map(r => r.name)).toEqual(['c', 'b', 'z']) // draw 3 → c; then z,b: sum 1, draw 1 → b
  })

  it('keeps the given order among records that all have weight 0', () => {
    expect(orderSrv([t('x', 5, 0), t('y', 5, 0), t('z', 5, 0)], seeded(7)).map(r => r.name)).toEqual(['x', 'y', 'z'])
  })

  it('chooses first within a priority in proportion to weight, weight 0 with chance 1/(sum+1) (seeded, deterministic)', () => {
    const records = [t('zero', 0, 0), t('w10', 0, 10), t('w30', 0, 30), t('w60', 0, 60), t('later', 1, 1000)]
    const random = seeded(0x5eed)
    const n = 200_000
    const firsts = new Map<string, number>()
    for (let i = 0; i < n; i++) {
      const out = orderSrv(records, random)
      expect(out[4]!.name).toBe('later')
      firsts.set(out[0]!.name, (firsts.get(out[0]!.name) ?? 0) + 1)
    }
    const expected = { zero: 1 / 101, w10: 10 / 101, w30: 30 / 101, w60: 60 / 101 }
    // chi-square with 3 degrees of freedom: 16.27 is the 0.001 critical value; the seed fixes the outcome
    let chi = 0
    for (const [name, p] of Object.entries(expected)) {
      const e = p * n
      chi += ((firsts.get(name) ?? 0) - e) ** 2 / e
    }
    expect(chi).toBeLessThan(16.27)
    // and a plain tolerance: each share within 0.5 percentage points
    for (const [name, p] of Object.entries(expected)) expect(Math.abs((firsts.get(name) ?? 0) / n - p)).toBeLessThan(0.005)
  })

  it('orders the rest of a priority by the same rule after each pick, the draw of 0 going to the first arranged record', () => {
    // after w60 is taken first, the draw is uniform in [0, 40]: 0-10 pick w10 (11 values), 11-40 pick w30 (30 values)
    const records = [t('w10', 0, 10), t('w30', 0, 30), t('w60', 0, 60)]
    const random = seeded(42)
    let w30second = 0
    let w60first = 0
    const n = 50_000
    for (let i = 0; i < n; i++) {
      const out = orderSrv(records, random)
      if (out[0]!.name !== 'w60') continue
      w60first++
      if (out[1]!.name === 'w30') w30second++
    }
    expect(Math.abs(w30second / w60first - 30 / 41)).toBeLessThan(0.01)
  })

  it('refuses a lone "." target: the service is decidedly not available (node:dns gives the name "")', () => {
    expect(() => orderSrv([t('', 0, 0, 0)])).toThrow(expect.objectContaining({ name: 'ServiceNotAvailableError' }))
    expect(() => orderSrv([t('.', 0, 0, 0)])).toThrow(expect.objectContaining({ name: 'ServiceNotAvailableError' }))
  })

  it('leaves "." targets out when other records exist', () => {
    expect(orderSrv([t('', 0, 0, 0), t('host', 1, 0)]).map(r => r.name)).toEqual(['host'])
  })

  it('returns an empty list for no records', () => {
    expect(orderSrv([])).toEqual([])
  })

  it('rejects bad input at the boundary, naming the field', () => {
    expect(() => orderSrv('x' as never)).toThrow(TypeError)
    expect(() => orderSrv([t('a', -1, 0)])).toThrow(/records\[0\]\.priority/)
    expect(() => orderSrv([t('a', 0, 70_000)])).toThrow(/records\[0\]\.weight/)
    expect(() => orderSrv([{ name: 3 } as never])).toThrow(TypeError)
    expect(() => orderSrv([t('a', 0, 1)], () => 1)).toThrow(RangeError)
    expect(() => orderSrv([t('a', 0, 1)], () => Number.NaN)).toThrow(RangeError)
  })

  it('resolveSrv rejects bad input before asking anyone', async () => {
    await expect(resolveSrv(3 as never)).rejects.toThrow(TypeError)
    await expect(resolveSrv('')).rejects.toThrow(RangeError)
    await expect(resolveSrv('_a._tcp.example.test', { servers: ['dns.example'] })).rejects.toThrow(/server/)
    await expect(resolveSrv('_a._tcp.example.test', { servers: [] })).rejects.toThrow(/servers/)
    await expect(resolveSrv('_a._tcp.example.test', { timeout: 0 })).rejects.toThrow(/timeout/)
  })
})
