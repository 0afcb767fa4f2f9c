// Property tests of certificates and revocations (spec/identity.md#certificates):
// the SignedCertificate/SignedRevocation decoders and verifyCertificate /
// verifyRevocation fed arbitrary bytes, protobuf soups with wrong types,
// fields of every kind signed by the key they name, forged signatures (another
// key; valid bytes altered), expired certificates and revocation lists.
import { generateKeyPair, publicKeyToProtobuf } from '@libp2p/crypto/keys'
import fc from 'fast-check'
import { beforeAll, describe, expect, it } from 'vitest'
import { rejectionIfAny, thrownIfAny } from '@fara/testkit'
import {
  decodeSignedCertificate, decodeSignedRevocation, encodeSignedCertificate,
  encodeSignedRevocation, signDomain, verifyCertificate, verifyRevocation
} from '../src/index.ts'
import { APP_NAME_PATTERN, CERTIFICATE_DOMAIN, REVOCATION_DOMAIN } from '../src/constants.ts'
import { issueCertificate, issueRevocation } from '../src/internal/issue.ts'
import {
  appName, badAppName, budget, encodeFields, equalBytes, mutate, mutations, protobufSoup, propsFile, runs, u64
} from './arbitraries.ts'
import type { SignedCertificate, SignedRevocation } from '../src/index.ts'
import type { PrivateKey } from '@libp2p/interface'
import type { WireField } from './arbitraries.ts'

propsFile('identity/certificate-props')

const NOW = 1_700_000_000_000
const DAY = 86_400_000

interface Keys { device: PrivateKey, other: PrivateKey, app: PrivateKey, secp: PrivateKey, ecdsa: PrivateKey, rsa: PrivateKey }
const keys = {} as Keys

beforeAll(async () => {
  keys.device = await generateKeyPair('Ed25519')
  keys.other = await generateKeyPair('Ed25519')
  keys.app = await generateKeyPair('Ed25519')
  keys.secp = await generateKeyPair('secp256k1')
  keys.ecdsa = await generateKeyPair('ECDSA')
  keys.rsa = await generateKeyPair('RSA', 1024)
})

/** Which key a public-key field names: one of ours, another type, or bytes that are no key. */
type KeyChoice = 'device' | 'other' | 'app' | 'secp' | 'ecdsa' | 'rsa' | { bytes: Uint8Array }
const keyChoice = (weights: Partial<Record<'device' | 'other' | 'app', number>>): fc.Arbitrary<KeyChoice> => fc.oneof(
  { weight: weights.device ?? 1, arbitrary: fc.constant('device' as const) },
  { weight: weights.app ?? 1, arbitrary: fc.constant('app' as const) },
  { weight: weights.other ?? 1, arbitrary: fc.constant('other' as const) },
  { weight: 1, arbitrary: fc.constantFrom('secp' as const, 'ecdsa' as const, 'rsa' as const) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 40 }).map(bytes => ({ bytes })) }
)
const keyBytes = (k: KeyChoice): Uint8Array => typeof k === 'object' ? k.bytes : publicKeyToProtobuf(keys[k].publicKey)

const SAFE = BigInt(Number.MAX_SAFE_INTEGER)
const field = (n: number, value: bigint | Uint8Array | string): WireField =>
  typeof value === 'bigint' ? { field: n, wire: 0, value } : { field: n, wire: 2, value: typeof value === 'string' ? new TextEncoder().encode(value) : value }

/** Certificate fields as a careless or hostile issuer might sign them. */
const certFields = fc.record({
  version: fc.oneof({ weight: 4, arbitrary: fc.constant(1n) }, { weight: 1, arbitrary: fc.bigInt({ min: 0n, max: 2n ** 32n - 1n }) }),
  device: keyChoice({ device: 8 }),
  appKey: keyChoice({ app: 8 }),
  app: fc.oneof({ weight: 4, arbitrary: appName }, { weight: 1, arbitrary: badAppName }),
  generation: fc.oneof(fc.bigInt({ min: 0n, max: 5n }), fc.bigInt({ min: 0n, max: 2n ** 32n - 1n })),
  notBefore: fc.oneof({ weight: 4, arbitrary: fc.bigInt({ min: BigInt(NOW - 10 * DAY), max: BigInt(NOW) }) }, { weight: 1, arbitrary: u64 }),
  length: fc.oneof({ weight: 4, arbitrary: fc.bigInt({ min: 0n, max: BigInt(20 * DAY) }) }, { weight: 1, arbitrary: u64 })
})
type CertFields = typeof certFields extends fc.Arbitrary<infer T> ? T : never

