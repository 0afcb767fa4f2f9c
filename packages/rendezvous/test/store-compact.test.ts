// The compact RecordStore (spec/rendezvous.md#store-rules): it keeps only the
// signed bytes (in a slab that compacts itself) and what the rules need, and
// rebuilds a record on read without verifying its signature again. These
// tests pin what that layout must not change: a read serves exactly what
// verifyRecord makes of the stored bytes, refuses what verifyRecord would
// refuse at the read's clock (expired, revoked, certificate out of validity,
// clock gone back), never after bytes moved, never after a reload; and the
// bytes held follow the records held.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPublicKey } from '@libp2p/peer-id'
import { MemoryDatastore } from 'datastore-core'
import { createKeystore } from '@fara/identity'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { rejectionIfAny } from '@fara/testkit'
import { RecordStore, createRecord, createTombstone, verifyRecord } from '../src/index.ts'
import { MAX_CLOCK_SKEW_MS, MAX_TTL_MS } from '../src/constants.ts'
import { MAX_CHUNK_BYTES } from '../src/internal/store-slab.ts'
import { equalBytes } from './arbitraries.ts'
import type { ServiceRecord, SignedRecord } from '../src/index.ts'
import type { AppIdentity, SignedRevocation } from '@fara/identity'
import type { PrivateKey } from '@libp2p/interface'
import type { Datastore } from 'interface-datastore'

const T0 = 1_750_000_000_000
const FAST_KDF = { N: 2 ** 10, r: 8, p: 1 }
const aid = new Uint8Array(8).fill(7)

let dir: string
/** c0: generation 0 of a certified app key (revoked by `revokeC0`), valid for an hour; c1: generation 1. */
let c0: AppIdentity
let c1: AppIdentity
let revokeC0: SignedRevocation
let plain: PrivateKey

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fara-store-compact-'))
  const ks = await createKeystore(join(dir, 'ks'), { passphrase: 'pw', kdf: FAST_KDF })
  c0 = await ks.app('svc', { now: T0, lifetime: 3_600_000 })
  c1 = await ks.rotate('svc', { now: T0 })
  revokeC0 = await ks.revoke('svc', 1, { now: T0 })
  plain = await generateKeyPair('Ed25519')
})

afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

const bytesOfSigned = (s: SignedRecord): number => s.record.byteLength + s.signature.byteLength
const sameSigned = (a: SignedRecord, b: SignedRecord): boolean => equalBytes(a.record, b.record) && equalBytes(a.signature, b.signature)

/** Everything a reader sees of a record, as plain comparable values. */
function view (r: ServiceRecord): unknown {
  return {
    keys: Object.keys(r).sort(),
    name: r.name,
    publicKey: r.publicKey.toString(),
    peerId: r.peerId.toString(),
    owner: r.owner.toString(),
    addrs: r.addrs.map(a => a.toString()),
    aid: [...r.aid],
    hop: r.hop == null ? undefined : [...r.hop],
    seq: r.seq,
    expires: r.expires,
    certificate: r.certificate == null
      ? undefined
      : { ...r.certificate, devicePublicKey: r.certificate.devicePublicKey.toString(), appPublicKey: r.certificate.appPublicKey.toString() },
    signed: [[...r.signed.record], [...r.signed.signature]]
  }
}

/** A datastore whose next put waits until `release()`; `reached` resolves once it waits. */
function gatedDatastore (): { datastore: Datastore, arm: () => { reached: Promise<void>, release: () => void } } {
  const datastore = new MemoryDatastore()
  const put = datastore.put.bind(datastore)
  let gate: { reached: () => void, wait: Promise<void> } | undefined
  datastore.put = async (...args: Parameters<typeof put>) => {
    const g = gate
    gate = undefined
    if (g != null) {
      g.reached()
      await g.wait
    }
    return put(...args)
  }
  return {
    datastore,
    arm: () => {
      let reached!: () => void
      let release!: () => void
      const r = new Promise<void>(resolve => { reached = resolve })
      gate = { reached, wait: new Promise<void>(resolve => { release = resolve }) }
      return { reached: r, release }
    }
  }
}

