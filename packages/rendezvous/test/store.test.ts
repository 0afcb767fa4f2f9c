import { generateKeyPair } from '@libp2p/crypto/keys'
import { MemoryDatastore } from 'datastore-core'
import { Key } from 'interface-datastore'
import { describe, expect, it } from 'vitest'
import { RecordStore, createRecord, createTombstone } from '../src/index.ts'
import { RateLimiter } from '../src/internal/rate-limit.ts'

const aid = new Uint8Array(8).fill(9)
const addrs = ['/ip4/127.0.0.1/tcp/40001']

function clock (): { now: () => number, advance: (ms: number) => void } {
  let t = Date.now()
  return { now: () => t, advance: (ms) => { t += ms } }
}

describe('RecordStore persistence', () => {
  it('reloads live records from its datastore and drops expired ones', async () => {
    const c = clock()
    const datastore = new MemoryDatastore()
    const key = await generateKeyPair('Ed25519')
    const store = new RecordStore({ datastore, now: c.now })
    await store.put(await createRecord(key, { name: 'short', addrs, aid, ttl: 2_000, now: c.now() }))
    await store.put(await createRecord(key, { name: 'long', addrs, aid, ttl: 60_000, now: c.now() }))
    c.advance(5_000)
    const reloaded = new RecordStore({ datastore, now: c.now })
    await reloaded.load()
    expect((await reloaded.get('long')).publicKey.equals(key.publicKey)).toBe(true)
    await expect(reloaded.get('short')).rejects.toMatchObject({ name: 'NameNotFoundError' })
    const keys: string[] = []
    for await (const k of datastore.queryKeys({})) keys.push(k.toString())
    expect(keys.some(k => k.endsWith('/short'))).toBe(false)
  })

  it('remembers a withdrawal across a reload, so the withdrawn record cannot be replayed', async () => {
    const c = clock()
    const datastore = new MemoryDatastore()
    const key = await generateKeyPair('Ed25519')
    const store = new RecordStore({ datastore, now: c.now })
    const live = await createRecord(key, { name: 'gone', addrs, aid, now: c.now() })
    await store.put(live)
    c.advance(10)
    await store.remove(await createTombstone(key, 'gone', c.now()))
    const reloaded = new RecordStore({ datastore, now: c.now })
    await reloaded.load()
    await expect(reloaded.put(live)).rejects.toMatchObject({ name: 'StaleRecordError' })
  })

  it('drops entries that no longer verify when it loads', async () => {
    const datastore = new MemoryDatastore()
    await datastore.put(new Key('/fara/rendezvous/v1/public/slot/evil'), new Uint8Array([1, 2, 3]))
    const store = new RecordStore({ datastore })
    await store.load()
    expect(store.size).toBe(0)
    expect(await datastore.has(new Key('/fara/rendezvous/v1/public/slot/evil'))).toBe(false)
  })
})

describe('RecordStore bounds', () => {
  it('refuses more live names per key than allowed with TooManyRegistrationsError', async () => {
    const key = await generateKeyPair('Ed25519')
    const store = new RecordStore({ maxRecordsPerKey: 2 })
    await store.put(await createRecord(key, { name: 'one', addrs, aid }))
    await store.put(await createRecord(key, { name: 'two', addrs, aid }))
    await expect(store.put(await createRecord(key, { name: 'three', addrs, aid }))).rejects.toMatchObject({ name: 'TooManyRegistrationsError', code: 11 })
    // refreshing a name it holds is still fine
    await store.put(await createRecord(key, { name: 'two', addrs, aid }))
    // and another key is not affected
    await store.put(await createRecord(await generateKeyPair('Ed25519'), { name: 'three', addrs, aid }))
  })

  it('refuses a new name when full with StoreFullError, after sweeping expired records', async () => {
    const c = clock()
    const store = new RecordStore({ maxRecords: 2, now: c.now })
    await store.put(await createRecord(await generateKeyPair('Ed25519'), { name: 'a', addrs, aid, ttl: 1_000, now: c.now() }))
    await store.put(await createRecord(await generateKeyPair('Ed25519'), { name: 'b', addrs, aid, now: c.now() }))
    await expect(store.put(await createRecord(await generateKeyPair('Ed25519'), { name: 'c', addrs, aid, now: c.now() }))).rejects.toMatchObject({ name: 'StoreFullError', code: 12 })
    c.advance(1_001)
    await store.put(await createRecord(await generateKeyPair('Ed25519'), { name: 'c', addrs, aid, now: c.now() }))
  })
})

describe('RateLimiter', () => {
  it('allows a burst, then refills at the configured rate', () => {
    let t = 0
    const limiter = new RateLimiter(10, 3, 100, () => t)
    expect([limiter.take('p'), limiter.take('p'), limiter.take('p')]).toEqual([0, 0, 0])
    expect(limiter.take('p')).toBe(100)
    expect(limiter.take('q')).toBe(0)
    t += 100
    expect(limiter.take('p')).toBe(0)
  })

  it('forgets the least recently seen peer first when full', () => {
    const limiter = new RateLimiter(1, 1, 2, () => 0)
    limiter.take('a')
    limiter.take('b')
    limiter.take('c') // forgets a
    expect(limiter.take('a')).toBe(0)
    expect(limiter.take('c')).toBeGreaterThan(0)
  })
})
