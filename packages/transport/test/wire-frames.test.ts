import { randomBytes } from 'node:crypto'
import fc from 'fast-check'
import { Uint8ArrayList } from 'uint8arraylist'
import { describe, expect, it } from 'vitest'
import { FRAME, FrameDecoder, LengthMasker, MAX_FRAME_BODY, NoiseTracker, encodeFrames } from '../src/internal/wire/frames.ts'
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
          got.push(...decoder.decode(inn.update(wire.subarray(at, end))).bodies)
          at = end
        }
        expect(Buffer.from(concat(got))).toEqual(Buffer.from(concat(writes.map(w => w.data))))
      }
    ), { numRuns: 200 })
  })

  it('splits a large write into bodies of at most 16 383 bytes and frames an Uint8ArrayList the same as its bytes', () => {
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
    const { bodies, switchedAt } = new FrameDecoder().decode(plain)
    expect(switchedAt).toBeUndefined()
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

describe('SWITCH and passthrough', () => {
  it('stops at a SWITCH frame and says where the passthrough bytes begin, whatever the split', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 500 }), fc.uint8Array({ minLength: 1, maxLength: 50 }), fc.nat(600), (data, after, cut) => {
      const wire = Buffer.concat([encodeFrames(new KeyStream(key, nonce), data, 9, true), after])
      const inn = new KeyStream(key, nonce)
      const decoder = new FrameDecoder()
      const first = Math.min(cut, wire.byteLength)
      const a = decoder.decode(inn.update(wire.subarray(0, first)))
      const got = [...a.bodies]
      let rest: Uint8Array
      if (a.switchedAt != null) {
        rest = wire.subarray(a.switchedAt)
      } else {
        const b = decoder.decode(inn.update(wire.subarray(first)))
        got.push(...b.bodies)
        expect(b.switchedAt).toBeDefined()
        rest = wire.subarray(first + b.switchedAt!)
      }
      expect(Buffer.concat(got).equals(Buffer.from(data))).toBe(true)
      expect(Buffer.from(rest).equals(Buffer.from(after))).toBe(true)
    }), { numRuns: 200 })
  })

  it('refuses a frame of the reserved type and a SWITCH with a body (FrameError, never a crash)', () => {
    for (const header of [0xc000, 0xc005, (FRAME.switch << 14) | 3]) {
      const plain = Buffer.from([header >> 8, header & 0xff, 0, 0, 0])
      expect(() => new FrameDecoder().decode(plain)).toThrow(expect.objectContaining({ name: 'FrameError' }))
    }
  })

  it('masks and unmasks libp2p-noise lengths through any split, passes bodies untouched, and hides every length', () => {
    fc.assert(fc.property(fc.array(fc.uint8Array({ maxLength: 3000 }), { maxLength: 8 }), fc.array(fc.nat(4000), { maxLength: 12 }), (messages, cuts) => {
      const framed = Buffer.concat(messages.map(m => Buffer.concat([Buffer.from([m.byteLength >> 8, m.byteLength & 0xff]), m])))
      const mask = new LengthMasker(new KeyStream(key, nonce), 'mask')
      const unmask = new LengthMasker(new KeyStream(key, nonce), 'unmask')
      const wire: Uint8Array[] = []
      const back: Uint8Array[] = []
      let at = 0
      for (const cut of [...cuts, framed.byteLength]) {
        const end = Math.min(framed.byteLength, at + cut)
        const w = Buffer.concat(mask.transform(framed.subarray(at, end)))
        wire.push(w)
        back.push(...unmask.transform(w))
        at = end
      }
      const all = Buffer.concat(wire)
      expect(Buffer.concat(back).equals(framed)).toBe(true)
      expect(all.byteLength).toBe(framed.byteLength)
      // bodies pass as they are; the lengths do not (but by chance, 1 in 65 536 each)
      let p = 0
      for (const m of messages) {
        expect(all.subarray(p + 2, p + 2 + m.byteLength).equals(Buffer.from(m))).toBe(true)
        p += 2 + m.byteLength
      }
    }), { numRuns: 200 })
  })

  it('tracks libp2p\'s stream to the first Noise transport message, and turns off for good on anything unexpected', () => {
    const select = Buffer.from('\x13/multistream/1.0.0\n\x07/noise\n', 'latin1')
    const msg = (n: number): Buffer => Buffer.concat([Buffer.from([n >> 8, n & 0xff]), randomBytes(n)])
    const initiator = new NoiseTracker(2)
    initiator.observe(select.subarray(0, 5))
    expect(initiator.atTransportBoundary).toBe(false)
    initiator.observe(Buffer.concat([select.subarray(5), msg(32)]))
    expect(initiator.atTransportBoundary).toBe(false)
    const m3 = msg(200)
    initiator.observe(m3.subarray(0, 1))
    initiator.observe(m3.subarray(1, 50))
    expect(initiator.atTransportBoundary).toBe(false)
    initiator.observe(m3.subarray(50))
    expect(initiator.atTransportBoundary).toBe(true)
    initiator.observe(msg(10).subarray(0, 4))
    expect(initiator.atTransportBoundary).toBe(false)

    const other = new NoiseTracker(1)
    other.observe(Buffer.from('\x13/multistream/1.0.0\n\x02na\n', 'latin1'))
    other.observe(msg(5))
    expect(other.atTransportBoundary).toBe(false)
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
