import { randomBytes } from 'node:crypto'
import { createRecord, verifyRecord } from '@fara/rendezvous'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { afterEach, describe, expect, it } from 'vitest'
import { AssociationRejectedError, createEntity, memoryRendezvous } from '../src/index.ts'
import { echo } from './echo.ts'
import { ClientNodes } from '../src/internal/client-nodes.ts'
import { RecordCache } from '../src/internal/record-cache.ts'
import type { Association, Entity, RendezvousFactory } from '../src/index.ts'
import type { Libp2p } from '@libp2p/interface'

const LOOPBACK = ['/ip4/127.0.0.1/tcp/0']

/** Send one byte and read everything back: rejects with the association's error. */
async function ping (association: Association): Promise<number> {
  association.send(Uint8Array.of(7))
  await association.close()
  let bytes = 0
  for await (const chunk of association) bytes += chunk.byteLength
  return bytes
}

/** A rendezvous that counts the resolves that reach it. */
function counting (base: RendezvousFactory): RendezvousFactory & { resolves: number } {
  const factory = Object.assign((components: Parameters<RendezvousFactory>[0]) => {
    const rv = base(components)
    return {
      register: rv.register.bind(rv),
      unregister: rv.unregister.bind(rv),
      async resolve (name: string, options?: { signal?: AbortSignal }) {
        factory.resolves++
        return rv.resolve(name, options)
      }
    }
  }, { resolves: 0 })
  return factory
}

/** A rendezvous with `prepare`, and for each node it was made for (in order) how often it prepared and resolved. */
function preparing (base: RendezvousFactory): { rendezvous: RendezvousFactory, instances: Array<{ prepared: number, resolves: number }> } {
  const instances: Array<{ prepared: number, resolves: number }> = []
  const rendezvous = (components: Parameters<RendezvousFactory>[0]): ReturnType<RendezvousFactory> => {
    const rv = base(components)
    const seen = { prepared: 0, resolves: 0 }
    instances.push(seen)
    return {
      register: rv.register.bind(rv),
      unregister: rv.unregister.bind(rv),
      async resolve (name: string, options?: { signal?: AbortSignal }) { seen.resolves++; return rv.resolve(name, options) },
      async prepare () { seen.prepared++ }
    }
  }
  return { rendezvous, instances }
}

async function recordFor (name: string, now: number, ttl = 600_000): ReturnType<typeof verifyRecord> {
  const key = await generateKeyPair('Ed25519')
  const signed = await createRecord(key, { name, addrs: ['/ip4/127.0.0.1/tcp/4001'], aid: randomBytes(8), ttl, now })
  return verifyRecord(signed, { now })
}

