// Private records on the DHT backend, one node's view: the key of a slot, the validator every
// node runs on a sealed record (it opens nothing), the selector, and the store's slot rules and
// bounds, in memory and written through to a datastore (spec/dht.md#private-records).
import { randomBytes } from 'node:crypto'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { Libp2pRecord } from '@libp2p/record'
import { MemoryDatastore } from 'datastore-core'
import { Key } from 'interface-datastore'
import { beforeAll, describe, expect, it } from 'vitest'
import { createRecord, encodeSignedRecord } from '../src/index.ts'
import { MAX_CLOCK_SKEW_MS, PRIVATE_PERIOD_MS } from '../src/constants.ts'
import { privateDhtKey } from '../src/dht/index.ts'
import { createPrivateTombstone, derivePrivateKeys, encodeSignedPrivateRecord, periodOf, sealPrivateRecord } from '../src/private/index.ts'
import { isPrivateDhtKey, lookupKeyOfKey, verifyPrivateDhtValue } from '../src/dht/private.ts'
import { dhtKey, selectBest } from '../src/dht/records.ts'
import { DhtStore } from '../src/dht/store.ts'
import type { Ed25519PrivateKey } from '@libp2p/interface'

const T = 1_750_000_000_000
const P = periodOf(T)
const NAME = 'hidden-room'
const SECRET = 'invite-0123456789'
const ADDRS = ['/ip4/198.51.100.23/tcp/47123']
const AID = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8])
const PREFIX = '/fara-dht'

let alice: Ed25519PrivateKey
let mallory: Ed25519PrivateKey
beforeAll(async () => {
  alice = await generateKeyPair('Ed25519')
  mallory = await generateKeyPair('Ed25519')
})

function lookupKeyOf (period = P, secret = SECRET, name = NAME): Uint8Array {
  const { lookupKey, encryptionKey } = derivePrivateKeys(name, period, secret)
  encryptionKey.fill(0)
  return lookupKey
}

/** The encoded SignedPrivateRecord of `entity`'s record for NAME, sealed for `period`, signed at `seq`. */
async function live (entity: Ed25519PrivateKey, seq = T, period = P, ttl = 600_000): Promise<Uint8Array> {
  const signed = await createRecord(entity, { name: NAME, addrs: ADDRS, aid: AID, ttl, now: seq })
  return encodeSignedPrivateRecord(await sealPrivateRecord({ entityKey: entity, signed, name: NAME, secret: SECRET, period, seq, expires: seq + ttl }))
}

async function tomb (entity: Ed25519PrivateKey, seq: number, period = P): Promise<Uint8Array> {
  return encodeSignedPrivateRecord(await createPrivateTombstone({ entityKey: entity, name: NAME, secret: SECRET, period, seq }))
}

async function rejects (promise: Promise<unknown>, name: string): Promise<void> {
  await expect(promise).rejects.toMatchObject({ name })
}

const bytes = (b: Uint8Array | undefined): number[] => [...(b ?? [])]

describe('private DHT keys', () => {
  it('stores a slot under utf8("/fara-private/" + hex(lookupKey)), its own namespace', () => {
    const lookupKey = lookupKeyOf()
    const key = privateDhtKey(lookupKey)
    const text = new TextDecoder().decode(key)
    expect(text).toBe(`/fara-private/${Buffer.from(lookupKey).toString('hex')}`)
    expect(key.byteLength).toBe(78)
    // @libp2p/kad-dht picks validator and selector by the text between the first two slashes
    expect(text.split('/')[1]).toBe('fara-private')
    expect(isPrivateDhtKey(key)).toBe(true)
    expect(isPrivateDhtKey(dhtKey('fara-private'))).toBe(false)
    expect(bytes(lookupKeyOfKey(key))).toEqual(bytes(lookupKey))
  })

  it('rejects a bad lookup key at the boundary and a malformed key in the validator', () => {
    expect(() => privateDhtKey(new Uint8Array(31))).toThrow(RangeError)
    expect(() => privateDhtKey('00'.repeat(32) as unknown as Uint8Array)).toThrow(TypeError)
    const hex = '0a'.repeat(32)
    for (const text of [`/fara-private/${hex.toUpperCase()}`, `/fara-private/${hex.slice(2)}`, `/fara-private/${hex}0`, `/fara/${hex}`,
      `/fara-private/${'g'.repeat(64)}`, `/fara-private/../${hex.slice(6)}`, '/fara-private/']) {
      expect(() => lookupKeyOfKey(new TextEncoder().encode(text)), text).toThrow(expect.objectContaining({ name: 'InvalidRecordError' }))
    }
    expect(() => lookupKeyOfKey(Uint8Array.from([...new TextEncoder().encode('/fara-private/'), ...new Uint8Array(64).fill(0xff)])))
      .toThrow(expect.objectContaining({ name: 'InvalidRecordError' }))
  })
})

