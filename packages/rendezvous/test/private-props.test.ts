// Property tests of private records (spec/private-names.md): the envelope a
// rendezvous point verifies, and what a client opens. Arbitrary bytes, every
// combination of envelope fields signed by the writer key they name (against a
// reference of the rules), forged and altered envelopes, damaged ciphertexts,
// and plaintexts of any shape sealed under the right key.
import { createCipheriv } from 'node:crypto'
import { generateKeyPair, publicKeyToProtobuf } from '@libp2p/crypto/keys'
import { signDomain } from '@fara/identity'
import fc from 'fast-check'
import { beforeAll, describe, expect, it } from 'vitest'
import { rejectionIfAny, thrownIfAny } from '@fara/testkit'
import { createRecord, encodeSignedRecord } from '../src/index.ts'
import { MAX_CLOCK_SKEW_MS, MAX_PRIVATE_RECORD_BYTES, PRIVATE_BUCKETS, PRIVATE_DOMAIN, PRIVATE_PERIOD_MS } from '../src/constants.ts'
import {
  createPrivateTombstone, derivePrivateKeys, openPrivateRecord, periodOf, sealPrivateRecord, verifyPrivateEnvelope
} from '../src/private/index.ts'
import { aadOf, openBytes } from '../src/private/aead.ts'
import { deriveWriterKey, privateSlotEnd } from '../src/private/keys.ts'
import { PrivateRecordType } from '../src/internal/codec.ts'
import {
  budget, encodeFields, equalBytes, mutate, mutations, protobufSoup, propsFile, runs, serviceName, u64
} from './arbitraries.ts'
import type { SignedPrivateRecord } from '../src/index.ts'
import type { PrivateKey } from '@libp2p/interface'
import type { WireField } from './arbitraries.ts'

propsFile('rendezvous/private-props')

const NOW = 1_750_000_000_000
const PERIOD = periodOf(NOW)
const SAFE = BigInt(Number.MAX_SAFE_INTEGER)
/** seq + lifetime as a uint64 field holds it (a longer varint is no protobuf: protobufjs silently drops the high bits). */
const expiresOf = (f: { seq: bigint, lifetime: bigint }): bigint => (f.seq + f.lifetime) & (2n ** 64n - 1n)
const ENVELOPE_ERRORS = ['InvalidRecordError', 'InvalidSignatureError', 'RecordTooLargeError', 'ExpiredRecordError']
const OPEN_ERRORS = [...ENVELOPE_ERRORS, 'PrivateRecordOpenError']

const k = {} as { writer: PrivateKey, other: PrivateKey, secp: PrivateKey, entity: PrivateKey }

beforeAll(async () => {
  k.writer = await generateKeyPair('Ed25519')
  k.other = await generateKeyPair('Ed25519')
  k.secp = await generateKeyPair('secp256k1')
  k.entity = await generateKeyPair('Ed25519')
})

// ---- the envelope -------------------------------------------------------------

type WriterChoice = 'writer' | 'other' | 'secp' | { bytes: Uint8Array }
const envelopeFields = fc.record({
  lookupKeyLength: fc.oneof({ weight: 8, arbitrary: fc.constant(32) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 40 }) }),
  writer: fc.oneof(
    { weight: 10, arbitrary: fc.constant<WriterChoice>('writer') },
    { weight: 1, arbitrary: fc.constantFrom<WriterChoice>('other', 'secp') },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 40 }).map<WriterChoice>(bytes => ({ bytes })) }
  ),
  period: fc.oneof(
    { weight: 8, arbitrary: fc.constantFrom(BigInt(PERIOD), BigInt(PERIOD + 1)) },
    { weight: 2, arbitrary: fc.bigInt({ min: BigInt(PERIOD - 2), max: BigInt(PERIOD + 3) }) },
    { weight: 1, arbitrary: u64 }
  ),
  seq: fc.oneof(
    { weight: 6, arbitrary: fc.bigInt({ min: BigInt(NOW - PRIVATE_PERIOD_MS / 4), max: BigInt(NOW) }) },
    { weight: 1, arbitrary: fc.bigInt({ min: BigInt(NOW - 2 * PRIVATE_PERIOD_MS), max: BigInt(NOW) }) },
    { weight: 1, arbitrary: fc.bigInt({ min: BigInt(NOW + MAX_CLOCK_SKEW_MS - 2), max: BigInt(NOW + MAX_CLOCK_SKEW_MS + 2) }) },
    { weight: 1, arbitrary: u64 }
  ),
  lifetime: fc.oneof(
    { weight: 6, arbitrary: fc.bigInt({ min: 1n, max: BigInt(PRIVATE_PERIOD_MS / 2) }) },
    { weight: 2, arbitrary: fc.bigInt({ min: 0n, max: BigInt(2 * PRIVATE_PERIOD_MS) }) },
    { weight: 1, arbitrary: u64 }
  ),
  ciphertextLength: fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...PRIVATE_BUCKETS) },
    { weight: 2, arbitrary: fc.constant(0) },
    { weight: 1, arbitrary: fc.constantFrom(1, 28, 1023, 1025, 8191, 8193, 12_300) }
  ),
  tombstone: fc.oneof({ weight: 2, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) })
})
type EnvelopeFields = typeof envelopeFields extends fc.Arbitrary<infer T> ? T : never