describe('RecordStore reads without re-verifying', () => {
  it('serves exactly what verifyRecord makes of the stored bytes: plain, certified, with hop parameters', async () => {
    const now = T0 + 1_000
    const store = new RecordStore({ now: () => now })
    const records = [
      await createRecord(plain, { name: 'plain', addrs: ['/ip4/192.0.2.1/tcp/4001', `/ip6/2001:db8::1/tcp/4001/p2p/${peerIdFromPublicKey(plain.publicKey).toString()}`], aid, now }),
      await createRecord(c1.privateKey, { name: 'certified', addrs: ['/dns4/example.com/tcp/443'], aid, now, certificate: c1.certificate }),
      await createRecord(plain, { name: 'hopping', addrs: ['/ip4/192.0.2.2/tcp/4002'], aid, now, hop: new Uint8Array([1, 2, 3, 4]) })
    ]
    for (const r of records) {
      const put = await store.put(r)
      const got = await store.get(put.name)
      const verified = await verifyRecord(r, { now })
      expect(view(got)).toEqual(view(verified))
      expect(view(put)).toEqual(view(verified))
      // the fields built on first access are own enumerable properties: a spread copies them
      expect(view({ ...got })).toEqual(view(verified))
      expect(got.owner.equals(got.certificate?.devicePublicKey ?? got.publicKey)).toBe(true)
    }
  })

  it('hands out copies: changing the bytes a read returned changes nothing stored', async () => {
    const store = new RecordStore({ now: () => T0 + 1_000 })
    const r = await createRecord(plain, { name: 'copy', addrs: ['/ip4/192.0.2.1/tcp/4001'], aid, now: T0 })
    await store.put(r)
    const first = await store.get('copy')
    first.signed.record.fill(0)
    first.signed.signature.fill(0)
    first.aid.fill(0)
    const again = await store.get('copy')
    expect(sameSigned(again.signed, r)).toBe(true)
    expect([...again.aid]).toEqual([...aid])
  })

  it('refuses a read as verifyRecord would at the read\'s clock: certificate expired since the put, clock gone back past the skew', async () => {
    let now = T0 + 1_000
    const store = new RecordStore({ now: () => now })
    // c0's certificate ends an hour after T0; the record would live a day
    const certified = await createRecord(c0.privateKey, { name: 'short-cert', addrs: ['/ip4/192.0.2.1/tcp/4001'], aid, now, ttl: MAX_TTL_MS, certificate: c0.certificate })
    const seq = now
    await store.put(certified)
    const plainRecord = await createRecord(plain, { name: 'plain', addrs: ['/ip4/192.0.2.1/tcp/4001'], aid, now, ttl: MAX_TTL_MS })
    await store.put(plainRecord)
    for (const at of [T0 + 3_600_000, T0 + 3_600_001, T0 + 7_200_000, seq - MAX_CLOCK_SKEW_MS, seq - MAX_CLOCK_SKEW_MS - 1]) {
      now = at
      for (const [name, signed] of [['short-cert', certified], ['plain', plainRecord]] as const) {
        const want = (await rejectionIfAny(verifyRecord(signed, { now })))?.name
        expect({ at, name, outcome: (await rejectionIfAny(store.get(name)))?.name }).toEqual({ at, name, outcome: want })
      }
    }
    // and a refused read left the name to its key
    now = T0 + 7_200_000
    await expect(store.put(await createRecord(plain, { name: 'short-cert', addrs: ['/ip4/192.0.2.1/tcp/4001'], aid, now }))).rejects.toMatchObject({ name: 'NameTakenError' })
  })

  it('never serves a record whose certificate was revoked while its put was writing to the datastore', async () => {
    const { datastore, arm } = gatedDatastore()
    const store = new RecordStore({ now: () => T0 + 1_000, datastore })
    const gate = arm()
    const put = store.put(await createRecord(c0.privateKey, { name: 'racing', addrs: ['/ip4/192.0.2.1/tcp/4001'], aid, now: T0, certificate: c0.certificate }))
    await gate.reached
    await store.revoke(revokeC0)
    gate.release()
    await put
    await expect(store.get('racing')).rejects.toMatchObject({ name: 'RevokedError' })
    // a later revocation, or a reload, then drops it
    const reloaded = new RecordStore({ now: () => T0 + 1_000, datastore })
    await reloaded.load()
    await expect(reloaded.get('racing')).rejects.toMatchObject({ name: 'NameNotFoundError' })
  })
})

