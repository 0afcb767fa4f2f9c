/**
 * Elligator 2 for X25519 public keys: the representatives that make Fara's
 * handshake look like uniform random bytes, and the "dirty" key pairs that keep
 * those representatives uniform.
 *
 * The map: D. J. Bernstein, M. Hamburg, A. Krasnova, T. Lange, "Elligator:
 * Elliptic-curve points indistinguishable from uniform random strings", ACM
 * CCS 2013, §5 (https://elligator.cr.yp.to/); on u-coordinates it is RFC 9380
 * §6.7.1 with Z = 2. Every convention (non-square 2, little-endian 254-bit
 * representatives with two random padding bits, the tweak byte, dirty keys, the
 * deterministic key pair) is Monocypher 4.x's, so its test vectors apply:
 * https://github.com/LoupVaillant/Monocypher src/monocypher.c, functions
 * crypto_elligator_map, crypto_elligator_rev, crypto_x25519_dirty_fast and
 * crypto_elligator_key_pair (commit ab2b16dd, tag 4.0.3).
 *
 * Why dirty keys: a clean X25519 public key is a point of the prime-order
 * subgroup, and so is the point its representative decodes to. An observer can
 * test that (multiply by the group order L) and tell a handshake apart from
 * random bytes after a handful of connections: obfs4's flaw. A dirty public key
 * adds a random point of order 8 (its class is the secret key's 3 low bits,
 * which X25519's clamping ignores), so the decoded points spread over all 8
 * cosets like those of random strings. L. Vaillant, "Elligator: the dirty
 * point" (article); https://elligator.org/map is the map's specification that
 * Monocypher's crypto_elligator_map(3) man page cites.
 *
 * BigInt arithmetic is not constant time; neither is the retry loop (its count
 * is public in Monocypher too). The secret-dependent table lookup only touches
 * the 3 bits that X25519 discards.
 */
import { createCipheriv, randomBytes } from 'node:crypto'
import { ed25519 } from '@noble/curves/ed25519.js'

/** A secret key and its dirty public key, with the representative to send. */
export interface ElligatorKeyPair {
  /** 32 bytes, usable as is with any X25519 (RFC 7748 clamps it). */
  secretKey: Uint8Array
  /** The dirty public key's u-coordinate (little-endian, canonical). */
  publicKey: Uint8Array
  /** 32 uniform-looking bytes; representativeToPublicKey() gives publicKey back. */
  representative: Uint8Array
}

// --- GF(2^255 - 19) -----------------------------------------------------------

const P = (1n << 255n) - 19n
const MASK255 = (1n << 255n) - 1n
const MASK254 = (1n << 254n) - 1n
const HALF_P = (P - 1n) / 2n // Monocypher's "positive" elements are 0 ... (p-1)/2
const A = 486662n // Curve25519: v^2 = u^3 + A u^2 + u (RFC 7748 §4.1)
const A2 = A * A
const L = (1n << 252n) + 27742317777372353535851937790883648493n // prime subgroup order (RFC 8032 §5.1)
/** sqrt(-1) = 2^((p-1)/4), the non-negative root (src/monocypher.c: sqrtm1). */
const SQRTM1 = 0x2b8324804fc1df0b2b4d00993dfbd7a72f431806ad2fe478c4ee1b274a0ea0b0n
/** -2 sqrt(-1): -non_square * sqrt(-1) (src/monocypher.c: ufactor). */
const UFACTOR = P - 2n * SQRTM1
/** edwards25519 d = -121665 / 121666 (RFC 8032 §5.1). */
const D = 0x52036cee2b6ffe738cc740797779e89800700a4d4141d8ab75eb4dca135978a3n

/** x mod p for 0 <= x < 2^512: 2^255 = 19 (mod p), folded twice. */
function red (x: bigint): bigint {
  x = (x & MASK255) + 19n * (x >> 255n)
  x = (x & MASK255) + 19n * (x >> 255n)
  return x >= P ? x - P : x
}
const mul = (a: bigint, b: bigint): bigint => red(a * b)
const sq = (a: bigint): bigint => red(a * a)
const add = (a: bigint, b: bigint): bigint => { const s = a + b; return s >= P ? s - P : s }
const sub = (a: bigint, b: bigint): bigint => a >= b ? a - b : a - b + P
const neg = (a: bigint): bigint => a === 0n ? 0n : P - a
const abs = (a: bigint): bigint => a > HALF_P ? P - a : a

function pow2k (x: bigint, k: number): bigint {
  for (let i = 0; i < k; i++) x = red(x * x)
  return x
}

/** x^((p-5)/8) = x^(2^252 - 3): ref10's pow22523 chain (also noble-curves' ed25519_pow_2_252_3). */
function powP58 (x: bigint): bigint {
  const b2 = mul(sq(x), x) // x^3
  const b4 = mul(pow2k(b2, 2), b2) // x^(2^4 - 1)
  const b5 = mul(sq(b4), x)
  const b10 = mul(pow2k(b5, 5), b5)
  const b20 = mul(pow2k(b10, 10), b10)
  const b40 = mul(pow2k(b20, 20), b20)
  const b80 = mul(pow2k(b40, 40), b40)
  const b160 = mul(pow2k(b80, 80), b80)
  const b240 = mul(pow2k(b160, 80), b80)
  const b250 = mul(pow2k(b240, 10), b10) // x^(2^250 - 1)
  return mul(pow2k(b250, 2), x)
}

