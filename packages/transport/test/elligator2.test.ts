// Elligator 2 and dirty key pairs against Monocypher's vectors (spec/vectors/elligator2.json,
// provenance in spec/vectors/elligator2.md), against X25519 in node:crypto and noble, and
// against the observer that tells obfs4's clean keys from random bytes.
import { createHash, createPrivateKey, createPublicKey, diffieHellman, generateKeyPairSync } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { _map_to_curve_elligator2_curve25519 as rfc9380Map, ed25519, x25519 } from '@noble/curves/ed25519.js'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { elligatorKeyPair, publicKeyToRepresentative, representativeToPublicKey } from '../src/internal/elligator2.ts'

interface Vectors {
  map: Array<{ representative: string, u: string }>
  rev: Array<{ u: string, tweak: number, representative: string | null }>
  keyPair: Array<{ seed: string, secretKey: string, publicKey: string, representative: string }>
}
const vectors: Vectors = JSON.parse(readFileSync(new URL('../../../spec/vectors/elligator2.json', import.meta.url), 'utf8'))

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')
const unhex = (h: string): Uint8Array => new Uint8Array(Buffer.from(h, 'hex'))
const bytes32 = fc.uint8Array({ minLength: 32, maxLength: 32 })
const seedOf = (i: number): Uint8Array => new Uint8Array(createHash('sha256').update(`fara/elligator2/test/${i}`).digest())

// --- a second, plain field implementation (the paper's formulas, nothing shared) ---
const P = 2n ** 255n - 19n
const A = 486662n
const L = 2n ** 252n + 27742317777372353535851937790883648493n
const mod = (x: bigint): bigint => ((x % P) + P) % P
function pow (b: bigint, e: bigint): bigint {
  let r = 1n
  for (b = mod(b); e > 0n; e >>= 1n, b = b * b % P) if ((e & 1n) === 1n) r = r * b % P
  return r
}
const inv = (x: bigint): bigint => pow(x, P - 2n)
const isSquare = (x: bigint): boolean => mod(x) === 0n || pow(x, (P - 1n) / 2n) === 1n
const SQRTM1 = pow(2n, (P - 1n) / 4n)
function sqrt (x: bigint): bigint { // the non-negative root
  let r = pow(x, (P + 3n) / 8n)
  if (r * r % P !== mod(x)) r = r * SQRTM1 % P
  if (r * r % P !== mod(x)) throw new Error('not a square')
  return r > (P - 1n) / 2n ? P - r : r
}
const le = (b: Uint8Array): bigint => BigInt('0x' + hex(Uint8Array.from(b).reverse()))
const onCurve = (u: bigint): boolean => isSquare(u * u * u + A * u * u + u)

/**
 * What a passive observer computes from a representative: the full point of the
 * paper's map (v = -e sqrt(u^3 + A u^2 + u)), moved to edwards25519 (RFC 7748 §4.1),
 * multiplied by the prime order L. The result is [j]T for T of order 8; j is the
 * low-order class, 0 for every point of the prime-order subgroup.
 */
const T = ed25519.Point.fromHex('26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05')
const TORSION = Array.from({ length: 8 }, (_, j) => j === 0 ? ed25519.Point.ZERO : T.multiplyUnsafe(BigInt(j)))
function lowOrderClass (representative: Uint8Array): number {
  const r = le(representative) & (2n ** 254n - 1n)
  const w = mod(-A * inv(1n + 2n * r * r))
  const e = isSquare(w * w * w + A * w * w + w) ? 1n : -1n
  const u = e === 1n ? w : mod(-w - A)
  const v = mod(-e * sqrt(u * u * u + A * u * u + u))
  const point = ed25519.Point.fromAffine({ x: mod(sqrt(-486664n) * u * inv(v)), y: mod((u - 1n) * inv(u + 1n)) })
  const q = point.multiplyUnsafe(L - 1n).add(point)
  return TORSION.findIndex(t => t.equals(q))
}

/** Pearson's chi-squared statistic against the uniform distribution. */
function chiSquared (counts: number[]): number {
  const n = counts.reduce((a, b) => a + b, 0)
  const expected = n / counts.length
  return counts.reduce((s, c) => s + (c - expected) ** 2 / expected, 0)
}
// Upper 0.1 % points of chi-squared with 7 and 3 degrees of freedom.
const CHI2_7DF_P001 = 24.32
const CHI2_3DF_P001 = 16.27
const spreadOver8 = (classes: number[]): boolean => {
  const counts = Array.from({ length: 8 }, (_, j) => classes.filter(c => c === j).length)
  return counts.every(c => c > 0) && chiSquared(counts) < CHI2_7DF_P001
}