describe('record cache (spec/architecture.md#client-record-cache-and-spare-nodes)', () => {
  const entities: Entity[] = []
  afterEach(async () => { await Promise.all(entities.splice(0).map(async e => e.close())) })

  async function entity (app: string, rendezvous: RendezvousFactory, extra: Parameters<typeof createEntity>[0] | object = {}, listen = LOOPBACK): Promise<Entity> {
    const e = await createEntity({ app, rendezvous, listen, ...extra })
    entities.push(e)
    return e
  }

  /** A counting rendezvous, an entity serving `echo` on it, and a client with or without a record cache. */
  async function echoAndClient (recordCache: boolean): Promise<{ rendezvous: ReturnType<typeof counting>, server: Entity, client: Entity }> {
    const rendezvous = counting(memoryRendezvous())
    const server = await entity('server', rendezvous)
    await server.serve('echo', echo)
    const client = await entity('client', rendezvous, recordCache ? { recordCache: true } : {}, [])
    return { rendezvous, server, client }
  }

  it('connects with the cached record without asking the rendezvous again, with fresh and stable identities alike', async () => {
    const { rendezvous, client } = await echoAndClient(true)
    expect(await ping(await client.connect('echo'))).toBe(1)
    expect(await ping(await client.connect('echo'))).toBe(1)
    expect(await ping(await client.connect('echo', { stableIdentity: true }))).toBe(1)
    expect(rendezvous.resolves).toBe(1)
  })

  it('resolves on every connect without a cache', async () => {
    const { rendezvous, client } = await echoAndClient(false)
    expect(await ping(await client.connect('echo'))).toBe(1)
    expect(await ping(await client.connect('echo'))).toBe(1)
    expect(rendezvous.resolves).toBe(2)
  })

  it('resolves again within the same connect when the cached record cannot be dialled (the service moved)', async () => {
    const rendezvous = counting(memoryRendezvous())
    const first = await entity('server', rendezvous)
    await first.serve('echo', echo)
    const client = await entity('client', rendezvous, { recordCache: true }, [])
    expect(await ping(await client.connect('echo'))).toBe(1)
    // the service goes away (its name is withdrawn), and another entity serves the name elsewhere
    await first.close()
    const second = await entity('server-2', rendezvous)
    await second.serve('echo', echo)
    const association = await client.connect('echo')
    expect(association.remotePeer.equals(second.peerId)).toBe(true)
    expect(await ping(association)).toBe(1)
    expect(rendezvous.resolves).toBe(2)
  })

  it('drops a record whose service refuses the association, so the next connect resolves again', async () => {
    const rendezvous = counting(memoryRendezvous())
    const server = await entity('server', rendezvous)
    const service = await server.serve('echo', echo)
    const client = await entity('client', rendezvous, { recordCache: true }, [])
    expect(await ping(await client.connect('echo'))).toBe(1)
    // same entity, same address, new AId: the cached record still dials but names an AId nobody holds
    await service.close()
    await server.serve('echo', echo)
    const stale = await client.connect('echo')
    await expect(ping(stale)).rejects.toBeInstanceOf(AssociationRejectedError)
    await stale.finished.catch(() => {})
    expect(await ping(await client.connect('echo'))).toBe(1)
    expect(rendezvous.resolves).toBe(2)
  })

  it('never caches private names', async () => {
    const rendezvous = memoryRendezvous()
    const server = await entity('server', rendezvous)
    await server.serve('hidden', echo, { private: true })
    const client = await entity('client', rendezvous, { recordCache: true }, [])
    expect(await ping(await client.connect('hidden', { private: true }))).toBe(1)
    // the public name was never registered: a cached private record would have answered it
    await expect(client.connect('hidden')).rejects.toMatchObject({ name: 'NameNotFoundError' })
  })

  it('prepares the spare client node for lookups, and the next connect resolves through that one', async () => {
    const { rendezvous, instances } = preparing(memoryRendezvous())
    const server = await entity('server', rendezvous)
    await server.serve('echo', echo)
    const client = await entity('client', rendezvous, {}, [])
    const before = instances.length
    expect(await ping(await client.connect('echo'))).toBe(1)
    // the first connect made its node inline; a spare follows, prepared once
    await expect.poll(() => instances.slice(before + 1).map(i => i.prepared), { timeout: 5_000 }).toEqual([1])
    const spare = instances[before + 1]!
    expect(await ping(await client.connect('echo'))).toBe(1)
    expect(spare.resolves).toBe(1)
  })

  it('prepares no spare after a connect served from the cache (it would cost the point a connection per association), and again after one that looked up', async () => {
    const { rendezvous, instances } = preparing(memoryRendezvous())
    const server = await entity('server', rendezvous)
    await server.serve('echo', echo)
    await server.serve('echo-2', echo)
    const client = await entity('client', rendezvous, { recordCache: true }, [])
    const before = instances.length
    // a lookup (nothing cached yet): the spare made after it is prepared
    expect(await ping(await client.connect('echo'))).toBe(1)
    await expect.poll(() => instances.slice(before + 1).map(i => i.prepared), { timeout: 5_000 }).toEqual([1])
    // served from the cache: the spare made after it is not
    expect(await ping(await client.connect('echo'))).toBe(1)
    await expect.poll(() => instances.length, { timeout: 5_000 }).toBe(before + 3)
    // that spare still resolves a name it has no record for, through a rendezvous it opens then
    expect(await ping(await client.connect('echo-2'))).toBe(1)
    expect(instances[before + 2]).toEqual({ prepared: 0, resolves: 1 })
    // and after that lookup, the next spare is prepared again
    await expect.poll(() => instances.slice(before + 3).map(i => i.prepared), { timeout: 5_000 }).toEqual([1])
  })

  it('refuses bad settings with a RangeError before creating anything', async () => {
    await expect(createEntity({ app: 'x', recordCache: { maxAgeMs: -1 } })).rejects.toBeInstanceOf(RangeError)
    await expect(createEntity({ app: 'x', recordCache: { maxEntries: 0 } })).rejects.toBeInstanceOf(RangeError)
    await expect(createEntity({ app: 'x', recordCache: { maxAgeMs: Number.NaN } })).rejects.toBeInstanceOf(RangeError)
  })
})

