// Property tests of verifyRecord (spec/rendezvous.md#records), the check
// every reader runs on every read: arbitrary bytes; every combination of
// fields signed by the key the record names (so the checks after the signature
// run too) against a reference of the rules; forged signatures (another key,
// a genuine signature over altered bytes, a self-certifying name taken by
// another key); expired and future records; tombstones and live records
// swapped; certificates valid, expired, revoked, for another key or junk.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair, publicKeyToProtobuf } from '@libp2p/crypto/keys'
import { multiaddr } from '@multiformats/multiaddr'
import { createKeystore, encodeSignedCertificate, isSelfCertifyingName, isServiceName, selfCertifyingName, signDomain } from '@fara/identity'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { rejectionIfAny } from '@fara/testkit'
import { createRecord, createTombstone, verifyRecord } from '../src/index.ts'
import {
  MAX_ADDRS, MAX_ADDR_BYTES, MAX_CLOCK_SKEW_MS, MAX_HOP_BYTES, MAX_RECORD_BYTES, MAX_TTL_MS, MIN_TTL_MS, RECORD_DOMAIN
} from '../src/constants.ts'
import {
  badName, budget, encodeFields, equalBytes, mutate, mutations, protobufSoup, propsFile, runs, serviceName, u64
} from './arbitraries.ts'
import type { ServiceRecord, SignedRecord } from '../src/index.ts'
import type { AppIdentity, SignedRevocation } from '@fara/identity'
import type { PrivateKey } from '@libp2p/interface'
import type { WireField } from './arbitraries.ts'

propsFile('rendezvous/record-props')

const NOW = 1_750_000_000_000
const DAY = 86_400_000
const SAFE = BigInt(Number.MAX_SAFE_INTEGER)
/** seq + lifetime as a uint64 field holds it (a longer varint is no protobuf: protobufjs silently drops the high bits). */
const expiresOf = (f: { seq: bigint, lifetime: bigint }): bigint => (f.seq + f.lifetime) & (2n ** 64n - 1n)
const FAST_KDF = { N: 2 ** 10, r: 8, p: 1 }
const RECORD_ERRORS = ['InvalidRecordError', 'InvalidSignatureError', 'RecordTooLargeError', 'ExpiredRecordError', 'RevokedError']

let dir: string
const k = {} as {
  other: PrivateKey, secp: PrivateKey, ecdsa: PrivateKey, rsa: PrivateKey
  gen0: AppIdentity, gen1: AppIdentity, expiredCert: AppIdentity, devicePublicKey: AppIdentity['devicePublicKey'], revocation: SignedRevocation
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fara-record-props-'))
  const ks = await createKeystore(join(dir, 'ks'), { passphrase: 'pw', kdf: FAST_KDF })
  k.gen0 = await ks.app('svc', { now: NOW })
  k.expiredCert = await ks.app('svc', { now: NOW - 3 * DAY, lifetime: DAY })
  k.gen1 = await ks.rotate('svc', { now: NOW })
  k.revocation = await ks.revoke('svc', 1, { now: NOW })
  k.devicePublicKey = ks.device.publicKey
  k.other = await generateKeyPair('Ed25519')
  k.secp = await generateKeyPair('secp256k1')
  k.ecdsa = await generateKeyPair('ECDSA')
  k.rsa = await generateKeyPair('RSA', 1024)
})

afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

/** The key that signs every structured record: an application key with a device certificate. */
const signer = (): PrivateKey => k.gen0.privateKey

// ---- structured records -------------------------------------------------------

type KeyChoice = 'signer' | 'other' | 'secp' | 'ecdsa' | 'rsa' | { bytes: Uint8Array }
const keyChoice: fc.Arbitrary<KeyChoice> = fc.oneof(
  { weight: 12, arbitrary: fc.constant('signer' as const) },
  { weight: 1, arbitrary: fc.constantFrom('other' as const, 'secp' as const, 'ecdsa' as const, 'rsa' as const) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 40 }).map(bytes => ({ bytes })) }
)
function keyBytes (c: KeyChoice): Uint8Array {
  if (typeof c === 'object') return c.bytes
  return publicKeyToProtobuf(c === 'signer' ? signer().publicKey : k[c].publicKey)
}

