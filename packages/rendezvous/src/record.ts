import { publicKeyFromProtobuf, publicKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPublicKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import {
  CertificateExpiredError, CertificateRevokedError, assertServiceName, decodeSignedCertificate, encodeSignedCertificate, isServiceName,
  isSelfCertifyingName, nameMatchesKey, signDomain, verifyCertificate, verifyDomain, timeText
} from '@fara/identity'
import type { Certificate, SignedCertificate, SignedRevocation } from '@fara/identity'
import {
  DEFAULT_TTL_MS, MAX_ADDRS, MAX_ADDR_BYTES, MAX_HOP_BYTES, MAX_CLOCK_SKEW_MS, MAX_RECORD_BYTES, MAX_TTL_MS, MIN_TTL_MS, RECORD_DOMAIN, SIGNATURE_BYTES
} from './constants.ts'
import { ExpiredRecordError, InvalidRecordError, InvalidSignatureError, RecordTooLargeError, RevokedError } from './errors.ts'
import { RecordType, SignedRecordType, bytesOf, tryDecode } from './internal/codec.ts'
import type { PeerId, PrivateKey, PublicKey } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/** The bytes of a Record and its signature, exactly as signed and stored. */
export interface SignedRecord {
  record: Uint8Array
  signature: Uint8Array
}

/** The bytes of a PrivateRecord and its writer's signature (spec/private-names.md). */
export interface SignedPrivateRecord {
  record: Uint8Array
  signature: Uint8Array
}

/** A verified record: what a rendezvous tells a client about a service. */
export interface ServiceRecord {
  name: string
  publicKey: PublicKey
  peerId: PeerId
  /** Forwarding directive: where the entity can be reached now. */
  addrs: Multiaddr[]
  /** The service AId to open associations with (empty in a tombstone). */
  aid: Uint8Array
  seq: number
  /** Expiry, ms since the Unix epoch. */
  expires: number
  /** The key the name belongs to: the device key of a certified record, else `publicKey`. */
  owner: PublicKey
  /** The verified device certificate of `publicKey`, if the record carries one. */
  certificate?: Certificate
  /** Port-hopping parameters of the TCP addresses (opaque here; spec/port-hopping.md), if any. */
  hop?: Uint8Array
  /** The signed bytes this was verified from, to pass on verbatim. */
  signed: SignedRecord
}

/** What an entity publishes for one of its services. */
export interface RecordInit {
  name: string
  addrs: Array<Multiaddr | string>
  aid: Uint8Array
  /** Lifetime in ms (default {@link DEFAULT_TTL_MS}, between {@link MIN_TTL_MS} and {@link MAX_TTL_MS}). */
  ttl?: number
  /** Signing time and seq, ms since the epoch (default {@link monotonicNow}); tests inject one. */
  now?: number
  /**
   * The device certificate of the signing key (an `AppIdentity`'s
   * `certificate`): the name then belongs to the device key, so the service
   * can rotate its application key and keep its name.
   */
  certificate?: SignedCertificate
  /**
   * Port-hopping parameters of the TCP addresses (`encodeHopParams` of
   * `@fara/port-hopping`), at most {@link MAX_HOP_BYTES}. They contain the hop
   * key: publish them in private records only.
   */
  hop?: Uint8Array
}

/** Options for {@link verifyRecord}. */
export interface VerifyOptions {
  /** Current time, ms since the epoch (default `Date.now()`). */
  now?: number
  /** Verify a tombstone (an unregister) rather than a live record. */
  tombstone?: boolean
  /** Revocations known to the verifier; a certificate they cover is refused with `RevokedError`. */
  revocations?: Iterable<SignedRevocation>
}

let lastSeq = 0

/**
 * Milliseconds since the epoch, strictly increasing within this process: two
 * records signed in the same millisecond (a register then an unregister)
 * still have increasing seq, so the second is never refused as a replay.
 */
export function monotonicNow (): number {
  lastSeq = Math.max(Date.now(), lastSeq + 1)
  return lastSeq
}

/** Throw a TypeError/RangeError unless `lookupKey` is a 32-byte private lookup key. */
export function assertLookupKey (lookupKey: unknown): asserts lookupKey is Uint8Array {
  if (!(lookupKey instanceof Uint8Array)) throw new TypeError(`lookupKey must be a Uint8Array, got ${typeof lookupKey}`)
  if (lookupKey.byteLength !== 32) throw new RangeError(`lookupKey must be 32 bytes, got ${lookupKey.byteLength}`)
}

async function sign (key: PrivateKey, fields: { name: string, addrs: Uint8Array[], aid: Uint8Array, seq: number, expires: number, certificate?: Uint8Array, hop?: Uint8Array }): Promise<SignedRecord> {
  const record = RecordType.encode({ ...fields, publicKey: publicKeyToProtobuf(key.publicKey) }).finish()
  if (record.byteLength > MAX_RECORD_BYTES) {
    throw new RecordTooLargeError(`record is ${record.byteLength} bytes; at most ${MAX_RECORD_BYTES}`)
  }
  return { record, signature: await signDomain(key, RECORD_DOMAIN, record) }
}

/** Create and sign a record with the entity's key. */
export async function createRecord (key: PrivateKey, init: RecordInit): Promise<SignedRecord> {
  assertServiceName(init.name)
  const ttl = init.ttl ?? DEFAULT_TTL_MS
  if (!Number.isSafeInteger(ttl) || ttl < MIN_TTL_MS || ttl > MAX_TTL_MS) {
    throw new RangeError(`ttl must be an integer between ${MIN_TTL_MS} and ${MAX_TTL_MS} ms, got ${ttl}`)
  }
  if (!(init.aid instanceof Uint8Array) || init.aid.byteLength !== 8) {
    throw new RangeError('aid must be 8 bytes')
  }
  if (!Array.isArray(init.addrs) || init.addrs.length === 0 || init.addrs.length > MAX_ADDRS) {
    throw new RangeError(`addrs must hold 1 to ${MAX_ADDRS} multiaddrs, got ${init.addrs?.length}`)
  }
  const now = init.now ?? monotonicNow()
  const addrs = init.addrs.map(a => multiaddr(a.toString()).bytes)
  const certificate = init.certificate == null ? {} : { certificate: encodeSignedCertificate(init.certificate) }
  if (init.hop != null && (!(init.hop instanceof Uint8Array) || init.hop.byteLength === 0 || init.hop.byteLength > MAX_HOP_BYTES)) {
    throw new RangeError(`hop must be 1 to ${MAX_HOP_BYTES} bytes`)
  }
  return sign(key, { name: init.name, addrs, aid: init.aid, seq: now, expires: now + ttl, ...certificate, ...(init.hop == null ? {} : { hop: init.hop }) })
}

/** Create a signed tombstone: the proof that the key holder withdraws `name` (pass the certificate for a certified name). */
export async function createTombstone (key: PrivateKey, name: string, now = monotonicNow(), options: { certificate?: SignedCertificate } = {}): Promise<SignedRecord> {
  assertServiceName(name)
  const certificate = options.certificate == null ? {} : { certificate: encodeSignedCertificate(options.certificate) }
  return sign(key, { name, addrs: [], aid: new Uint8Array(0), seq: now, expires: now, ...certificate })
}

interface RawRecord { name: string, publicKey: unknown, addrs: unknown[], aid: unknown, seq: number, expires: number, certificate: unknown, hop: unknown }

/** Map the identity package's certificate errors onto this package's wire errors. */
function certificateError (err: Error): Error {
  if (err?.name === CertificateRevokedError.name) return new RevokedError(err.message)
  if (err?.name === CertificateExpiredError.name) return new ExpiredRecordError(`record certificate: ${err.message}`)
  return new InvalidRecordError(`record certificate: ${err?.message ?? String(err)}`)
}

/**
 * Verify a signed record and return its fields. Every reader calls this on
 * every read: the signature must verify under the key the record names, and
 * the record must obey every bound of spec/rendezvous.md#record.
 */
export async function verifyRecord (signed: SignedRecord, options: VerifyOptions = {}): Promise<ServiceRecord> {
  const now = options.now ?? Date.now()
  if (!(signed?.record instanceof Uint8Array) || !(signed.signature instanceof Uint8Array)) {
    throw new InvalidRecordError('signed record must have record and signature bytes')
  }
  if (signed.record.byteLength > MAX_RECORD_BYTES) {
    throw new RecordTooLargeError(`record is ${signed.record.byteLength} bytes; at most ${MAX_RECORD_BYTES}`)
  }
  if (signed.signature.byteLength !== SIGNATURE_BYTES) {
    throw new InvalidSignatureError(`signature must be ${SIGNATURE_BYTES} bytes, got ${signed.signature.byteLength}`)
  }
  const raw = tryDecode<RawRecord>(RecordType, signed.record)
  if (raw == null) throw new InvalidRecordError('record does not decode')
  if (!isServiceName(raw.name)) throw new InvalidRecordError(`invalid service name ${JSON.stringify(raw.name)}`)
  let publicKey: PublicKey
  try {
    publicKey = publicKeyFromProtobuf(bytesOf(raw.publicKey))
  } catch {
    throw new InvalidRecordError('record public key does not decode')
  }
  if (publicKey.type !== 'Ed25519') throw new InvalidRecordError(`record key must be Ed25519, got ${publicKey.type}`)
  if (!(await verifyDomain(publicKey, RECORD_DOMAIN, signed.record, signed.signature))) {
    throw new InvalidSignatureError(`record for ${JSON.stringify(raw.name)} is not signed by the key it names`)
  }
  if (!Number.isSafeInteger(raw.seq) || !Number.isSafeInteger(raw.expires)) throw new InvalidRecordError('seq and expires must be safe integers')
  if (raw.seq > now + MAX_CLOCK_SKEW_MS) throw new InvalidRecordError('record seq is too far in the future')
  const aid = bytesOf(raw.aid)
  if (raw.addrs.length > MAX_ADDRS) throw new InvalidRecordError(`record has ${raw.addrs.length} addresses; at most ${MAX_ADDRS}`)
  let addrs: Multiaddr[]
  try {
    addrs = raw.addrs.map(a => {
      const bytes = bytesOf(a)
      if (bytes.byteLength > MAX_ADDR_BYTES) throw new Error(`address of ${bytes.byteLength} bytes`)
      return multiaddr(bytes)
    })
  } catch (err) {
    throw new InvalidRecordError(`record address is invalid: ${(err as Error).message}`)
  }
  if (options.tombstone === true) {
    if (aid.byteLength !== 0 || addrs.length !== 0 || raw.expires > raw.seq) throw new InvalidRecordError('a tombstone has no aid, no addrs and expires <= seq')
  } else {
    if (aid.byteLength !== 8) throw new InvalidRecordError(`record aid must be 8 bytes, got ${aid.byteLength}`)
    if (addrs.length === 0) throw new InvalidRecordError('record has no addresses')
    if (raw.expires - raw.seq > MAX_TTL_MS) throw new InvalidRecordError(`record lifetime exceeds ${MAX_TTL_MS} ms`)
    if (raw.expires - raw.seq < MIN_TTL_MS) throw new InvalidRecordError(`record lifetime is under ${MIN_TTL_MS} ms`)
    if (raw.expires <= now) throw new ExpiredRecordError(`record for ${JSON.stringify(raw.name)} expired at ${timeText(raw.expires)}`)
  }
  const hop = bytesOf(raw.hop)
  if (hop.byteLength > MAX_HOP_BYTES) throw new InvalidRecordError(`record hop parameters are ${hop.byteLength} bytes; at most ${MAX_HOP_BYTES}`)
  if (hop.byteLength > 0 && options.tombstone === true) throw new InvalidRecordError('a tombstone has no hop parameters')
  let certificate: Certificate | undefined
  const certBytes = bytesOf(raw.certificate)
  if (certBytes.byteLength > 0) {
    try {
      certificate = await verifyCertificate(decodeSignedCertificate(certBytes), {
        now, ...(options.revocations == null ? {} : { revocations: options.revocations })
      })
    } catch (err) {
      throw certificateError(err as Error)
    }
    if (!certificate.appPublicKey.equals(publicKey)) throw new InvalidRecordError('record certificate is for another key')
  }
  const owner: PublicKey = certificate?.devicePublicKey ?? publicKey
  // a self-certifying name can only be held by the key it names: no directory can hand out another
  if (isSelfCertifyingName(raw.name) && !nameMatchesKey(raw.name, owner)) {
    throw new InvalidRecordError(`self-certifying name ${JSON.stringify(raw.name)} does not match the record's ${certificate == null ? 'key' : 'device key'}`)
  }
  return {
    name: raw.name,
    publicKey,
    owner,
    ...(certificate == null ? {} : { certificate }),
    ...(hop.byteLength === 0 ? {} : { hop: new Uint8Array(hop) }),
    peerId: peerIdFromPublicKey(publicKey),
    addrs,
    aid,
    seq: raw.seq,
    expires: raw.expires,
    signed: { record: new Uint8Array(signed.record), signature: new Uint8Array(signed.signature) }
  }
}

/** Encode a signed record as a standalone SignedRecord message. */
export function encodeSignedRecord (signed: SignedRecord): Uint8Array {
  return SignedRecordType.encode(signed).finish()
}

/** Decode a standalone SignedRecord message (bounds checked; signature not yet verified). */
export function decodeSignedRecord (bytes: Uint8Array): SignedRecord {
  if (bytes.byteLength > MAX_RECORD_BYTES + SIGNATURE_BYTES + 16) throw new RecordTooLargeError('signed record too large')
  const raw = tryDecode<{ record: unknown, signature: unknown }>(SignedRecordType, bytes)
  if (raw == null) throw new InvalidRecordError('signed record does not decode')
  return { record: bytesOf(raw.record), signature: bytesOf(raw.signature) }
}
