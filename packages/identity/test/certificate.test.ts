import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair, publicKeyToProtobuf } from '@libp2p/crypto/keys'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { rejection } from '@fara/testkit'
import {
  createKeystore, decodeSignedCertificate, decodeSignedRevocation,
  encodeSignedCertificate, encodeSignedRevocation, signDomain, verifyCertificate, verifyRevocation
} from '../src/index.ts'
import { CERTIFICATE_BACKDATE, CERTIFICATE_DOMAIN, DEFAULT_CERTIFICATE_LIFETIME } from '../src/constants.ts'
import { CertificateType } from '../src/internal/codec.ts'
import { issueRevocation } from '../src/internal/issue.ts'
import { FAST_KDF, PASSPHRASE } from './helpers.ts'
import type { Keystore, SignedCertificate } from '../src/index.ts'
import type { PrivateKey } from '@libp2p/interface'

const NOW = 1_700_000_000_000
const HOUR = 60 * 60 * 1000

let root: string
let ks: Keystore

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'fara-certificate-'))
  ks = await createKeystore(join(root, 'a'), { passphrase: PASSPHRASE, kdf: FAST_KDF })
})

afterEach(async () => {
  await rm(root, { recursive: true, force: true })
})

/** Sign arbitrary certificate fields, to test the rules a well-behaved issuer never breaks. */
async function forge (deviceKey: PrivateKey, fields: Record<string, unknown>): Promise<SignedCertificate> {
  const appKey = await generateKeyPair('Ed25519')
  const certificate = CertificateType.encode({
    version: 1,
    devicePublicKey: publicKeyToProtobuf(deviceKey.publicKey),
    appPublicKey: publicKeyToProtobuf(appKey.publicKey),
    app: 'chat',
    generation: 0,
    notBefore: NOW,
    notAfter: NOW + HOUR,
    ...fields
  }).finish()
  return { certificate, signature: await signDomain(deviceKey, CERTIFICATE_DOMAIN, certificate) }
}

