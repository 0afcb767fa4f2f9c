// The NAT observer's UDP question and answer (src/internal/punch/observe-wire.ts):
// only a node that knows the observer's static key can ask, only the observer
// can answer, an answer opens only for its own question, and it is shorter.
import { createCipheriv, createHmac, hkdfSync } from 'node:crypto'
import { generateKeyPair } from '@libp2p/crypto/keys'
import fc from 'fast-check'
import { beforeAll, describe, expect, it } from 'vitest'
import { thrownIfAny } from '@fara/testkit'
import { elligatorKeyPair } from '../src/internal/elligator2.ts'
import { encodeEndpoint } from '../src/internal/punch/addr.ts'
import { ANSWER_BYTES, MAX_QUESTION_BYTES, NS_ANSWER, NS_OBSERVE, NS_QUESTION, QUESTION_HEAD_BYTES, QUESTION_PADDING, askObserver, openQuestion } from '../src/internal/punch/observe-wire.ts'
import { KEY_BYTES, MAC_BYTES, staticKeyFromEd25519, staticPublicFromEd25519, x25519, x25519Secret } from '../src/internal/wire/keys.ts'
import { mutate, mutations, runs } from '@fara/testkit/props'
import type { OpenedQuestion, Question, QuestionRefusal } from '../src/internal/punch/observe-wire.ts'
import type { KeyObject } from 'node:crypto'

const REFUSALS: QuestionRefusal[] = ['size', 'low-order', 'mac', 'padding']
const SEEN = { host: '198.51.100.20', port: 61_000 }
let secret: KeyObject
let publicKey: Uint8Array
/** The observer's key as an asker derives it from the observer's peer id. */
let key: Uint8Array
let otherKey: Uint8Array

beforeAll(async () => {
  const node = await generateKeyPair('Ed25519')
  ;({ secret, publicKey } = staticKeyFromEd25519(node.raw.subarray(0, 32)))
  key = staticPublicFromEd25519(node.publicKey.raw)
  otherKey = staticPublicFromEd25519((await generateKeyPair('Ed25519')).publicKey.raw)
})

const ask = (time = Date.now(), padding?: number): Question => askObserver(key, time, padding)!
const opened = (bytes: Uint8Array): OpenedQuestion => {
  const o = openQuestion(secret, publicKey, bytes)
  if (typeof o === 'string') throw new Error(`refused: ${o}`)
  return o
}

/**
 * A question built from the format in observe-wire.ts's header alone (not its
 * code): R_X ‖ ChaCha20_q(time u64 ‖ padLen u16 ‖ zeros[padding]) ‖ MAC_Q, keys
 * HKDF-SHA256(es, salt NS_OBSERVE, info label ‖ B ‖ R_X), 32 + 12 + 32 bytes;
 * and the answer read the same way: ChaCha20_a(endpoint) ‖ MAC_A(MAC_Q ‖ body).
 */
function handmade (init: { time: number, padLen: number, padding: number }): { bytes: Uint8Array, read: (answer: Uint8Array) => Uint8Array | null } {
  const pair = elligatorKeyPair()
  const es = x25519(x25519Secret(pair.secretKey), key)!
  const rx = pair.representative
  const keys = (label: string): { cipher: (data: Uint8Array) => Uint8Array, mac: (...parts: Uint8Array[]) => Buffer } => {
    const okm = new Uint8Array(hkdfSync('sha256', es, NS_OBSERVE, Buffer.concat([Buffer.from(label), key, rx]), 76))
    return {
      cipher: (data) => createCipheriv('chacha20', okm.subarray(0, 32), Buffer.concat([Buffer.alloc(4), okm.subarray(32, 44)])).update(data),
      mac: (...parts) => parts.reduce((h, p) => h.update(p), createHmac('sha256', okm.subarray(44, 76))).digest().subarray(0, MAC_BYTES)
    }
  }
  const q = keys(NS_QUESTION)
  const a = keys(NS_ANSWER)
  const head = Buffer.alloc(QUESTION_HEAD_BYTES + init.padding)
  head.writeBigUInt64BE(BigInt(init.time), 0)
  head.writeUInt16BE(init.padLen, 8)
  const ct = q.cipher(head)
  const tag = q.mac(rx, ct)
  return {
    bytes: Buffer.concat([rx, ct, tag]),
    read: (answer) => {
      const body = answer.subarray(0, answer.byteLength - MAC_BYTES)
      return a.mac(tag, body).equals(answer.subarray(body.byteLength)) ? a.cipher(body) : null
    }
  }
}

