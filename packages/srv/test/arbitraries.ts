// fast-check helpers for the property tests of @fara/srv (*-props.test.ts).
// FARA_PROPS_RUNS multiplies every property's number of runs, for a long soak:
// `FARA_PROPS_RUNS=20 npx vitest run packages/*/test/*-props.test.ts`.
import fc from 'fast-check'
import { afterAll, vi } from 'vitest'

function multiplier (): number {
  const raw = process.env.FARA_PROPS_RUNS
  if (raw == null || raw === '') return 1
  const n = Number(raw)
  if (!Number.isFinite(n) || n <= 0) throw new RangeError(`FARA_PROPS_RUNS must be a positive number, got ${JSON.stringify(raw)}`)
  return n
}

const MULTIPLIER = multiplier()
let cases = 0

/** The runs of a property: `base` times FARA_PROPS_RUNS (at least 1); counted for FARA_PROPS_REPORT. */
export function runs (base: number): number {
  const n = Math.max(1, Math.round(base * MULTIPLIER))
  cases += n
  return n
}

/** A test timeout in ms for a property of `base` ms at the default runs, scaled like the runs. */
export function budget (base: number): number {
  return Math.round(base * Math.max(1, MULTIPLIER))
}

/**
 * Set up a file of property tests: its test timeout scales with
 * FARA_PROPS_RUNS, and with FARA_PROPS_REPORT=1 it prints how many cases its
 * properties asked for.
 */
export function propsFile (file: string): void {
  vi.setConfig({ testTimeout: budget(30_000) })
  afterAll(() => {
    if (process.env.FARA_PROPS_REPORT === '1') console.log(`fara-props ${file}: ${cases} cases`)
  })
}

/** Overwrite, insert or delete bytes; positions are taken modulo the length. */
export const mutations = fc.array(fc.oneof(
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), value: fc.constant(0) })
), { minLength: 1, maxLength: 4 })

export function mutate (bytes: Uint8Array, changes: Array<{ kind: 'set' | 'insert' | 'delete', at: number, value: number }>): Uint8Array {
  let out = new Uint8Array(bytes)
  for (const m of changes) {
    const at = m.at % (out.byteLength + 1)
    if (m.kind === 'set') { if (at < out.byteLength) out[at] = m.value } else if (m.kind === 'insert') out = Uint8Array.from([...out.subarray(0, at), m.value, ...out.subarray(at)])
    else out = Uint8Array.from([...out.subarray(0, at), ...out.subarray(at + 1)])
  }
  return out
}
