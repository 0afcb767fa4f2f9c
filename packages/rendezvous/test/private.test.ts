import { generateKeyPair, generateKeyPairFromSeed, publicKeyToProtobuf } from '@libp2p/crypto/keys'
import { multiaddr } from '@multiformats/multiaddr'
import { signDomain } from '@fara/identity'
import { describe, expect, it } from 'vitest'
import { rejection } from '@fara/testkit'
import { createRecord, encodeSignedRecord } from '../src/index.ts'
import { MAX_CLOCK_SKEW_MS, MAX_PRIVATE_RECORD_BYTES, PRIVATE_BUCKETS, PRIVATE_DOMAIN, PRIVATE_PERIOD_MS } from '../src/constants.ts'
import {
  createPrivateTombstone, decodeSignedPrivateRecord, derivePrivateKeys, deriveWriterKey, encodeSignedPrivateRecord, openPrivateRecord,
  periodOf, privateLookupKeys, sealPrivateRecord, verifyPrivateEnvelope
} from '../src/private/index.ts'
import { PrivateRecordType, tryDecode } from '../src/internal/codec.ts'
import { aadOf, bucketFor, sealBytes } from '../src/private/aead.ts'
import type { SignedPrivateRecord, SignedRecord } from '../src/index.ts'
import type { SealPrivateInit } from '../src/private/index.ts'
import type { PrivateKey } from '@libp2p/interface'

const NOW = 1_750_000_000_000
const PERIOD = periodOf(NOW)
const NAME = 'secret-chat-room'
const ADDRS = ['/ip4/10.20.30.40/tcp/40123', '/ip4/192.0.2.77/udp/41000/quic-v1']
const AID = new Uint8Array([0xa1, 0xb2, 0xc3, 0xd4, 0xe5, 0xf6, 0x07, 0x18])

const contains = (haystack: Uint8Array, needle: Uint8Array): boolean => Buffer.from(haystack).indexOf(Buffer.from(needle)) !== -1
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

async function entity (): Promise<PrivateKey> {
  return generateKeyPair('Ed25519')
}

async function publicRecord (key: PrivateKey, init: { name?: string, addrs?: string[], now?: number } = {}): Promise<SignedRecord> {
  return createRecord(key, { name: init.name ?? NAME, addrs: init.addrs ?? ADDRS, aid: AID, ttl: 600_000, now: init.now ?? NOW })
}

async function seal (key: PrivateKey, signed: SignedRecord, extra: Partial<SealPrivateInit> = {}): Promise<SignedPrivateRecord> {
  return sealPrivateRecord({ entityKey: key, signed, name: NAME, period: PERIOD, seq: NOW, expires: NOW + 600_000, ...extra })
}

interface Fields { lookupKey: Uint8Array, writerPublicKey: Uint8Array, period: number, seq: number, expires: number, ciphertext: Uint8Array }

function fieldsOf (signed: SignedPrivateRecord): Fields {
  return tryDecode<Fields>(PrivateRecordType, signed.record)!
}

/** Encode and sign an envelope as a writer would, with any fields (to reach checks behind the signature). */
async function forge (writer: PrivateKey, fields: Partial<Fields> & { lookupKey: Uint8Array }): Promise<SignedPrivateRecord> {
  const record = PrivateRecordType.encode({ writerPublicKey: publicKeyToProtobuf(writer.publicKey), ...fields }).finish()
  return { record, signature: await signDomain(writer, PRIVATE_DOMAIN, record) }
}

