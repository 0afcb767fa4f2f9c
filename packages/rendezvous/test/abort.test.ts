// The rendezvous package honours an AbortSignal (issue 17): createRendezvousPoint
// aborted while it starts stops what it started; RecordStore's loads and writes
// (and so the in-memory backend's) reject with the signal's reason and leave the
// store, in memory and on disk, as it was.
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { createKeystore } from '@fara/identity'
import { MemoryDatastore } from 'datastore-core'
import { LevelDatastore } from 'datastore-level'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { connectError, freePort } from '@fara/testkit'
import { RecordStore, createRecord, createRendezvousPoint, createTombstone, memoryRendezvous } from '../src/index.ts'
import type { Libp2p } from '@libp2p/interface'
import type { Datastore, Query } from 'interface-datastore'

const aid = new Uint8Array(8).fill(7)
const addrs = ['/ip4/127.0.0.1/tcp/40001']
const FAST_KDF = { N: 2 ** 10, r: 8, p: 1 }

let dir: string
const cleanups: Array<() => Promise<void>> = []

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fara-rendezvous-abort-'))
})

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
  await rm(dir, { recursive: true, force: true })
})

/** Call `start` with a signal and abort it right after, while the work it started is in flight. */
function abortedAfterStart<T> (start: (signal: AbortSignal) => Promise<T>, reason: Error): Promise<T> {
  const controller = new AbortController()
  const pending = start(controller.signal)
  controller.abort(reason)
  return pending
}

/** A LevelDB datastore on disk in the test directory, closed after the test. */
async function level (name = 'records'): Promise<LevelDatastore> {
  const datastore = new LevelDatastore(join(dir, name))
  await datastore.open()
  cleanups.push(async () => { await datastore.close() })
  return datastore
}

async function keysOf (datastore: Datastore): Promise<string[]> {
  const keys: string[] = []
  for await (const key of datastore.queryKeys({})) keys.push(key.toString())
  return keys.sort()
}

/** `datastore`, but `then` is called once its queries have handed out `afterEntries` entries in all (0: when a query starts). */
function watched (datastore: Datastore, afterEntries: number, then: () => void): Datastore {
  let seen = 0
  return new Proxy(datastore, {
    get (target, prop) {
      if (prop === 'query') {
        return async function * (q: Query, options?: { signal?: AbortSignal }) {
          if (afterEntries === 0) then()
          for await (const entry of target.query(q, options)) {
            yield entry
            if (++seen === afterEntries) then()
          }
        }
      }
      const value = Reflect.get(target, prop, target) as unknown
      return typeof value === 'function' ? value.bind(target) : value
    }
  })
}

describe('createRendezvousPoint', () => {
  it('rejects with the reason of an aborted signal and writes nothing into its data directory', async () => {
    const reason = new Error('not now')
    const dataDir = join(dir, 'point')
    await expect(createRendezvousPoint({ listen: ['/ip4/127.0.0.1/tcp/0'], dataDir, signal: AbortSignal.abort(reason) })).rejects.toBe(reason)
    expect(await readdir(dir)).toEqual([])
  })

  it('aborted while it prepares its data directory, rejects with the reason, saves no key and leaves the directory free', async () => {
    const reason = new Error('changed my mind')
    const dataDir = join(dir, 'point')
    await expect(abortedAfterStart(async signal => createRendezvousPoint({ listen: ['/ip4/127.0.0.1/tcp/0'], dataDir, signal }), reason)).rejects.toBe(reason)
    expect(await readdir(dataDir)).toEqual([])
    // nothing holds the directory (LevelDB's lock included): a point starts on it now
    const point = await createRendezvousPoint({ listen: ['/ip4/127.0.0.1/tcp/0'], dataDir })
    await point.close()
  })

  it('aborted while its node starts, rejects with the reason and leaves no node listening', async () => {
    const port = await freePort()
    const controller = new AbortController()
    const reason = new Error('changed my mind')
    // the point's server loads its records when the node starts: abort right there
    const loading = watched(new MemoryDatastore(), 0, () => { controller.abort(reason) })
    await expect(createRendezvousPoint({ listen: [`/ip4/127.0.0.1/tcp/${port}`], allowPinnedPort: true, datastore: loading, signal: controller.signal })).rejects.toBe(reason)
    expect(controller.signal.aborted).toBe(true)
    expect(await connectError(port)).toBe('ECONNREFUSED')
  })
})