describe('verifyCertificate', () => {
  it('accepts a certificate from the keystore and returns its fields', async () => {
    const chat = await ks.app('chat', { now: NOW })
    const cert = await verifyCertificate(chat.certificate, { now: NOW })
    expect(cert.version).toBe(1)
    expect(cert.app).toBe('chat')
    expect(cert.generation).toBe(0)
    expect(cert.devicePublicKey.equals(ks.device.publicKey)).toBe(true)
    expect(cert.appPublicKey.equals(chat.publicKey)).toBe(true)
    expect(cert.notBefore).toBe(NOW - CERTIFICATE_BACKDATE)
    expect(cert.notAfter).toBe(NOW + DEFAULT_CERTIFICATE_LIFETIME)
  })

  it('is valid for one year by default, and for the lifetime asked for', async () => {
    const year = await verifyCertificate((await ks.app('chat', { now: NOW })).certificate, { now: NOW + DEFAULT_CERTIFICATE_LIFETIME })
    expect(year.notAfter - NOW).toBe(365 * 24 * HOUR)
    const short = await ks.app('chat', { now: NOW, lifetime: HOUR })
    expect((await verifyCertificate(short.certificate, { now: NOW + HOUR })).notAfter).toBe(NOW + HOUR)
    expect((await rejection(verifyCertificate(short.certificate, { now: NOW + HOUR + 1 }))).name).toBe('CertificateExpiredError')
  })

  it('takes its default lifetime from the keystore', async () => {
    const short = await createKeystore(join(root, 'b'), { passphrase: PASSPHRASE, kdf: FAST_KDF, certificateLifetime: HOUR })
    expect((await verifyCertificate((await short.app('chat', { now: NOW })).certificate, { now: NOW })).notAfter).toBe(NOW + HOUR)
  })

  it('rejects an expired certificate and one not yet valid with CertificateExpiredError', async () => {
    const { certificate } = await ks.app('chat', { now: NOW })
    expect((await rejection(verifyCertificate(certificate, { now: NOW + DEFAULT_CERTIFICATE_LIFETIME + 1 }))).name).toBe('CertificateExpiredError')
    expect((await rejection(verifyCertificate(certificate, { now: NOW - CERTIFICATE_BACKDATE - 1 }))).name).toBe('CertificateExpiredError')
    await expect(verifyCertificate(certificate, { now: NOW - CERTIFICATE_BACKDATE })).resolves.toBeDefined()
  })

  it('rejects a certificate from another device than the one the name is pinned to', async () => {
    const other = await createKeystore(join(root, 'b'), { passphrase: PASSPHRASE, kdf: FAST_KDF })
    const { certificate } = await other.app('chat', { now: NOW })
    const err = await rejection(verifyCertificate(certificate, { now: NOW, devicePublicKey: ks.device.publicKey }))
    expect(err.name).toBe('InvalidCertificateError')
    await expect(verifyCertificate(certificate, { now: NOW, devicePublicKey: other.device.publicKey })).resolves.toBeDefined()
  })

  it('rejects a certificate signed by another key than the device key it names', async () => {
    const other = await createKeystore(join(root, 'b'), { passphrase: PASSPHRASE, kdf: FAST_KDF })
    const mine = (await ks.app('chat', { now: NOW })).certificate
    const theirs = (await other.app('chat', { now: NOW })).certificate
    const swapped = { certificate: mine.certificate, signature: theirs.signature }
    expect((await rejection(verifyCertificate(swapped, { now: NOW }))).name).toBe('InvalidCertificateError')
  })

  it('rejects a certificate with any byte of it or its signature changed', async () => {
    const { certificate: signed } = await ks.app('chat', { now: NOW })
    for (const part of ['certificate', 'signature'] as const) {
      for (let i = 0; i < signed[part].byteLength; i++) {
        const tampered = { ...signed, [part]: new Uint8Array(signed[part]) }
        tampered[part][i]! ^= 0x01
        const err = await rejection(verifyCertificate(tampered, { now: NOW }))
        expect(err.name, `${part} byte ${i}`).toBe('InvalidCertificateError')
      }
    }
  })

  it.each([
    ['an unknown version', { version: 2 }],
    ['an invalid application name', { app: '../chat' }],
    ['notBefore after notAfter', { notBefore: NOW + 1, notAfter: NOW }],
    ['a device key that does not decode', { devicePublicKey: new Uint8Array([8, 1, 18, 3, 1, 2, 3]) }]
  ])('rejects a signed certificate with %s', async (_what, fields) => {
    const device = await generateKeyPair('Ed25519')
    expect((await rejection(verifyCertificate(await forge(device, fields), { now: NOW }))).name).toBe('InvalidCertificateError')
  })

  it('rejects a certificate whose application key is the device key', async () => {
    const device = await generateKeyPair('Ed25519')
    const signed = await forge(device, { appPublicKey: publicKeyToProtobuf(device.publicKey) })
    expect((await rejection(verifyCertificate(signed, { now: NOW }))).name).toBe('InvalidCertificateError')
  })

  it('rejects a secp256k1 device key', async () => {
    const device = await generateKeyPair('secp256k1')
    expect((await rejection(verifyCertificate(await forge(device, {}), { now: NOW }))).name).toBe('InvalidCertificateError')
  })

  it.each([
    ['null', null],
    ['missing signature', { certificate: new Uint8Array(10) }],
    ['a short signature', { certificate: new Uint8Array(10), signature: new Uint8Array(63) }],
    ['an oversized certificate', { certificate: new Uint8Array(1025), signature: new Uint8Array(64) }],
    ['garbage', { certificate: new Uint8Array([0xff, 0xff, 0xff]), signature: new Uint8Array(64) }]
  ])('rejects %s with InvalidCertificateError, never a crash', async (_what, signed) => {
    expect((await rejection(verifyCertificate(signed as unknown as SignedCertificate, { now: NOW }))).name).toBe('InvalidCertificateError')
  })

  it('refuses a non-integer now with a RangeError', async () => {
    const { certificate } = await ks.app('chat')
    expect((await rejection(verifyCertificate(certificate, { now: Number.NaN }))).name).toBe('RangeError')
  })
})