describe('private names: derivations', () => {
  it('puts a time in its period', () => {
    expect(periodOf(0)).toBe(0)
    expect(periodOf(PRIVATE_PERIOD_MS - 1)).toBe(0)
    expect(periodOf(PRIVATE_PERIOD_MS)).toBe(1)
    expect(periodOf(20_000 * PRIVATE_PERIOD_MS + 5)).toBe(20_000)
    expect(periodOf(3_600_000 * 5 + 1, 3_600_000)).toBe(5)
    expect(() => periodOf(-1)).toThrow(RangeError)
    expect(() => periodOf(10, 0)).toThrow(RangeError)
  })

  it('gives different lookup and encryption keys per name, per secret and per period', () => {
    const a = derivePrivateKeys('chat', 20_000)
    const keys = [a, derivePrivateKeys('chat2', 20_000), derivePrivateKeys('chat', 20_001), derivePrivateKeys('chat', 20_000, 'invite-123')]
    const all = keys.flatMap(k => [hex(k.lookupKey), hex(k.encryptionKey)])
    expect(new Set(all).size).toBe(all.length)
    expect(a.lookupKey.byteLength).toBe(32)
    expect(a.encryptionKey.byteLength).toBe(32)
  })

  it('is deterministic, takes a secret as a string or its bytes, and treats an empty secret as none', () => {
    expect(hex(derivePrivateKeys('chat', 7, 'invite-123').lookupKey)).toBe(hex(derivePrivateKeys('chat', 7, new TextEncoder().encode('invite-123')).lookupKey))
    expect(hex(derivePrivateKeys('chat', 7, '').lookupKey)).toBe(hex(derivePrivateKeys('chat', 7).lookupKey))
  })

  it('refuses a bad name, period or secret at the boundary', () => {
    expect(() => derivePrivateKeys('Chat!', 1)).toThrow(RangeError)
    expect(() => derivePrivateKeys('chat', -1)).toThrow(RangeError)
    expect(() => derivePrivateKeys('chat', 1.5)).toThrow(RangeError)
    expect(() => derivePrivateKeys('chat', 1, 42 as unknown as string)).toThrow(TypeError)
  })

  it('lists the lookup keys to try: current, next, previous', () => {
    const tries = privateLookupKeys('chat', { now: NOW, secret: 'invite-123' })
    expect(tries.map(t => t.period)).toEqual([PERIOD, PERIOD + 1, PERIOD - 1])
    for (const t of tries) expect(hex(t.lookupKey)).toBe(hex(derivePrivateKeys('chat', t.period, 'invite-123').lookupKey))
    expect(privateLookupKeys('chat', { now: 10 }).map(t => t.period)).toEqual([0, 1])
    expect(privateLookupKeys('chat', { now: 7_200_000, periodMs: 3_600_000 }).map(t => t.period)).toEqual([2, 3, 1])
  })

  it('derives writer keys that differ per period and per name, are stable per slot, and are not the entity key', async () => {
    const key = await entity()
    const other = await entity()
    const slot = derivePrivateKeys('chat', PERIOD).lookupKey
    const writers = await Promise.all([
      deriveWriterKey(key, slot),
      deriveWriterKey(key, derivePrivateKeys('chat', PERIOD + 1).lookupKey),
      deriveWriterKey(key, derivePrivateKeys('chat2', PERIOD).lookupKey),
      deriveWriterKey(other, slot)
    ])
    const pubs = writers.map(w => hex(w.publicKey.raw))
    expect(new Set([...pubs, hex(key.publicKey.raw), hex(other.publicKey.raw)]).size).toBe(6)
    expect(hex((await deriveWriterKey(key, slot)).publicKey.raw)).toBe(pubs[0])
    for (const w of writers) expect(w.type).toBe('Ed25519')
  })

  it('refuses a writer derivation from a non-Ed25519 key or a bad lookup key', async () => {
    const secp = await generateKeyPair('secp256k1')
    await expect(deriveWriterKey(secp, new Uint8Array(32))).rejects.toThrow(TypeError)
    await expect(deriveWriterKey(await entity(), new Uint8Array(31))).rejects.toThrow(RangeError)
  })
})