function writerBytes (w: WriterChoice): Uint8Array {
  return typeof w === 'object' ? w.bytes : publicKeyToProtobuf(k[w].publicKey)
}

function encodeEnvelope (f: EnvelopeFields): Uint8Array {
  const u = (n: number, value: bigint): WireField => ({ field: n, wire: 0, value })
  const b = (n: number, value: Uint8Array): WireField => ({ field: n, wire: 2, value })
  return encodeFields([
    b(1, new Uint8Array(f.lookupKeyLength).fill(3)), b(2, writerBytes(f.writer)), u(3, f.period), u(4, f.seq), u(5, expiresOf(f)),
    ...(f.ciphertextLength === 0 ? [] : [b(6, new Uint8Array(f.ciphertextLength).fill(9))])
  ])
}

/** The reference: spec/private-names.md#verification, check by check, for an envelope signed by k.writer. */
function expected (f: EnvelopeFields, bytes: Uint8Array): string {
  const expires = expiresOf(f)
  if (bytes.byteLength > MAX_PRIVATE_RECORD_BYTES) return 'RecordTooLargeError'
  if (f.lookupKeyLength !== 32) return 'InvalidRecordError'
  if (typeof f.writer === 'object') return 'InvalidRecordError|InvalidSignatureError'
  if (f.writer === 'secp') return 'InvalidRecordError'
  if (f.period > SAFE || f.seq > SAFE || expires > SAFE) return 'InvalidRecordError'
  if (f.tombstone) {
    if (f.ciphertextLength !== 0 || expires > f.seq) return 'InvalidRecordError'
  } else {
    if (!(PRIVATE_BUCKETS as readonly number[]).includes(f.ciphertextLength)) return 'InvalidRecordError'
    if (expires <= f.seq) return 'InvalidRecordError'
  }
  if (f.writer === 'other') return 'InvalidSignatureError'
  if (f.seq > BigInt(NOW + MAX_CLOCK_SKEW_MS)) return 'InvalidRecordError'
  if (f.period > BigInt(periodOf(NOW + MAX_CLOCK_SKEW_MS) + 1)) return 'InvalidRecordError'
  if (expires > BigInt(privateSlotEnd(Number(f.period)) + MAX_CLOCK_SKEW_MS)) return 'InvalidRecordError'
  if (!f.tombstone && expires <= BigInt(NOW)) return 'ExpiredRecordError'
  return 'valid'
}

