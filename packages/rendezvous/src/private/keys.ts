import { hkdfSync } from 'node:crypto'
import { generateKeyPairFromSeed } from '@libp2p/crypto/keys'
import {
  PRIVATE_ENCRYPT_INFO, PRIVATE_KDF_SALT, PRIVATE_KEY_BYTES, PRIVATE_LOOKUP_INFO, PRIVATE_PERIOD_MS, PRIVATE_WRITER_INFO
} from '../constants.ts'
import { assertServiceName } from '@fara/identity'
import type { PrivateKey } from '@libp2p/interface'

/** A name's keys for one period (spec/private-names.md#derivations). */
export interface PrivateKeys {
  /** Where the sealed record is stored: public to anyone who can compute it, the only thing a point indexes by. */
  lookupKey: Uint8Array
  /** ChaCha20-Poly1305 key of the sealed record. Secret: wipe it (`fill(0)`) when done. */
  encryptionKey: Uint8Array
}

/** One lookup key to try, with the period it belongs to. */
export interface PrivateLookup {
  period: number
  lookupKey: Uint8Array
}

/** Options for {@link privateLookupKeys}. */
export interface PrivateLookupOptions {
  /** Current time, ms since the epoch (default `Date.now()`). */
  now?: number
  /** The name's secret, if it has one (an empty secret is the same as none). */
  secret?: string | Uint8Array
  /** Period length in ms (default {@link PRIVATE_PERIOD_MS}); every party of a deployment must agree on it. */
  periodMs?: number
}

const encoder = new TextEncoder()
const SALT = encoder.encode(PRIVATE_KDF_SALT)
const LOOKUP_INFO = encoder.encode(PRIVATE_LOOKUP_INFO)
const ENCRYPT_INFO = encoder.encode(PRIVATE_ENCRYPT_INFO)
const WRITER_INFO = encoder.encode(PRIVATE_WRITER_INFO)

/** `n` as 8 bytes, big-endian. */
export function u64be (n: number): Uint8Array {
  const out = new Uint8Array(8)
  new DataView(out.buffer).setBigUint64(0, BigInt(n))
  return out
}

/** Throw unless `period` is a non-negative safe integer. */
export function assertPeriod (period: unknown, what = 'period'): asserts period is number {
  if (typeof period !== 'number') throw new TypeError(`${what} must be a number, got ${typeof period}`)
  if (!Number.isSafeInteger(period) || period < 0) throw new RangeError(`${what} must be a non-negative safe integer, got ${period}`)
}

function assertPeriodMs (periodMs: unknown): asserts periodMs is number {
  if (typeof periodMs !== 'number') throw new TypeError(`periodMs must be a number, got ${typeof periodMs}`)
  if (!Number.isSafeInteger(periodMs) || periodMs <= 0) throw new RangeError(`periodMs must be a positive safe integer, got ${periodMs}`)
}

/** The secret's bytes (a copy, so it may be wiped); empty if none. */
export function secretBytes (secret: unknown): Uint8Array {
  if (secret === undefined) return new Uint8Array(0)
  if (typeof secret === 'string') return encoder.encode(secret)
  if (secret instanceof Uint8Array) return new Uint8Array(secret)
  throw new TypeError(`secret must be a string or a Uint8Array, got ${typeof secret}`)
}

function concat (...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0))
  let at = 0
  for (const p of parts) { out.set(p, at); at += p.byteLength }
  return out
}

function hkdf (ikm: Uint8Array, info: Uint8Array): Uint8Array {
  return new Uint8Array(hkdfSync('sha256', ikm, SALT, info, PRIVATE_KEY_BYTES))
}

/**
 * The period a time falls in: `floor(now / periodMs)`. A service publishes for
 * this period and the next; a client tries this one, the next, then the previous.
 */
export function periodOf (now: number, periodMs: number = PRIVATE_PERIOD_MS): number {
  if (typeof now !== 'number' || !Number.isSafeInteger(now) || now < 0) throw new RangeError(`now must be a non-negative safe integer, got ${now}`)
  assertPeriodMs(periodMs)
  return Math.floor(now / periodMs)
}

