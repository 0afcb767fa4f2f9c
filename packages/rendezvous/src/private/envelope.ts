import { publicKeyFromProtobuf } from '@libp2p/crypto/keys'
import { verifyDomain, timeText } from '@fara/identity'
import {
  MAX_CLOCK_SKEW_MS, MAX_PRIVATE_RECORD_BYTES, MAX_SIGNED_PRIVATE_RECORD_BYTES, PRIVATE_DOMAIN, PRIVATE_KEY_BYTES, PRIVATE_PERIOD_MS, SIGNATURE_BYTES
} from '../constants.ts'
import { ExpiredRecordError, InvalidRecordError, InvalidSignatureError, RecordTooLargeError } from '../errors.ts'
import { PrivateRecordType, SignedPrivateRecordType, bytesOf, tryDecode } from '../internal/codec.ts'
import { isBucket } from './aead.ts'
import { periodOf, privateSlotEnd } from './keys.ts'
import type { SignedPrivateRecord } from '../record.ts'
import type { PublicKey } from '@libp2p/interface'

/** A verified PrivateRecord: everything a rendezvous point can know about a private registration. */
export interface PrivateEnvelope {
  /** 32 bytes; the slot the record is stored under. */
  lookupKey: Uint8Array
  /** The slot's writer key (Ed25519), unlinkable to the entity's key. */
  writerPublicKey: PublicKey
  period: number
  seq: number
  /** Expiry, ms since the Unix epoch. */
  expires: number
  /** `nonce || AEAD body || tag`, a bucket size long; empty in a tombstone. */
  ciphertext: Uint8Array
  /** The signed bytes this was verified from, to store and serve verbatim. */
  signed: SignedPrivateRecord
}

/** Options for {@link verifyPrivateEnvelope}. */
export interface VerifyPrivateOptions {
  /** Current time, ms since the epoch (default `Date.now()`). */
  now?: number
  /** Verify a private tombstone (an unregister) rather than a live record. */
  tombstone?: boolean
  /** Period length in ms (default {@link PRIVATE_PERIOD_MS}); every party of a deployment must agree on it. */
  periodMs?: number
}

/** Ed25519 in libp2p's PublicKey protobuf: `08 01 12 20` and 32 bytes. */
const WRITER_KEY_BYTES = 36

interface RawPrivateRecord { lookupKey: unknown, writerPublicKey: unknown, period: number, seq: number, expires: number, ciphertext: unknown }

/**
 * Verify a signed private record as a rendezvous point can: bounds, the writer
 * signature, and the time rules. It says nothing about the name or the entity
 * inside (the point cannot know them); clients use `openPrivateRecord`.
 * Checks, in order (spec/private-names.md#verification): byte strings; size;
 * signature length; decodes; lookup key 32 bytes; writer key Ed25519;
 * integers safe; ciphertext a bucket (empty in a tombstone); signature;
 * seq and period not in the future; expires within the slot; not expired.
 */