describe('private names: seal and open', () => {
  it('seals a record and opens it to the verified public record', async () => {
    const key = await entity()
    const sealed = await seal(key, await publicRecord(key))
    const record = await openPrivateRecord(sealed, { name: NAME, now: NOW + 1 })
    expect(record.name).toBe(NAME)
    expect(record.publicKey.equals(key.publicKey)).toBe(true)
    expect(record.addrs.map(String)).toEqual(ADDRS)
    expect(hex(record.aid)).toBe(hex(AID))
  })

  it('opens with a secret, for the current and the next period', async () => {
    const key = await entity()
    const signed = await publicRecord(key)
    for (const period of [PERIOD, PERIOD + 1]) {
      const sealed = await seal(key, signed, { period, secret: 'invite-123' })
      expect(fieldsOf(sealed).period).toBe(period)
      expect((await openPrivateRecord(sealed, { name: NAME, secret: 'invite-123', now: NOW + 1 })).name).toBe(NAME)
    }
  })

  it('finds the slot under a lookup key the client computes, and not under another name', async () => {
    const key = await entity()
    const sealed = await seal(key, await publicRecord(key))
    const stored = hex(fieldsOf(sealed).lookupKey)
    expect(privateLookupKeys(NAME, { now: NOW }).map(t => hex(t.lookupKey))).toContain(stored)
    expect(privateLookupKeys('secret-chat-roon', { now: NOW }).map(t => hex(t.lookupKey))).not.toContain(stored)
    const err = await rejection(openPrivateRecord(sealed, { name: 'secret-chat-roon', now: NOW + 1 }))
    expect(err.name).toBe('InvalidRecordError')
  })

  it('does not open with a wrong secret or without the secret', async () => {
    const key = await entity()
    const sealed = await seal(key, await publicRecord(key), { secret: 'invite-123' })
    expect(hex(derivePrivateKeys(NAME, PERIOD, 'invite-124').lookupKey)).not.toBe(hex(fieldsOf(sealed).lookupKey))
    for (const secret of ['invite-124', undefined]) {
      const err = await rejection(openPrivateRecord(sealed, { name: NAME, now: NOW + 1, ...(secret == null ? {} : { secret }) }))
      expect(['InvalidRecordError', 'PrivateRecordOpenError']).toContain(err.name)
    }
  })

  it('refuses a tampered ciphertext with PrivateRecordOpenError even when the envelope is re-signed', async () => {
    const key = await entity()
    const sealed = await seal(key, await publicRecord(key))
    const f = fieldsOf(sealed)
    const ciphertext = new Uint8Array(f.ciphertext)
    ciphertext[100] = (ciphertext[100] ?? 0) ^ 0x01
    const forged = await forge(await deriveWriterKey(key, f.lookupKey), { ...f, ciphertext })
    await verifyPrivateEnvelope(forged, { now: NOW + 1 })
    expect((await rejection(openPrivateRecord(forged, { name: NAME, now: NOW + 1 }))).name).toBe('PrivateRecordOpenError')
  })

  it('binds a ciphertext to its slot: moved to another period it does not open', async () => {
    const key = await entity()
    const signed = await publicRecord(key)
    const current = fieldsOf(await seal(key, signed))
    const next = fieldsOf(await seal(key, signed, { period: PERIOD + 1 }))
    const moved = await forge(await deriveWriterKey(key, next.lookupKey), { ...next, ciphertext: current.ciphertext })
    expect((await rejection(openPrivateRecord(moved, { name: NAME, now: NOW + 1 }))).name).toBe('PrivateRecordOpenError')
  })

  it('refuses a tampered envelope with InvalidSignatureError', async () => {
    const key = await entity()
    const sealed = await seal(key, await publicRecord(key))
    for (const at of [3, sealed.record.byteLength - 5]) {
      const record = new Uint8Array(sealed.record)
      record[at] = (record[at] ?? 0) ^ 0x80
      const tampered = { record, signature: sealed.signature }
      expect((await rejection(verifyPrivateEnvelope(tampered, { now: NOW + 1 }))).name).toBe('InvalidSignatureError')
      expect((await rejection(openPrivateRecord(tampered, { name: NAME, now: NOW + 1 }))).name).toBe('InvalidSignatureError')
    }
    const signature = new Uint8Array(sealed.signature)
    signature[0] = (signature[0] ?? 0) ^ 1
    expect((await rejection(verifyPrivateEnvelope({ record: sealed.record, signature }, { now: NOW + 1 }))).name).toBe('InvalidSignatureError')
  })

  it('refuses a sealed record for another name than the slot', async () => {
    const key = await entity()
    const other = await publicRecord(key, { name: 'other' })
    const { lookupKey, encryptionKey } = derivePrivateKeys(NAME, PERIOD)
    const ciphertext = sealBytes(encryptionKey, aadOf(lookupKey, PERIOD), encodeSignedRecord(other))
    const forged = await forge(await deriveWriterKey(key, lookupKey), { lookupKey, period: PERIOD, seq: NOW, expires: NOW + 600_000, ciphertext })
    expect((await rejection(openPrivateRecord(forged, { name: NAME, now: NOW + 1 }))).name).toBe('InvalidRecordError')
  })

  it('refuses to seal a record for another name or key, or outliving its record or its slot', async () => {
    const key = await entity()
    const signed = await publicRecord(key)
    await expect(seal(key, await publicRecord(key, { name: 'other' }))).rejects.toThrow(RangeError)
    await expect(seal(await entity(), signed)).rejects.toThrow(RangeError)
    await expect(seal(key, signed, { expires: NOW + 600_001 })).rejects.toThrow(RangeError)
    await expect(seal(key, signed, { period: PERIOD - 2 })).rejects.toThrow(RangeError)
    await expect(seal(key, signed, { expires: NOW })).rejects.toThrow(RangeError)
    await expect(seal(key, signed, { nonce: new Uint8Array(8) })).rejects.toThrow(RangeError)
    await expect(seal(await generateKeyPair('secp256k1'), signed)).rejects.toThrow(TypeError)
  })
})