describe('verifyPrivateEnvelope (properties)', () => {
  it('agrees with the reference on every combination of fields signed by the writer key they name', async () => {
    await fc.assert(fc.asyncProperty(envelopeFields, async f => {
      // as a tombstone: mostly the right shape (no ciphertext, expires = seq), sometimes not
      const fields = f.tombstone ? { ...f, ciphertextLength: f.ciphertextLength === 1024 ? 0 : f.ciphertextLength, lifetime: f.lifetime % 2n === 0n ? 0n : f.lifetime } : f
      const record = encodeEnvelope(fields)
      const signed = { record, signature: await signDomain(k.writer, PRIVATE_DOMAIN, record) }
      const want = expected(fields, record)
      let got: Awaited<ReturnType<typeof verifyPrivateEnvelope>> | undefined
      const err = await rejectionIfAny(verifyPrivateEnvelope(signed, { now: NOW, tombstone: fields.tombstone }).then(e => { got = e }))
      if (want === 'valid') {
        expect(err).toBeUndefined()
        expect([got!.period, got!.seq, got!.expires]).toEqual([Number(fields.period), Number(fields.seq), Number(expiresOf(fields))])
        expect(got!.writerPublicKey.equals(k.writer.publicKey)).toBe(true)
        expect(got!.ciphertext.byteLength).toBe(fields.ciphertextLength)
      } else {
        expect(want.split('|')).toContain(err?.name)
      }
    }), { numRuns: runs(1_500) })
  }, budget(30_000))

  it('refuses arbitrary bytes, soups, altered genuine envelopes and forged signatures with a typed error', async () => {
    const name = 'secret-room'
    const inner = await createRecord(k.entity, { name, addrs: ['/ip4/127.0.0.1/tcp/1'], aid: new Uint8Array(8), ttl: 600_000, now: NOW })
    const genuine = await sealPrivateRecord({ entityKey: k.entity, signed: inner, name, period: PERIOD, seq: NOW, expires: NOW + 600_000 })
    const record = fc.oneof(
      fc.uint8Array({ maxLength: 300 }),
      protobufSoup(7, 8, 60),
      mutations(4).map(m => mutate(genuine.record, m)),
      fc.integer({ min: MAX_PRIVATE_RECORD_BYTES - 1, max: MAX_PRIVATE_RECORD_BYTES + 2 }).map(n => new Uint8Array(n))
    )
    await fc.assert(fc.asyncProperty(record, fc.constantFrom('genuine', 'other', 'junk'), async (bytes, how) => {
      fc.pre(!equalBytes(bytes, genuine.record))
      const signature = how === 'genuine' ? genuine.signature : how === 'other' ? await signDomain(k.other, PRIVATE_DOMAIN, bytes) : new Uint8Array(63)
      const err = await rejectionIfAny(verifyPrivateEnvelope({ record: bytes, signature }, { now: NOW }))
      expect(ENVELOPE_ERRORS).toContain(err?.name)
      if (bytes.byteLength > MAX_PRIVATE_RECORD_BYTES) expect(err?.name).toBe('RecordTooLargeError')
    }), { numRuns: runs(1_000) })
  }, budget(30_000))
})

// ---- opening -----------------------------------------------------------------

/** Encrypt any plaintext into a bucket under the name's key, as a sealer that holds it could. */
function sealRaw (name: string, period: number, plaintext: Uint8Array, bucket: number): Uint8Array {
  const { lookupKey, encryptionKey } = derivePrivateKeys(name, period)
  const body = new Uint8Array(bucket - 28)
  body.set(plaintext.subarray(0, body.byteLength))
  const nonce = new Uint8Array(12).fill(1)
  const cipher = createCipheriv('chacha20-poly1305', encryptionKey, nonce, { authTagLength: 16 })
  cipher.setAAD(aadOf(lookupKey, period), { plaintextLength: body.byteLength })
  const ct = Buffer.concat([cipher.update(body), cipher.final()])
  return Uint8Array.from([...nonce, ...ct, ...cipher.getAuthTag()])
}

/** Sign an envelope around `ciphertext` with the entity's writer key for the slot: what only the entity (or a holder of its key) can do. */
async function envelope (name: string, ciphertext: Uint8Array): Promise<SignedPrivateRecord> {
  const { lookupKey } = derivePrivateKeys(name, PERIOD)
  const writer = await deriveWriterKey(k.entity, lookupKey)
  const record = PrivateRecordType.encode({ lookupKey, writerPublicKey: publicKeyToProtobuf(writer.publicKey), period: PERIOD, seq: NOW, expires: NOW + 600_000, ciphertext }).finish()
  return { record, signature: await signDomain(writer, PRIVATE_DOMAIN, record) }
}

const u32be = (n: number): number[] => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]

/** Plaintexts: `u32be(n) || SignedRecord || zeros` as sealed, with the record damaged, a length that does not fit, non-zero padding, or junk. */
const plaintext = (inner: Uint8Array): fc.Arbitrary<Uint8Array> => fc.oneof(
  { weight: 3, arbitrary: fc.constant(Uint8Array.from([...u32be(inner.byteLength), ...inner])) },
  { weight: 2, arbitrary: mutations().map(m => Uint8Array.from([...u32be(inner.byteLength), ...mutate(inner, m)])) },
  {
    weight: 2,
    arbitrary: fc.tuple(fc.oneof(fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.integer({ min: 990, max: 1000 }), fc.integer({ min: 0, max: inner.byteLength + 2 })), fc.uint8Array({ minLength: 1, maxLength: 4 }))
      .map(([n, tail]) => Uint8Array.from([...u32be(n), ...inner, ...tail]))
  },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 100 }) }
)