type NameChoice = { text: string } | 'sc-owner' | 'sc-signer' | 'sc-other'
const nameChoice: fc.Arbitrary<NameChoice> = fc.oneof(
  { weight: 8, arbitrary: serviceName.map(text => ({ text })) },
  { weight: 1, arbitrary: badName.map(text => ({ text })) },
  { weight: 2, arbitrary: fc.constantFrom('sc-owner' as const, 'sc-signer' as const, 'sc-other' as const) }
)

const GOOD_ADDRS = ['/ip4/127.0.0.1/tcp/4001', '/ip6/::1/udp/4001/quic-v1', '/dns4/example.com/tcp/443/tls/ws', '/ip4/10.0.0.1/tcp/1/p2p-circuit'].map(a => multiaddr(a).bytes)
const addr = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...GOOD_ADDRS) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 12 }) },
  { weight: 1, arbitrary: fc.integer({ min: MAX_ADDR_BYTES - 1, max: MAX_ADDR_BYTES + 2 }).map(n => Uint8Array.from([4, 127, 0, 0, 1, 6, 0, 80, ...new Array<number>(Math.max(0, n - 8)).fill(0)])) }
)

type CertChoice = 'none' | 'valid' | 'expired' | 'other-key' | { junk: Uint8Array }
const certChoice: fc.Arbitrary<CertChoice> = fc.oneof(
  { weight: 4, arbitrary: fc.constant('none' as const) },
  { weight: 3, arbitrary: fc.constant('valid' as const) },
  { weight: 1, arbitrary: fc.constantFrom('expired' as const, 'other-key' as const) },
  { weight: 1, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 60 }).map(junk => ({ junk })) }
)

const recordFields = fc.record({
  name: nameChoice,
  key: keyChoice,
  addrs: fc.oneof({ weight: 6, arbitrary: fc.array(addr, { minLength: 1, maxLength: 3 }) }, { weight: 1, arbitrary: fc.array(addr, { maxLength: MAX_ADDRS + 2 }) }),
  aidLength: fc.oneof({ weight: 6, arbitrary: fc.constant(8) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 12 }) }),
  // seq, relative to the verifier's clock; then the lifetime expires - seq
  seq: fc.oneof(
    { weight: 6, arbitrary: fc.bigInt({ min: BigInt(NOW - 2 * DAY), max: BigInt(NOW) }) },
    { weight: 1, arbitrary: fc.bigInt({ min: BigInt(NOW + MAX_CLOCK_SKEW_MS - 2), max: BigInt(NOW + MAX_CLOCK_SKEW_MS + 2) }) },
    { weight: 1, arbitrary: u64 }
  ),
  lifetime: fc.oneof(
    { weight: 6, arbitrary: fc.bigInt({ min: BigInt(MIN_TTL_MS), max: BigInt(MAX_TTL_MS) }) },
    { weight: 1, arbitrary: fc.constantFrom(0n, BigInt(MIN_TTL_MS - 1), BigInt(MAX_TTL_MS + 1)) },
    { weight: 1, arbitrary: u64 }
  ),
  certificate: certChoice,
  hop: fc.oneof({ weight: 4, arbitrary: fc.constant(new Uint8Array(0)) }, { weight: 1, arbitrary: fc.uint8Array({ minLength: 1, maxLength: MAX_HOP_BYTES + 4 }) }),
  tombstone: fc.boolean(),
  revoked: fc.boolean()
})
type RecordFields = typeof recordFields extends fc.Arbitrary<infer T> ? T : never

function nameOf (f: RecordFields): string {
  const owner = f.certificate === 'valid' || f.certificate === 'expired' ? k.devicePublicKey : signer().publicKey
  if (typeof f.name === 'object') return f.name.text
  if (f.name === 'sc-owner') return selfCertifyingName('svc', owner)
  if (f.name === 'sc-signer') return selfCertifyingName('svc', signer().publicKey)
  return selfCertifyingName('svc', k.other.publicKey)
}

