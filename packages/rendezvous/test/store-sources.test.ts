// Per-source caps of a store (spec/rendezvous.md#rate-limits): the slots that writes from one source
// address, or one source prefix, may hold, whatever keys they use. Keys are free; addresses are not.
import { generateKeyPair } from '@libp2p/crypto/keys'
import { describe, expect, it } from 'vitest'
import { RecordStore, createRecord, createTombstone } from '../src/index.ts'
import { DEFAULT_MAX_RECORDS_PER_ADDRESS, DEFAULT_MAX_RECORDS_PER_PREFIX, MAX_TTL_MS } from '../src/constants.ts'
import { periodOf, sealPrivateRecord } from '../src/private/index.ts'
import type { Source } from '@fara/transport'

const aid = new Uint8Array(8).fill(9)
const addrs = ['/ip4/127.0.0.1/tcp/40001']
const host = (address: string): Source => ({ address, prefix: `${address.split('.').slice(0, 3).join('.')}.0/24` })
const A = host('198.51.100.1')
const A2 = host('198.51.100.2')
const B = host('203.0.113.9')

function clock (): { now: () => number, advance: (ms: number) => void } {
  let t = Date.now()
  return { now: () => t, advance: (ms) => { t += ms } }
}

/** Register `name` under a fresh key from `source`: 'ok' or the error's name and limit. */
async function register (store: RecordStore, name: string, source: Source | undefined, now: number, ttl = 60_000): Promise<string> {
  const record = await createRecord(await generateKeyPair('Ed25519'), { name, addrs, aid, ttl, now })
  return store.put(record, source == null ? {} : { source }).then(() => 'ok', (err: Error & { limit?: string }) => `${err.name}:${err.limit ?? ''}`)
}