/** notBefore + length as a uint64 field holds it (a longer varint is no protobuf: protobufjs silently drops the high bits). */
const notAfterOf = (f: CertFields): bigint => (f.notBefore + f.length) & (2n ** 64n - 1n)

function encodeCert (f: CertFields): Uint8Array {
  return encodeFields([
    field(1, f.version), field(2, keyBytes(f.device)), field(3, keyBytes(f.appKey)), field(4, f.app),
    field(5, f.generation), field(6, f.notBefore), field(7, notAfterOf(f))
  ])
}

/** Revocations a verifier might be handed: genuine ones for this app or another, another device's, and junk. */
const revocationChoice = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('device' as const), below: fc.integer({ min: 0, max: 8 }), sameApp: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('other' as const), below: fc.integer({ min: 1, max: 8 }), sameApp: fc.constant(true) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('junk' as const), below: fc.constant(0), sameApp: fc.constant(true) }) }
)
type RevocationChoice = typeof revocationChoice extends fc.Arbitrary<infer T> ? T : never

async function revocationOf (r: RevocationChoice, app: string): Promise<SignedRevocation> {
  if (r.kind === 'junk') return { revocation: new Uint8Array([8, 1, 18, 1]), signature: new Uint8Array(64) }
  return issueRevocation(r.kind === 'device' ? keys.device : keys.other, { app: r.sameApp ? app : `x${app}`.slice(0, 63), belowGeneration: r.below, issued: NOW })
}

/** Where `now` falls: at and around the window's ends, inside it, or anywhere. */
const nowChoice = fc.oneof(
  fc.constantFrom('before', 'start', 'end', 'after') as fc.Arbitrary<string>,
  fc.double({ min: 0, max: 1, noNaN: true })
)

function nowFor (choice: string | number, nb: bigint, na: bigint): number {
  if (nb > SAFE || na > SAFE || nb > na) return NOW
  const [b, a] = [Number(nb), Number(na)]
  switch (choice) {
    case 'before': return b - 1
    case 'start': return b
    case 'end': return a
    // no time after a window that ends at the last safe integer: `now` must be one (a RangeError otherwise)
    case 'after': return a < SAFE ? a + 1 : a
    default: return Math.floor(b + (a - b) * (choice as number))
  }
}

const CERT_ERRORS = ['InvalidCertificateError', 'CertificateExpiredError', 'CertificateRevokedError']

