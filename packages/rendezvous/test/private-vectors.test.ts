import { readFileSync } from 'node:fs'
import { generateKeyPairFromSeed, publicKeyToProtobuf } from '@libp2p/crypto/keys'
import { describe, expect, it } from 'vitest'
import {
  PRIVATE_BUCKETS, PRIVATE_DOMAIN, PRIVATE_ENCRYPT_INFO, PRIVATE_KDF_SALT, PRIVATE_LOOKUP_INFO, PRIVATE_PERIOD_MS, PRIVATE_WRITER_INFO
} from '../src/constants.ts'
import {
  createPrivateTombstone, derivePrivateKeys, deriveWriterKey, encodeSignedPrivateRecord, openPrivateRecord, periodOf, sealPrivateRecord,
  verifyPrivateEnvelope
} from '../src/private/index.ts'
import { PrivateRecordType, tryDecode } from '../src/internal/codec.ts'

const url = (p: string): URL => new URL(`../../../spec/vectors/${p}`, import.meta.url)
const v = JSON.parse(readFileSync(url('private.json'), 'utf8'))
const wire = JSON.parse(readFileSync(url('wire.json'), 'utf8')).record
const bytes = (hex: string): Uint8Array => new Uint8Array(Buffer.from(hex, 'hex'))
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

interface Derivation { name: string, secret?: string, period: number, lookupKey: string, encryptionKey: string, writerSeed: string, writerPublicKey: string }

describe('spec/vectors/private.json', () => {
  it('uses the constants of the package', () => {
    expect(v.constants).toEqual({
      salt: PRIVATE_KDF_SALT,
      lookupInfo: PRIVATE_LOOKUP_INFO,
      encryptInfo: PRIVATE_ENCRYPT_INFO,
      writerInfo: PRIVATE_WRITER_INFO,
      domain: PRIVATE_DOMAIN,
      periodMs: PRIVATE_PERIOD_MS,
      buckets: [...PRIVATE_BUCKETS]
    })
    expect(v.entity.seed).toBe(wire.seed)
  })

  for (const d of [...v.derivations, v.sealed] as Derivation[]) {
    it(`derives the keys of ${d.name}${d.secret == null ? '' : ` with secret ${d.secret}`} for period ${d.period}`, async () => {
      const keys = derivePrivateKeys(d.name, d.period, d.secret)
      expect(hex(keys.lookupKey)).toBe(d.lookupKey)
      expect(hex(keys.encryptionKey)).toBe(d.encryptionKey)
      const writer = await deriveWriterKey(await generateKeyPairFromSeed('Ed25519', bytes(v.entity.seed)), keys.lookupKey)
      expect(hex(writer.raw.subarray(0, 32))).toBe(d.writerSeed)
      expect(hex(publicKeyToProtobuf(writer.publicKey))).toBe(d.writerPublicKey)
    })
  }

  it('seals the public record vector byte for byte', async () => {
    const s = v.sealed
    expect(s.period).toBe(periodOf(wire.seq))
    const entityKey = await generateKeyPairFromSeed('Ed25519', bytes(v.entity.seed))
    const sealed = await sealPrivateRecord({
      entityKey,
      signed: { record: bytes(wire.record), signature: bytes(wire.signature) },
      name: s.name,
      secret: s.secret,
      period: s.period,
      seq: s.seq,
      expires: s.expires,
      nonce: bytes(s.nonce)
    })
    const fields = tryDecode<{ ciphertext: Uint8Array }>(PrivateRecordType, sealed.record)!
    expect(fields.ciphertext.byteLength).toBe(s.bucket)
    expect(hex(fields.ciphertext)).toBe(s.ciphertext)
    expect(hex(sealed.record)).toBe(s.record)
    expect(hex(sealed.signature)).toBe(s.signature)
    expect(hex(encodeSignedPrivateRecord(sealed))).toBe(s.signedPrivateRecord)
  })

  it('opens the sealed vector to the public record vector', async () => {
    const s = v.sealed
    const signed = { record: bytes(s.record), signature: bytes(s.signature) }
    const envelope = await verifyPrivateEnvelope(signed, { now: s.seq })
    expect(hex(envelope.lookupKey)).toBe(s.lookupKey)
    expect(hex(publicKeyToProtobuf(envelope.writerPublicKey))).toBe(s.writerPublicKey)
    const record = await openPrivateRecord(signed, { name: s.name, secret: s.secret, now: s.seq })
    expect(record.peerId.toString()).toBe(wire.peerId)
    expect(hex(record.signed.record)).toBe(wire.record)
    expect(hex(record.signed.signature)).toBe(wire.signature)
  })

  it('signs the private tombstone vector byte for byte', async () => {
    const s = v.sealed
    const entityKey = await generateKeyPairFromSeed('Ed25519', bytes(v.entity.seed))
    const t = await createPrivateTombstone({ entityKey, name: s.name, secret: s.secret, period: s.period, seq: s.tombstone.seq })
    expect(hex(t.record)).toBe(s.tombstone.record)
    expect(hex(t.signature)).toBe(s.tombstone.signature)
    await verifyPrivateEnvelope(t, { now: s.tombstone.seq, tombstone: true })
  })
})
