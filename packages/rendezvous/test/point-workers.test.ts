// A rendezvous point with several worker processes (spec/rendezvous.md#workers): clients land on
// different workers, yet they see one store, and the per-source limits are one budget across workers.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { describe, expect, it } from 'vitest'
import { pointHarness } from './points.ts'
import { createRecord, createRendezvousPoint, rendezvousPoint } from '../src/index.ts'
import type { RendezvousPointHandle } from '../src/index.ts'

const { point, client, cleanup } = pointHarness({ workers: 2 })

/** The workers that forwarded at least one request (by pid). */
function busy (p: RendezvousPointHandle): number[] {
  return p.workers.filter(w => w.requests > 0).map(w => w.pid)
}

describe('rendezvous point with 2 workers', () => {
  it('serves a record registered through one connection to connections on every worker', async () => {
    const { point: p } = await point()
    expect(p.workers).toHaveLength(2)
    expect(p.workers.map(w => w.pid)).not.toContain(process.pid)
    const owner = await generateKeyPair('Ed25519')
    await rendezvousPoint(p.multiaddrs)({ node: await client() }).register(await createRecord(owner, {
      name: 'shared', addrs: ['/ip4/198.51.100.7/tcp/40123'], aid: new Uint8Array(8).fill(7)
    }))
    // connections are dealt round-robin: eight clients land on both workers
    const names = await Promise.all(Array.from({ length: 8 }, async () => {
      const record = await rendezvousPoint(p.multiaddrs)({ node: await client() }).resolve('shared')
      return record.name
    }))
    expect(names).toEqual(Array(8).fill('shared'))
    expect(busy(p)).toHaveLength(2)
    expect(p.workers.reduce((n, w) => n + w.requests, 0)).toBe(9)
    expect(p.server.stats.requests).toBe(9)
  })

  it('keeps one request budget per source address across workers', async () => {
    const { point: p, refusals } = await point({ addressRate: 0.001, addressBurst: 4 })
    const answers: string[] = []
    // a fresh key and connection per request: a host cannot multiply its budget by reaching another worker
    for (let i = 0; i < 8; i++) {
      answers.push(await rendezvousPoint(p.multiaddrs)({ node: await client('127.0.30.1') }).resolve('nobody').then(() => 'found', (err: Error) => err.name))
    }
    expect(answers).toEqual([...Array(4).fill('NameNotFoundError'), ...Array(4).fill('RateLimitedError')])
    expect(busy(p)).toHaveLength(2)
    expect(p.server.stats.rateLimited).toBe(4)
    expect(refusals.map(r => [r.kind, r.limit, r.source])).toEqual([['requests', 'address', '127.0.30.1']])
  })

  it('caps the records held by registrations from one address across workers', async () => {
    const { point: p, refusals } = await point({ maxRecordsPerAddress: 3 })
    const results: string[] = []
    for (let i = 0; i < 5; i++) {
      const record = await createRecord(await generateKeyPair('Ed25519'), { name: `cap-${i}`, addrs: ['/ip4/127.0.0.1/tcp/4001'], aid: new Uint8Array(8) })
      results.push(await rendezvousPoint(p.multiaddrs)({ node: await client('127.0.31.1') }).register(record).then(() => 'ok', (err: Error) => err.name))
    }
    expect(results).toEqual(['ok', 'ok', 'ok', 'TooManyRegistrationsError', 'TooManyRegistrationsError'])
    expect(busy(p)).toHaveLength(2)
    expect(p.server.store.size).toBe(3)
    expect(refusals.map(r => [r.kind, r.limit, r.source, r.max])).toEqual([['registrations', 'address', '127.0.31.1', 3]])
  })

  it('replaces a worker that dies, and keeps serving', async () => {
    const { point: p } = await point()
    const [first] = p.workers
    process.kill(first!.pid, 'SIGKILL')
    await expect.poll(() => p.workers.length === 2 && !p.workers.some(w => w.pid === first!.pid), { timeout: 10_000 }).toBe(true)
    const answers = await Promise.all(Array.from({ length: 4 }, async () =>
      rendezvousPoint(p.multiaddrs)({ node: await client() }).resolve('nobody').then(() => 'found', (err: Error) => err.name)))
    expect(answers).toEqual(Array(4).fill('NameNotFoundError'))
  })

  it('keeps its key and records in dataDir across a restart, and leaves no worker running after close', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'fara-point-workers-'))
    cleanup(async () => rm(dataDir, { recursive: true, force: true }))
    const first = await createRendezvousPoint({ listen: ['/ip4/127.0.0.1/tcp/0'], workers: 2, dataDir })
    const owner = await generateKeyPair('Ed25519')
    await rendezvousPoint(first.multiaddrs)({ node: await client() }).register(await createRecord(owner, {
      name: 'kept', addrs: ['/ip4/198.51.100.7/tcp/40123'], aid: new Uint8Array(8).fill(7)
    }))
    const pids = first.workers.map(w => w.pid)
    const peerId = first.node.peerId.toString()
    await first.close()
    for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow()
    const { point: second } = await point({ dataDir })
    expect(second.node.peerId.toString()).toBe(peerId)
    expect(second.multiaddrs.every(a => a.toString().endsWith(`/p2p/${peerId}`))).toBe(true)
    expect((await rendezvousPoint(second.multiaddrs)({ node: await client() }).resolve('kept')).name).toBe('kept')
  })

  it('refuses options whose state cannot be shared across workers', async () => {
    await expect(createRendezvousPoint({ workers: 2, relay: true })).rejects.toMatchObject({ name: 'RangeError' })
    await expect(createRendezvousPoint({ workers: 0 })).rejects.toMatchObject({ name: 'RangeError' })
    await expect(createRendezvousPoint({ workers: '2' as never })).rejects.toMatchObject({ name: 'TypeError' })
  })
})
