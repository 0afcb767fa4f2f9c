/**
 * What a `RecordStore` keeps of a verified record besides its signed bytes,
 * and the record it hands out on a read, rebuilt from those bytes without
 * verifying the signature again (the store verified it on put or load, and
 * the bytes have not left its memory since).
 */
import { publicKeyFromProtobuf, publicKeyFromRaw } from '@libp2p/crypto/keys'
import { peerIdFromPublicKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { timeText } from '@fara/identity'
import { CERTIFICATE_VERSION } from '@fara/identity/constants'
import { MAX_CLOCK_SKEW_MS } from '../constants.ts'
import { ExpiredRecordError, InvalidRecordError, RevokedError } from '../errors.ts'
import { RecordType, bytesOf, tryDecode } from './codec.ts'
import type { ServiceRecord, SignedRecord } from '../record.ts'
import type { Certificate } from '@fara/identity'
import type { Ed25519PublicKey, PeerId, PublicKey } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/** The fields of a record's verified certificate that decide whether it may still be served. */
export interface CertificateInfo {
  readonly app: string
  readonly generation: number
  readonly notBefore: number
  readonly notAfter: number
}

/** The compact form of a verified certificate. */
export function certificateInfo (c: Certificate): CertificateInfo {
  return { app: c.app, generation: c.generation, notBefore: c.notBefore, notAfter: c.notAfter }
}

/**
 * An owner key (a record key, a device key or a private writer key; all
 * Ed25519) as a short string: its 32 raw bytes, one character each.
 */
export function ownerKeyOf (key: PublicKey): string {
  if (key.type !== 'Ed25519') throw new InvalidRecordError(`owner key must be Ed25519, got ${key.type}`)
  return Buffer.from(key.raw.buffer, key.raw.byteOffset, key.raw.byteLength).toString('latin1')
}

/**
 * The checks of `verifyRecord` that depend on the clock or on revocations
 * learned since, in its order, with its errors: the record's `seq` is not too
 * far ahead (the clock may have gone back), its certificate is not revoked
 * (`revokedBelow`: the newest revocation's generation for its device and
 * app) and is within its validity. Expiry of the record itself is the store's
 * own check.
 */
export function checkServable (seq: number, cert: CertificateInfo | undefined, revokedBelow: number | undefined, now: number): void {
  if (seq > now + MAX_CLOCK_SKEW_MS) throw new InvalidRecordError('record seq is too far in the future')
  if (cert == null) return
  if (revokedBelow != null && cert.generation < revokedBelow) {
    throw new RevokedError(`certificate for ${JSON.stringify(cert.app)} generation ${cert.generation} is revoked (below ${revokedBelow})`)
  }
  if (now < cert.notBefore) throw new ExpiredRecordError(`record certificate: certificate is not valid before ${timeText(cert.notBefore)}`)
  if (now > cert.notAfter) throw new ExpiredRecordError(`record certificate: certificate expired at ${timeText(cert.notAfter)}`)
}

interface RawRecord { name: string, publicKey: unknown, addrs: unknown[], aid: unknown, seq: number, expires: number, hop: unknown }

/**
 * The `ServiceRecord` of signed bytes that were verified before, with `cert`
 * the certificate's fields and `owner` the device key's {@link ownerKeyOf}
 * for a certified record. Plain fields are decoded at once (the protobuf
 * decode is cheap); the key, PeerId, addresses and certificate objects are
 * built on first access, so a caller that only passes `signed` on (the
 * rendezvous point) pays for none of them. `signed` is the caller's own copy.
 */
export function storedRecord (signed: SignedRecord, cert: CertificateInfo | undefined, owner: string): ServiceRecord {
  const raw = tryDecode<RawRecord>(RecordType, signed.record)
  if (raw == null) throw new InvalidRecordError('stored record does not decode')
  let publicKey: PublicKey | undefined
  let peerId: PeerId | undefined
  let addrs: Multiaddr[] | undefined
  let certificate: Certificate | undefined
  const keyOf = (): PublicKey => (publicKey ??= publicKeyFromProtobuf(bytesOf(raw.publicKey)))
  const certificateOf = (c: CertificateInfo): Certificate => (certificate ??= {
    version: CERTIFICATE_VERSION,
    devicePublicKey: publicKeyFromRaw(Buffer.from(owner, 'latin1')) as Ed25519PublicKey,
    appPublicKey: keyOf() as Ed25519PublicKey,
    app: c.app,
    generation: c.generation,
    notBefore: c.notBefore,
    notAfter: c.notAfter
  })
  const hop = bytesOf(raw.hop)
  const record: ServiceRecord = {
    name: raw.name,
    get publicKey () { return keyOf() },
    get peerId () { return (peerId ??= peerIdFromPublicKey(keyOf())) },
    get addrs () { return (addrs ??= raw.addrs.map(a => multiaddr(bytesOf(a)))) },
    aid: bytesOf(raw.aid),
    seq: raw.seq,
    expires: raw.expires,
    get owner () { return cert == null ? keyOf() : certificateOf(cert).devicePublicKey },
    signed
  }
  if (cert != null) Object.defineProperty(record, 'certificate', { get: () => certificateOf(cert), enumerable: true })
  if (hop.byteLength > 0) record.hop = hop
  return record
}
