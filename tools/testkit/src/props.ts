// fast-check arbitraries and helpers shared by the property tests of every
// package (packages/*/test/*-props.test.ts; each package's test/arbitraries.ts
// re-exports them beside its own values), imported as `@fara/testkit/props`: it
// loads vitest and fast-check, which the main entry does not. FARA_PROPS_RUNS
// multiplies every property's number of runs, for a long soak:
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

/** Resolve with `p`, or fail the property if it has not settled within `ms`: a hang is a failure, not a slow test. */
export async function settles<T> (p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => { reject(new Error(`HANG: ${what} did not settle within ${ms} ms`)) }, ms)
  })
  try {
    return await Promise.race([p, deadline])
  } finally {
    clearTimeout(timer)
  }
}

// ---- bytes ------------------------------------------------------------------

/** An unsigned varint (protobuf / multiformats), of any size. */
export function varint (n: bigint | number): number[] {
  let v = BigInt(n)
  const out: number[] = []
  do {
    let byte = Number(v & 0x7fn)
    v >>= 7n
    if (v > 0n) byte |= 0x80
    out.push(byte)
  } while (v > 0n)
  return out
}

/** One protobuf field, with any wire type, including the invalid ones (3, 4, 6, 7 carry no value here). */
export interface WireField { field: number, wire: number, value: bigint | Uint8Array }

/** Encode fields as protobuf, exactly as given: wrong wire types, duplicates and unknown fields included. */
export function encodeFields (fields: WireField[]): Uint8Array {
  const out: number[] = []
  for (const { field, wire, value } of fields) {
    out.push(...varint((BigInt(field) << 3n) | BigInt(wire)))
    if (wire === 0) out.push(...varint(value as bigint))
    else if (wire === 2) out.push(...varint((value as Uint8Array).byteLength), ...(value as Uint8Array))
    else if (wire === 1 || wire === 5) out.push(...(value as Uint8Array))
  }
  return Uint8Array.from(out)
}

/** A protobuf field numbered 1..maxField (0 and larger numbers sometimes), of a random wire type and value. */
export function wireField (maxField: number, maxBytes = 48): fc.Arbitrary<WireField> {
  const field = fc.oneof({ weight: 8, arbitrary: fc.integer({ min: 1, max: maxField }) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 2 ** 29 - 1 }) })
  return fc.oneof(
    fc.record({ field, wire: fc.constant(0), value: fc.oneof(fc.bigInt({ min: 0n, max: 300n }), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), fc.bigInt({ min: 2n ** 53n - 2n, max: 2n ** 53n + 2n })) }),
    fc.record({ field, wire: fc.constant(2), value: fc.uint8Array({ maxLength: maxBytes }) }),
    fc.record({ field, wire: fc.constant(2), value: fc.integer({ min: 0, max: 40 }).map(n => new Uint8Array(n).fill(0xab)) }),
    fc.record({ field, wire: fc.constant(1), value: fc.uint8Array({ minLength: 8, maxLength: 8 }) }),
    fc.record({ field, wire: fc.constant(5), value: fc.uint8Array({ minLength: 4, maxLength: 4 }) }),
    fc.record({ field, wire: fc.constantFrom(3, 4, 6, 7), value: fc.constant(0n) })
  )
}

/** Protobuf-shaped bytes: fields of the right numbers with wrong types, duplicates, unknown fields, invalid wire types. */
export function protobufSoup (maxField: number, maxFields = 6, maxBytes = 48): fc.Arbitrary<Uint8Array> {
  return fc.array(wireField(maxField, maxBytes), { maxLength: maxFields }).map(encodeFields)
}

/** One change to a byte string; positions are taken modulo its length when applied. */
export type Mutation =
  | { kind: 'set', at: number, value: number }
  | { kind: 'flip', at: number, bit: number }
  | { kind: 'truncate', at: number }
  | { kind: 'insert', at: number, bytes: Uint8Array }
  | { kind: 'delete', at: number, count: number }

export const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), count: fc.integer({ min: 1, max: 8 }) }) }
)

/** One to `max` mutations. */
export const mutations = (max = 4): fc.Arbitrary<Mutation[]> => fc.array(mutation, { minLength: 1, maxLength: max })

/** Apply mutations to a copy of `bytes`. */
export function mutate (bytes: Uint8Array, changes: Mutation[]): Uint8Array {
  let out = new Uint8Array(bytes)
  for (const m of changes) {
    const at = m.at % (out.byteLength + 1)
    switch (m.kind) {
      case 'set': if (at < out.byteLength) out[at] = m.value; break
      case 'flip': if (at < out.byteLength) out[at]! ^= 1 << m.bit; break
      case 'truncate': out = out.slice(0, at); break
      case 'insert': out = Uint8Array.from([...out.subarray(0, at), ...m.bytes, ...out.subarray(at)]); break
      case 'delete': out = Uint8Array.from([...out.subarray(0, at), ...out.subarray(at + m.count)])
    }
  }
  return out
}

export const equalBytes = (a: Uint8Array, b: Uint8Array): boolean => Buffer.from(a).equals(Buffer.from(b))

/** Integers as a uint64 field carries them: small, near 2^53, beyond it, up to 2^64 - 1. */
export const u64 = fc.oneof(
  fc.bigInt({ min: 0n, max: 2n ** 41n }),
  fc.bigInt({ min: 2n ** 53n - 3n, max: 2n ** 53n + 3n }),
  fc.bigInt({ min: 0n, max: 2n ** 64n - 1n })
)