describe('revocation', () => {
  it('revokes certificates below the generation and keeps the rotated key valid', async () => {
    const old = await ks.app('chat', { now: NOW })
    const rotated = await ks.rotate('chat', { now: NOW })
    const revocation = await ks.revoke('chat', 1, { now: NOW })
    const revocations = [revocation]
    expect((await rejection(verifyCertificate(old.certificate, { now: NOW, revocations }))).name).toBe('CertificateRevokedError')
    expect((await verifyCertificate(rotated.certificate, { now: NOW, revocations })).generation).toBe(1)
    await expect(verifyCertificate(old.certificate, { now: NOW })).resolves.toBeDefined()
  })

  it('reports revoked before expired', async () => {
    const old = await ks.app('chat', { now: NOW, lifetime: HOUR })
    await ks.rotate('chat')
    const revocations = [await ks.revoke('chat', 1)]
    expect((await rejection(verifyCertificate(old.certificate, { now: NOW + 2 * HOUR, revocations }))).name).toBe('CertificateRevokedError')
  })

  it('ignores revocations for another application, from another device, or that do not verify', async () => {
    const old = await ks.app('chat', { now: NOW })
    await ks.rotate('chat')
    await ks.rotate('mail')
    const other = await createKeystore(join(root, 'b'), { passphrase: PASSPHRASE, kdf: FAST_KDF })
    await other.rotate('chat')
    const forged = { ...(await ks.revoke('chat', 1)) }
    forged.signature = new Uint8Array(forged.signature)
    forged.signature[0]! ^= 1
    const revocations = [await ks.revoke('mail', 1), await other.revoke('chat', 1), forged]
    await expect(verifyCertificate(old.certificate, { now: NOW, revocations })).resolves.toBeDefined()
  })

  it('verifyRevocation returns the fields of a revocation', async () => {
    await ks.rotate('chat')
    await ks.rotate('chat')
    const revocation = await verifyRevocation(await ks.revoke('chat', 2, { now: NOW }))
    expect(revocation.app).toBe('chat')
    expect(revocation.belowGeneration).toBe(2)
    expect(revocation.issued).toBe(NOW)
    expect(revocation.devicePublicKey.equals(ks.device.publicKey)).toBe(true)
  })

  it('verifyRevocation rejects a revocation with any byte changed, or one revoking nothing', async () => {
    await ks.rotate('chat')
    const signed = await ks.revoke('chat', 1, { now: NOW })
    for (let i = 0; i < signed.revocation.byteLength; i++) {
      const revocation = new Uint8Array(signed.revocation)
      revocation[i]! ^= 0x01
      expect((await rejection(verifyRevocation({ ...signed, revocation }))).name, `byte ${i}`).toBe('InvalidRevocationError')
    }
    const device = await generateKeyPair('Ed25519')
    expect((await rejection(verifyRevocation(await issueRevocation(device, { app: 'chat', belowGeneration: 0, issued: NOW })))).name).toBe('InvalidRevocationError')
    expect((await rejection(verifyRevocation(null as never))).name).toBe('InvalidRevocationError')
  })
})

describe('encode / decode', () => {
  it('round-trips signed certificates and revocations as standalone messages', async () => {
    const { certificate } = await ks.rotate('chat')
    const decoded = decodeSignedCertificate(encodeSignedCertificate(certificate))
    expect(decoded).toEqual({ certificate: new Uint8Array(certificate.certificate), signature: new Uint8Array(certificate.signature) })
    await expect(verifyCertificate(decoded)).resolves.toBeDefined()
    const revocation = await ks.revoke('chat', 1)
    await expect(verifyRevocation(decodeSignedRevocation(encodeSignedRevocation(revocation)))).resolves.toBeDefined()
  })

  it('refuses garbage and oversized input with a typed error', () => {
    expect(() => decodeSignedCertificate(new Uint8Array([0x0a, 0xff]))).toThrow(expect.objectContaining({ name: 'InvalidCertificateError' }))
    expect(() => decodeSignedCertificate(new Uint8Array(2000))).toThrow(expect.objectContaining({ name: 'InvalidCertificateError' }))
    expect(() => decodeSignedRevocation(new Uint8Array([0x0a, 0xff]))).toThrow(expect.objectContaining({ name: 'InvalidRevocationError' }))
    expect(() => decodeSignedCertificate('x' as never)).toThrow(TypeError)
  })
})
