// Private records on the DHT (spec/dht.md#private-records): a sealed record (spec/private-names.md)
// stored under its blinded lookup key. Every DHT node verifies the envelope as a rendezvous point
// does, and learns no more than a point: nothing in a key or value names the service.
import { publicKeyFromProtobuf } from '@libp2p/crypto/keys'
import { MAX_CLOCK_SKEW_MS, MAX_PRIVATE_RECORD_BYTES } from '../constants.ts'
import { ExpiredRecordError, InvalidRecordError } from '../errors.ts'
import { PrivateRecordType, bytesOf, tryDecode } from '../internal/codec.ts'
import { decodeSignedPrivateRecord, encodeSignedPrivateRecord, verifyPrivateEnvelope } from '../private/envelope.ts'
import { privateSlotEnd } from '../private/keys.ts'
import { assertLookupKey } from '../record.ts'
import { DHT_PRIVATE_KEY_BYTES, DHT_PRIVATE_NAMESPACE } from './constants.ts'
import { bytesEqual, compareEntries, verifyDhtValue } from './records.ts'
import type { PrivateEnvelope } from '../private/envelope.ts'
import type { SignedPrivateRecord } from '../record.ts'
import type { DhtEntry, Ranked } from './records.ts'

/** A private value found in, or about to go into, the DHT, verified. */
export interface PrivateDhtEntry extends Ranked {
  /** The verified envelope (a live record, or a tombstone with an empty ciphertext). */
  envelope: PrivateEnvelope
  /** The slot's writer key (raw Ed25519, hex): the owner of a live slot (spec/private-names.md#verification). */
  writer: string
}

/** What a store reads back from a value it verified when it took it: no signature check. */
export interface Held extends Ranked {
  /** The value counts until this time (ms since the epoch); then it is dropped. */
  until: number
  /** For a private value: its writer key (raw Ed25519, hex). */
  writer?: string
}

const PREFIX = `/${DHT_PRIVATE_NAMESPACE}/`
const PREFIX_BYTES = new TextEncoder().encode(PREFIX)
const HEX_KEY = /^[0-9a-f]{64}$/
const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex')

/**
 * The DHT key of a private slot: `utf8('/fara-private/' + hex(lookupKey))`,
 * lower-case hex (spec/dht.md#private-records). TypeError or RangeError
 * unless `lookupKey` is 32 bytes.
 */
export function privateDhtKey (lookupKey: Uint8Array): Uint8Array {
  assertLookupKey(lookupKey)
  return new TextEncoder().encode(PREFIX + hex(lookupKey))
}

/** Whether `key` is in the private namespace (whatever follows it). */
export function isPrivateDhtKey (key: Uint8Array): boolean {
  return key instanceof Uint8Array && key.byteLength >= PREFIX_BYTES.byteLength && PREFIX_BYTES.every((b, i) => key[i] === b)
}

/** The lookup key a private DHT key stands for; `InvalidRecordError` unless it is exactly `/fara-private/<64 lower-case hex>`. */
export function lookupKeyOfKey (key: Uint8Array): Uint8Array {
  if (!(key instanceof Uint8Array) || key.byteLength !== DHT_PRIVATE_KEY_BYTES || !isPrivateDhtKey(key)) {
    throw new InvalidRecordError(`a private DHT key is ${PREFIX} and 64 hex digits (${DHT_PRIVATE_KEY_BYTES} bytes)`)
  }
  const digits = Buffer.from(key.subarray(PREFIX_BYTES.byteLength)).toString('latin1')
  if (!HEX_KEY.test(digits)) throw new InvalidRecordError('a private DHT key ends in the lookup key in lower-case hex')
  return new Uint8Array(Buffer.from(digits, 'hex'))
}

/**
 * Until when a private entry counts: a live record until it expires; a
 * tombstone until the end of its slot (period + 1, plus the clock skew), when
 * every record it can have withdrawn is dead (spec/private-names.md#periods).
 */
function untilOf (entry: { tombstone: boolean, expires: number, period: number }): number {
  return entry.tombstone ? privateSlotEnd(entry.period) + MAX_CLOCK_SKEW_MS : entry.expires
}

