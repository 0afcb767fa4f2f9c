import { publicKeyFromProtobuf } from '@libp2p/crypto/keys'
import { APP_NAME_PATTERN, CERTIFICATE_DOMAIN, CERTIFICATE_VERSION, MAX_CERTIFICATE_BYTES, REVOCATION_DOMAIN } from './constants.ts'
import {
  CertificateExpiredError, CertificateRevokedError, InvalidCertificateError, InvalidRevocationError
} from './errors.ts'
import { CertificateType, RevocationType, SignedCertificateType, SignedRevocationType, bytesOf, tryDecode } from './internal/codec.ts'
import { verifyDomain } from './sign.ts'
import type { Ed25519PublicKey, PublicKey } from '@libp2p/interface'

/** Bytes of an Ed25519 signature. */
const SIGNATURE_BYTES = 64

/** A Certificate's bytes and the device key's signature over them, exactly as signed. */
export interface SignedCertificate {
  certificate: Uint8Array
  signature: Uint8Array
}

/** A Revocation's bytes and the device key's signature over them, exactly as signed. */
export interface SignedRevocation {
  revocation: Uint8Array
  signature: Uint8Array
}

/** A verified certificate: the device key vouches that the application key is its key for `app`. */
export interface Certificate {
  version: number
  devicePublicKey: Ed25519PublicKey
  appPublicKey: Ed25519PublicKey
  app: string
  generation: number
  /** Start of validity, ms since the Unix epoch (inclusive). */
  notBefore: number
  /** End of validity, ms since the Unix epoch (inclusive). */
  notAfter: number
}

/** A verified revocation: the device key revokes its certificates for `app` below a generation. */
export interface Revocation {
  devicePublicKey: Ed25519PublicKey
  app: string
  /** Certificates with `generation < belowGeneration` are revoked. */
  belowGeneration: number
  /** Issue time, ms since the Unix epoch. */
  issued: number
}

/** Options for {@link verifyCertificate}. */
export interface VerifyCertificateOptions {
  /** Current time, ms since the epoch (default `Date.now()`). */
  now?: number
  /** Revocations to honour; ones that do not verify, or are for another device or application, are ignored. */
  revocations?: Iterable<SignedRevocation>
  /** Refuse the certificate unless this device key issued it (the key a name is pinned to). */
  devicePublicKey?: PublicKey
}

/** The typed error a verifier throws. */
type ErrorClass = new (message: string) => Error

function ed25519Key (bytes: Uint8Array, what: string, Err: ErrorClass): Ed25519PublicKey {
  let key: PublicKey
  try {
    key = publicKeyFromProtobuf(bytes)
  } catch {
    throw new Err(`${what} does not decode`)
  }
  if (key.type !== 'Ed25519') throw new Err(`${what} must be Ed25519, got ${key.type}`)
  return key
}

function signedParts (signed: unknown, body: 'certificate' | 'revocation', Err: ErrorClass): { body: Uint8Array, signature: Uint8Array } {
  const s = signed as Record<string, unknown> | null | undefined
  const bytes = s?.[body]
  if (!(bytes instanceof Uint8Array) || !(s?.signature instanceof Uint8Array)) {
    throw new Err(`signed ${body} must have ${body} and signature bytes`)
  }
  if (bytes.byteLength > MAX_CERTIFICATE_BYTES) throw new Err(`${body} is ${bytes.byteLength} bytes; at most ${MAX_CERTIFICATE_BYTES}`)
  if (s.signature.byteLength !== SIGNATURE_BYTES) throw new Err(`signature must be ${SIGNATURE_BYTES} bytes, got ${s.signature.byteLength}`)
  return { body: bytes, signature: s.signature }
}

interface RawRevocation { devicePublicKey: unknown, app: string, belowGeneration: number, issued: number }

/**
 * Verify a revocation's format and its device key's signature, and return
 * its fields; throws {@link InvalidRevocationError} otherwise.
 */
export async function verifyRevocation (signed: SignedRevocation): Promise<Revocation> {
  const { body, signature } = signedParts(signed, 'revocation', InvalidRevocationError)
  const raw = tryDecode<RawRevocation>(RevocationType, body)
  if (raw == null) throw new InvalidRevocationError('revocation does not decode')
  if (!APP_NAME_PATTERN.test(raw.app)) throw new InvalidRevocationError(`invalid application name ${JSON.stringify(raw.app)}`)
  if (raw.belowGeneration < 1) throw new InvalidRevocationError('belowGeneration must be at least 1')
  if (!Number.isSafeInteger(raw.issued)) throw new InvalidRevocationError('issued must be a safe integer')
  const devicePublicKey = ed25519Key(bytesOf(raw.devicePublicKey), 'device public key', InvalidRevocationError)
  if (!(await verifyDomain(devicePublicKey, REVOCATION_DOMAIN, body, signature))) {
    throw new InvalidRevocationError('revocation is not signed by the device key it names')
  }
  return { devicePublicKey, app: raw.app, belowGeneration: raw.belowGeneration, issued: raw.issued }
}

interface RawCertificate {
  version: number, devicePublicKey: unknown, appPublicKey: unknown, app: string, generation: number, notBefore: number, notAfter: number
}

async function revokedBy (cert: Certificate, revocations: Iterable<SignedRevocation>): Promise<Revocation | undefined> {
  for (const signed of revocations) {
    let revocation: Revocation
    try {
      revocation = await verifyRevocation(signed)
    } catch {
      continue // a revocation that does not verify says nothing about anyone
    }
    if (revocation.app === cert.app && revocation.devicePublicKey.equals(cert.devicePublicKey) && cert.generation < revocation.belowGeneration) {
      return revocation
    }
  }
  return undefined
}