describe('verifyCertificate (properties)', () => {
  it('agrees with the rules of spec/identity.md on every signed combination of fields, revocations and times', async () => {
    await fc.assert(fc.asyncProperty(
      certFields, fc.array(revocationChoice, { maxLength: 3 }), nowChoice, fc.constantFrom('none', 'device', 'other'),
      async (f, revocationChoices, when, pin) => {
        const certificate = encodeCert(f)
        const signed = { certificate, signature: await signDomain(keys.device, CERTIFICATE_DOMAIN, certificate) }
        const notAfter = notAfterOf(f)
        const now = nowFor(when as string | number, f.notBefore, notAfter)
        const revocations = await Promise.all(revocationChoices.map(async r => revocationOf(r, f.app)))
        const options = { now, revocations, ...(pin === 'none' ? {} : { devicePublicKey: keys[pin as 'device' | 'other'].publicKey }) }

        // the reference: format and signature, then revocation, then the validity window
        const wellFormed = f.version === 1n && APP_NAME_PATTERN.test(f.app) && f.notBefore <= SAFE && notAfter <= SAFE && f.notBefore <= notAfter &&
          f.device === 'device' && (f.appKey === 'app' || f.appKey === 'other') && pin !== 'other'
        const revoked = revocationChoices.some(r => r.kind === 'device' && r.sameApp && r.below >= 1 && BigInt(r.below) > f.generation)
        const want = !wellFormed
          ? 'InvalidCertificateError'
          : revoked ? 'CertificateRevokedError' : (now < Number(f.notBefore) || now > Number(notAfter)) ? 'CertificateExpiredError' : 'valid'

        let cert: Awaited<ReturnType<typeof verifyCertificate>> | undefined
        const err = await rejectionIfAny(verifyCertificate(signed, options).then(c => { cert = c }))
        if (want === 'valid') {
          expect(err).toBeUndefined()
          expect(cert!.app).toBe(f.app)
          expect(cert!.generation).toBe(Number(f.generation))
          expect(cert!.devicePublicKey.equals(keys.device.publicKey) && cert!.appPublicKey.equals(keys[f.appKey as 'app' | 'other'].publicKey)).toBe(true)
          expect(cert!.notBefore <= now && now <= cert!.notAfter).toBe(true)
        } else {
          expect(err?.name).toBe(want)
        }
      }), { numRuns: runs(800) })
  }, budget(30_000))

  it('refuses arbitrary bytes, protobuf soups and junk signatures with InvalidCertificateError only', async () => {
    const body = fc.oneof(fc.uint8Array({ maxLength: 200 }), protobufSoup(8, 8, 60), fc.uint8Array({ minLength: 1025, maxLength: 1100 }))
    const signature = fc.oneof(fc.uint8Array({ minLength: 64, maxLength: 64 }), fc.uint8Array({ maxLength: 100 }))
    await fc.assert(fc.asyncProperty(body, signature, async (certificate, sig) => {
      expect((await rejectionIfAny(verifyCertificate({ certificate, signature: sig }, { now: NOW })))?.name).toBe('InvalidCertificateError')
    }), { numRuns: runs(1_000) })
  }, budget(30_000))

  it('refuses a protobuf soup signed by the device key it names with a typed error, or returns a certificate that obeys every rule', async () => {
    await fc.assert(fc.asyncProperty(protobufSoup(8, 8, 40), fc.boolean(), async (soup, named) => {
      // the device key field first, so the signature can verify and the later rules run
      const certificate = named ? Uint8Array.from([...encodeFields([field(2, publicKeyToProtobuf(keys.device.publicKey))]), ...soup]) : soup
      const signed = { certificate, signature: await signDomain(keys.device, CERTIFICATE_DOMAIN, certificate) }
      let cert: Awaited<ReturnType<typeof verifyCertificate>> | undefined
      const err = await rejectionIfAny(verifyCertificate(signed, { now: NOW }).then(c => { cert = c }))
      if (err != null) expect(CERT_ERRORS).toContain(err.name)
      else {
        expect(cert!.version).toBe(1)
        expect(cert!.app).toMatch(APP_NAME_PATTERN)
        expect(cert!.devicePublicKey.equals(keys.device.publicKey)).toBe(true)
        expect(cert!.appPublicKey.type).toBe('Ed25519')
        expect(cert!.appPublicKey.equals(cert!.devicePublicKey)).toBe(false)
        expect(cert!.notBefore <= NOW && NOW <= cert!.notAfter).toBe(true)
      }
    }), { numRuns: runs(1_000) })
  }, budget(30_000))

  it('refuses a genuine certificate whose bytes were altered, or that another key re-signed', async () => {
    const genuine = fc.record({ app: appName, generation: fc.nat({ max: 9 }) }).map(async ({ app, generation }) =>
      issueCertificate(keys.device, { appPublicKey: keys.app.publicKey, app, generation, notBefore: NOW - DAY, notAfter: NOW + DAY }))
    await fc.assert(fc.asyncProperty(genuine, mutations(), fc.constantFrom('other', 'secp', 'ecdsa'), async (issuing, changes, forger) => {
      const signed = await issuing
      await expect(verifyCertificate(signed, { now: NOW })).resolves.toBeDefined()
      const altered = mutate(signed.certificate, changes)
      if (!equalBytes(altered, signed.certificate)) {
        // a valid signature over other bytes
        expect((await rejectionIfAny(verifyCertificate({ certificate: altered, signature: signed.signature }, { now: NOW })))?.name).toBe('InvalidCertificateError')
      }
      // the same fields, signed by a key that is not the device key they name
      const forged = forger === 'other' ? await signDomain(keys.other, CERTIFICATE_DOMAIN, signed.certificate) : (await signDomain(keys[forger as 'secp' | 'ecdsa'], CERTIFICATE_DOMAIN, signed.certificate)).subarray(0, 64)
      expect((await rejectionIfAny(verifyCertificate({ certificate: signed.certificate, signature: forged }, { now: NOW })))?.name).toBe('InvalidCertificateError')
    }), { numRuns: runs(300) })
  }, budget(30_000))

  it('refuses a time that is not a safe integer with RangeError, at the boundary', async () => {
    const signed = await issueCertificate(keys.device, { appPublicKey: keys.app.publicKey, app: 'chat', generation: 0, notBefore: NOW, notAfter: NOW + DAY })
    await fc.assert(fc.asyncProperty(fc.oneof(fc.double().filter(d => !Number.isSafeInteger(d)), fc.constant(2 ** 53)), async now => {
      expect((await rejectionIfAny(verifyCertificate(signed, { now })))?.name).toBe('RangeError')
    }), { numRuns: runs(200) })
  })
})