function certBytes (c: CertChoice): Uint8Array | undefined {
  if (c === 'none') return undefined
  if (typeof c === 'object') return c.junk
  return encodeSignedCertificate(c === 'valid' ? k.gen0.certificate : c === 'expired' ? k.expiredCert.certificate : k.gen1.certificate)
}

function encodeRecord (f: RecordFields, name: string): Uint8Array {
  const u = (n: number, value: bigint): WireField => ({ field: n, wire: 0, value })
  const b = (n: number, value: Uint8Array): WireField => ({ field: n, wire: 2, value })
  const cert = certBytes(f.certificate)
  return encodeFields([
    b(1, new TextEncoder().encode(name)), b(2, keyBytes(f.key)), ...f.addrs.map(a => b(3, a)), b(4, new Uint8Array(f.aidLength).fill(5)),
    u(5, f.seq), u(6, expiresOf(f)), ...(cert == null ? [] : [b(7, cert)]), ...(f.hop.byteLength === 0 ? [] : [b(8, f.hop)])
  ])
}

const parses = (bytes: Uint8Array): boolean => { try { multiaddr(bytes); return true } catch { return false } }

/** The reference: spec/rendezvous.md#records, check by check, for a record signed by `signer()`. */
function expected (f: RecordFields, name: string, bytes: Uint8Array): string {
  const expires = expiresOf(f)
  if (bytes.byteLength > MAX_RECORD_BYTES) return 'RecordTooLargeError'
  if (!isServiceName(name)) return 'InvalidRecordError'
  // junk bytes are no key, or (rarely) another Ed25519 key: then the signature is not its own
  if (typeof f.key === 'object') return 'InvalidRecordError|InvalidSignatureError'
  if (f.key !== 'signer' && f.key !== 'other') return 'InvalidRecordError'
  if (f.key === 'other') return 'InvalidSignatureError'
  if (f.seq > SAFE || expires > SAFE) return 'InvalidRecordError'
  if (f.seq > BigInt(NOW + MAX_CLOCK_SKEW_MS)) return 'InvalidRecordError'
  if (f.addrs.length > MAX_ADDRS) return 'InvalidRecordError'
  if (f.addrs.some(a => a.byteLength > MAX_ADDR_BYTES || !parses(a))) return 'InvalidRecordError'
  if (f.tombstone) {
    if (f.aidLength !== 0 || f.addrs.length !== 0 || expires > f.seq) return 'InvalidRecordError'
  } else {
    if (f.aidLength !== 8 || f.addrs.length === 0) return 'InvalidRecordError'
    if (expires - f.seq > BigInt(MAX_TTL_MS) || expires - f.seq < BigInt(MIN_TTL_MS)) return 'InvalidRecordError'
    if (expires <= BigInt(NOW)) return 'ExpiredRecordError'
  }
  if (f.hop.byteLength > MAX_HOP_BYTES || (f.hop.byteLength > 0 && f.tombstone)) return 'InvalidRecordError'
  if (typeof f.certificate === 'object' || f.certificate === 'other-key') return 'InvalidRecordError'
  if ((f.certificate === 'valid' || f.certificate === 'expired') && f.revoked) return 'RevokedError'
  if (f.certificate === 'expired') return 'ExpiredRecordError'
  if (f.name === 'sc-other' || (f.name === 'sc-signer' && f.certificate === 'valid')) return 'InvalidRecordError'
  return 'valid'
}

function checkValid (r: ServiceRecord, f: RecordFields, name: string): void {
  expect(r.name).toBe(name)
  expect(r.publicKey.equals(signer().publicKey)).toBe(true)
  expect(r.owner.equals(f.certificate === 'valid' ? k.devicePublicKey : signer().publicKey)).toBe(true)
  expect(r.certificate != null).toBe(f.certificate === 'valid')
  expect([r.seq, r.expires]).toEqual([Number(f.seq), Number(expiresOf(f))])
  expect(r.addrs.map(a => Buffer.from(a.bytes).toString('hex'))).toEqual(f.addrs.map(a => Buffer.from(a).toString('hex')))
  for (const a of r.addrs) expect(typeof a.toString()).toBe('string')
  expect(r.aid.byteLength).toBe(f.tombstone ? 0 : 8)
  expect(r.hop == null ? 0 : r.hop.byteLength).toBe(f.hop.byteLength)
  if (!f.tombstone) expect(r.expires > NOW).toBe(true)
}