// RFC 8410 DER wrappers for raw X25519 keys.
const x25519Private = (k: Uint8Array) => createPrivateKey({ key: Buffer.concat([Buffer.from('302e020100300506032b656e04220420', 'hex'), k]), format: 'der', type: 'pkcs8' })
const x25519Public = (u: Uint8Array) => createPublicKey({ key: Buffer.concat([Buffer.from('302a300506032b656e032100', 'hex'), u]), format: 'der', type: 'spki' })

describe('Elligator 2 (Monocypher vectors, spec/vectors/elligator2.json)', () => {
  it('maps every representative to its u (crypto_elligator_map)', () => {
    expect(vectors.map.length).toBeGreaterThan(100)
    for (const v of vectors.map) expect(hex(representativeToPublicKey(unhex(v.representative)))).toBe(v.u)
  })

  it('inverts every u with its tweak, or finds none (crypto_elligator_rev)', () => {
    expect(vectors.rev.some(v => v.representative === null)).toBe(true)
    for (const v of vectors.rev) {
      const r = publicKeyToRepresentative(unhex(v.u), v.tweak)
      expect(r === null ? null : hex(r)).toBe(v.representative)
    }
  })

  it('derives the same key pair from a seed (crypto_elligator_key_pair, all 8 low-order classes)', () => {
    expect(new Set(vectors.keyPair.map(v => unhex(v.secretKey)[0]! & 7)).size).toBe(8)
    for (const v of vectors.keyPair) {
      const seed = unhex(v.seed)
      const pair = elligatorKeyPair(seed)
      expect({ secretKey: hex(pair.secretKey), publicKey: hex(pair.publicKey), representative: hex(pair.representative) })
        .toEqual({ secretKey: v.secretKey, publicKey: v.publicKey, representative: v.representative })
      expect(hex(representativeToPublicKey(pair.representative))).toBe(v.publicKey)
      expect(hex(seed)).toBe(v.seed) // the caller's seed is left alone
    }
  })
})

describe('Elligator 2 maps', () => {
  it('gives the u of RFC 9380 map_to_curve_elligator2_curve25519 (Z = 2)', () => {
    fc.assert(fc.property(bytes32, r => {
      const { xMn, xMd } = rfc9380Map(le(r) & (2n ** 254n - 1n))
      expect(le(representativeToPublicKey(r))).toBe(mod(xMn * inv(xMd)))
    }))
  })

  it('ignores the two padding bits of a representative', () => {
    fc.assert(fc.property(bytes32, fc.integer({ min: 0, max: 3 }), (r, pad) => {
      const padded = Uint8Array.from(r)
      padded[31] = (padded[31]! & 0x3f) | (pad << 6)
      expect(representativeToPublicKey(padded)).toEqual(representativeToPublicKey(r))
    }))
  })

  it('round-trips representative -> u -> representative (one of the two tweaks gives it back)', () => {
    fc.assert(fc.property(bytes32, r => {
      const u = representativeToPublicKey(r)
      const pad = r[31]! & 0xc0
      const value = le(r) & (2n ** 254n - 1n)
      const canonical = value > (P - 1n) / 2n ? P - value : value // r and -r are the same representative
      const back = [publicKeyToRepresentative(u, pad), publicKeyToRepresentative(u, pad | 1)]
      for (const b of back) {
        expect(b).not.toBeNull()
        expect(b![31]! & 0xc0).toBe(pad)
        expect(representativeToPublicKey(b!)).toEqual(u)
      }
      expect(back.map(b => le(b!) & (2n ** 254n - 1n))).toContain(canonical)
    }), { numRuns: 300 })
  })

  it('round-trips u -> representative -> u for every curve point that has one', () => {
    fc.assert(fc.property(bytes32, fc.integer({ min: 0, max: 255 }), (bytes, tweak) => {
      const u = le(bytes) & (2n ** 255n - 1n)
      const r = publicKeyToRepresentative(bytes, tweak)
      const reduced = u % P
      const representable = reduced !== P - A && onCurve(reduced) && isSquare(-2n * reduced * (reduced + A))
      expect(r !== null).toBe(representable)
      if (r === null) return
      expect(le(representativeToPublicKey(r))).toBe(reduced)
      expect(r[31]! >> 6).toBe(tweak >> 6)
      expect(publicKeyToRepresentative(bytes, tweak & 0xc1)).toEqual(r) // tweak bits 1-5 are unused
    }), { numRuns: 300 })
  })

  it('finds no representative for u = -A or a point of the twist (where Monocypher returns a wrong one)', () => {
    const enc = (x: bigint): Uint8Array => unhex(x.toString(16).padStart(64, '0')).reverse()
    expect(publicKeyToRepresentative(enc(P - A), 0)).toBeNull()
    let u = 2n
    while (onCurve(u) || !isSquare(-2n * u * (u + A))) u++
    // Monocypher's formula for it: r = sqrt(-u / (2 (u + A))) maps to another point.
    const r = sqrt(-u * inv(2n * (u + A)))
    expect(le(representativeToPublicKey(enc(r)))).not.toBe(u)
    expect(publicKeyToRepresentative(enc(u), 0)).toBeNull()
    expect(publicKeyToRepresentative(enc(u), 1)).toBeNull()
  })
})

