import { randomBytes } from 'node:crypto'
import fc from 'fast-check'
import { Uint8ArrayList } from 'uint8arraylist'
import { describe, expect, it } from 'vitest'
import { FrameDecoder, MAX_FRAME_BODY, encodeFrames } from '../src/internal/wire/frames.ts'
import { KeyStream } from '../src/internal/wire/keys.ts'
import { ReplayFilter } from '../src/internal/wire/replay.ts'

const key = randomBytes(32)
const nonce = randomBytes(12)

function concat (parts: Uint8Array[]): Uint8Array {
  return Buffer.concat(parts)
}

describe('unobservable frames', () => {
  it('round-trips any writes, padded or not, through any split of the ciphertext', () => {
    fc.assert(fc.property(
      fc.array(fc.record({ data: fc.uint8Array({ maxLength: 70_000 }), padding: fc.option(fc.nat(300), { nil: undefined }) }), { maxLength: 6 }),
      fc.array(fc.nat(5000), { maxLength: 20 }),
      (writes, cuts) => {
        const out = new KeyStream(key, nonce)
        const wire = concat(writes.map(w => encodeFrames(out, w.data, w.padding)))
        const inn = new KeyStream(key, nonce)
        const decoder = new FrameDecoder()
        const got: Uint8Array[] = []
        let at = 0
        for (const cut of [...cuts, wire.byteLength]) {
          const end = Math.min(wire.byteLength, at + cut)
          got.push(...decoder.decode(inn.update(wire.subarray(at, end))))
          at = end
        }
        expect(Buffer.from(concat(got))).toEqual(Buffer.from(concat(writes.map(w => w.data))))
      }
    ), { numRuns: 200 })
  })

  it('splits a large write into bodies of at most 32 767 bytes and frames an Uint8ArrayList the same as its bytes', () => {
    const data = randomBytes(100_000)
    const list = new Uint8ArrayList(data.subarray(0, 10), data.subarray(10, 40_000), data.subarray(40_000))
    const a = encodeFrames(new KeyStream(key, nonce), data)
    const b = encodeFrames(new KeyStream(key, nonce), list)
    expect(Buffer.from(a)).toEqual(Buffer.from(b))
    expect(a.byteLength).toBe(100_000 + 2 * Math.ceil(100_000 / MAX_FRAME_BODY))
    const plain = new KeyStream(key, nonce).update(a)
    expect((plain[0]! << 8) | plain[1]!).toBe(MAX_FRAME_BODY)
  })

  it('drops padding frames and passes bodies as views of the decrypted input', () => {
    const out = new KeyStream(key, nonce)
    const wire = encodeFrames(out, new Uint8Array([1, 2, 3]), 100)
    expect(wire.byteLength).toBe(2 + 3 + 2 + 100)
    const plain = new KeyStream(key, nonce).update(wire)
    const bodies = new FrameDecoder().decode(plain)
    expect(bodies).toHaveLength(1)
    expect(bodies[0]!.buffer).toBe(plain.buffer)
  })

  it('never puts the plaintext on the wire: a write of zeros comes out as random-looking bytes', () => {
    const wire = encodeFrames(new KeyStream(key, nonce), new Uint8Array(4096))
    const zeros = wire.filter(b => b === 0).length
    expect(zeros).toBeLessThan(64) // about 16 expected of 4 098 uniform bytes
  })

  it('ratchets the key at exactly the rekey offset, whatever the split', () => {
    fc.assert(fc.property(fc.array(fc.integer({ min: 1, max: 300 }), { minLength: 1, maxLength: 10 }), (sizes) => {
      const total = sizes.reduce((a, b) => a + b, 0)
      const data = randomBytes(total)
      const whole = new KeyStream(key, nonce, 97).update(data)
      const split = new KeyStream(key, nonce, 97)
      let at = 0
      const parts = sizes.map(n => { const p = split.update(data.subarray(at, at + n)); at += n; return p })
      expect(Buffer.from(concat(parts))).toEqual(Buffer.from(whole))
      // before the rekey offset the keystream is plain ChaCha20; after it, not the same
      const plain = new KeyStream(key, nonce).update(data)
      expect(Buffer.from(whole.subarray(0, Math.min(97, total)))).toEqual(Buffer.from(plain.subarray(0, Math.min(97, total))))
      if (total > 97 + 16) expect(Buffer.from(whole.subarray(97))).not.toEqual(Buffer.from(plain.subarray(97)))
    }))
  })
})

describe('replay memory', () => {
  const tag = (n: number): Uint8Array => new Uint8Array(16).fill(n)

  it('accepts a hello once, refuses it again within the window and after rotations while its time is acceptable', () => {
    let now = 1_000_000
    const filter = new ReplayFilter(1000, 100, () => now)
    expect(filter.check(now + 1000, tag(1))).toBe(null) // a clock a whole window ahead
    for (let t = 0; t <= 2000; t += 250) {
      now += 250
      const refusal = filter.check(1_000_000 + 1000, tag(1))
      expect(refusal === 'replay' || refusal === 'stale').toBe(true)
      if (now - (1_000_000 + 1000) <= 1000) expect(refusal).toBe('replay')
    }
  })

  it('refuses hellos made before the filter, and times beyond the window either way', () => {
    const now = 5_000_000
    const filter = new ReplayFilter(1000, 100, () => now)
    expect(filter.check(now - 1, tag(2))).toBe('stale')
    expect(filter.check(now + 1001, tag(3))).toBe('stale')
    expect(filter.check(now + 1000, tag(4))).toBe(null)
  })

  it('fails closed when a window is full, and takes hellos again after it turns', () => {
    let now = 1_000
    const filter = new ReplayFilter(1000, 3, () => now)
    for (let i = 0; i < 3; i++) expect(filter.check(now, tag(10 + i))).toBe(null)
    expect(filter.check(now, tag(20))).toBe('full')
    now += 1000
    expect(filter.check(now, tag(20))).toBe(null)
    expect(filter.check(now, tag(10))).toBe('replay')
  })
})