/** The first millisecond after `period + 1` ends: a record for `period` is never live past it (plus clock skew). */
export function privateSlotEnd (period: number, periodMs: number = PRIVATE_PERIOD_MS): number {
  return (period + 2) * periodMs
}

/**
 * Derive a name's lookup key and encryption key for one period:
 * `ikm = utf8(name) || 0x00 || secret`, then HKDF-SHA256 with salt
 * `utf8(PRIVATE_KDF_SALT)`, info `utf8(PRIVATE_LOOKUP_INFO) || u64be(period)`
 * (resp. `PRIVATE_ENCRYPT_INFO`), 32 bytes each. Names never contain NUL, so
 * the input is unambiguous. The caller should wipe `encryptionKey` when done.
 */
export function derivePrivateKeys (name: string, period: number, secret?: string | Uint8Array): PrivateKeys {
  assertServiceName(name)
  assertPeriod(period)
  const s = secretBytes(secret)
  const ikm = concat(encoder.encode(name), new Uint8Array([0]), s)
  const p = u64be(period)
  try {
    return { lookupKey: hkdf(ikm, concat(LOOKUP_INFO, p)), encryptionKey: hkdf(ikm, concat(ENCRYPT_INFO, p)) }
  } finally {
    ikm.fill(0)
    s.fill(0)
  }
}

/** Throw a TypeError unless `key` is a libp2p Ed25519 private key. */
export function assertEd25519Key (key: unknown, what = 'entityKey'): asserts key is PrivateKey {
  const k = key as PrivateKey | undefined
  if (k?.type !== 'Ed25519' || !(k.raw instanceof Uint8Array) || k.raw.byteLength < PRIVATE_KEY_BYTES) {
    throw new TypeError(`${what} must be an Ed25519 private key, got ${String(k?.type)}`)
  }
}

/**
 * The Ed25519 key that writes one slot: its seed is HKDF-SHA256 of the
 * entity's 32-byte Ed25519 seed, salt `utf8(PRIVATE_KDF_SALT)`, info
 * `utf8(PRIVATE_WRITER_INFO) || lookupKey`. The same entity always gets the same
 * writer key for a slot (so it can update and withdraw it), a different one
 * for every other slot, and nobody without the entity's private key can link
 * a writer key to the entity's key or to another slot's writer key.
 */
export async function deriveWriterKey (entityKey: PrivateKey, lookupKey: Uint8Array): Promise<PrivateKey> {
  assertEd25519Key(entityKey)
  if (!(lookupKey instanceof Uint8Array)) throw new TypeError(`lookupKey must be a Uint8Array, got ${typeof lookupKey}`)
  if (lookupKey.byteLength !== PRIVATE_KEY_BYTES) throw new RangeError(`lookupKey must be ${PRIVATE_KEY_BYTES} bytes, got ${lookupKey.byteLength}`)
  // libp2p's Ed25519 `raw` is seed (32) || public key (32)
  const seed = hkdf(entityKey.raw.subarray(0, PRIVATE_KEY_BYTES), concat(WRITER_INFO, lookupKey))
  try {
    return await generateKeyPairFromSeed('Ed25519', seed)
  } finally {
    seed.fill(0)
  }
}

/**
 * The lookup keys a client tries for `name`, in order: the current period,
 * the next (the client's clock is behind), the previous (it is ahead).
 */
export function privateLookupKeys (name: string, options: PrivateLookupOptions = {}): PrivateLookup[] {
  const current = periodOf(options.now ?? Date.now(), options.periodMs ?? PRIVATE_PERIOD_MS)
  const periods = current > 0 ? [current, current + 1, current - 1] : [current, current + 1]
  return periods.map(period => {
    const { lookupKey, encryptionKey } = derivePrivateKeys(name, period, options.secret)
    encryptionKey.fill(0)
    return { period, lookupKey }
  })
}
