import { generateKeyPair, publicKeyToProtobuf } from '@libp2p/crypto/keys'
import { Libp2pRecord } from '@libp2p/record'
import { Key } from 'interface-datastore'
import { base32Encode, signDomain } from '@fara/identity'
import { beforeAll, describe, expect, it } from 'vitest'
import { createRecord, createTombstone, encodeSignedRecord } from '../src/index.ts'
import { MAX_TTL_MS, RECORD_DOMAIN } from '../src/constants.ts'
import { dhtRendezvous } from '../src/dht/index.ts'
import { compareEntries, dhtKey, nameOfKey, selectBest, verifyDhtValue } from '../src/dht/records.ts'
import { DhtStore } from '../src/dht/store.ts'
import { RecordType } from '../src/internal/codec.ts'
import type { SignedRecord } from '../src/index.ts'
import type { Ed25519PrivateKey } from '@libp2p/interface'

const AID = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8])
const ADDRS = ['/ip4/127.0.0.1/tcp/40001']
const T = 1_700_000_000_000

let alice: Ed25519PrivateKey
let mallory: Ed25519PrivateKey
beforeAll(async () => {
  alice = await generateKeyPair('Ed25519')
  mallory = await generateKeyPair('Ed25519')
})

const live = async (key: Ed25519PrivateKey, seq: number, name = 'echo', ttl = 60_000): Promise<Uint8Array> =>
  encodeSignedRecord(await createRecord(key, { name, addrs: ADDRS, aid: AID, ttl, now: seq }))
const tomb = async (key: Ed25519PrivateKey, seq: number, name = 'echo'): Promise<Uint8Array> =>
  encodeSignedRecord(await createTombstone(key, name, seq))

async function forge (signer: Ed25519PrivateKey, claimed: Ed25519PrivateKey, fields: Record<string, unknown>): Promise<SignedRecord> {
  const record = RecordType.encode({ publicKey: publicKeyToProtobuf(claimed.publicKey), ...fields }).finish()
  return { record, signature: await signDomain(signer, RECORD_DOMAIN, record) }
}

const bytes = (b: Uint8Array | undefined): number[] => [...(b ?? [])]

async function rejects (promise: Promise<unknown>, name: string): Promise<void> {
  await expect(promise).rejects.toMatchObject({ name })
}

describe('DHT backend options', () => {
  it('checks its options at the boundary', () => {
    expect(() => dhtRendezvous({ kBucketSize: 0 })).toThrow(RangeError)
    expect(() => dhtRendezvous({ maxRecords: 1.5 })).toThrow(RangeError)
    expect(() => dhtRendezvous({ timeout: -1 })).toThrow(RangeError)
    expect(() => dhtRendezvous({ protocol: 'fara/kad' })).toThrow(TypeError)
    expect(dhtRendezvous().nodeServices).toHaveProperty('faraDht')
  })
})

describe('DHT keys', () => {
  it('stores a name under utf8("/fara/" + name), in the fara namespace', () => {
    expect(new TextDecoder().decode(dhtKey('echo'))).toBe('/fara/echo')
    // @libp2p/kad-dht picks validator and selector by the text between the first two slashes
    expect(new TextDecoder().decode(dhtKey('a.b-c_9')).split('/')[1]).toBe('fara')
    expect(nameOfKey(dhtKey('echo'))).toBe('echo')
  })

  it('rejects a malformed name at the boundary and a foreign or malformed key in the validator', () => {
    expect(() => dhtKey('Not A Name')).toThrow(RangeError)
    for (const key of ['/pk/echo', '/ipns/echo', '/fara/', '/fara/Echo', '/fara/echo/x', `/fara/${'a'.repeat(64)}`]) {
      expect(() => nameOfKey(new TextEncoder().encode(key))).toThrow(expect.objectContaining({ name: 'InvalidRecordError' }))
    }
    expect(() => nameOfKey(Uint8Array.from([0x2f, 0xff]))).toThrow(expect.objectContaining({ name: 'InvalidRecordError' }))
  })
})

describe('DHT validator', () => {
  it('accepts a valid record and a current tombstone under their name\'s key', async () => {
    await expect(verifyDhtValue(dhtKey('echo'), await live(alice, T), T + 1)).resolves.toMatchObject({ tombstone: false, seq: T })
    await expect(verifyDhtValue(dhtKey('echo'), await tomb(alice, T), T + 1)).resolves.toMatchObject({ tombstone: true, seq: T })
  })

  it('rejects a foreign signature, another name, an expired record, a spent tombstone and non-canonical bytes', async () => {
    const forged = await forge(mallory, alice, { name: 'echo', addrs: [], aid: AID, seq: T, expires: T + 60_000 })
    await rejects(verifyDhtValue(dhtKey('echo'), encodeSignedRecord(forged), T), 'InvalidSignatureError')
    await rejects(verifyDhtValue(dhtKey('echo'), await live(alice, T, 'other'), T), 'InvalidRecordError')
    await rejects(verifyDhtValue(dhtKey('echo'), await live(alice, T, 'echo', 1_000), T + 1_000), 'ExpiredRecordError')
    await rejects(verifyDhtValue(dhtKey('echo'), await tomb(alice, T), T + MAX_TTL_MS), 'ExpiredRecordError')
    const padded = new Uint8Array([...await live(alice, T), 0x48, 0x01]) // an unknown field 9 appended
    await rejects(verifyDhtValue(dhtKey('echo'), padded, T), 'InvalidRecordError')
    await rejects(verifyDhtValue(dhtKey('echo'), new Uint8Array(20_000), T), 'RecordTooLargeError')
  })
})