describe('RecordStore layout', () => {
  it('never serves a revoked or expired record after compaction moved its bytes, and a reload serves the same bytes', async () => {
    let now = T0 + 1_000
    const datastore = new MemoryDatastore()
    const store = new RecordStore({ now: () => now, datastore, maxRecords: 1_000, maxRecordsPerKey: 1_000 })
    const current = new Map<string, SignedRecord>()
    const kindOf = (i: number): 'c0' | 'c1' | 'short' | 'plain' => (['c0', 'c1', 'short', 'plain'] as const)[i % 4]!
    const sign = async (i: number, round: number): Promise<SignedRecord> => {
      const kind = kindOf(i)
      const key = kind === 'c0' ? c0.privateKey : kind === 'c1' ? c1.privateKey : plain
      const certificate = kind === 'c0' ? { certificate: c0.certificate } : kind === 'c1' ? { certificate: c1.certificate } : {}
      return createRecord(key, {
        name: `n${i}`, addrs: [`/ip4/192.0.${round}.${i & 255}/tcp/${4000 + i}`], aid, now: now + round, ttl: kind === 'short' ? 60_000 : 600_000, ...certificate
      })
    }
    // 400 names, then most of them renewed four times: the first chunks fall below half live and are compacted
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < 400; i++) {
        if (round > 0 && i % 5 === 0) continue
        const signed = await sign(i, round)
        await store.put(signed)
        current.set(`n${i}`, signed)
      }
    }
    const stats = store.stats
    expect(stats.bytes).toBe([...current.values()].reduce((n, s) => n + bytesOfSigned(s), 0))
    expect(stats.capacity).toBeLessThanOrEqual(2 * stats.bytes + MAX_CHUNK_BYTES)
    await store.revoke(revokeC0)
    // every 'short' record has expired (the last renewed at seq now + 4)
    now += 60_010
    const served = async (s: RecordStore): Promise<Map<string, SignedRecord>> => {
      const out = new Map<string, SignedRecord>()
      for (let i = 0; i < 400; i++) {
        const got = await s.get(`n${i}`).catch((err: Error) => err)
        if (got instanceof Error) {
          expect(got.name).toBe('NameNotFoundError')
          expect(['c0', 'short']).toContain(kindOf(i))
        } else {
          expect(['c1', 'plain']).toContain(kindOf(i))
          expect(sameSigned(got.signed, current.get(`n${i}`)!)).toBe(true)
          out.set(`n${i}`, got.signed)
        }
      }
      return out
    }
    const before = await served(store)
    expect(before.size).toBe(200)
    const reloaded = new RecordStore({ now: () => now, datastore })
    await reloaded.load()
    const after = await served(reloaded)
    expect(after.size).toBe(200)
    expect(reloaded.stats.bytes).toBe([...after.values()].reduce((n, s) => n + bytesOfSigned(s), 0))
  })

  it('holds the bytes of the records it holds, no more: renewals, withdrawals, sweeps and revocations free theirs', async () => {
    let now = T0 + 1_000
    const store = new RecordStore({ now: () => now, maxRecords: 50, maxRecordsPerKey: 50 })
    const held = new Map<string, SignedRecord>()
    const liveBytes = (): number => [...held.values()].reduce((n, s) => n + bytesOfSigned(s), 0)
    const key = (i: number): { key: PrivateKey, certificate?: AppIdentity['certificate'] } => i % 2 === 0 ? { key: plain } : { key: c0.privateKey, certificate: c0.certificate }
    for (let round = 0; round < 20; round++) {
      for (let i = 0; i < 50; i++) {
        const { key: k, certificate } = key(i)
        const signed = await createRecord(k, { name: `m${i}`, addrs: ['/ip4/192.0.2.1/tcp/4001'], aid, now: now + round, ttl: i < 10 ? 5_000 : 60_000, ...(certificate == null ? {} : { certificate }) })
        await store.put(signed)
        held.set(`m${i}`, signed)
      }
      expect(store.stats.bytes).toBe(liveBytes())
      expect(store.size).toBeLessThanOrEqual(50)
    }
    now += 1_000
    await store.remove(await createTombstone(plain, 'm48', now))
    held.delete('m48')
    expect(store.stats.bytes).toBe(liveBytes())
    now += 5_000
    store.sweep()
    for (let i = 0; i < 10; i++) held.delete(`m${i}`)
    expect(store.stats.bytes).toBe(liveBytes())
    await store.revoke(revokeC0)
    for (let i = 1; i < 50; i += 2) held.delete(`m${i}`)
    expect(store.stats.bytes).toBe(liveBytes())
    expect(store.stats.capacity).toBeLessThanOrEqual(2 * store.stats.bytes + MAX_CHUNK_BYTES)
  })
})