export async function verifyPrivateEnvelope (signed: SignedPrivateRecord, options: VerifyPrivateOptions = {}): Promise<PrivateEnvelope> {
  const now = options.now ?? Date.now()
  const periodMs = options.periodMs ?? PRIVATE_PERIOD_MS
  const tombstone = options.tombstone === true
  if (!(signed?.record instanceof Uint8Array) || !(signed.signature instanceof Uint8Array)) {
    throw new InvalidRecordError('signed private record must have record and signature bytes')
  }
  if (signed.record.byteLength > MAX_PRIVATE_RECORD_BYTES) {
    throw new RecordTooLargeError(`private record is ${signed.record.byteLength} bytes; at most ${MAX_PRIVATE_RECORD_BYTES}`)
  }
  if (signed.signature.byteLength !== SIGNATURE_BYTES) {
    throw new InvalidSignatureError(`signature must be ${SIGNATURE_BYTES} bytes, got ${signed.signature.byteLength}`)
  }
  const raw = tryDecode<RawPrivateRecord>(PrivateRecordType, signed.record)
  if (raw == null) throw new InvalidRecordError('private record does not decode')
  const lookupKey = bytesOf(raw.lookupKey)
  if (lookupKey.byteLength !== PRIVATE_KEY_BYTES) throw new InvalidRecordError(`lookup key must be ${PRIVATE_KEY_BYTES} bytes, got ${lookupKey.byteLength}`)
  const writerBytes = bytesOf(raw.writerPublicKey)
  let writerPublicKey: PublicKey
  try {
    if (writerBytes.byteLength !== WRITER_KEY_BYTES) throw new Error(`${writerBytes.byteLength} bytes`)
    writerPublicKey = publicKeyFromProtobuf(writerBytes)
  } catch {
    throw new InvalidRecordError('writer public key is not an Ed25519 key')
  }
  if (writerPublicKey.type !== 'Ed25519') throw new InvalidRecordError(`writer key must be Ed25519, got ${writerPublicKey.type}`)
  const { period, seq, expires } = raw
  if (!Number.isSafeInteger(period) || !Number.isSafeInteger(seq) || !Number.isSafeInteger(expires)) {
    throw new InvalidRecordError('period, seq and expires must be safe integers')
  }
  const ciphertext = bytesOf(raw.ciphertext)
  if (tombstone) {
    if (ciphertext.byteLength !== 0 || expires > seq) throw new InvalidRecordError('a private tombstone has no ciphertext and expires <= seq')
  } else {
    if (!isBucket(ciphertext.byteLength)) throw new InvalidRecordError(`ciphertext is ${ciphertext.byteLength} bytes, not a bucket size`)
    if (expires <= seq) throw new InvalidRecordError('a live private record has expires > seq')
  }
  if (!(await verifyDomain(writerPublicKey, PRIVATE_DOMAIN, signed.record, signed.signature))) {
    throw new InvalidSignatureError('private record is not signed by the writer key it names')
  }
  if (seq > now + MAX_CLOCK_SKEW_MS) throw new InvalidRecordError('private record seq is too far in the future')
  // a service publishes for the current and the next period only
  if (period > periodOf(Math.max(0, Math.floor(now + MAX_CLOCK_SKEW_MS)), periodMs) + 1) throw new InvalidRecordError(`period ${period} is too far in the future`)
  if (expires > privateSlotEnd(period, periodMs) + MAX_CLOCK_SKEW_MS) throw new InvalidRecordError(`private record for period ${period} expires after period ${period + 1} ends`)
  if (!tombstone && expires <= now) throw new ExpiredRecordError(`private record expired at ${timeText(expires)}`)
  return {
    lookupKey,
    writerPublicKey,
    period,
    seq,
    expires,
    ciphertext,
    signed: { record: new Uint8Array(signed.record), signature: new Uint8Array(signed.signature) }
  }
}

/** Encode a signed private record as a standalone SignedPrivateRecord message. */
export function encodeSignedPrivateRecord (signed: SignedPrivateRecord): Uint8Array {
  return new Uint8Array(SignedPrivateRecordType.encode(signed).finish())
}

/** Decode a standalone SignedPrivateRecord message (bounds checked; signature not yet verified). */
export function decodeSignedPrivateRecord (bytes: Uint8Array): SignedPrivateRecord {
  if (!(bytes instanceof Uint8Array)) throw new InvalidRecordError('signed private record must be bytes')
  if (bytes.byteLength > MAX_SIGNED_PRIVATE_RECORD_BYTES) throw new RecordTooLargeError('signed private record too large')
  const raw = tryDecode<{ record: unknown, signature: unknown }>(SignedPrivateRecordType, bytes)
  if (raw == null) throw new InvalidRecordError('signed private record does not decode')
  return { record: bytesOf(raw.record), signature: bytesOf(raw.signature) }
}
