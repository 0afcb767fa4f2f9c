// What an observer who records the ports in use over time can do with them.
// Every sequence here is deterministic (fixed key, fixed slots), so the
// thresholds cannot flake; each statistic is also run on a flawed schedule
// (a control) to show that it catches what it is meant to catch.
import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { createSchedule } from '../src/index.ts'
import { hmacKey, slotBlock } from '../src/internal/derive.ts'

const SLOTS = 1000
const FIRST_SLOT = 56_666_666 // about now, with 30 s slots
const KEY = new Uint8Array(createHash('sha256').update('fara/port-hopping/test/observer').digest())
const OTHER_KEY = new Uint8Array(createHash('sha256').update('fara/port-hopping/test/guess').digest())
const RANGE = { start: 16_384, end: 32_767 } // the default range: 16384 ports
const N = RANGE.end - RANGE.start + 1

/** 99.9th percentile of chi-square with 15 degrees of freedom (16 bins). */
const CHI2_15_P001 = 37.697

const slots = Array.from({ length: SLOTS }, (_, i) => FIRST_SLOT + i)
const observed = (key: Uint8Array, range = RANGE): number[] => {
  const schedule = createSchedule({ key, range })
  return slots.map(s => schedule.portOf(s))
}

/** Chi-square of the ports against a uniform spread, in 16 equal bins of the range. */
function chiSquare (ports: number[], range: { start: number, end: number }): number {
  const n = range.end - range.start + 1
  const bins = new Array<number>(16).fill(0)
  for (const p of ports) bins[Math.floor((p - range.start) * 16 / n)]! += 1
  const expected = ports.length / 16
  return bins.reduce((sum, o) => sum + (o - expected) ** 2 / expected, 0)
}

/** Pairs of slots that got the same port. */
function repeatedPairs (ports: number[]): number {
  const counts = new Map<number, number>()
  for (const p of ports) counts.set(p, (counts.get(p) ?? 0) + 1)
  return [...counts.values()].reduce((sum, c) => sum + c * (c - 1) / 2, 0)
}

/** How many times `predict(history)` names the next port exactly. */
function hits (ports: number[], predict: (history: number[], index: number) => number): number {
  let n = 0
  for (let i = 2; i < ports.length; i++) if (predict(ports.slice(0, i), i) === ports[i]) n++
  return n
}

const clamp = (p: number): number => Math.min(RANGE.end, Math.max(RANGE.start, p))
const keyless: Record<string, (h: number[]) => number> = {
  'the last port again': h => h.at(-1)!,
  'linear extrapolation of the last two': h => clamp(2 * h.at(-1)! - h.at(-2)!),
  'the most frequent port so far': h => {
    const counts = new Map<number, number>()
    for (const p of h) counts.set(p, (counts.get(p) ?? 0) + 1)
    return [...counts].sort((a, b) => b[1] - a[1] || a[0] - b[0])[0]![0]
  },
  'the last step added again, modulo the range': h => RANGE.start + (((h.at(-1)! - RANGE.start) + (h.at(-1)! - h.at(-2)!)) % N + N) % N
}

describe('an observer of the ports, without the key', () => {
  const ports = observed(KEY)

  it('sees 1000 slots spread evenly over the range (chi-square, 16 bins, below the 0.1% critical value)', () => {
    const chi2 = chiSquare(ports, RANGE)
    expect(chi2).toBeLessThan(CHI2_15_P001)
    expect(Math.min(...ports) - RANGE.start).toBeLessThan(N / 50)
    expect(RANGE.end - Math.max(...ports)).toBeLessThan(N / 50)
    // control: the biased reduction (a 16-bit candidate mod n) the spec forbids fails the same test
    const n = 40_000
    const key = hmacKey(KEY)
    const biased = slots.map(s => 20_000 + Buffer.from(slotBlock(key, s, 0)).readUInt16BE(0) % n)
    expect(chiSquare(biased, { start: 20_000, end: 20_000 + n - 1 })).toBeGreaterThan(CHI2_15_P001)
    expect(chiSquare(observed(KEY, { start: 20_000, end: 20_000 + n - 1 }), { start: 20_000, end: 20_000 + n - 1 })).toBeLessThan(CHI2_15_P001)
  })

  it('sees repeats only as often as chance allows (birthday bound: about 30 pairs in 1000 draws of 16384)', () => {
    const expected = SLOTS * (SLOTS - 1) / 2 / N
    const pairs = repeatedPairs(ports)
    // five standard deviations of a Poisson count either side
    expect(pairs).toBeGreaterThan(expected - 5 * Math.sqrt(expected))
    expect(pairs).toBeLessThan(expected + 5 * Math.sqrt(expected))
    // controls: a schedule cycling through 64 ports repeats far too often, a counter never does
    expect(repeatedPairs(slots.map(s => RANGE.start + s % 64))).toBeGreaterThan(expected + 5 * Math.sqrt(expected))
    expect(repeatedPairs(slots.map(s => RANGE.start + (s * 7919) % N))).toBeLessThan(expected - 5 * Math.sqrt(expected))
  })

  it.each(Object.entries(keyless))('does no better than chance predicting the next port from the previous ones: %s', (_name, predict) => {
    // chance is 1/16384 per guess: about 0.06 hits in 998 guesses; four or more would have probability under 1e-6
    expect(hits(ports, predict)).toBeLessThanOrEqual(3)
    // control: against a schedule without a key (a counter), the same simple predictors mostly win
    const counter = slots.map(s => RANGE.start + (s * 7919) % N)
    const controlHits = Object.values(keyless).map(p => hits(counter, p))
    expect(Math.max(...controlHits)).toBeGreaterThan(900)
  })

  it('does no better than chance with a guessed key', () => {
    const guess = createSchedule({ key: OTHER_KEY, range: RANGE })
    expect(hits(ports, (_h, i) => guess.portOf(slots[i]!))).toBeLessThanOrEqual(3)
    // with the right key, every port is predicted
    const right = createSchedule({ key: KEY, range: RANGE })
    expect(hits(ports, (_h, i) => right.portOf(slots[i]!))).toBe(SLOTS - 2)
  })
})