describe('DHT selector', () => {
  it('orders by seq, then a tombstone before a live record, then by bytes', async () => {
    const a = { seq: 2, tombstone: false, value: Uint8Array.of(1) }
    expect(compareEntries(a, { ...a, seq: 1 })).toBe(1)
    expect(compareEntries(a, { ...a, tombstone: true })).toBe(-1)
    expect(compareEntries(a, { ...a, value: Uint8Array.of(2) })).toBe(-1)
    expect(compareEntries(a, { ...a })).toBe(0)
  })

  it('picks the newest valid value and never an invalid or expired one', async () => {
    const key = dhtKey('echo')
    const forgedNewest = encodeSignedRecord(await forge(mallory, alice, { name: 'echo', addrs: [], aid: AID, seq: T + 50, expires: T + 60_000 }))
    const expiredNewer = await live(alice, T + 20, 'echo', 1_000)
    const values = [await live(alice, T), forgedNewest, await live(mallory, T + 10), expiredNewer, await live(alice, T + 5)]
    const best = await selectBest(key, values, T + 2_000)
    expect(best?.index).toBe(2)
    expect(best?.entry.record.publicKey.equals(mallory.publicKey)).toBe(true) // newest valid wins, whatever its key
    expect(await selectBest(key, [forgedNewest, expiredNewer], T + 2_000)).toBeUndefined()
    // a newer tombstone beats the live record it withdraws
    expect((await selectBest(key, [await live(alice, T), await tomb(alice, T + 1)], T + 2))?.index).toBe(1)
  })
})

describe('DHT node store', () => {
  const PREFIX = '/fara-dht'
  const put = async (store: DhtStore, value: Uint8Array, name = 'echo'): Promise<Key> =>
    store.put(store.keyFor(dhtKey(name)), new Libp2pRecord(dhtKey(name), value, new Date()).serialize())

  it('files records the way @libp2p/kad-dht names them (RFC 4648 base32, lower case, no padding)', () => {
    expect(base32Encode(new TextEncoder().encode('foobar'))).toBe('mzxw6ytboi')
    expect(base32Encode(new TextEncoder().encode('f'))).toBe('my')
    const store = new DhtStore({ prefix: PREFIX, maxRecords: 10, now: () => T })
    expect(store.keyFor(dhtKey('echo')).toString()).toBe(`${PREFIX}/record/${base32Encode(dhtKey('echo'))}`)
  })

  it('takes only a strictly better value: replays and equal values are stale', async () => {
    let now = T + 1
    const store = new DhtStore({ prefix: PREFIX, maxRecords: 10, now: () => now })
    const first = await live(alice, T)
    await put(store, first)
    await rejects(put(store, first), 'StaleRecordError')
    await rejects(put(store, await live(alice, T - 1)), 'StaleRecordError')
    now = T + 20
    await put(store, await tomb(alice, T + 10))
    await rejects(put(store, await live(alice, T + 5)), 'StaleRecordError')
    expect(bytes(store.storedValue(dhtKey('echo')))).toEqual(bytes(await tomb(alice, T + 10)))
    await put(store, await live(mallory, T + 15))
    expect(bytes(store.storedValue(dhtKey('echo')))).toEqual(bytes(await live(mallory, T + 15)))
  })

  it('refuses invalid records, misfiled records and anything but Fara records', async () => {
    const store = new DhtStore({ prefix: PREFIX, maxRecords: 10, now: () => T + 1 })
    const forged = encodeSignedRecord(await forge(mallory, alice, { name: 'echo', addrs: [], aid: AID, seq: T, expires: T + 60_000 }))
    await rejects(put(store, forged), 'InvalidSignatureError')
    await rejects(store.put(store.keyFor(dhtKey('other')), new Libp2pRecord(dhtKey('echo'), await live(alice, T), new Date()).serialize()), 'InvalidRecordError')
    await rejects(store.put(new Key(`${PREFIX}/provider/abc`), Uint8Array.of(1)), 'InvalidRecordError')
    await rejects(store.put(store.keyFor(dhtKey('echo')), Uint8Array.of(1, 2, 3)), 'InvalidRecordError')
    expect(store.size).toBe(0)
  })

  it('drops expired records when read and refuses new keys when full of live ones', async () => {
    let now = T + 1
    const store = new DhtStore({ prefix: PREFIX, maxRecords: 2, now: () => now })
    await put(store, await live(alice, T, 'a', 1_000), 'a')
    await put(store, await live(alice, T, 'b', 60_000), 'b')
    await rejects(put(store, await live(alice, T, 'c'), 'c'), 'StoreFullError')
    now = T + 1_000 // 'a' has expired: swept to make room
    expect(store.storedValue(dhtKey('a'))).toBeUndefined()
    await put(store, await live(alice, T + 500, 'c'), 'c')
    expect(store.size).toBe(2)
    const held: string[] = []
    for await (const pair of store.query({})) held.push(pair.key.toString())
    expect(held.sort()).toEqual([store.keyFor(dhtKey('b')).toString(), store.keyFor(dhtKey('c')).toString()].sort())
  })
})