describe('askObserver and openQuestion', () => {
  it('let the observer read the time and answer what it saw, which the asker opens', () => {
    const time = Date.now() - 1234
    const q = ask(time)
    const o = opened(q.bytes)
    expect(o.time).toBe(time)
    expect(Buffer.from(o.tag).equals(Buffer.from(q.bytes.subarray(q.bytes.byteLength - MAC_BYTES)))).toBe(true)
    expect(q.open(o.answer(SEEN))).toEqual(SEEN)
    expect(q.open(o.answer({ host: '2001:db8::1', port: 1 }))).toEqual({ host: '2001:db8:0:0:0:0:0:1', port: 1 })
  })

  it('speak the documented format: a question and answer made and read by independent code', () => {
    const time = Date.now()
    const q = handmade({ time, padLen: 20, padding: 20 })
    const o = opened(q.bytes)
    expect(o.time).toBe(time)
    expect(Buffer.from(q.read(o.answer(SEEN))!).equals(Buffer.from(encodeEndpoint(SEEN)))).toBe(true)
  })

  it('make questions of varying size, every one longer than the answer', () => {
    const sizes = new Set<number>()
    for (let i = 0; i < 200; i++) {
      const q = ask()
      sizes.add(q.bytes.byteLength)
      expect(q.bytes.byteLength).toBeGreaterThanOrEqual(KEY_BYTES + QUESTION_HEAD_BYTES + QUESTION_PADDING.min + MAC_BYTES)
      expect(q.bytes.byteLength).toBeLessThanOrEqual(MAX_QUESTION_BYTES)
    }
    expect(sizes.size).toBeGreaterThan(20)
    const smallest = ask(Date.now(), QUESTION_PADDING.min)
    const answer = opened(smallest.bytes).answer({ host: 'ffff::1', port: 65_535 })
    expect(answer).toHaveLength(ANSWER_BYTES)
    expect(answer.byteLength).toBeLessThan(smallest.bytes.byteLength)
  })

  it('never repeat a question', () => {
    const a = ask(1_700_000_000_000, 16)
    const b = ask(1_700_000_000_000, 16)
    expect(Buffer.from(a.bytes).equals(Buffer.from(b.bytes))).toBe(false)
    expect(Buffer.from(a.bytes.subarray(0, KEY_BYTES)).equals(Buffer.from(b.bytes.subarray(0, KEY_BYTES)))).toBe(false)
  })

  it('cannot ask an observer whose key is a low-order point', () => {
    expect(askObserver(new Uint8Array(32))).toBeNull()
    expect(askObserver(Uint8Array.of(1, ...new Uint8Array(31)))).toBeNull()
  })
})