describe('private names: padding', () => {
  function bigAddrs (count: number, hostLength: number): string[] {
    return Array.from({ length: count }, (_, i) => {
      const labels: string[] = []
      let left = hostLength
      while (left > 0) { const n = Math.min(left, 60); labels.push(String(i % 10).repeat(n)); left -= n + 1 }
      return `/dns4/${labels.join('.')}/tcp/${1000 + i}`
    })
  }

  it('pads every ciphertext to exactly a bucket size, the smallest that fits', async () => {
    const key = await entity()
    const sizes: Record<number, number> = {}
    for (const addrs of [[ADDRS[0] as string], bigAddrs(8, 200), bigAddrs(16, 200), bigAddrs(16, 240)]) {
      const signed = await publicRecord(key, { addrs })
      const ciphertext = fieldsOf(await seal(key, signed)).ciphertext
      expect(PRIVATE_BUCKETS).toContain(ciphertext.byteLength)
      expect(ciphertext.byteLength).toBe(bucketFor(encodeSignedRecord(signed).byteLength))
      sizes[ciphertext.byteLength] = encodeSignedRecord(signed).byteLength
    }
    expect(Object.keys(sizes).map(Number)).toEqual([...PRIVATE_BUCKETS])
  })

  it('gives records of different sizes in one bucket identical ciphertext and envelope sizes', async () => {
    const key = await entity()
    const small = await publicRecord(key, { addrs: [ADDRS[0] as string] })
    const large = await publicRecord(key, { addrs: [...ADDRS, '/ip6/2001:db8::1/tcp/4001', '/dns4/example.org/tcp/443/wss'] })
    expect(encodeSignedRecord(small).byteLength).not.toBe(encodeSignedRecord(large).byteLength)
    const a = await seal(key, small)
    const b = await seal(key, large)
    expect(fieldsOf(a).ciphertext.byteLength).toBe(1024)
    expect(fieldsOf(b).ciphertext.byteLength).toBe(1024)
    expect(a.record.byteLength).toBe(b.record.byteLength)
    expect(encodeSignedPrivateRecord(a).byteLength).toBe(encodeSignedPrivateRecord(b).byteLength)
  })

  it('refuses a record too large for the largest bucket', () => {
    expect(bucketFor(8192 - 32)).toBe(8192)
    expect(() => bucketFor(8192 - 31)).toThrow(expect.objectContaining({ name: 'RecordTooLargeError' }))
  })
})