describe('private DHT validator', () => {
  it('accepts a sealed record and a tombstone under their slot\'s key, learning no name', async () => {
    const key = privateDhtKey(lookupKeyOf())
    const entry = await verifyPrivateDhtValue(key, await live(alice), T + 1)
    expect(entry.tombstone).toBe(false)
    expect(bytes(entry.envelope.lookupKey)).toEqual(bytes(lookupKeyOf()))
    expect((await verifyPrivateDhtValue(key, await tomb(alice, T + 5), T + 10)).tombstone).toBe(true)
  })

  it('refuses altered, misfiled, expired, spent, public, oversized and non-canonical values with a typed error', async () => {
    const key = privateDhtKey(lookupKeyOf())
    const value = await live(alice)
    const altered = new Uint8Array(value)
    altered[altered.length - 1]! ^= 1 // the last byte of the signature
    await rejects(verifyPrivateDhtValue(key, altered, T + 1), 'InvalidSignatureError')
    // stored under the key of another slot (another secret): a node must not serve it there
    await rejects(verifyPrivateDhtValue(privateDhtKey(lookupKeyOf(P, 'other')), value, T + 1), 'InvalidRecordError')
    await rejects(verifyPrivateDhtValue(key, value, T + 600_000), 'ExpiredRecordError')
    // a tombstone counts until its slot (period + 1) has ended: then nothing it withdrew can be live
    const end = (P + 2) * PRIVATE_PERIOD_MS + MAX_CLOCK_SKEW_MS
    await expect(verifyPrivateDhtValue(key, await tomb(alice, T), end - 1)).resolves.toMatchObject({ tombstone: true })
    await rejects(verifyPrivateDhtValue(key, await tomb(alice, T), end), 'ExpiredRecordError')
    await rejects(verifyPrivateDhtValue(key, encodeSignedRecord(await createRecord(alice, { name: NAME, addrs: ADDRS, aid: AID, now: T })), T + 1), 'InvalidRecordError')
    await rejects(verifyPrivateDhtValue(key, new Uint8Array(20_000), T + 1), 'RecordTooLargeError')
    await rejects(verifyPrivateDhtValue(key, Uint8Array.from([...value, 0x1a, 0x00]), T + 1), 'InvalidRecordError')
    await rejects(verifyPrivateDhtValue(key, 'value' as unknown as Uint8Array, T + 1), 'InvalidRecordError')
  })

  it('answers any byte string with a typed error, never a crash', async () => {
    const key = privateDhtKey(lookupKeyOf())
    const value = await live(alice)
    const typed = new Set(['InvalidRecordError', 'InvalidSignatureError', 'RecordTooLargeError', 'ExpiredRecordError'])
    for (let i = 0; i < 300; i++) {
      const junk = i % 3 === 0 ? randomBytes(i * 7) : Buffer.from(value.map((b, j) => (j * 31 + i) % 97 === 0 ? b ^ (1 + (i % 255)) : b))
      const err = await verifyPrivateDhtValue(key, new Uint8Array(junk), T + 1).then(() => undefined, (e: Error) => e)
      if (err != null) expect(typed.has(err.name), err.name).toBe(true)
    }
  })

  it('selects the newest valid value, a tombstone over a live record at equal seq', async () => {
    const key = privateDhtKey(lookupKeyOf())
    const older = await live(alice, T)
    const newer = await live(alice, T + 10)
    const expired = await live(alice, T + 20, P, 1_000)
    const select = async (values: Uint8Array[], now: number): Promise<number | undefined> => (await selectBest(key, values, now, verifyPrivateDhtValue))?.index
    expect(await select([older, newer], T + 100)).toBe(1)
    expect(await select([newer, older], T + 100)).toBe(0)
    expect(await select([older, expired], T + 2_000)).toBe(0)
    expect(await select([await live(alice, T + 30), await tomb(alice, T + 30)], T + 100)).toBe(1)
    expect(await select([new Uint8Array(3)], T)).toBeUndefined()
  })
})