describe('openQuestion refuses', () => {
  it('a question made for another observer\'s key', () => {
    expect(openQuestion(secret, publicKey, askObserver(otherKey)!.bytes)).toBe('mac')
  })

  it('a question with any bit flipped', () => {
    const q = ask(Date.now(), 8)
    for (let bit = 0; bit < q.bytes.byteLength * 8; bit++) {
      const bytes = new Uint8Array(q.bytes)
      bytes[bit >> 3]! ^= 1 << (bit & 7)
      // bits 254 and 255 of R_X are padding (the map ignores them), the MAC still covers them
      expect(openQuestion(secret, publicKey, bytes)).toBe('mac')
    }
  })

  it('a question too short or too long to be one, whatever it holds', () => {
    const q = ask(Date.now(), QUESTION_PADDING.min)
    expect(openQuestion(secret, publicKey, q.bytes.subarray(0, q.bytes.byteLength - 1))).toBe('size')
    expect(openQuestion(secret, publicKey, new Uint8Array(0))).toBe('size')
    expect(openQuestion(secret, publicKey, new Uint8Array(MAX_QUESTION_BYTES + 1))).toBe('size')
    expect(openQuestion(secret, publicKey, handmade({ time: Date.now(), padLen: 129, padding: 129 }).bytes)).toBe('size')
  })

  it('a question whose representative maps to a low-order point', () => {
    expect(openQuestion(secret, publicKey, new Uint8Array(100))).toBe('low-order')
  })

  it('an authenticated question whose padding length does not match its size', () => {
    expect(openQuestion(secret, publicKey, handmade({ time: Date.now(), padLen: 21, padding: 20 }).bytes)).toBe('padding')
    expect(openQuestion(secret, publicKey, handmade({ time: Date.now(), padLen: 0, padding: 20 }).bytes)).toBe('padding')
  })
})

describe('Question.open', () => {
  it('opens nothing but the answer to its own question', () => {
    const a = ask()
    const b = ask()
    const answerA = opened(a.bytes).answer(SEEN)
    expect(b.open(answerA)).toBeNull()
    expect(a.open(answerA.subarray(0, ANSWER_BYTES - 1))).toBeNull()
    expect(a.open(Buffer.concat([answerA, Buffer.alloc(1)]))).toBeNull()
    for (let bit = 0; bit < ANSWER_BYTES * 8; bit++) {
      const bytes = new Uint8Array(answerA)
      bytes[bit >> 3]! ^= 1 << (bit & 7)
      expect(a.open(bytes)).toBeNull()
    }
    expect(a.open(answerA)).toEqual(SEEN)
  })

  it('does not carry the endpoint in clear', () => {
    const q = ask()
    const answer = opened(q.bytes).answer(SEEN)
    expect(Buffer.from(answer).includes(Buffer.from(encodeEndpoint(SEEN)))).toBe(false)
    expect(Buffer.from(answer).includes(Buffer.from(encodeEndpoint(SEEN).subarray(12)))).toBe(false)
  })
})

describe('the question codec (properties)', () => {
  it('openQuestion refuses any bytes that are not a question, and never throws', () => {
    const bytes = fc.oneof(
      fc.uint8Array({ maxLength: MAX_QUESTION_BYTES + 20 }),
      fc.integer({ min: 66, max: MAX_QUESTION_BYTES }).chain(n => fc.uint8Array({ minLength: n, maxLength: n }))
    )
    fc.assert(fc.property(bytes, (b) => {
      let result: ReturnType<typeof openQuestion> | undefined
      expect(thrownIfAny(() => { result = openQuestion(secret, publicKey, b) })).toBeUndefined()
      expect(REFUSALS).toContain(result)
    }), { numRuns: runs(300) })
  })

  it('openQuestion refuses every changed question', () => {
    const q = ask()
    fc.assert(fc.property(mutations(), (m) => {
      const changed = mutate(q.bytes, m)
      fc.pre(!Buffer.from(changed).equals(Buffer.from(q.bytes)))
      expect(REFUSALS).toContain(openQuestion(secret, publicKey, changed))
    }), { numRuns: runs(300) })
  })

  it('Question.open returns null for any bytes but the answer, and never throws', () => {
    const q = ask()
    fc.assert(fc.property(fc.oneof(fc.uint8Array({ maxLength: 64 }), fc.uint8Array({ minLength: ANSWER_BYTES, maxLength: ANSWER_BYTES })), (b) => {
      let result: unknown
      expect(thrownIfAny(() => { result = q.open(b) })).toBeUndefined()
      expect(result).toBeNull()
    }), { numRuns: runs(300) })
  })
})