describe('verifyRecord (properties)', () => {
  it('agrees with the reference on every combination of fields signed by the key the record names', async () => {
    await fc.assert(fc.asyncProperty(recordFields, async f => {
      const name = nameOf(f)
      // as a tombstone: mostly the right shape (no addresses, no aid, expires = seq), sometimes not
      const fields = f.tombstone
        ? { ...f, addrs: f.addrs.length > 3 ? f.addrs : [], aidLength: f.aidLength === 8 ? 0 : f.aidLength, lifetime: f.lifetime % 2n === 0n ? 0n : f.lifetime }
        : f
      const record = encodeRecord(fields, name)
      const signed = { record, signature: await signDomain(signer(), RECORD_DOMAIN, record) }
      const want = expected(fields, name, record)
      let got: ServiceRecord | undefined
      const err = await rejectionIfAny(verifyRecord(signed, { now: NOW, tombstone: fields.tombstone, ...(fields.revoked ? { revocations: [k.revocation] } : {}) }).then(r => { got = r }))
      if (want === 'valid') {
        expect(err).toBeUndefined()
        checkValid(got!, fields, name)
      } else {
        expect(want.split('|')).toContain(err?.name)
      }
    }), { numRuns: runs(1_500) })
  }, budget(30_000))

  it('refuses arbitrary bytes and protobuf soups with a typed error, whatever the signature', async () => {
    const record = fc.oneof(fc.uint8Array({ maxLength: 300 }), protobufSoup(9, 10, 60), fc.integer({ min: MAX_RECORD_BYTES - 1, max: MAX_RECORD_BYTES + 2 }).map(n => new Uint8Array(n)))
    await fc.assert(fc.asyncProperty(record, fc.uint8Array({ maxLength: 80 }), fc.boolean(), async (bytes, junk, sign) => {
      const signature = sign ? await signDomain(signer(), RECORD_DOMAIN, bytes) : junk
      const err = await rejectionIfAny(verifyRecord({ record: bytes, signature }, { now: NOW }))
      expect(RECORD_ERRORS).toContain(err?.name)
      if (bytes.byteLength > MAX_RECORD_BYTES) expect(err?.name).toBe('RecordTooLargeError')
    }), { numRuns: runs(1_500) })
  }, budget(30_000))

  it('refuses non-byte fields at the boundary with InvalidRecordError', async () => {
    await fc.assert(fc.asyncProperty(fc.anything(), fc.anything(), async (record, signature) => {
      fc.pre(!(record instanceof Uint8Array && signature instanceof Uint8Array))
      expect((await rejectionIfAny(verifyRecord({ record, signature } as never)))?.name).toBe('InvalidRecordError')
    }), { numRuns: runs(300) })
  })
})

// ---- genuine records, forged and replayed --------------------------------------

const genuineInit = fc.record({ name: serviceName, ttl: fc.integer({ min: MIN_TTL_MS, max: MAX_TTL_MS }), at: fc.integer({ min: 0, max: DAY }) })