describe('private names: nothing leaks', () => {
  it('leaves no name, entity key, address or AId in the envelope or the signed message', async () => {
    const key = await entity()
    const signed = await publicRecord(key)
    const enc = new TextEncoder()
    const secrets: Array<[string, Uint8Array]> = [
      ['name', enc.encode(NAME)],
      ['entity key (protobuf)', publicKeyToProtobuf(key.publicKey)],
      ['entity key (raw)', key.publicKey.raw],
      ['peer id (multihash)', key.publicKey.toMultihash().bytes],
      ['aid', AID],
      ['public record', signed.record],
      ['public signature', signed.signature],
      ...ADDRS.flatMap((a): Array<[string, Uint8Array]> => [[`address ${a}`, multiaddr(a).bytes], [`address text ${a}`, enc.encode(a)]])
    ]
    const sealed = await seal(key, signed, { secret: 'invite-123' })
    const tombstone = await createPrivateTombstone({ entityKey: key, name: NAME, secret: 'invite-123', period: PERIOD, seq: NOW + 1 })
    for (const s of [sealed, tombstone]) {
      for (const bytes of [s.record, encodeSignedPrivateRecord(s)]) {
        for (const [what, needle] of secrets) expect(contains(bytes, needle), what).toBe(false)
        expect(contains(bytes, enc.encode('invite-123')), 'secret').toBe(false)
      }
    }
    const envelope = await verifyPrivateEnvelope(sealed, { now: NOW + 1 })
    expect(envelope.writerPublicKey.equals(key.publicKey)).toBe(false)
  })
})

