import { createHash, timingSafeEqual } from 'node:crypto'
import { publicKeyToProtobuf } from '@libp2p/crypto/keys'
import { NAME_LABEL_PATTERN, NAME_VERSION, NS_NAME, NS_NAME_CHECKSUM, SERVICE_NAME_PATTERN } from './constants.ts'
import { InvalidNameError } from './errors.ts'
import { base32Decode, base32Encode } from './internal/base32.ts'
import type { PublicKey } from '@libp2p/interface'

/** A parsed self-certifying name. */
export interface SelfCertifyingName {
  /** The human part before the dot. */
  label: string
  /** SHA-256 over the name domain and the device key's protobuf encoding: 32 bytes. */
  keyHash: Uint8Array
  /** The name version byte (1). */
  version: number
}

const KEY_HASH_BYTES = 32
const CHECKSUM_BYTES = 2
/** 35 bytes of KEYHASH || CHECKSUM || VERSION in unpadded base32. */
const ENCODED_CHARS = 56
const ZERO = new Uint8Array([0])
/** Any name ending in '.' and 56 base32 characters is self-certifying or invalid, never human-friendly. */
const SELF_CERTIFYING_SHAPE = /\.[a-z2-7]{56}$/

function assertPublicKey (key: unknown): asserts key is PublicKey {
  const k = key as PublicKey | null | undefined
  if (k == null || typeof k !== 'object' || typeof k.type !== 'string' || !(k.raw instanceof Uint8Array)) {
    throw new TypeError(`devicePublicKey must be a libp2p public key, got ${k === null ? 'null' : typeof k}`)
  }
}

/** KEYHASH = SHA-256(utf8(NS_NAME) || 0x00 || libp2p-protobuf(devicePublicKey)). */
function keyHashOf (devicePublicKey: PublicKey): Uint8Array {
  return createHash('sha256').update(NS_NAME).update(ZERO).update(publicKeyToProtobuf(devicePublicKey)).digest()
}

/** CHECKSUM = the first 2 bytes of SHA-256(utf8(NS_NAME_CHECKSUM) || 0x00 || KEYHASH || VERSION). */
function checksumOf (keyHash: Uint8Array, version: number): Uint8Array {
  return createHash('sha256').update(NS_NAME_CHECKSUM).update(ZERO).update(keyHash).update(new Uint8Array([version])).digest().subarray(0, CHECKSUM_BYTES)
}

/**
 * The self-certifying name of a device key under `label`, like a Tor v3
 * onion address: `label.base32(KEYHASH || CHECKSUM || VERSION)`
 * (spec/identity.md#self-certifying-names). Anyone can check that a key owns
 * the name; nobody needs a registry to hand it out.
 */
export function selfCertifyingName (label: string, devicePublicKey: PublicKey): string {
  if (typeof label !== 'string') throw new TypeError(`label must be a string, got ${typeof label}`)
  if (!NAME_LABEL_PATTERN.test(label)) throw new RangeError(`label must match ${String(NAME_LABEL_PATTERN)}, got ${JSON.stringify(label)}`)
  assertPublicKey(devicePublicKey)
  if (devicePublicKey.type !== 'Ed25519') throw new RangeError(`devicePublicKey must be an Ed25519 key, got ${devicePublicKey.type}`)
  const keyHash = keyHashOf(devicePublicKey)
  const body = new Uint8Array(KEY_HASH_BYTES + CHECKSUM_BYTES + 1)
  body.set(keyHash, 0)
  body.set(checksumOf(keyHash, NAME_VERSION), KEY_HASH_BYTES)
  body[KEY_HASH_BYTES + CHECKSUM_BYTES] = NAME_VERSION
  return `${label}.${base32Encode(body)}`
}

/**
 * Split a self-certifying name into label, key hash and version. Throws
 * {@link InvalidNameError} for a bad label, length, character, checksum (a
 * typo) or an unknown version, and `TypeError` for a non-string.
 */
export function parseSelfCertifyingName (name: string): SelfCertifyingName {
  if (typeof name !== 'string') throw new TypeError(`name must be a string, got ${typeof name}`)
  const dot = name.lastIndexOf('.')
  if (dot < 0) throw new InvalidNameError(`${JSON.stringify(name)} has no '.' before the key part`)
  const label = name.slice(0, dot)
  const encoded = name.slice(dot + 1)
  if (!NAME_LABEL_PATTERN.test(label)) throw new InvalidNameError(`label ${JSON.stringify(label)} must match ${String(NAME_LABEL_PATTERN)}`)
  if (encoded.length !== ENCODED_CHARS) throw new InvalidNameError(`key part has length ${encoded.length}; expected ${ENCODED_CHARS} characters`)
  const body = base32Decode(encoded)
  if (body == null) throw new InvalidNameError('key part must be lowercase base32 (a-z, 2-7)')
  const keyHash = body.slice(0, KEY_HASH_BYTES)
  const version = body[KEY_HASH_BYTES + CHECKSUM_BYTES] ?? 0
  if (!timingSafeEqual(checksumOf(keyHash, version), body.subarray(KEY_HASH_BYTES, KEY_HASH_BYTES + CHECKSUM_BYTES))) {
    throw new InvalidNameError(`${JSON.stringify(name)} has a bad checksum (a mistyped character?)`)
  }
  if (version !== NAME_VERSION) throw new InvalidNameError(`unknown self-certifying name version ${version}`)
  return { label, keyHash, version }
}

/** True if `name` is a well-formed self-certifying name with a valid checksum and a known version. */
export function isSelfCertifyingName (name: unknown): boolean {
  if (typeof name !== 'string') return false
  try {
    parseSelfCertifyingName(name)
    return true
  } catch {
    return false
  }
}

/** True if `name` is a valid self-certifying name of `devicePublicKey` (any label); false for any other name or key. */
export function nameMatchesKey (name: string, devicePublicKey: PublicKey): boolean {
  assertPublicKey(devicePublicKey)
  if (devicePublicKey.type !== 'Ed25519' || !isSelfCertifyingName(name)) return false
  return timingSafeEqual(parseSelfCertifyingName(name).keyHash, keyHashOf(devicePublicKey))
}

/**
 * True if `name` is a service name: it matches {@link SERVICE_NAME_PATTERN}
 * and, if it has the shape of a self-certifying name, its checksum and version
 * are valid — so a mistyped self-certifying name is never taken for a
 * human-friendly one that someone else could register.
 */
export function isServiceName (name: unknown): name is string {
  if (typeof name !== 'string' || !SERVICE_NAME_PATTERN.test(name)) return false
  return !SELF_CERTIFYING_SHAPE.test(name) || isSelfCertifyingName(name)
}

/** Throw `TypeError` for a non-string and `RangeError` unless {@link isServiceName} holds. */
export function assertServiceName (name: unknown): asserts name is string {
  if (typeof name !== 'string') throw new TypeError(`name must be a string, got ${typeof name}`)
  if (isServiceName(name)) return
  if (SERVICE_NAME_PATTERN.test(name)) {
    try {
      parseSelfCertifyingName(name)
    } catch (err) {
      throw new RangeError(`name is not a valid self-certifying name: ${(err as Error).message}`)
    }
  }
  throw new RangeError(`name must match ${String(SERVICE_NAME_PATTERN)}, got ${JSON.stringify(name)}`)
}
