import { publicKeyToProtobuf } from '@libp2p/crypto/keys'
import { assertServiceName, signDomain } from '@fara/identity'
import { MAX_PRIVATE_RECORD_BYTES, PRIVATE_DOMAIN, PRIVATE_NONCE_BYTES, PRIVATE_PERIOD_MS } from '../constants.ts'
import { RecordTooLargeError } from '../errors.ts'
import { PrivateRecordType } from '../internal/codec.ts'
import { encodeSignedRecord, monotonicNow, verifyRecord } from '../record.ts'
import { aadOf, sealBytes } from './aead.ts'
import { assertEd25519Key, assertPeriod, derivePrivateKeys, deriveWriterKey, privateSlotEnd } from './keys.ts'
import type { SignedPrivateRecord, SignedRecord } from '../record.ts'
import type { PrivateKey } from '@libp2p/interface'

/** What {@link sealPrivateRecord} seals, and where. */
export interface SealPrivateInit {
  /** The entity's Ed25519 key: it signed `signed`, and its writer key for the slot is derived from it. */
  entityKey: PrivateKey
  /** The entity's public record for `name` (`createRecord`), sealed whole. */
  signed: SignedRecord
  /** The private name; the record must be for this name. */
  name: string
  /** The name's secret, if it has one (an empty secret is the same as none). */
  secret?: string | Uint8Array
  /** The period to publish for: the current one and the next (`periodOf`). */
  period: number
  /** Envelope seq, ms since the epoch (default `monotonicNow()`); must grow with every update of the slot. */
  seq?: number
  /** Envelope expiry, ms since the epoch: after `seq`, no later than the sealed record's expiry nor the end of `period + 1`. */
  expires: number
  /** Period length in ms (default {@link PRIVATE_PERIOD_MS}). */
  periodMs?: number
  /**
   * A fixed 12-byte nonce. FOR TEST VECTORS ONLY: two records sealed with one
   * nonce under one key reveal the XOR of their plaintexts and allow forgeries.
   * Leave unset and a random nonce is drawn.
   */
  nonce?: Uint8Array
}

/** What {@link createPrivateTombstone} withdraws. */
export interface PrivateTombstoneInit {
  /** The entity's Ed25519 key whose writer key holds the slot. */
  entityKey: PrivateKey
  name: string
  secret?: string | Uint8Array
  period: number
  /** seq and expiry of the tombstone, ms since the epoch (default `monotonicNow()`). */
  seq?: number
}

function assertTime (value: unknown, what: string): asserts value is number {
  if (typeof value !== 'number') throw new TypeError(`${what} must be a number, got ${typeof value}`)
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`${what} must be a non-negative safe integer, got ${value}`)
}

async function signEnvelope (entityKey: PrivateKey, lookupKey: Uint8Array, fields: { period: number, seq: number, expires: number, ciphertext: Uint8Array }): Promise<SignedPrivateRecord> {
  const writer = await deriveWriterKey(entityKey, lookupKey)
  const record = new Uint8Array(PrivateRecordType.encode({ lookupKey, writerPublicKey: publicKeyToProtobuf(writer.publicKey), ...fields }).finish())
  if (record.byteLength > MAX_PRIVATE_RECORD_BYTES) {
    throw new RecordTooLargeError(`private record is ${record.byteLength} bytes; at most ${MAX_PRIVATE_RECORD_BYTES}`)
  }
  return { record, signature: await signDomain(writer, PRIVATE_DOMAIN, record) }
}

/**
 * Seal an entity's public record for a private name and one period
 * (spec/private-names.md): encrypt the padded `SignedRecord` under the
 * period's encryption key, and sign the envelope with the slot's writer key.
 * The envelope holds no name, no entity key and no address in clear.
 * Call it for the current period and the next.
 */
export async function sealPrivateRecord (init: SealPrivateInit): Promise<SignedPrivateRecord> {
  const { entityKey, signed, name, period } = init
  assertEd25519Key(entityKey)
  assertServiceName(name)
  assertPeriod(period)
  const periodMs = init.periodMs ?? PRIVATE_PERIOD_MS
  const seq = init.seq ?? monotonicNow()
  assertTime(seq, 'seq')
  assertTime(init.expires, 'expires')
  if (init.expires <= seq) throw new RangeError(`expires (${init.expires}) must be after seq (${seq})`)
  if (init.expires > privateSlotEnd(period, periodMs)) throw new RangeError(`expires (${init.expires}) is after period ${period + 1} ends`)
  if (init.nonce !== undefined && (!(init.nonce instanceof Uint8Array) || init.nonce.byteLength !== PRIVATE_NONCE_BYTES)) {
    throw new RangeError(`nonce must be ${PRIVATE_NONCE_BYTES} bytes`)
  }
  // refuse to seal what no client would accept: a record for another name or key, or one dead before the envelope
  const inner = await verifyRecord(signed, { now: seq })
  if (inner.name !== name) throw new RangeError(`signed record is for ${JSON.stringify(inner.name)}, not ${JSON.stringify(name)}`)
  if (!inner.publicKey.equals(entityKey.publicKey)) throw new RangeError('signed record is not signed by entityKey')
  if (init.expires > inner.expires) throw new RangeError(`expires (${init.expires}) is after the sealed record expires (${inner.expires})`)

  const { lookupKey, encryptionKey } = derivePrivateKeys(name, period, init.secret)
  const message = encodeSignedRecord(signed)
  let ciphertext: Uint8Array
  try {
    ciphertext = sealBytes(encryptionKey, aadOf(lookupKey, period), message, init.nonce)
  } finally {
    encryptionKey.fill(0)
    message.fill(0)
  }
  return signEnvelope(entityKey, lookupKey, { period, seq, expires: init.expires, ciphertext })
}

/**
 * Create a private tombstone: the writer key's proof that the slot of
 * `name` for `period` is withdrawn (empty ciphertext, `expires = seq`).
 */
export async function createPrivateTombstone (init: PrivateTombstoneInit): Promise<SignedPrivateRecord> {
  assertEd25519Key(init.entityKey)
  assertServiceName(init.name)
  assertPeriod(init.period)
  const seq = init.seq ?? monotonicNow()
  assertTime(seq, 'seq')
  const { lookupKey, encryptionKey } = derivePrivateKeys(init.name, init.period, init.secret)
  encryptionKey.fill(0)
  return signEnvelope(init.entityKey, lookupKey, { period: init.period, seq, expires: seq, ciphertext: new Uint8Array(0) })
}