describe('openPrivateRecord (properties)', () => {
  const name = 'secret-room'

  it('opens a plaintext of any shape sealed under the right key to the record for the name, or refuses it with a typed error', async () => {
    const inner = encodeSignedRecord(await createRecord(k.entity, { name, addrs: ['/ip4/127.0.0.1/tcp/1'], aid: new Uint8Array(8), ttl: 600_000, now: NOW }))
    const other = encodeSignedRecord(await createRecord(k.entity, { name: 'another-room', addrs: ['/ip4/127.0.0.1/tcp/1'], aid: new Uint8Array(8), ttl: 600_000, now: NOW }))
    await fc.assert(fc.asyncProperty(fc.oneof(plaintext(inner), plaintext(other)), fc.constantFrom(...PRIVATE_BUCKETS.slice(0, 2)), async (pt, bucket) => {
      const signed = await envelope(name, sealRaw(name, PERIOD, pt, bucket))
      let opened: Awaited<ReturnType<typeof openPrivateRecord>> | undefined
      const err = await rejectionIfAny(openPrivateRecord(signed, { name, now: NOW }).then(r => { opened = r }))
      if (err != null) expect(ENVELOPE_ERRORS).toContain(err.name)
      else expect(opened!.name).toBe(name)
    }), { numRuns: runs(500) })
  }, budget(30_000))

  it('refuses a damaged ciphertext (re-signed by the writer) with PrivateRecordOpenError, and any other name or secret with a typed error', async () => {
    const inner = await createRecord(k.entity, { name, addrs: ['/ip4/127.0.0.1/tcp/1'], aid: new Uint8Array(8), ttl: 600_000, now: NOW })
    const genuine = await sealPrivateRecord({ entityKey: k.entity, signed: inner, name, period: PERIOD, seq: NOW, expires: NOW + 600_000 })
    const ciphertext = PrivateRecordType.toObject(PrivateRecordType.decode(genuine.record)).ciphertext as Uint8Array
    await fc.assert(fc.asyncProperty(
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 4 }), fc.oneof(serviceName, fc.constant(name)), fc.option(fc.string({ minLength: 1, maxLength: 8 }), { nil: undefined }),
      async (flips, asked, secret) => {
        const damaged = new Uint8Array(ciphertext)
        for (const [at, x] of flips) damaged[at % damaged.byteLength]! ^= x
        // flips at the same position can cancel out: only a changed ciphertext is damaged
        fc.pre(damaged.some((b, i) => b !== ciphertext[i]))
        expect((await rejectionIfAny(openPrivateRecord(await envelope(name, damaged), { name, now: NOW })))?.name).toBe('PrivateRecordOpenError')
        fc.pre(asked !== name || secret !== undefined)
        const err = await rejectionIfAny(openPrivateRecord(genuine, { name: asked, now: NOW, ...(secret === undefined ? {} : { secret }) }))
        expect(OPEN_ERRORS).toContain(err?.name)
      }), { numRuns: runs(300) })
  }, budget(30_000))

  it('openBytes refuses any ciphertext that is no bucket, or does not authenticate, with its two typed errors', () => {
    const { lookupKey, encryptionKey } = derivePrivateKeys(name, PERIOD)
    fc.assert(fc.property(fc.oneof(fc.uint8Array({ maxLength: 64 }), fc.constantFrom(...PRIVATE_BUCKETS).map(n => new Uint8Array(n))), ct => {
      const err = thrownIfAny(() => openBytes(encryptionKey, aadOf(lookupKey, PERIOD), ct))
      expect(err?.name).toBe((PRIVATE_BUCKETS as readonly number[]).includes(ct.byteLength) ? 'PrivateRecordOpenError' : 'InvalidRecordError')
    }), { numRuns: runs(300) })
  })

  it('a private tombstone verifies as a tombstone only', async () => {
    await fc.assert(fc.asyncProperty(serviceName, fc.integer({ min: 0, max: 60_000 }), async (n, back) => {
      const t = await createPrivateTombstone({ entityKey: k.entity, name: n, period: PERIOD, seq: NOW - back })
      await expect(verifyPrivateEnvelope(t, { now: NOW, tombstone: true })).resolves.toBeDefined()
      expect((await rejectionIfAny(verifyPrivateEnvelope(t, { now: NOW })))?.name).toBe('InvalidRecordError')
    }), { numRuns: runs(100) })
  }, budget(30_000))
})