/** Revocation fields as a careless or hostile device might sign them. */
const revFields = fc.record({
  device: keyChoice({ device: 8 }),
  app: fc.oneof({ weight: 4, arbitrary: appName }, { weight: 1, arbitrary: badAppName }),
  below: fc.oneof(fc.bigInt({ min: 0n, max: 5n }), fc.bigInt({ min: 0n, max: 2n ** 32n - 1n })),
  issued: fc.oneof({ weight: 3, arbitrary: fc.bigInt({ min: 0n, max: BigInt(NOW) }) }, { weight: 1, arbitrary: u64 })
})

describe('verifyRevocation (properties)', () => {
  it('accepts exactly the well-formed revocations signed by the device key they name', async () => {
    await fc.assert(fc.asyncProperty(revFields, async f => {
      const revocation = encodeFields([field(1, keyBytes(f.device)), field(2, f.app), field(3, f.below), field(4, f.issued)])
      const signed = { revocation, signature: await signDomain(keys.device, REVOCATION_DOMAIN, revocation) }
      const valid = f.device === 'device' && APP_NAME_PATTERN.test(f.app) && f.below >= 1n && f.issued <= SAFE
      let r: Awaited<ReturnType<typeof verifyRevocation>> | undefined
      const err = await rejectionIfAny(verifyRevocation(signed).then(v => { r = v }))
      if (valid) {
        expect(err).toBeUndefined()
        expect([r!.app, r!.belowGeneration, r!.issued]).toEqual([f.app, Number(f.below), Number(f.issued)])
      } else {
        expect(err?.name).toBe('InvalidRevocationError')
      }
    }), { numRuns: runs(800) })
  }, budget(30_000))

  it('refuses arbitrary bytes, altered revocations and forged signatures with InvalidRevocationError only', async () => {
    const genuine = await issueRevocation(keys.device, { app: 'chat', belowGeneration: 2, issued: NOW })
    await fc.assert(fc.asyncProperty(
      fc.oneof(fc.uint8Array({ maxLength: 200 }), protobufSoup(6, 8, 60), mutations().map(m => mutate(genuine.revocation, m))),
      fc.boolean(),
      async (revocation, reSign) => {
        fc.pre(!equalBytes(revocation, genuine.revocation))
        // reSign: a valid signature by another key over the bytes; else the genuine signature over other bytes
        const signature = reSign ? await signDomain(keys.other, REVOCATION_DOMAIN, revocation) : genuine.signature
        const err = await rejectionIfAny(verifyRevocation({ revocation, signature }))
        expect(err?.name).toBe('InvalidRevocationError')
      }), { numRuns: runs(1_000) })
  }, budget(30_000))
})

describe('SignedCertificate and SignedRevocation decoders (properties)', () => {
  it('decode any bytes to two byte strings or throw their typed error; non-bytes are a TypeError', () => {
    fc.assert(fc.property(fc.oneof(fc.uint8Array({ maxLength: 1200 }), protobufSoup(3, 6, 80)), bytes => {
      for (const [decode, name] of [[decodeSignedCertificate, 'InvalidCertificateError'], [decodeSignedRevocation, 'InvalidRevocationError']] as const) {
        let out: Record<string, unknown> | undefined
        const err = thrownIfAny(() => { out = decode(bytes) as unknown as Record<string, unknown> })
        if (err != null) expect(err.name).toBe(name)
        else for (const v of Object.values(out!)) expect(v).toBeInstanceOf(Uint8Array)
      }
    }), { numRuns: runs(2_000) })
    fc.assert(fc.property(fc.anything().filter(v => !(v instanceof Uint8Array)), v => {
      expect(thrownIfAny(() => decodeSignedCertificate(v as never))?.name).toBe('TypeError')
      expect(thrownIfAny(() => decodeSignedRevocation(v as never))?.name).toBe('TypeError')
    }), { numRuns: runs(200) })
  })

  it('round-trip every signed certificate and revocation byte for byte', () => {
    const signedArb = fc.record({ body: fc.uint8Array({ maxLength: 1024 }), signature: fc.uint8Array({ maxLength: 64 }) })
    fc.assert(fc.property(signedArb, ({ body, signature }) => {
      const c: SignedCertificate = decodeSignedCertificate(encodeSignedCertificate({ certificate: body, signature }))
      expect(equalBytes(c.certificate, body) && equalBytes(c.signature, signature)).toBe(true)
      const r: SignedRevocation = decodeSignedRevocation(encodeSignedRevocation({ revocation: body, signature }))
      expect(equalBytes(r.revocation, body) && equalBytes(r.signature, signature)).toBe(true)
    }), { numRuns: runs(500) })
  })
})
