// The birthday punch's packets (src/internal/punch/probes.ts): 32 bytes, a
// random half and its MAC under the attempt's key and the packet's kind.
import { randomBytes } from 'node:crypto'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { PROBE_BYTES, PROBE_LABELS, isProbe, makeProbe, probeKey } from '../src/internal/punch/probes.ts'
import { runs } from '@fara/testkit/props'
import type { ProbeKind } from '../src/internal/punch/probes.ts'

const KINDS = Object.keys(PROBE_LABELS) as ProbeKind[]
const initiator = randomBytes(32)
const responder = randomBytes(32)
const key = probeKey(initiator, responder)

describe('probeKey', () => {
  it('is 32 bytes, the same from the same nonces, and depends on each nonce and their order', () => {
    expect(key).toHaveLength(32)
    expect(Buffer.from(probeKey(new Uint8Array(initiator), new Uint8Array(responder))).equals(key)).toBe(true)
    expect(Buffer.from(probeKey(responder, initiator)).equals(key)).toBe(false)
    expect(Buffer.from(probeKey(randomBytes(32), responder)).equals(key)).toBe(false)
    expect(Buffer.from(probeKey(initiator, randomBytes(32))).equals(key)).toBe(false)
  })
})

describe('makeProbe and isProbe', () => {
  it('makes 32-byte packets that are accepted as their own kind under their own key', () => {
    for (const kind of KINDS) {
      const p = makeProbe(key, kind)
      expect(p).toHaveLength(PROBE_BYTES)
      expect(PROBE_BYTES).toBe(32)
      expect(isProbe(key, kind, p)).toBe(true)
    }
  })

  it('does not accept a packet of one kind as another kind', () => {
    for (const made of KINDS) {
      const p = makeProbe(key, made)
      for (const asked of KINDS) expect(isProbe(key, asked, p)).toBe(made === asked)
    }
  })

  it('does not accept a packet under another attempt\'s key', () => {
    const other = probeKey(initiator, randomBytes(32))
    for (const kind of KINDS) {
      expect(isProbe(other, kind, makeProbe(key, kind))).toBe(false)
      expect(isProbe(key, kind, makeProbe(other, kind))).toBe(false)
    }
  })

  it('never repeats a packet', () => {
    const seen = new Set<string>()
    for (let i = 0; i < 1000; i++) seen.add(Buffer.from(makeProbe(key, 'probe')).toString('hex'))
    expect(seen.size).toBe(1000)
  })

  it('refuses a packet of any other length, even one that starts with a valid probe', () => {
    const p = makeProbe(key, 'ack')
    expect(isProbe(key, 'ack', p.subarray(0, 31))).toBe(false)
    expect(isProbe(key, 'ack', Buffer.concat([p, Buffer.alloc(1)]))).toBe(false)
    expect(isProbe(key, 'ack', new Uint8Array(0))).toBe(false)
  })

  it('refuses a valid probe with any single bit flipped', () => {
    const p = makeProbe(key, 'open')
    for (let bit = 0; bit < PROBE_BYTES * 8; bit++) {
      const q = new Uint8Array(p)
      q[bit >> 3]! ^= 1 << (bit & 7)
      expect(isProbe(key, 'open', q)).toBe(false)
    }
  })

  it('accepts no arbitrary bytes (property)', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), fc.constantFrom(...KINDS), (bytes, kind) => {
      expect(isProbe(key, kind, bytes)).toBe(false)
    }), { numRuns: runs(500) })
  })
})