describe('dirty key pairs', () => {
  it('agree with standard X25519 in node:crypto and noble both ways', () => {
    for (let i = 0; i < 16; i++) {
      const pair = i % 2 === 0 ? elligatorKeyPair() : elligatorKeyPair(seedOf(i))
      const dirty = representativeToPublicKey(pair.representative)
      expect(dirty).toEqual(pair.publicKey)
      const peer = generateKeyPairSync('x25519')
      const peerSecret = new Uint8Array(Buffer.from(peer.privateKey.export({ format: 'jwk' }).d!, 'base64url'))
      const peerPublic = new Uint8Array(Buffer.from(peer.publicKey.export({ format: 'jwk' }).x!, 'base64url'))
      const ours = diffieHellman({ privateKey: x25519Private(pair.secretKey), publicKey: peer.publicKey })
      const theirs = diffieHellman({ privateKey: peer.privateKey, publicKey: x25519Public(dirty) })
      expect(hex(theirs)).toBe(hex(ours))
      expect(hex(x25519.getSharedSecret(pair.secretKey, peerPublic))).toBe(hex(ours))
      expect(hex(x25519.getSharedSecret(peerSecret, dirty))).toBe(hex(ours))
      // dirty = clean + [s mod 8]lop: the same key only when the 3 low bits are 0
      const clean = x25519.getPublicKey(pair.secretKey)
      expect(hex(clean) === hex(dirty)).toBe((pair.secretKey[0]! & 7) === 0)
    }
  })

  it('decode to points spread over all 8 low-order classes; clean keys stay in one (the obfs4 flaw)', () => {
    const dirty: number[] = []
    const clean: number[] = []
    for (let i = 0; i < 512; i++) {
      const pair = elligatorKeyPair(seedOf(i))
      dirty.push(lowOrderClass(pair.representative))
      // The same secret with obfs4's clean public key, where it has a representative.
      const r = publicKeyToRepresentative(x25519.getPublicKey(pair.secretKey), pair.representative[0]!)
      if (r !== null) clean.push(lowOrderClass(r))
    }
    expect(spreadOver8(dirty)).toBe(true)
    expect(clean.length).toBeGreaterThan(150)
    expect(new Set(clean)).toEqual(new Set([0]))
    expect(spreadOver8(clean)).toBe(false) // the check above fails for clean keys
  })

  it('have representatives whose padding and every other bit look uniform', () => {
    const reps = Array.from({ length: 512 }, (_, i) => elligatorKeyPair(seedOf(1000 + i)).representative)
    const top = [0, 1, 2, 3].map(pad => reps.filter(r => r[31]! >> 6 === pad).length)
    expect(chiSquared(top)).toBeLessThan(CHI2_3DF_P001)
    for (let bit = 0; bit < 256; bit++) {
      const ones = reps.filter(r => (r[bit >> 3]! >> (bit & 7)) & 1).length
      expect(Math.abs(ones - 256), `bit ${bit}`).toBeLessThan(4.5 * Math.sqrt(512 / 4)) // 4.5 sigma
    }
  })
})

describe('input checks', () => {
  it('names the parameter: TypeError for a wrong type, RangeError for a wrong length or range', () => {
    const u = elligatorKeyPair(seedOf(0)).publicKey
    expect(() => representativeToPublicKey(new Uint8Array(31))).toThrow(RangeError)
    expect(() => representativeToPublicKey(new Uint8Array(33))).toThrow(/representative must be 32 bytes, got 33/)
    expect(() => representativeToPublicKey('00' as unknown as Uint8Array)).toThrow(TypeError)
    expect(() => publicKeyToRepresentative(new Uint8Array(64), 0)).toThrow(/publicKey must be 32 bytes/)
    expect(() => publicKeyToRepresentative([] as unknown as Uint8Array, 0)).toThrow(TypeError)
    expect(() => publicKeyToRepresentative(u, 256)).toThrow(RangeError)
    expect(() => publicKeyToRepresentative(u, 1.5)).toThrow(/tweak must be an integer/)
    expect(() => publicKeyToRepresentative(u, '1' as unknown as number)).toThrow(TypeError)
    expect(() => elligatorKeyPair(new Uint8Array(16))).toThrow(/seed must be 32 bytes, got 16/)
  })
})
