import { assertServiceName } from '@fara/identity'
import { APP_NAME_PATTERN } from '@fara/identity/constants'
import { MAX_RECORD_BYTES, MAX_TTL_MS } from '../constants.ts'
import { ExpiredRecordError, InvalidRecordError } from '../errors.ts'
import { RecordType, bytesOf, tryDecode } from '../internal/codec.ts'
import { decodeSignedRecord, encodeSignedRecord, verifyRecord } from '../record.ts'
import { DHT_NAMESPACE, MAX_DHT_KEY_BYTES } from './constants.ts'
import type { ServiceRecord, SignedRecord } from '../record.ts'

/** What ordering needs of an entry: a stored entry (verified once, on admission) or a freshly verified one. */
export interface Ranked {
  /** The record's `seq`. */
  seq: number
  /** True for a signed withdrawal (spec/rendezvous.md#tombstones). */
  tombstone: boolean
  /** The DHT value: the canonical `SignedRecord` encoding. */
  value: Uint8Array
}

/** A value found in, or about to go into, the DHT, verified. */
export interface DhtEntry extends Ranked {
  /** The verified record (a live record, or a tombstone with no addrs and no AId). */
  record: ServiceRecord
}

const PREFIX = `/${DHT_NAMESPACE}/`
const encoder = new TextEncoder()
const decoder = new TextDecoder('utf-8', { fatal: true })

/** The DHT key of a service name: `utf8('/fara/' + name)` (spec/dht.md#keys). Throws RangeError for a bad name. */
export function dhtKey (name: string): Uint8Array {
  assertServiceName(name)
  return encoder.encode(PREFIX + name)
}

/** The service name a DHT key stands for; `InvalidRecordError` unless the key is `/fara/<valid name>`. */
export function nameOfKey (key: Uint8Array): string {
  if (!(key instanceof Uint8Array) || key.byteLength > MAX_DHT_KEY_BYTES) {
    throw new InvalidRecordError(`DHT key must be at most ${MAX_DHT_KEY_BYTES} bytes`)
  }
  let text: string
  try {
    text = decoder.decode(key)
  } catch {
    throw new InvalidRecordError('DHT key is not UTF-8')
  }
  const name = text.startsWith(PREFIX) ? text.slice(PREFIX.length) : ''
  if (!APP_NAME_PATTERN.test(name)) throw new InvalidRecordError(`DHT key ${JSON.stringify(text)} is not ${PREFIX}<service name>`)
  return name
}

/** Fields read without checking the signature: only for values that were verified when stored. */
export interface Peeked extends Ranked {
  name: string
  expires: number
}

/** Decode a stored value's fields, or undefined if it does not decode. No signature check. */
export function peekValue (value: Uint8Array): Peeked | undefined {
  try {
    const signed = decodeSignedRecord(value)
    const raw = tryDecode<{ name: string, aid: unknown, addrs: unknown[], seq: number, expires: number }>(RecordType, signed.record)
    if (raw == null) return undefined
    return { name: raw.name, seq: raw.seq, expires: raw.expires, tombstone: isWithdrawal(raw), value }
  } catch {
    return undefined
  }
}

function isWithdrawal (raw: { aid: unknown, addrs: unknown[] }): boolean {
  return bytesOf(raw.aid).byteLength === 0 && raw.addrs.length === 0
}

/**
 * Whether a stored entry still counts at `now`: a live record until it
 * expires; a tombstone for `MAX_TTL_MS` after it was signed (by then every
 * record signed before it has expired, so it shadows nothing).
 */
export function isCurrent (entry: { seq: number, expires: number, tombstone: boolean }, now: number): boolean {
  return entry.tombstone ? entry.seq + MAX_TTL_MS > now : entry.expires > now
}

/** Verify a signed record for the DHT: the record rules of spec/rendezvous.md, live or tombstone, at `now`. */
export async function verifyEntry (signed: SignedRecord, now: number): Promise<DhtEntry> {
  // peek at the shape (bounded: an oversized record is left for verifyRecord to refuse)
  const raw = signed?.record instanceof Uint8Array && signed.record.byteLength <= MAX_RECORD_BYTES
    ? tryDecode<{ aid: unknown, addrs: unknown[] }>(RecordType, signed.record)
    : undefined
  const tombstone = raw != null && isWithdrawal(raw)
  // verifyRecord bounds the size first (RecordTooLargeError) and checks the signature before any other rule
  const record = await verifyRecord(signed, { now, tombstone })
  if (tombstone && !isCurrent({ ...record, tombstone }, now)) {
    throw new ExpiredRecordError(`tombstone for ${JSON.stringify(record.name)} is older than ${MAX_TTL_MS} ms: it withdraws nothing any more`)
  }
  return { record, seq: record.seq, tombstone, value: encodeSignedRecord(record.signed) }
}

/**
 * The DHT validator (spec/dht.md#validator): `value` must be the canonical
 * encoding of a SignedRecord that verifies at `now` (signature by the key it
 * names, every bound, not expired; or a current tombstone), for exactly the
 * name in `key`. Throws a typed rendezvous error otherwise.
 */
export async function verifyDhtValue (key: Uint8Array, value: Uint8Array, now: number): Promise<DhtEntry> {
  const name = nameOfKey(key)
  if (!(value instanceof Uint8Array)) throw new InvalidRecordError('DHT value must be bytes')
  const entry = await verifyEntry(decodeSignedRecord(value), now)
  if (entry.record.name !== name) {
    throw new InvalidRecordError(`record for ${JSON.stringify(entry.record.name)} stored under the key of ${JSON.stringify(name)}`)
  }
  if (!bytesEqual(entry.value, value)) throw new InvalidRecordError('DHT value is not the canonical SignedRecord encoding')
  return entry
}

/**
 * The order of the selector (spec/dht.md#selector), a strict total order on
 * distinct values: higher `seq` wins; at equal `seq` a tombstone wins over a
 * live record; then the larger value bytes (so every node picks the same one).
 * Positive if `a` is better than `b`, 0 only for identical values.
 */
export function compareEntries (a: Ranked, b: Ranked): number {
  if (a.seq !== b.seq) return a.seq > b.seq ? 1 : -1
  if (a.tombstone !== b.tombstone) return a.tombstone ? 1 : -1
  return compareBytes(a.value, b.value)
}

/** Verifies one DHT value for its key at a time: {@link verifyDhtValue}, or its private counterpart. */
export type ValueVerifier<E extends Ranked> = (key: Uint8Array, value: Uint8Array, now: number) => Promise<E>

/** The best of `values` that verify for `key` at `now` (by `verify`, default {@link verifyDhtValue}), or undefined if none does. */
export async function selectBest<E extends Ranked = DhtEntry> (key: Uint8Array, values: Uint8Array[], now: number, verify: ValueVerifier<E> = verifyDhtValue as unknown as ValueVerifier<E>): Promise<{ index: number, entry: E } | undefined> {
  let best: { index: number, entry: E } | undefined
  const seen = new Set<string>()
  for (const [index, value] of values.entries()) {
    const id = Buffer.from(value).toString('base64')
    if (seen.has(id)) continue
    seen.add(id)
    let entry: E
    try {
      entry = await verify(key, value, now)
    } catch {
      continue
    }
    if (best == null || compareEntries(entry, best.entry) > 0) best = { index, entry }
  }
  return best
}

export function bytesEqual (a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && compareBytes(a, b) === 0
}

function compareBytes (a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.byteLength, b.byteLength)
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) return a[i]! > b[i]! ? 1 : -1
  }
  return a.byteLength === b.byteLength ? 0 : (a.byteLength > b.byteLength ? 1 : -1)
}
