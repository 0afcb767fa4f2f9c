import { timingSafeEqual } from 'node:crypto'
import { InvalidRecordError } from '../errors.ts'
import { assertServiceName } from '@fara/identity'
import { decodeSignedRecord, verifyRecord } from '../record.ts'
import { aadOf, openBytes } from './aead.ts'
import { verifyPrivateEnvelope } from './envelope.ts'
import { derivePrivateKeys } from './keys.ts'
import type { VerifyPrivateOptions } from './envelope.ts'
import type { ServiceRecord, SignedPrivateRecord } from '../record.ts'

/** What the client knows when it opens a private record. */
export interface OpenPrivateOptions {
  /** The private name asked for. */
  name: string
  /** The name's secret, if it has one. */
  secret?: string | Uint8Array
  /** Current time, ms since the epoch (default `Date.now()`). */
  now?: number
  /** Period length in ms (default `PRIVATE_PERIOD_MS`). */
  periodMs?: number
}

/**
 * Open a private record resolved from a lookup key and return the public
 * record sealed in it, verified: the envelope verifies
 * (`verifyPrivateEnvelope`); its lookup key is the one `name` and `secret`
 * give for its period (else InvalidRecordError); the ciphertext opens under
 * the period's encryption key (else PrivateRecordOpenError); the padding and
 * the SignedRecord inside are well formed; the record verifies
 * (`verifyRecord`) and is for `name` (else InvalidRecordError).
 */
export async function openPrivateRecord (signed: SignedPrivateRecord, options: OpenPrivateOptions): Promise<ServiceRecord> {
  const { name } = options
  assertServiceName(name)
  const verify: VerifyPrivateOptions = {}
  if (options.now !== undefined) verify.now = options.now
  if (options.periodMs !== undefined) verify.periodMs = options.periodMs
  const envelope = await verifyPrivateEnvelope(signed, verify)
  const { lookupKey, encryptionKey } = derivePrivateKeys(name, envelope.period, options.secret)
  let message: Uint8Array
  try {
    if (!timingSafeEqual(lookupKey, envelope.lookupKey)) {
      throw new InvalidRecordError('private record is stored under a lookup key this name and secret do not give')
    }
    message = openBytes(encryptionKey, aadOf(lookupKey, envelope.period), envelope.ciphertext)
  } finally {
    encryptionKey.fill(0)
  }
  let record: ServiceRecord
  try {
    const verifyInner = options.now !== undefined ? { now: options.now } : {}
    record = await verifyRecord(decodeSignedRecord(message), verifyInner)
  } finally {
    message.fill(0)
  }
  if (record.name !== name) throw new InvalidRecordError(`sealed record is for ${JSON.stringify(record.name)}, not ${JSON.stringify(name)}`)
  return record
}