/**
 * src/monocypher.c invsqrt(): [sqrt(1/x), true] if x is a non-zero square,
 * [sqrt(sqrt(-1)/x), false] if not, [0, true] if x = 0; the root's sign is
 * unspecified. quartic = x^((p-1)/4) is 1 or -1 for squares.
 */
function invsqrt (x: bigint): [bigint, boolean] {
  let isr = powP58(x)
  const quartic = mul(x, sq(isr))
  if (quartic === P - 1n || quartic === P - SQRTM1) isr = mul(isr, SQRTM1)
  return [isr, quartic === 1n || quartic === P - 1n || x === 0n]
}

// --- bytes --------------------------------------------------------------------

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'))

function fromLE (b: Uint8Array): bigint {
  let h = '0x'
  for (let i = 31; i >= 0; i--) h += HEX[b[i] as number]
  return BigInt(h)
}

/** x < p as 32 little-endian bytes. */
function toLE (x: bigint): Uint8Array {
  const h = x.toString(16).padStart(64, '0')
  const out = new Uint8Array(32)
  for (let i = 0; i < 32; i++) out[i] = parseInt(h.slice(62 - 2 * i, 64 - 2 * i), 16)
  return out
}

function bytes32 (value: unknown, name: string): Uint8Array {
  if (!(value instanceof Uint8Array)) throw new TypeError(`${name} must be a Uint8Array, got ${typeof value}`)
  if (value.length !== 32) throw new RangeError(`${name} must be 32 bytes, got ${value.length}`)
  return value
}

function byte (value: unknown, name: string): number {
  if (typeof value !== 'number') throw new TypeError(`${name} must be a number, got ${typeof value}`)
  if (!Number.isInteger(value) || value < 0 || value > 255) throw new RangeError(`${name} must be an integer 0 ... 255, got ${value}`)
  return value
}

// --- Elligator 2 --------------------------------------------------------------

/**
 * crypto_elligator_map: u = w if w is on the curve, else -w - A, with
 * w = -A / (1 + 2 r^2) (paper §5.2; RFC 9380 §6.7.1). Let r1 = 2 r^2,
 * r2 = 1 + r1: w^3 + A w^2 + w = (A^2 r1 - r2^2) A / r2^3, so one invsqrt of
 * (A^2 r1 - r2^2) A r2^3 both picks the branch and divides.
 */
function mapU (r: bigint): bigint {
  const rr = sq(r)
  const r1 = add(rr, rr)
  const r2 = add(r1, 1n)
  const r2sq = sq(r2)
  const num = mul(sub(mul(A2, r1), r2sq), A)
  const [isr, isSquare] = invsqrt(mul(num, mul(r2sq, r2)))
  const factor = isSquare ? 1n : mul(rr, UFACTOR) // e = -1: u = w * 2 r^2
  return neg(mul(mul(mul(factor, A), mul(num, r2sq)), sq(isr)))
}

/** r (any root), made non-negative, with tweak bits 6-7 as bits 254-255. */
function encodeRepresentative (r: bigint, tweak: number): Uint8Array {
  const out = toLE(abs(r))
  out[31] = (out[31] as number) | (tweak & 0xc0)
  return out
}

/**
 * The forward map (crypto_elligator_map): a representative's X25519 public key
 * (u-coordinate, little-endian). Bits 254 and 255 of the representative are
 * padding and ignored; every 32-byte string maps to a point on the curve.
 */
export function representativeToPublicKey (representative: Uint8Array): Uint8Array {
  return toLE(mapU(fromLE(bytes32(representative, 'representative')) & MASK254))
}

/**
 * The inverse map (crypto_elligator_rev): a representative of the point with
 * u-coordinate publicKey, or null if it has none (about half of all points).
 * Bit 0 of tweak picks which of the two (the v sign: 0 non-negative, 1
 * negative), bits 6-7 become the representative's random padding bits 254-255;
 * give it a random byte. Bit 255 of publicKey is ignored and u is reduced mod p,
 * as in RFC 7748 §5.
 *
 * Paper §5.3: a point has a representative iff u != -A and -2 u (u + A) is a
 * square; then r = sqrt(-u / (2 (u + A))) (v non-negative) or
 * sqrt(-(u + A) / (2 u)), both u * or (u + A) * invsqrt(-2 u (u + A)).
 * Unlike Monocypher, which validates nothing, u = -A and points of the twist
 * return null (Monocypher returns a representative of another point for them);
 * no X25519 key pair produces either.
 */