describe('verifyRecord on genuine records, altered, forged, expired and swapped (properties)', () => {
  it('refuses the genuine signature over any other bytes', async () => {
    await fc.assert(fc.asyncProperty(genuineInit, mutations(), async (init, changes) => {
      const signed = await createRecord(signer(), { name: init.name, addrs: ['/ip4/127.0.0.1/tcp/4001'], aid: new Uint8Array(8), ttl: init.ttl, now: NOW - init.at })
      const altered = mutate(signed.record, changes)
      fc.pre(!equalBytes(altered, signed.record))
      const err = await rejectionIfAny(verifyRecord({ record: altered, signature: signed.signature }, { now: NOW - init.at }))
      expect(RECORD_ERRORS).toContain(err?.name)
      expect(err?.name).not.toBe('ExpiredRecordError')
    }), { numRuns: runs(500) })
  }, budget(30_000))

  it('refuses the genuine bytes re-signed by another key with InvalidSignatureError', async () => {
    await fc.assert(fc.asyncProperty(genuineInit, fc.constantFrom('other', 'secp', 'ecdsa', 'rsa'), async (init, forger) => {
      const signed = await createRecord(signer(), { name: init.name, addrs: ['/ip4/127.0.0.1/tcp/4001'], aid: new Uint8Array(8), ttl: init.ttl, now: NOW })
      const signature = (await signDomain(k[forger as 'other'], RECORD_DOMAIN, signed.record)).subarray(0, 64)
      const err = await rejectionIfAny(verifyRecord({ record: signed.record, signature }, { now: NOW }))
      expect(err?.name).toBe('InvalidSignatureError')
    }), { numRuns: runs(200) })
  }, budget(30_000))

  it('never lets another key hold a self-certifying name, certified or not', async () => {
    await fc.assert(fc.asyncProperty(fc.stringMatching(/^[a-z0-9]{1,12}$/), fc.boolean(), async (label, certified) => {
      // the name of the device key, claimed by a key it never certified (signed correctly by that key)
      const name = selfCertifyingName(label, k.devicePublicKey)
      expect(isSelfCertifyingName(name)).toBe(true)
      const theirs = await createRecord(k.other, { name, addrs: ['/ip4/127.0.0.1/tcp/4001'], aid: new Uint8Array(8), now: NOW })
      expect((await rejectionIfAny(verifyRecord(theirs, { now: NOW })))?.name).toBe('InvalidRecordError')
      // the genuine holder: the application key certified by the device key (or, for its own name, the key itself)
      const holder = certified
        ? await createRecord(signer(), { name, addrs: ['/ip4/127.0.0.1/tcp/4001'], aid: new Uint8Array(8), now: NOW, certificate: k.gen0.certificate })
        : await createRecord(signer(), { name: selfCertifyingName(label, signer().publicKey), addrs: ['/ip4/127.0.0.1/tcp/4001'], aid: new Uint8Array(8), now: NOW })
      await expect(verifyRecord(holder, { now: NOW })).resolves.toBeDefined()
    }), { numRuns: runs(100) })
  }, budget(30_000))

  it('is valid exactly from seq - skew to expires (exclusive), and expired from then on', async () => {
    await fc.assert(fc.asyncProperty(genuineInit, fc.integer({ min: -MAX_CLOCK_SKEW_MS - 5, max: MAX_TTL_MS + 5 }), async (init, offset) => {
      const signed = await createRecord(signer(), { name: init.name, addrs: ['/ip4/127.0.0.1/tcp/4001'], aid: new Uint8Array(8), ttl: init.ttl, now: NOW })
      const now = NOW + offset
      const err = await rejectionIfAny(verifyRecord(signed, { now }))
      if (NOW > now + MAX_CLOCK_SKEW_MS) expect(err?.name).toBe('InvalidRecordError')
      else if (now >= NOW + init.ttl) expect(err?.name).toBe('ExpiredRecordError')
      else expect(err).toBeUndefined()
    }), { numRuns: runs(500) })
  }, budget(30_000))

  it('never takes a tombstone for a live record, nor a live record for a tombstone', async () => {
    await fc.assert(fc.asyncProperty(genuineInit, async init => {
      const live = await createRecord(signer(), { name: init.name, addrs: ['/ip4/127.0.0.1/tcp/4001'], aid: new Uint8Array(8), ttl: init.ttl, now: NOW })
      const tombstone = await createTombstone(signer(), init.name, NOW)
      await expect(verifyRecord(live, { now: NOW })).resolves.toBeDefined()
      await expect(verifyRecord(tombstone, { now: NOW, tombstone: true })).resolves.toBeDefined()
      expect((await rejectionIfAny(verifyRecord(live, { now: NOW, tombstone: true })))?.name).toBe('InvalidRecordError')
      expect((await rejectionIfAny(verifyRecord(tombstone as SignedRecord, { now: NOW })))?.name).toBe('InvalidRecordError')
    }), { numRuns: runs(200) })
  }, budget(30_000))
})
