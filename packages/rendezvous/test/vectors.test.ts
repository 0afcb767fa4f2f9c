import { readFileSync } from 'node:fs'
import { generateKeyPairFromSeed } from '@libp2p/crypto/keys'
import { describe, expect, it } from 'vitest'
import { createRecord, createTombstone, verifyRecord } from '../src/index.ts'

const v = JSON.parse(readFileSync(new URL('../../../spec/vectors/wire.json', import.meta.url), 'utf8')).record
const bytes = (hex: string): Uint8Array => new Uint8Array(Buffer.from(hex, 'hex'))
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

describe('spec/vectors/wire.json (records)', () => {
  it('signs the record vector byte for byte', async () => {
    const key = await generateKeyPairFromSeed('Ed25519', bytes(v.seed))
    const signed = await createRecord(key, { name: v.name, addrs: v.addrs, aid: bytes(v.aid), ttl: v.expires - v.seq, now: v.seq })
    expect(hex(signed.record)).toBe(v.record)
    expect(hex(signed.signature)).toBe(v.signature)
  })

  it('verifies the record vector and names the vector peer', async () => {
    const record = await verifyRecord({ record: bytes(v.record), signature: bytes(v.signature) }, { now: v.seq + 1 })
    expect(record.peerId.toString()).toBe(v.peerId)
    expect(record.addrs.map(String)).toEqual(v.addrs)
    expect(record.expires).toBe(v.expires)
  })

  it('signs the tombstone vector byte for byte', async () => {
    const key = await generateKeyPairFromSeed('Ed25519', bytes(v.seed))
    const t = await createTombstone(key, v.name, v.tombstone.seq)
    expect(hex(t.record)).toBe(v.tombstone.record)
    expect(hex(t.signature)).toBe(v.tombstone.signature)
  })
})