/**
 * Verify a certificate and return its fields (spec/identity.md#certificates).
 * Throws, checking in this order: {@link InvalidCertificateError} if it does
 * not decode, breaks a format rule, was not signed by the device key it names
 * or not by `options.devicePublicKey`; {@link CertificateRevokedError} if one
 * of `options.revocations` revokes it; {@link CertificateExpiredError} if
 * `now` is outside `[notBefore, notAfter]`.
 */
export async function verifyCertificate (signed: SignedCertificate, options: VerifyCertificateOptions = {}): Promise<Certificate> {
  const now = options.now ?? Date.now()
  if (!Number.isSafeInteger(now)) throw new RangeError(`options.now must be a safe integer (ms since the epoch), got ${String(now)}`)
  const { body, signature } = signedParts(signed, 'certificate', InvalidCertificateError)
  const raw = tryDecode<RawCertificate>(CertificateType, body)
  if (raw == null) throw new InvalidCertificateError('certificate does not decode')
  if (raw.version !== CERTIFICATE_VERSION) throw new InvalidCertificateError(`unknown certificate version ${raw.version}`)
  if (!APP_NAME_PATTERN.test(raw.app)) throw new InvalidCertificateError(`invalid application name ${JSON.stringify(raw.app)}`)
  if (!Number.isSafeInteger(raw.notBefore) || !Number.isSafeInteger(raw.notAfter) || raw.notBefore > raw.notAfter) {
    throw new InvalidCertificateError('notBefore and notAfter must be safe integers with notBefore <= notAfter')
  }
  const devicePublicKey = ed25519Key(bytesOf(raw.devicePublicKey), 'device public key', InvalidCertificateError)
  const appPublicKey = ed25519Key(bytesOf(raw.appPublicKey), 'application public key', InvalidCertificateError)
  if (appPublicKey.equals(devicePublicKey)) throw new InvalidCertificateError('the application key must not be the device key')
  if (options.devicePublicKey != null && !devicePublicKey.equals(options.devicePublicKey)) {
    throw new InvalidCertificateError('certificate was issued by another device key')
  }
  if (!(await verifyDomain(devicePublicKey, CERTIFICATE_DOMAIN, body, signature))) {
    throw new InvalidCertificateError('certificate is not signed by the device key it names')
  }
  const cert: Certificate = {
    version: raw.version, devicePublicKey, appPublicKey, app: raw.app, generation: raw.generation, notBefore: raw.notBefore, notAfter: raw.notAfter
  }
  const revocation = await revokedBy(cert, options.revocations ?? [])
  if (revocation != null) {
    throw new CertificateRevokedError(`certificate for ${JSON.stringify(cert.app)} generation ${cert.generation} is revoked (below ${revocation.belowGeneration})`)
  }
  if (now < cert.notBefore) throw new CertificateExpiredError(`certificate is not valid before ${timeText(cert.notBefore)}`)
  if (now > cert.notAfter) throw new CertificateExpiredError(`certificate expired at ${timeText(cert.notAfter)}`)
  return cert
}

/** Encode a signed certificate as a standalone SignedCertificate message. */
export function encodeSignedCertificate (signed: SignedCertificate): Uint8Array {
  return SignedCertificateType.encode(signed).finish()
}

/** Decode a standalone SignedCertificate message (bounded; not yet verified), or throw {@link InvalidCertificateError}. */
export function decodeSignedCertificate (bytes: Uint8Array): SignedCertificate {
  if (!(bytes instanceof Uint8Array)) throw new TypeError('bytes must be a Uint8Array')
  if (bytes.byteLength > MAX_CERTIFICATE_BYTES + SIGNATURE_BYTES + 16) throw new InvalidCertificateError('signed certificate too large')
  const raw = tryDecode<{ certificate: unknown, signature: unknown }>(SignedCertificateType, bytes)
  if (raw == null) throw new InvalidCertificateError('signed certificate does not decode')
  return { certificate: bytesOf(raw.certificate), signature: bytesOf(raw.signature) }
}

/** Encode a signed revocation as a standalone SignedRevocation message. */
export function encodeSignedRevocation (signed: SignedRevocation): Uint8Array {
  return SignedRevocationType.encode(signed).finish()
}

/** Decode a standalone SignedRevocation message (bounded; not yet verified), or throw {@link InvalidRevocationError}. */
export function decodeSignedRevocation (bytes: Uint8Array): SignedRevocation {
  if (!(bytes instanceof Uint8Array)) throw new TypeError('bytes must be a Uint8Array')
  if (bytes.byteLength > MAX_CERTIFICATE_BYTES + SIGNATURE_BYTES + 16) throw new InvalidRevocationError('signed revocation too large')
  const raw = tryDecode<{ revocation: unknown, signature: unknown }>(SignedRevocationType, bytes)
  if (raw == null) throw new InvalidRevocationError('signed revocation does not decode')
  return { revocation: bytesOf(raw.revocation), signature: bytesOf(raw.signature) }
}

/**
 * A time for an error message: ISO 8601 where a Date can hold it, else the
 * milliseconds (a signed field may hold any safe integer; `toISOString` throws
 * a RangeError beyond ±8.64e15 ms).
 */
export function timeText (ms: number): string {
  const date = new Date(ms)
  return Number.isNaN(date.getTime()) ? `${ms} ms since the epoch` : date.toISOString()
}