describe('DHT node store: private slots', () => {
  const keyOf = (store: DhtStore): Key => store.keyFor(privateDhtKey(lookupKeyOf()))
  const put = async (store: DhtStore, value: Uint8Array): Promise<Key> =>
    store.put(keyOf(store), new Libp2pRecord(privateDhtKey(lookupKeyOf()), value, new Date()).serialize())
  const held = (store: DhtStore): number[] => bytes(store.storedValue(privateDhtKey(lookupKeyOf())))

  it('keeps a live slot for its writer key, as a rendezvous point: other writers get NameTakenError', async () => {
    let now = T + 1
    const store = new DhtStore({ prefix: PREFIX, maxRecords: 10, now: () => now })
    const first = await live(alice, T)
    await put(store, first)
    now = T + 100
    await rejects(put(store, await live(mallory, T + 50)), 'NameTakenError')
    await rejects(put(store, await tomb(mallory, T + 60)), 'NameTakenError')
    await rejects(put(store, first), 'StaleRecordError')
    await rejects(put(store, await live(alice, T - 10)), 'StaleRecordError')
    const update = await live(alice, T + 70)
    await put(store, update)
    expect(held(store)).toEqual(bytes(update))
    // the writer withdraws: the slot is free, and older records of the writer stay out
    await put(store, await tomb(alice, T + 80))
    await rejects(put(store, await live(alice, T + 75)), 'StaleRecordError')
    const taken = await live(mallory, T + 90)
    await put(store, taken)
    expect(held(store)).toEqual(bytes(taken))
  })

  it('frees a slot when its record expires, and counts private records toward maxRecords', async () => {
    let now = T + 1
    const store = new DhtStore({ prefix: PREFIX, maxRecords: 2, now: () => now })
    await put(store, await live(alice, T, P, 1_000))
    const pub = encodeSignedRecord(await createRecord(alice, { name: 'public-one', addrs: ADDRS, aid: AID, now: T }))
    await store.put(store.keyFor(dhtKey('public-one')), new Libp2pRecord(dhtKey('public-one'), pub, new Date()).serialize())
    const otherSlot = privateDhtKey(lookupKeyOf(P + 1))
    const signed = await createRecord(alice, { name: NAME, addrs: ADDRS, aid: AID, ttl: 600_000, now: T })
    const next = encodeSignedPrivateRecord(await sealPrivateRecord({ entityKey: alice, signed, name: NAME, secret: SECRET, period: P + 1, seq: T, expires: T + 600_000 }))
    await rejects(store.put(store.keyFor(otherSlot), new Libp2pRecord(otherSlot, next, new Date()).serialize()), 'StoreFullError')
    now = T + 1_000 // the first slot's record expired: swept, the slot is free for any writer
    await put(store, await live(mallory, T + 500))
    expect(store.size).toBe(2)
  })

  it('keeps a tombstone until its slot ends', async () => {
    let now = T + 10
    const store = new DhtStore({ prefix: PREFIX, maxRecords: 10, now: () => now })
    await put(store, await tomb(alice, T))
    now = (P + 2) * PRIVATE_PERIOD_MS + MAX_CLOCK_SKEW_MS - 1
    expect(store.storedValue(privateDhtKey(lookupKeyOf()))).toBeDefined()
    now += 1
    expect(store.storedValue(privateDhtKey(lookupKeyOf()))).toBeUndefined()
    expect(store.size).toBe(0)
  })
})

describe('DHT node store written through to a datastore', () => {
  it('writes every accepted record before put resolves, and loads only what verifies again', async () => {
    let now = T + 1
    const disk = new MemoryDatastore()
    const store = new DhtStore({ prefix: PREFIX, maxRecords: 10, now: () => now })
    expect(await store.open(disk)).toBe(0)
    const privateKey = privateDhtKey(lookupKeyOf())
    const value = await live(alice, T, P, 60_000)
    await store.put(store.keyFor(privateKey), new Libp2pRecord(privateKey, value, new Date()).serialize())
    const pub = encodeSignedRecord(await createRecord(mallory, { name: 'on-disk', addrs: ADDRS, aid: AID, ttl: 1_000, now: T }))
    await store.put(store.keyFor(dhtKey('on-disk')), new Libp2pRecord(dhtKey('on-disk'), pub, new Date()).serialize())
    expect(await disk.has(store.keyFor(privateKey))).toBe(true)
    // what a damaged or foreign datastore can hold: all of it is dropped at the next start
    await disk.put(new Key(`${PREFIX}/record/garbage`), Uint8Array.of(1, 2, 3))
    await disk.put(store.keyFor(dhtKey('misfiled')), new Libp2pRecord(dhtKey('on-disk'), pub, new Date()).serialize())
    await disk.put(new Key(`${PREFIX}/provider/x`), Uint8Array.of(1))
    store.detach()

    now = T + 1_000 // the public record has expired meanwhile
    const restarted = new DhtStore({ prefix: PREFIX, maxRecords: 10, now: () => now })
    expect(await restarted.open(disk)).toBe(1)
    expect(bytes(restarted.storedValue(privateKey))).toEqual(bytes(value))
    const left: string[] = []
    for await (const key of disk.queryKeys({})) left.push(key.toString())
    expect(left).toEqual([restarted.keyFor(privateKey).toString()])
    // a withdrawal reaches the disk too
    await restarted.put(restarted.keyFor(privateKey), new Libp2pRecord(privateKey, await tomb(alice, T + 500), new Date()).serialize())
    expect(bytes(Libp2pRecord.deserialize(await disk.get(restarted.keyFor(privateKey))).value)).toEqual(bytes(await tomb(alice, T + 500)))
    await restarted.delete(restarted.keyFor(privateKey))
    expect(await disk.has(restarted.keyFor(privateKey))).toBe(false)
  })
})