/** True if `signed` has the shape of a private tombstone (an empty ciphertext); size bounded before decoding. */
function isPrivateTombstone (signed: SignedPrivateRecord): boolean {
  if (!(signed?.record instanceof Uint8Array) || signed.record.byteLength > MAX_PRIVATE_RECORD_BYTES) return false
  const raw = tryDecode<{ ciphertext: unknown }>(PrivateRecordType, signed.record)
  return raw != null && bytesOf(raw.ciphertext).byteLength === 0
}

/**
 * Verify a signed private record for the DHT at `now`: `verifyPrivateEnvelope`
 * as a live record or a tombstone (by its shape, unless `tombstone` is given),
 * and a tombstone must not have outlived its slot (`ExpiredRecordError`).
 */
export async function verifyPrivateEntry (signed: SignedPrivateRecord, now: number, tombstone = isPrivateTombstone(signed)): Promise<PrivateDhtEntry> {
  const envelope = await verifyPrivateEnvelope(signed, { now, tombstone })
  if (tombstone && untilOf({ ...envelope, tombstone }) <= now) {
    throw new ExpiredRecordError(`private tombstone for period ${envelope.period}: the slot has ended, it withdraws nothing any more`)
  }
  return { envelope, seq: envelope.seq, tombstone, value: encodeSignedPrivateRecord(envelope.signed), writer: hex(envelope.writerPublicKey.raw) }
}

/**
 * The DHT validator of the private namespace (spec/dht.md#private-records):
 * `key` is `/fara-private/<hex lookup key>`; `value` is the canonical
 * encoding of a SignedPrivateRecord (bounded before decoding) that verifies
 * at `now` (writer signature, bucket size, period and expiry; or a tombstone
 * whose slot has not ended) and whose lookup key is the key's. It opens
 * nothing and learns no name. Throws a typed rendezvous error otherwise.
 */
export async function verifyPrivateDhtValue (key: Uint8Array, value: Uint8Array, now: number): Promise<PrivateDhtEntry> {
  const lookupKey = lookupKeyOfKey(key)
  if (!(value instanceof Uint8Array)) throw new InvalidRecordError('DHT value must be bytes')
  const entry = await verifyPrivateEntry(decodeSignedPrivateRecord(value), now)
  if (!bytesEqual(entry.envelope.lookupKey, lookupKey)) throw new InvalidRecordError('private record stored under the DHT key of another lookup key')
  if (!bytesEqual(entry.value, value)) throw new InvalidRecordError('DHT value is not the canonical SignedPrivateRecord encoding')
  return entry
}

/**
 * Whether `values` (what a walk's peers returned for private DHT key `key`)
 * show the slot held by another writer than `writer`: some other writer key's
 * newest value among them verifies at `now` and is a live record, not a
 * tombstone (spec/dht.md#private-records). Values that do not verify count
 * for nothing, so a peer cannot take a slot by answering with a forgery.
 */
export async function slotHeldByOther (key: Uint8Array, writer: string, values: Uint8Array[], now: number): Promise<boolean> {
  const newest = new Map<string, PrivateDhtEntry>()
  for (const value of values) {
    let entry: PrivateDhtEntry
    try {
      entry = await verifyPrivateDhtValue(key, value, now)
    } catch {
      continue
    }
    const held = newest.get(entry.writer)
    if (held == null || compareEntries(entry, held) > 0) newest.set(entry.writer, entry)
  }
  return [...newest.values()].some(e => e.writer !== writer && !e.tombstone)
}

/** Verify a value of either namespace, by its key. */
export async function verifyAnyDhtValue (key: Uint8Array, value: Uint8Array, now: number): Promise<DhtEntry | PrivateDhtEntry> {
  return isPrivateDhtKey(key) ? verifyPrivateDhtValue(key, value, now) : verifyDhtValue(key, value, now)
}

/** Decode a stored private value's fields, or undefined if it does not decode. No signature check. */
export function peekPrivateValue (value: Uint8Array): Held | undefined {
  try {
    const signed = decodeSignedPrivateRecord(value)
    const raw = tryDecode<{ writerPublicKey: unknown, period: number, seq: number, expires: number, ciphertext: unknown }>(PrivateRecordType, signed.record)
    if (raw == null) return undefined
    const tombstone = bytesOf(raw.ciphertext).byteLength === 0
    const writer = hex(publicKeyFromProtobuf(bytesOf(raw.writerPublicKey)).raw)
    return { seq: raw.seq, tombstone, value, writer, until: untilOf({ tombstone, expires: raw.expires, period: raw.period }) }
  } catch {
    return undefined
  }
}
