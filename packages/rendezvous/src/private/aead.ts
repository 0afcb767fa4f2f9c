import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'
import { PRIVATE_BUCKETS, PRIVATE_NONCE_BYTES, PRIVATE_TAG_BYTES } from '../constants.ts'
import { InvalidRecordError, PrivateRecordOpenError, RecordTooLargeError } from '../errors.ts'
import { u64be } from './keys.ts'

// Layout of PrivateRecord.ciphertext (spec/private-names.md#ciphertext):
//   nonce (12) || ChaCha20-Poly1305 ciphertext (bucket - 28) || tag (16)
// and of the plaintext, bucket - 28 bytes:
//   u32be(n) || SignedRecord (n bytes) || zeros

const AEAD = 'chacha20-poly1305'

/** Bytes a ciphertext adds to its plaintext: nonce and tag. */
export const AEAD_OVERHEAD = PRIVATE_NONCE_BYTES + PRIVATE_TAG_BYTES

/** Bytes of the length prefix in front of the padded SignedRecord. */
export const LENGTH_PREFIX_BYTES = 4

/** Whether `n` is one of the bucket sizes. */
export function isBucket (n: number): boolean {
  return (PRIVATE_BUCKETS as readonly number[]).includes(n)
}

/** The smallest bucket that holds `n` bytes of SignedRecord; RecordTooLargeError if none does. */
export function bucketFor (n: number): number {
  const bucket = PRIVATE_BUCKETS.find(b => LENGTH_PREFIX_BYTES + n + AEAD_OVERHEAD <= b)
  if (bucket == null) {
    const largest = Math.max(...PRIVATE_BUCKETS) - LENGTH_PREFIX_BYTES - AEAD_OVERHEAD
    throw new RecordTooLargeError(`signed record is ${n} bytes; a private record holds at most ${largest}`)
  }
  return bucket
}

/** The associated data of a slot's ciphertext: `lookupKey || u64be(period)`. */
export function aadOf (lookupKey: Uint8Array, period: number): Uint8Array {
  const aad = new Uint8Array(lookupKey.byteLength + 8)
  aad.set(lookupKey, 0)
  aad.set(u64be(period), lookupKey.byteLength)
  return aad
}

/**
 * Pad `message` to its bucket and encrypt it. The result is exactly a bucket
 * long. `nonce` is random unless given (test vectors only: never reuse one).
 */
export function sealBytes (key: Uint8Array, aad: Uint8Array, message: Uint8Array, nonce: Uint8Array = randomBytes(PRIVATE_NONCE_BYTES)): Uint8Array {
  const bucket = bucketFor(message.byteLength)
  const plaintext = new Uint8Array(bucket - AEAD_OVERHEAD)
  new DataView(plaintext.buffer).setUint32(0, message.byteLength)
  plaintext.set(message, LENGTH_PREFIX_BYTES)
  const cipher = createCipheriv(AEAD, key, nonce, { authTagLength: PRIVATE_TAG_BYTES })
  cipher.setAAD(aad, { plaintextLength: plaintext.byteLength })
  const body = cipher.update(plaintext)
  cipher.final()
  const out = new Uint8Array(bucket)
  out.set(nonce, 0)
  out.set(body, PRIVATE_NONCE_BYTES)
  out.set(cipher.getAuthTag(), PRIVATE_NONCE_BYTES + body.byteLength)
  plaintext.fill(0)
  body.fill(0)
  return out
}

/**
 * Decrypt a bucket-sized ciphertext and strip its padding. A failed tag is a
 * PrivateRecordOpenError; a plaintext that opened but is not `u32be(n) || n
 * bytes || zeros` is an InvalidRecordError (its sealer held the key).
 */
export function openBytes (key: Uint8Array, aad: Uint8Array, ciphertext: Uint8Array): Uint8Array {
  if (!isBucket(ciphertext.byteLength)) throw new InvalidRecordError(`ciphertext is ${ciphertext.byteLength} bytes, not a bucket size`)
  const nonce = ciphertext.subarray(0, PRIVATE_NONCE_BYTES)
  const body = ciphertext.subarray(PRIVATE_NONCE_BYTES, ciphertext.byteLength - PRIVATE_TAG_BYTES)
  const tag = ciphertext.subarray(ciphertext.byteLength - PRIVATE_TAG_BYTES)
  let plaintext: Uint8Array
  try {
    const decipher = createDecipheriv(AEAD, key, nonce, { authTagLength: PRIVATE_TAG_BYTES })
    decipher.setAuthTag(tag)
    decipher.setAAD(aad, { plaintextLength: body.byteLength })
    const opened = decipher.update(body)
    try {
      decipher.final()
    } catch (err) {
      opened.fill(0)
      throw err
    }
    plaintext = opened
  } catch (err) {
    throw new PrivateRecordOpenError(undefined, { cause: err })
  }
  try {
    const n = new DataView(plaintext.buffer, plaintext.byteOffset, plaintext.byteLength).getUint32(0)
    if (n > plaintext.byteLength - LENGTH_PREFIX_BYTES) throw new InvalidRecordError(`sealed length ${n} exceeds the ${plaintext.byteLength - LENGTH_PREFIX_BYTES} bytes it was padded into`)
    const end = LENGTH_PREFIX_BYTES + n
    for (let i = end; i < plaintext.byteLength; i++) {
      if (plaintext[i] !== 0) throw new InvalidRecordError('private record padding is not zero')
    }
    return new Uint8Array(plaintext.subarray(LENGTH_PREFIX_BYTES, end)) // a copy: the plaintext is wiped below
  } finally {
    plaintext.fill(0)
  }
}