describe('private names: what the point checks', () => {
  it('returns the envelope fields of a valid record', async () => {
    const key = await entity()
    const sealed = await seal(key, await publicRecord(key))
    const e = await verifyPrivateEnvelope(sealed, { now: NOW + 1 })
    expect(hex(e.lookupKey)).toBe(hex(derivePrivateKeys(NAME, PERIOD).lookupKey))
    expect(e.writerPublicKey.equals((await deriveWriterKey(key, e.lookupKey)).publicKey)).toBe(true)
    expect([e.period, e.seq, e.expires, e.ciphertext.byteLength]).toEqual([PERIOD, NOW, NOW + 600_000, 1024])
    expect(hex(e.signed.record)).toBe(hex(sealed.record))
  })

  it('verifies a private tombstone from the same writer key, and never mixes tombstones and live records', async () => {
    const key = await entity()
    const sealed = await seal(key, await publicRecord(key))
    const tombstone = await createPrivateTombstone({ entityKey: key, name: NAME, period: PERIOD, seq: NOW + 1 })
    const t = await verifyPrivateEnvelope(tombstone, { now: NOW + 2, tombstone: true })
    const live = await verifyPrivateEnvelope(sealed, { now: NOW + 2 })
    expect(t.writerPublicKey.equals(live.writerPublicKey)).toBe(true)
    expect(hex(t.lookupKey)).toBe(hex(live.lookupKey))
    expect([t.ciphertext.byteLength, t.expires]).toEqual([0, NOW + 1])
    expect((await rejection(verifyPrivateEnvelope(tombstone, { now: NOW + 2 }))).name).toBe('InvalidRecordError')
    expect((await rejection(verifyPrivateEnvelope(sealed, { now: NOW + 2, tombstone: true }))).name).toBe('InvalidRecordError')
  })

  it('refuses an expired record', async () => {
    const key = await entity()
    const sealed = await seal(key, await publicRecord(key))
    expect((await rejection(verifyPrivateEnvelope(sealed, { now: NOW + 600_000 }))).name).toBe('ExpiredRecordError')
  })

  it('refuses seq, period or expiry beyond their bounds', async () => {
    const key = await entity()
    const { lookupKey } = derivePrivateKeys(NAME, PERIOD)
    const writer = await deriveWriterKey(key, lookupKey)
    const ciphertext = new Uint8Array(1024)
    const ok = { lookupKey, period: PERIOD, seq: NOW, expires: NOW + 1000, ciphertext }
    await verifyPrivateEnvelope(await forge(writer, ok), { now: NOW })
    const slotEnd = (PERIOD + 2) * PRIVATE_PERIOD_MS
    const bad = [
      { ...ok, seq: NOW + MAX_CLOCK_SKEW_MS + 1, expires: NOW + MAX_CLOCK_SKEW_MS + 2 },
      { ...ok, expires: slotEnd + MAX_CLOCK_SKEW_MS + 1 },
      { ...ok, period: PERIOD + 2 },
      { ...ok, expires: NOW },
      { ...ok, ciphertext: new Uint8Array(1000) },
      { ...ok, ciphertext: new Uint8Array(0) },
      { ...ok, lookupKey: lookupKey.subarray(0, 31) }
    ]
    for (const fields of bad) expect((await rejection(verifyPrivateEnvelope(await forge(writer, fields), { now: NOW }))).name).toBe('InvalidRecordError')
    await verifyPrivateEnvelope(await forge(writer, { ...ok, expires: slotEnd + MAX_CLOCK_SKEW_MS }), { now: NOW })
  })

  it('refuses a writer key that is not Ed25519', async () => {
    const secp = await generateKeyPair('secp256k1')
    const record = PrivateRecordType.encode({ lookupKey: new Uint8Array(32), writerPublicKey: publicKeyToProtobuf(secp.publicKey), period: PERIOD, seq: NOW, expires: NOW + 1000, ciphertext: new Uint8Array(1024) }).finish()
    const forged = { record, signature: new Uint8Array(64) }
    expect((await rejection(verifyPrivateEnvelope(forged, { now: NOW }))).name).toBe('InvalidRecordError')
  })

  it('bounds the input before decoding it', async () => {
    const key = await generateKeyPairFromSeed('Ed25519', new Uint8Array(32).fill(9))
    const sealed = await seal(key, await publicRecord(key))
    const cases: Array<[unknown, string]> = [
      [{ record: new Uint8Array(MAX_PRIVATE_RECORD_BYTES + 1), signature: new Uint8Array(64) }, 'RecordTooLargeError'],
      [{ record: sealed.record, signature: new Uint8Array(63) }, 'InvalidSignatureError'],
      [{ record: 'x', signature: sealed.signature }, 'InvalidRecordError'],
      [null, 'InvalidRecordError'],
      [{ record: new Uint8Array([0xff, 0xff, 0xff]), signature: sealed.signature }, 'InvalidRecordError']
    ]
    for (const [input, name] of cases) expect((await rejection(verifyPrivateEnvelope(input as SignedPrivateRecord, { now: NOW })))?.name).toBe(name)
  })

  it('round-trips a standalone SignedPrivateRecord and bounds its decoder', async () => {
    const key = await entity()
    const sealed = await seal(key, await publicRecord(key))
    const decoded = decodeSignedPrivateRecord(encodeSignedPrivateRecord(sealed))
    expect(hex(decoded.record)).toBe(hex(sealed.record))
    expect(hex(decoded.signature)).toBe(hex(sealed.signature))
    expect(() => decodeSignedPrivateRecord(new Uint8Array(MAX_PRIVATE_RECORD_BYTES + 100))).toThrow(expect.objectContaining({ name: 'RecordTooLargeError' }))
    expect(() => decodeSignedPrivateRecord(new Uint8Array([0x0a, 0x05]))).toThrow(expect.objectContaining({ name: 'InvalidRecordError' }))
  })
})
