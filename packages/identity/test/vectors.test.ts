// The package reproduces spec/vectors/identity.json byte for byte; the vectors
// come from spec/vectors/generate-identity.mjs, which shares no code with it.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { publicKeyFromProtobuf, publicKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { describe, expect, it } from 'vitest'
import { rejection, thrown } from '@fara/testkit'
import {
  decodeSignedCertificate, decodeSignedRevocation, encodeSignedCertificate, encodeSignedRevocation,
  openKeystore, parseSelfCertifyingName, selfCertifyingName, verifyCertificate, verifyRevocation
} from '../src/index.ts'
import { CERTIFICATE_DOMAIN, KEYSTORE_FILE, REVOCATION_DOMAIN } from '../src/constants.ts'
import { appKeyInfo, deriveAppKey, deriveAppSeed, keyFromSeed } from '../src/internal/derive.ts'
import { issueCertificate, issueRevocation } from '../src/internal/issue.ts'
import { deriveFileKey, parseKeystore, sealKeystore, unsealKeystore } from '../src/internal/keystore-file.ts'
import { hex, unhex, vectors } from './helpers.ts'

const deviceKey = async (): ReturnType<typeof keyFromSeed> => keyFromSeed(unhex(vectors.device.seed))

describe('spec/vectors/identity.json', () => {
  it('device key: public key and peer id from the 32-byte device seed', async () => {
    const key = await deviceKey()
    expect(hex(publicKeyToProtobuf(key.publicKey))).toBe(vectors.device.publicKey)
    expect(peerIdFromPrivateKey(key).toString()).toBe(vectors.device.peerId)
  })

  it.each(vectors.appKeys)('application key $app generation $generation: HKDF info, seed, public key and peer id', async (v) => {
    const deviceSeed = unhex(vectors.device.seed)
    expect(hex(appKeyInfo(v.app, v.generation))).toBe(v.info)
    expect(hex(deriveAppSeed(deviceSeed, v.app, v.generation))).toBe(v.seed)
    const key = await deriveAppKey(deviceSeed, v.app, v.generation)
    expect(hex(publicKeyToProtobuf(key.publicKey))).toBe(v.publicKey)
    expect(peerIdFromPrivateKey(key).toString()).toBe(v.peerId)
    expect(hex(deviceSeed)).toBe(vectors.device.seed) // the device seed is read, never wiped by derivation
  })

  it('certificate: bytes, signature and SignedCertificate encoding', async () => {
    const v = vectors.certificate
    const app = vectors.appKeys.find(a => a.app === v.app && a.generation === v.generation)!
    expect(v.domain).toBe(CERTIFICATE_DOMAIN)
    const signed = await issueCertificate(await deviceKey(), {
      appPublicKey: publicKeyFromProtobuf(unhex(app.publicKey)), app: v.app, generation: v.generation, notBefore: v.notBefore, notAfter: v.notAfter
    })
    expect(hex(signed.certificate)).toBe(v.certificate)
    expect(hex(signed.signature)).toBe(v.signature)
    expect(hex(encodeSignedCertificate(signed))).toBe(v.signed)
    const cert = await verifyCertificate(decodeSignedCertificate(unhex(v.signed)), { now: v.notBefore })
    expect([cert.app, cert.generation, cert.notBefore, cert.notAfter]).toEqual([v.app, v.generation, v.notBefore, v.notAfter])
    expect(hex(publicKeyToProtobuf(cert.devicePublicKey))).toBe(vectors.device.publicKey)
  })

  it('revocation: bytes, signature and SignedRevocation encoding', async () => {
    const v = vectors.revocation
    expect(v.domain).toBe(REVOCATION_DOMAIN)
    const signed = await issueRevocation(await deviceKey(), { app: v.app, belowGeneration: v.belowGeneration, issued: v.issued })
    expect(hex(signed.revocation)).toBe(v.revocation)
    expect(hex(signed.signature)).toBe(v.signature)
    expect(hex(encodeSignedRevocation(signed))).toBe(v.signed)
    const revocation = await verifyRevocation(decodeSignedRevocation(unhex(v.signed)))
    expect([revocation.app, revocation.belowGeneration, revocation.issued]).toEqual([v.app, v.belowGeneration, v.issued])
    const certificate = decodeSignedCertificate(unhex(vectors.certificate.signed))
    const err = await rejection(verifyCertificate(certificate, { now: vectors.certificate.notBefore, revocations: [signed] }))
    expect(err.name).toBe('CertificateRevokedError')
  })

  it.each(vectors.names.valid)('self-certifying name $name', async (v) => {
    const key = await deviceKey()
    expect(selfCertifyingName(v.label, key.publicKey)).toBe(v.name)
    const parsed = parseSelfCertifyingName(v.name)
    expect([parsed.label, hex(parsed.keyHash), parsed.version]).toEqual([v.label, v.keyHash, v.version])
  })

  it.each(vectors.names.invalid)('refuses the invalid name $name ($reason) with InvalidNameError', (v) => {
    const err = thrown(() => parseSelfCertifyingName(v.name))
    expect(err.name).toBe('InvalidNameError')
    expect(err.message).toMatch(v.reason)
  })

  it('keystore file: file key, contents, and the whole file byte for byte', async () => {
    const v = vectors.keystore
    const bytes = unhex(v.file)
    const file = parseKeystore(bytes, 'vector')
    expect(file.params).toEqual(v.kdf)
    expect(hex(file.salt)).toBe(v.salt)
    const key = await deriveFileKey(new TextEncoder().encode(v.passphrase), file.salt, file.params)
    expect(hex(key)).toBe(v.fileKey)
    const contents = unsealKeystore(file, key, 'vector')
    expect(hex(contents.deviceSeed)).toBe(vectors.device.seed)
    expect([...contents.apps].map(([app, generation]) => ({ app, generation }))).toEqual(v.apps)
    expect(hex(sealKeystore(contents, key, v.kdf, unhex(v.salt), unhex(v.nonce)))).toBe(v.file)
  })

  it('keystore file: openKeystore reads it and derives the vector keys', async () => {
    const root = await mkdtemp(join(tmpdir(), 'fara-vectors-'))
    try {
      const dir = join(root, 'keystore')
      await mkdir(dir, { mode: 0o700 })
      await writeFile(join(dir, KEYSTORE_FILE), unhex(vectors.keystore.file), { mode: 0o600 })
      const ks = await openKeystore(dir, { passphrase: vectors.keystore.passphrase })
      expect(ks.device.peerId.toString()).toBe(vectors.device.peerId)
      expect(ks.generation('chat')).toBe(1)
      expect((await ks.app('chat')).peerId.toString()).toBe(vectors.appKeys.find(a => a.app === 'chat' && a.generation === 1)!.peerId)
      expect((await ks.app('mail')).peerId.toString()).toBe(vectors.appKeys.find(a => a.app === 'mail')!.peerId)
    } finally {
      await rm(root, { recursive: true, force: true })
    }
  })
})