describe('RecordCache', () => {
  it('holds a record until the earlier of its expiry and maxAgeMs', async () => {
    let now = 1_700_000_000_000
    const cache = new RecordCache({ maxAgeMs: 1_000 }, () => now)
    const long = await recordFor('long', now)
    cache.set(long)
    now += 999
    expect(cache.get('long')).toBe(long)
    now += 1
    expect(cache.get('long')).toBeUndefined()
    const short = await recordFor('short', now, 5_000)
    cache.set(short)
    now += 999
    expect(cache.get('short')).toBe(short)
    cache.set(short) // set again later: still bounded by its own expiry
    now += 4_001
    expect(cache.get('short')).toBeUndefined()
    expect(cache.size).toBe(0)
  })

  it('keeps at most maxEntries names, dropping the least recently used', async () => {
    const now = 1_700_000_000_000
    const cache = new RecordCache({ maxEntries: 2 }, () => now)
    const [a, b, c] = await Promise.all(['a', 'b', 'c'].map(async n => recordFor(n, now)))
    cache.set(a!)
    cache.set(b!)
    cache.get('a')
    cache.set(c!)
    expect(cache.get('b')).toBeUndefined()
    expect(cache.get('a')).toBe(a)
    expect(cache.get('c')).toBe(c)
    expect(cache.size).toBe(2)
  })

  it('drops a name only while it still maps to the record that failed', async () => {
    const now = 1_700_000_000_000
    const cache = new RecordCache({}, () => now)
    const old = await recordFor('n', now)
    const fresh = await recordFor('n', now)
    cache.set(fresh)
    cache.drop('n', old)
    expect(cache.get('n')).toBe(fresh)
    cache.drop('n', fresh)
    expect(cache.get('n')).toBeUndefined()
  })
})

describe('ClientNodes', () => {
  /** Stand-ins for libp2p nodes: only `stop` is used by the pool. */
  function fakes (): { create: () => Promise<{ node: Libp2p, rendezvous: number }>, made: number, attempts: number, stopped: number, fail: boolean } {
    const state = {
      made: 0,
      attempts: 0,
      stopped: 0,
      fail: false,
      create: async () => {
        state.attempts++
        if (state.fail) throw new Error('cannot make a node')
        const n = ++state.made
        return { node: { stop: async () => { state.stopped++ } } as unknown as Libp2p, rendezvous: n }
      }
    }
    return state
  }
  const log = Object.assign(() => {}, { error: () => {}, trace: () => {}, enabled: false }) as never

  it('hands out every node once, a spare made after refill, and stops all of them on close', async () => {
    const f = fakes()
    const prepared: number[] = []
    const pool = new ClientNodes(f.create, (c) => { prepared.push(c.rendezvous) }, log)
    const first = await pool.take()
    expect(first.rendezvous).toBe(1)
    pool.refill()
    await expect.poll(() => prepared, { timeout: 5_000 }).toEqual([2])
    const second = await pool.take()
    expect(second.rendezvous).toBe(2)
    expect(f.made).toBe(2)
    pool.release(first.node)
    pool.release(first.node) // twice is harmless
    expect(f.stopped).toBe(1)
    pool.refill()
    await expect.poll(() => prepared, { timeout: 5_000 }).toEqual([2, 3])
    await pool.close()
    expect(f.stopped).toBe(3)
    await expect(pool.take()).rejects.toThrow('entity closed')
    expect(f.stopped).toBe(4)
  })

  it('makes a node on demand when the spare could not be made', async () => {
    const f = fakes()
    const pool = new ClientNodes(f.create, () => {}, log)
    f.fail = true
    pool.refill()
    await expect.poll(() => f.attempts, { timeout: 5_000 }).toBe(1)
    f.fail = false
    expect((await pool.take()).rendezvous).toBe(1)
    expect(f.attempts).toBe(2)
    await pool.close()
  })
})