export function publicKeyToRepresentative (publicKey: Uint8Array, tweak: number): Uint8Array | null {
  let u = fromLE(bytes32(publicKey, 'publicKey')) & MASK255
  byte(tweak, 'tweak')
  if (u >= P) u -= P
  const uA = add(u, A)
  if (uA === 0n) return null
  const [isr, isSquare] = invsqrt(neg(add(mul(u, uA), mul(u, uA)))) // -2 u (u + A)
  if (!isSquare) return null
  if (!invsqrt(mul(u, add(mul(u, uA), 1n)))[1]) return null // u^3 + A u^2 + u not a square: the twist
  return encodeRepresentative(mul((tweak & 1) === 1 ? uA : u, isr), tweak)
}

// --- dirty key pairs ------------------------------------------------------------

/**
 * [k]lop for k = 0 ... 7, lop the point of order 8 with lop_x =
 * sqrt((sqrt(d + 1) + 1) / d) and lop_y = -lop_x sqrt(-1), both non-negative
 * (src/monocypher.c: lop_x, lop_y, select_lop). Stored as (x, y, d x y).
 */
const LOW_ORDER = ((): Array<readonly [bigint, bigint, bigint]> => {
  const lx = 0x1fd5b9a006394a28e933993238de4abb5c193c7013e5e238dea14646c545d14an
  const ly = 0x05fc536d880238b13933c6d305acdfd5f098eff289f4c345b027b2c28f95e826n
  const xs = [0n, lx, SQRTM1, lx, 0n, neg(lx), neg(SQRTM1), neg(lx)]
  const ys = [1n, ly, 0n, neg(ly), P - 1n, neg(ly), 0n, ly]
  return xs.map((x, k) => [x, ys[k] as bigint, mul(D, mul(x, ys[k] as bigint))] as const)
})()

/**
 * crypto_x25519_dirty_fast as a fraction: the u-coordinate n / d of
 * [clamp(s)]B + [s[0] mod 8]lop. u = (1 + y) / (1 - y) = (Z + Y) / (Z - Y)
 * (RFC 7748 §4.1), and y of an extended-coordinates sum with an affine point
 * (x2, y2) is (Y1 y2 + X1 x2) / (Z1 - d x2 y2 T1) (a = -1, RFC 8032 §5.1.4).
 */
function dirtyU (secretKey: Uint8Array): [bigint, bigint] {
  // RFC 7748 §5 clamping (crypto_eddsa_trim_scalar); B has order L.
  const scalar = (((fromLE(secretKey) & MASK255) >> 3n << 3n) | (1n << 254n)) % L
  const p = scalar === 0n ? ed25519.Point.ZERO : ed25519.Point.BASE.multiply(scalar)
  const [x2, y2, dxy] = LOW_ORDER[(secretKey[0] as number) & 7] as readonly [bigint, bigint, bigint]
  const y = add(mul(p.Y, y2), mul(p.X, x2))
  const z = sub(red(p.Z), mul(dxy, p.T))
  return [add(z, y), sub(z, y)]
}

const ZERO_IV = new Uint8Array(16)
const ZERO_64 = new Uint8Array(64)

/**
 * A key pair whose dirty public key has a representative (crypto_elligator_key_pair).
 * Without seed, from 32 random bytes; with seed, deterministically, as Monocypher:
 * buf = ChaCha20(key = seed, nonce = 0, counter = 0)[0 ... 64); the candidate
 * secret is buf[0 ... 32); if its dirty public key has a representative, the
 * tweak is buf[32], else seed = buf[32 ... 64) and again (2 tries on average).
 * The caller's seed is not modified (Monocypher wipes it).
 */
export function elligatorKeyPair (seed?: Uint8Array): ElligatorKeyPair {
  const key = seed === undefined ? randomBytes(32) : Uint8Array.from(bytes32(seed, 'seed'))
  try {
    for (;;) {
      // Node's chacha20 IV is OpenSSL's: 32-bit counter then 96-bit nonce; all
      // zero equals crypto_chacha20_djb's 64-bit nonce and counter at zero.
      const buf = createCipheriv('chacha20', key, ZERO_IV).update(ZERO_64)
      try {
        const [n, d] = dirtyU(buf.subarray(0, 32))
        // Inverse map and division in one invsqrt. With x = -2 n (n + A d) and
        // t = invsqrt(x d^2): -2 u (u + A) = x / d^2 is a square iff x is,
        // 1/d = t^2 x d, and invsqrt(x / d^2) = +-t d^2, so the inverse map's
        // u * invsqrt(..) = n t d and (u + A) * invsqrt(..) = (n + A d) t d.
        const nA = add(n, mul(A, d))
        const x = neg(mul(add(n, n), nA))
        const [t, isSquare] = invsqrt(mul(x, sq(d)))
        if (!isSquare) {
          key.set(buf.subarray(32, 64))
          continue
        }
        const tweak = buf[32] as number
        return {
          secretKey: Uint8Array.from(buf.subarray(0, 32)),
          publicKey: toLE(mul(n, mul(mul(sq(t), x), d))),
          representative: encodeRepresentative(mul(mul((tweak & 1) === 1 ? nA : n, t), d), tweak)
        }
      } finally {
        buf.fill(0)
      }
    }
  } finally {
    key.fill(0)
  }
}
