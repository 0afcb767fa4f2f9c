// fast-check helpers for the property tests of @fara/srv; runs, budget and
// propsFile live in @fara/testkit/props (FARA_PROPS_RUNS, FARA_PROPS_REPORT).
import fc from 'fast-check'

export { runs, budget, propsFile } from '@fara/testkit/props'

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
