// Network fuzzing: a rendezvous point and a service entity, each in its own process, take random and mutated
// frames over real libp2p connections from a fuzzer in a third process (test/fixtures/fuzzer.ts) for a bounded
// time. Afterwards both are alive, their memory stayed bounded, no answer was malformed or missing, nothing echoed
// was lost, and a well-behaved client still registers, resolves, connects and echoes.
// FARA_SOAK=1 runs the fuzzer for 10 minutes instead of 8 s; FARA_FUZZ_SEED=<n> replays a run's seed.
import { generateKeyPair } from '@libp2p/crypto/keys'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createRecord, rendezvousPoint } from '@fara/rendezvous'
import { createNode } from '@fara/transport'
import { startFixture, stopAll } from './helpers/process.ts'
import { memoryOf, statsOf } from './fixtures/load-common.ts'
import type { Fixture } from './helpers/process.ts'

const SOAK = process.env.FARA_SOAK === '1'
const DURATION_MS = SOAK ? 10 * 60_000 : 8_000
const MiB = 1024 * 1024
/**
 * Resident memory either server may reach while fuzzed (a Node.js process with libp2p idles at about 100 MiB;
 * V8 keeps the heap it grew to, so the long run's bound is higher).
 */
const RSS_BOUND = (SOAK ? 768 : 400) * MiB

describe('fuzzing the rendezvous point and an entity over real connections', () => {
  let point: Fixture
  let service: Fixture
  let pointAddrs: string[]
  let serviceReady: Record<string, unknown>
  const name = `fuzzed-${Math.random().toString(36).slice(2, 8)}`

  beforeAll(async () => {
    point = startFixture('load-point')
    pointAddrs = (await point.next(l => l.event === 'ready')).multiaddrs as string[]
    service = startFixture('load-service', { point: pointAddrs, name })
    serviceReady = await service.next(l => l.event === 'ready')
  })

  afterAll(async () => {
    await stopAll()
  })

  it(`survives ${DURATION_MS / 1000} s of random and mutated frames and still answers correctly`, async () => {
    const peak = { point: 0, service: 0 }
    /** RSS in MiB of point/service at each tenth of the run: bounded means flat, not only under the bound. */
    const series: string[] = []
    const started = Date.now()
    const sample = (): void => {
      const p = memoryOf(point.child.pid!)?.rss ?? 0
      const s = memoryOf(service.child.pid!)?.rss ?? 0
      peak.point = Math.max(peak.point, p)
      peak.service = Math.max(peak.service, s)
      if ((Date.now() - started) >= series.length * DURATION_MS / 10) series.push(`${(p / MiB).toFixed(0)}/${(s / MiB).toFixed(0)}`)
    }
    const sampler = setInterval(sample, 250)
    const fuzzer = startFixture('fuzzer', {
      point: pointAddrs,
      service: { multiaddrs: serviceReady.multiaddrs, peerId: serviceReady.peerId, aid: serviceReady.aid },
      durationMs: DURATION_MS,
      ...(process.env.FARA_FUZZ_SEED == null ? {} : { seed: Number(process.env.FARA_FUZZ_SEED) })
    })
    let summary: Record<string, unknown>
    try {
      summary = await fuzzer.next(l => l.event === 'summary', DURATION_MS + 90_000)
    } finally {
      clearInterval(sampler)
    }
    sample()
    expect(await fuzzer.exited).toBe(0)
    const pointStats = await statsOf(point)
    const serviceStats = await statsOf(service)
    console.log(`fuzz: seed ${summary.seed}, ${summary.cases} cases in ${DURATION_MS} ms from ${summary.nodes} keys; ` +
      `peak RSS point ${(peak.point / MiB).toFixed(0)} MiB, service ${(peak.service / MiB).toFixed(0)} MiB; ` +
      `echoed ${summary.echoedBytes} bytes, lost ${summary.lostBytes}; RSS point/service (MiB) by tenths of the run ${series.join(' ')}; ` +
      `point ${JSON.stringify(pointStats)}; service ${JSON.stringify(serviceStats)}\n` +
      JSON.stringify(summary.byKind) + '\n' + JSON.stringify(summary.mutations) + '\n' + JSON.stringify(summary.endings))

    // every case answered as its protocol says: no INTERNAL status, nothing undecodable, no hang, nothing lost
    expect(summary.anomalies).toEqual([])
    expect(summary.anomalyCount).toBe(0)
    expect(summary.lostBytes).toBe(0)
    expect(summary.cases as number).toBeGreaterThan(200)
    expect(summary.echoedBytes as number).toBeGreaterThan(0)
    const byKind = summary.byKind as Record<string, { cases: number }>
    for (const kind of ['rendezvous', 'a', 'r', 'raw', 'protocol']) expect(byKind[kind]?.cases ?? 0, kind).toBeGreaterThan(0)
    // the point never failed a request with an untyped error
    expect(pointStats.failed).toBe(0)

    // both servers still there, memory bounded
    expect(point.child.exitCode).toBeNull()
    expect(service.child.exitCode).toBeNull()
    expect(peak.point).toBeLessThan(RSS_BOUND)
    expect(peak.service).toBeLessThan(RSS_BOUND)

    // a well-behaved client: register and resolve a fresh name, connect by name and echo 1 MiB
    const key = await generateKeyPair('Ed25519')
    const node = await createNode({ privateKey: key, listen: [] })
    try {
      const rv = rendezvousPoint(pointAddrs)({ node })
      const fresh = `after-${name}`
      await rv.register(await createRecord(key, { name: fresh, addrs: ['/ip4/127.0.0.1/tcp/4242'], aid: new Uint8Array(8).fill(1) }))
      expect((await rv.resolve(fresh)).name).toBe(fresh)
    } finally {
      await node.stop()
    }
    const client = startFixture('client', { point: pointAddrs, name, bytes: MiB })
    const done = await client.next(l => l.event === 'done' || l.event === 'error', 60_000)
    expect(done).toMatchObject({ event: 'done', receivedBytes: MiB })
    expect(done.receivedSha256).toBe(done.sentSha256)
  }, DURATION_MS + 120_000)
})