describe('RecordStore per-source caps', () => {
  it('defaults to 256 slots per address and 1024 per prefix', () => {
    expect(new RecordStore().limits).toEqual({ key: 16, address: DEFAULT_MAX_RECORDS_PER_ADDRESS, prefix: DEFAULT_MAX_RECORDS_PER_PREFIX })
    expect([DEFAULT_MAX_RECORDS_PER_ADDRESS, DEFAULT_MAX_RECORDS_PER_PREFIX]).toEqual([256, 1024])
    expect(() => new RecordStore({ maxRecordsPerAddress: 0 })).toThrow(RangeError)
    expect(() => new RecordStore({ maxRecordsPerPrefix: 1.5 })).toThrow(/maxRecordsPerPrefix must be a positive integer/)
  })

  it('refuses a new name from an address that holds its share, under any key, and serves other addresses', async () => {
    const c = clock()
    const store = new RecordStore({ maxRecordsPerAddress: 3, maxRecordsPerPrefix: 5, now: c.now })
    const results = []
    for (let i = 0; i < 4; i++) results.push(await register(store, `a-${i}`, A, c.now()))
    expect(results).toEqual(['ok', 'ok', 'ok', 'TooManyRegistrationsError:address'])
    // the neighbour in the same /24 has the rest of the prefix's share, then the prefix is full
    expect([await register(store, 'n-0', A2, c.now()), await register(store, 'n-1', A2, c.now()), await register(store, 'n-2', A2, c.now())])
      .toEqual(['ok', 'ok', 'TooManyRegistrationsError:prefix'])
    // another network is not affected; writes without a source (an embedded store) are not counted
    expect(await register(store, 'b-0', B, c.now())).toBe('ok')
    expect(await register(store, 'local', undefined, c.now())).toBe('ok')
    expect(store.size).toBe(7)
  })

  it('tells the client which limit refused it', async () => {
    const store = new RecordStore({ maxRecordsPerAddress: 1 })
    await register(store, 'first', A, Date.now())
    const record = await createRecord(await generateKeyPair('Ed25519'), { name: 'second', addrs, aid })
    await expect(store.put(record, { source: A })).rejects.toMatchObject({
      name: 'TooManyRegistrationsError', code: 11, limit: 'address', message: 'registrations from 198.51.100.1 already hold 1 records here'
    })
  })

  it('always lets a held name be refreshed, from anywhere, without counting it twice', async () => {
    const c = clock()
    const store = new RecordStore({ maxRecordsPerAddress: 1, now: c.now })
    const key = await generateKeyPair('Ed25519')
    await store.put(await createRecord(key, { name: 'mine', addrs, aid, now: c.now() }), { source: A })
    c.advance(10)
    // the service moved: its refresh from B passes and the slot still counts toward A, the address that created it
    await store.put(await createRecord(key, { name: 'mine', addrs, aid, now: c.now() }), { source: B })
    c.advance(10)
    await store.put(await createRecord(key, { name: 'mine', addrs, aid, now: c.now() }), { source: A })
    expect(await register(store, 'b-new', B, c.now())).toBe('ok')
    expect(await register(store, 'a-new', A, c.now())).toBe('TooManyRegistrationsError:address')
  })

  it('keeps counting a withdrawn slot until its withdrawal is forgotten: withdrawing makes no room', async () => {
    const c = clock()
    const store = new RecordStore({ maxRecordsPerAddress: 2, now: c.now })
    const key = await generateKeyPair('Ed25519')
    await store.put(await createRecord(key, { name: 'gone', addrs, aid, now: c.now() }), { source: A })
    c.advance(10)
    // withdrawn from another address: the withdrawal still counts toward A
    await store.remove(await createTombstone(key, 'gone', c.now()))
    expect(await register(store, 'a-1', A, c.now())).toBe('ok')
    expect(await register(store, 'a-2', A, c.now())).toBe('TooManyRegistrationsError:address')
    // registering the same name again under the same key and withdrawing it again replaces the withdrawal: no growth
    c.advance(10)
    await store.put(await createRecord(key, { name: 'gone', addrs, aid, now: c.now() }), { source: B })
    c.advance(10)
    await store.remove(await createTombstone(key, 'gone', c.now()))
    expect(await register(store, 'b-1', B, c.now())).toBe('ok')
    expect(await register(store, 'b-2', B, c.now())).toBe('TooManyRegistrationsError:address')
    // once a withdrawal can no longer matter (MAX_TTL_MS) and the records expired, the share is free again
    c.advance(MAX_TTL_MS + 1)
    expect([await register(store, 'a-3', A, c.now()), await register(store, 'a-4', A, c.now()), await register(store, 'a-5', A, c.now())])
      .toEqual(['ok', 'ok', 'TooManyRegistrationsError:address'])
  })

  it('frees an address\'s share as its records expire', async () => {
    const c = clock()
    const store = new RecordStore({ maxRecordsPerAddress: 2, now: c.now })
    expect([await register(store, 'x', A, c.now(), 1_000), await register(store, 'y', A, c.now(), 1_000), await register(store, 'z', A, c.now())])
      .toEqual(['ok', 'ok', 'TooManyRegistrationsError:address'])
    c.advance(1_001)
    expect(await register(store, 'z', A, c.now())).toBe('ok')
  })

  it('counts private records toward their writer\'s source too (their writer keys are one per slot)', async () => {
    const now = Date.now()
    const store = new RecordStore({ maxRecordsPerAddress: 2 })
    const results: string[] = []
    for (let i = 0; i < 3; i++) {
      const key = await generateKeyPair('Ed25519')
      const signed = await createRecord(key, { name: `p-${i}`, addrs, aid, now })
      const sealed = await sealPrivateRecord({ entityKey: key, signed, name: `p-${i}`, period: periodOf(now), seq: now, expires: now + 60_000 })
      results.push(await store.putPrivate(sealed, { source: A }).then(() => 'ok', (err: Error) => err.name))
    }
    expect(results).toEqual(['ok', 'ok', 'TooManyRegistrationsError'])
  })
})