describe('RecordStore', () => {
  it('load rejects with the reason of an aborted signal and loads nothing', async () => {
    const datastore = await level()
    await new RecordStore({ datastore }).put(await createRecord(await generateKeyPair('Ed25519'), { name: 'kept', addrs, aid }))
    const reason = new Error('not now')
    const store = new RecordStore({ datastore })
    await expect(store.load({ signal: AbortSignal.abort(reason) })).rejects.toBe(reason)
    expect(store.size).toBe(0)
  })

  it('load aborted half way through the datastore rejects with the reason, takes back what it loaded, and deletes nothing', async () => {
    const datastore = await level()
    const key = await generateKeyPair('Ed25519')
    const writer = new RecordStore({ datastore })
    const names = ['a', 'b', 'c', 'd', 'e', 'f']
    for (const name of names) await writer.put(await createRecord(key, { name, addrs, aid }))
    await writer.remove(await createTombstone(key, 'f'))
    const before = await keysOf(datastore)
    const controller = new AbortController()
    const reason = new Error('changed my mind')
    // the third entry is loaded, then the abort comes
    const store = new RecordStore({ datastore: watched(datastore, 3, () => { controller.abort(reason) }) })
    await expect(store.load({ signal: controller.signal })).rejects.toBe(reason)
    expect(store.size).toBe(0)
    for (const name of names) await expect(store.get(name)).rejects.toMatchObject({ name: 'NameNotFoundError' })
    expect(await keysOf(datastore)).toEqual(before)
    // a load without a signal then loads all of it: five names, and the withdrawal of the sixth
    await store.load()
    expect(store.size).toBe(6)
    expect((await store.get('e')).publicKey.equals(key.publicKey)).toBe(true)
  })

  it('put rejects with the reason of an aborted signal and stores nothing', async () => {
    const datastore = await level()
    const store = new RecordStore({ datastore })
    const reason = new Error('not now')
    await expect(store.put(await createRecord(await generateKeyPair('Ed25519'), { name: 'nope', addrs, aid }), { signal: AbortSignal.abort(reason) })).rejects.toBe(reason)
    await expect(store.get('nope')).rejects.toMatchObject({ name: 'NameNotFoundError' })
    expect(await keysOf(datastore)).toEqual([])
  })

  it('put aborted while the record is verified rejects with the reason, in memory and on disk', async () => {
    const datastore = await level()
    const store = new RecordStore({ datastore })
    const record = await createRecord(await generateKeyPair('Ed25519'), { name: 'late', addrs, aid })
    const reason = new Error('changed my mind')
    await expect(abortedAfterStart(async signal => store.put(record, { signal }), reason)).rejects.toBe(reason)
    await expect(store.get('late')).rejects.toMatchObject({ name: 'NameNotFoundError' })
    expect(await keysOf(datastore)).toEqual([])
    // the same record goes in without a signal
    await store.put(record)
    expect(await keysOf(datastore)).toHaveLength(1)
  })

  it('putPrivate rejects with the reason of an aborted signal', async () => {
    const store = new RecordStore({ datastore: await level() })
    const reason = new Error('not now')
    // the signal is looked at before the record is: even a malformed one rejects with the reason
    await expect(store.putPrivate({ record: new Uint8Array(1), signature: new Uint8Array(64) }, { signal: AbortSignal.abort(reason) })).rejects.toBe(reason)
  })

  it('remove rejects with the reason of an aborted signal, or of one aborted during the tombstone\'s check, and keeps the record', async () => {
    const datastore = await level()
    const key = await generateKeyPair('Ed25519')
    const store = new RecordStore({ datastore })
    await store.put(await createRecord(key, { name: 'stays', addrs, aid }))
    const before = await keysOf(datastore)
    const tombstone = await createTombstone(key, 'stays')
    const reason = new Error('not now')
    await expect(store.remove(tombstone, { signal: AbortSignal.abort(reason) })).rejects.toBe(reason)
    await expect(abortedAfterStart(async signal => store.remove(tombstone, { signal }), reason)).rejects.toBe(reason)
    expect((await store.get('stays')).publicKey.equals(key.publicKey)).toBe(true)
    expect(await keysOf(datastore)).toEqual(before)
    await store.remove(tombstone)
    await expect(store.get('stays')).rejects.toMatchObject({ name: 'NameNotFoundError' })
  })

  it('removePrivate rejects with the reason of an aborted signal', async () => {
    const store = new RecordStore()
    const reason = new Error('not now')
    await expect(store.removePrivate({ record: new Uint8Array(1), signature: new Uint8Array(64) }, { signal: AbortSignal.abort(reason) })).rejects.toBe(reason)
  })

  it('revoke rejects with the reason of an aborted signal, or of one aborted during its check, and revokes nothing', async () => {
    const datastore = await level()
    const device = await createKeystore(join(dir, 'keystore'), { passphrase: 'pw', kdf: FAST_KDF })
    const gen0 = await device.app('mail')
    const store = new RecordStore({ datastore })
    await store.put(await createRecord(gen0.privateKey, { name: 'mail', addrs, aid, certificate: gen0.certificate }))
    await device.rotate('mail')
    const revocation = await device.revoke('mail', 1)
    const before = await keysOf(datastore)
    const reason = new Error('not now')
    await expect(store.revoke(revocation, { signal: AbortSignal.abort(reason) })).rejects.toBe(reason)
    await expect(abortedAfterStart(async signal => store.revoke(revocation, { signal }), reason)).rejects.toBe(reason)
    expect((await store.get('mail')).certificate?.generation).toBe(0)
    expect(await keysOf(datastore)).toEqual(before)
    await store.revoke(revocation)
    await expect(store.get('mail')).rejects.toMatchObject({ name: 'NameNotFoundError' })
  })
})

describe('memoryRendezvous', () => {
  it('register aborted while the record is checked rejects with the reason and registers nothing', async () => {
    const node = {} as unknown as Libp2p
    const rv = memoryRendezvous()({ node })
    const record = await createRecord(await generateKeyPair('Ed25519'), { name: 'memo', addrs, aid })
    const reason = new Error('changed my mind')
    await expect(abortedAfterStart(async signal => rv.register(record, { signal }), reason)).rejects.toBe(reason)
    await expect(rv.resolve('memo')).rejects.toMatchObject({ name: 'NameNotFoundError' })
    await rv.register(record)
    expect((await rv.resolve('memo')).name).toBe('memo')
  })
})
