// Load: a rendezvous point under 1,000 concurrent clients, 10,000 concurrent associations on one entity, and slow
// clients (slowloris) against a TCPMUX server and the rendezvous protocol. Servers and clients each run in their own
// processes; memory is read from /proc/<pid>/status. The figures are printed (spec/security.md quotes them).
// FARA_SOAK=1 runs bigger variants (see SIZES).
import { randomBytes } from 'node:crypto'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { until } from '@fara/testkit'
import { createRecord, rendezvousPoint } from '@fara/rendezvous'
import { tcpmuxConnect } from '@fara/tcpmux'
import { createNode } from '@fara/transport'
import { startFixture, stopAll } from './helpers/process.ts'
import { memoryOf, statsOf } from './fixtures/load-common.ts'
import type { Fixture } from './helpers/process.ts'

const SOAK = process.env.FARA_SOAK === '1'
const MiB = 1024 * 1024
/**
 * Sizes of the CI runs and of the soak runs (FARA_SOAK=1), and the resident memory each server may reach. Each
 * rendezvous client pauses thinkMs / 2 to 3 x thinkMs / 2 before each request: about 300 requests/s offered in all
 * (back to back, the point answered about 1,200 a second on a 2-core machine shared with its clients). FARA_LOAD_THINK_MS=0 sends them
 * back to back instead, every client keeping one request in flight: the point saturates, requests queue, and the
 * probe's bound becomes the clients' own deadline (10 s).
 */
const SIZES = SOAK
  ? { clientProcs: 8, clientsPerProc: 500, ops: 10, thinkMs: 15_000, pointRss: 3072, associationProcs: 4, connectionsPerProc: 50, perConnection: 250, dialConcurrency: 2, serviceRss: 4096, slowConnections: 2_000, slowNodes: 200 }
  : { clientProcs: 4, clientsPerProc: 250, ops: 4, thinkMs: 3_000, pointRss: 1024, associationProcs: 2, connectionsPerProc: 25, perConnection: 200, dialConcurrency: 8, serviceRss: 1024, slowConnections: 300, slowNodes: 50 }
/** How long one test, and one wait for a fixture's line, may take. */
const LONG = SOAK ? 1_200_000 : 120_000
const THINK_MS = process.env.FARA_LOAD_THINK_MS == null ? SIZES.thinkMs : Number(process.env.FARA_LOAD_THINK_MS)

/** Sample the resident memory of some processes every 250 ms, keeping the peak of each. */
function sampler (fixtures: Record<string, Fixture>): { stop: () => Record<string, number> } {
  const peak: Record<string, number> = {}
  const sample = (): void => {
    for (const [name, f] of Object.entries(fixtures)) {
      peak[name] = Math.max(peak[name] ?? 0, memoryOf(f.child.pid!)?.rss ?? 0)
    }
  }
  sample()
  const timer = setInterval(sample, 250)
  return { stop: () => { clearInterval(timer); sample(); return peak } }
}

afterAll(async () => {
  await stopAll()
})

describe(`a rendezvous point under ${SIZES.clientProcs * SIZES.clientsPerProc} concurrent clients`, () => {
  let point: Fixture
  let pointAddrs: string[]

  beforeAll(async () => {
    point = startFixture('load-point')
    pointAddrs = (await point.next(l => l.event === 'ready')).multiaddrs as string[]
  })

  afterAll(async () => {
    await point?.stop()
  })

  it('serves every register and resolve or answers with a documented typed error, and a probe stays answered', async () => {
    const total = SIZES.clientProcs * SIZES.clientsPerProc
    const memory = sampler({ point })
    const procs = Array.from({ length: SIZES.clientProcs }, (_, proc) => startFixture('load-clients', {
      point: pointAddrs, proc, procs: SIZES.clientProcs, clients: SIZES.clientsPerProc, ops: SIZES.ops, thinkMs: THINK_MS,
      // new connections in their Noise handshake at once, in all: well under the point's 256
      // (RENDEZVOUS_CONNECTION_LIMITS), and few enough that 2 CPUs finish each within the clients' 10 s deadline
      connectConcurrency: Math.floor(80 / SIZES.clientProcs)
    }))
    const registered = await Promise.all(procs.map(async p => p.next(l => l.event === 'registered', LONG)))
    for (const r of registered) expect([r.ok, r.errors, r.messages]).toEqual([SIZES.clientsPerProc, {}, {}])

    // a well-behaved client's resolves, timed while the others load the point
    const probe = startFixture('load-clients', { probe: true, point: pointAddrs, name: 'load-0-0', every: 100 })
    await probe.next(l => l.event === 'ready')
    for (const p of procs) p.child.kill('SIGUSR1')
    const done = await Promise.all(procs.map(async p => p.next(l => l.event === 'done', LONG)))
    const held = await statsOf(point)
    probe.child.kill('SIGUSR1')
    const probed = await probe.next(l => l.event === 'done')
    const peak = memory.stop()

    const requests = done.reduce((n, d) => n + (d.requests as number), 0)
    const served = done.reduce((n, d) => n + (d.ok as number), 0)
    const errors: Record<string, number> = {}
    for (const d of done) for (const [k, v] of Object.entries(d.errors as Record<string, number>)) errors[k] = (errors[k] ?? 0) + v
    console.log(`point load: ${total} clients (${done.map(d => d.connected).join('+')} connected at the end, point held ${held.maxConnections} connections at most), ` +
      `${requests} requests in ${Math.max(...done.map(d => d.ms as number))} ms: ${served} served, errors ${JSON.stringify(errors)}; ` +
      `per process p99 ${done.map(d => d.p99).join('/')} ms, max ${done.map(d => d.max).join('/')} ms; ` +
      `probe: ${probed.requests} resolves, p50 ${probed.p50} ms, p99 ${probed.p99} ms, max ${probed.max} ms, errors ${JSON.stringify(probed.errors)}; ` +
      `point peak RSS ${(peak.point! / MiB).toFixed(0)} MiB; point stats ${JSON.stringify(held)}`)

    // every request served, or refused with a documented typed error (spec/rendezvous.md: RATE_LIMITED)
    expect(requests).toBe(total * SIZES.ops)
    for (const name of Object.keys(errors)) expect(['RateLimitedError']).toContain(name)
    expect(served + (errors.RateLimitedError ?? 0)).toBe(requests)
    expect(held.failed).toBe(0)
    // all clients held at once
    expect(held.maxConnections as number).toBeGreaterThanOrEqual(total)
    // the probe was answered throughout, within a generous bound (figures printed above)
    expect(probed.errors).toEqual({})
    expect(probed.requests as number).toBeGreaterThan(0)
    expect(probed.max as number).toBeLessThan(THINK_MS === 0 ? 10_000 : 5_000)
    expect(point.child.exitCode).toBeNull()
    expect(peak.point!).toBeLessThan(SIZES.pointRss * MiB)
    // gone clients are forgotten: nothing per client stays behind (libp2p's peer store kept every one)
    await Promise.all(procs.map(async p => p.stop()))
    await probe.stop()
    await until(async () => (await statsOf(point)).connections === 0, 'the clients\' connections closed at the point', { timeoutMs: 30_000, intervalMs: 200 })
    expect((await statsOf(point)).peers).toBe(0)
  }, LONG)
})

describe(`${SIZES.associationProcs * SIZES.connectionsPerProc * SIZES.perConnection} concurrent associations on one entity`, () => {
  let point: Fixture
  let pointAddrs: string[]

  beforeAll(async () => {
    point = startFixture('load-point')
    pointAddrs = (await point.next(l => l.event === 'ready')).multiaddrs as string[]
  })

  afterAll(async () => {
    await point?.stop()
  })

  it('holds them all, echoes every byte of each, and closes them cleanly', async () => {
    const total = SIZES.associationProcs * SIZES.connectionsPerProc * SIZES.perConnection
    const service = startFixture('load-service', { point: pointAddrs, name: 'many-associations' })
    const ready = await service.next(l => l.event === 'ready')
    const memory = sampler({ service })
    const procs = Array.from({ length: SIZES.associationProcs }, (_, proc) => startFixture('load-associations', {
      service: { multiaddrs: ready.multiaddrs, peerId: ready.peerId, aid: ready.aid },
      proc, connections: SIZES.connectionsPerProc, perConnection: SIZES.perConnection, dialConcurrency: SIZES.dialConcurrency
    }))
    const held = await Promise.all(procs.map(async p => p.next(l => l.event === 'held', LONG)))
    const during = await statsOf(service)
    for (const p of procs) p.child.kill('SIGUSR1')
    const done = await Promise.all(procs.map(async p => p.next(l => l.event === 'done', LONG)))
    const after = await statsOf(service)
    const peak = memory.stop()
    console.log(`associations: ${held.map(h => h.associations).join('+')} held (service: ${during.open} open, ${during.maxOpen} at most, ` +
      `${during.maxConnections} connections) after ${Math.max(...held.map(h => h.ms as number))} ms; ` +
      `closed ok ${done.map(d => d.ok).join('+')}, echoed ${done.reduce((n, d) => n + (d.echoed as number), 0)} bytes, lost ${done.reduce((n, d) => n + (d.lost as number), 0)}; ` +
      `errors ${JSON.stringify(done.map(d => d.errors))}; service peak RSS ${(peak.service! / MiB).toFixed(0)} MiB, stats during ${JSON.stringify(during)}, after ${JSON.stringify(after)}; ` +
      `client RSS ${held.map(h => h.rss).join('/')} MiB`)

    for (const h of held) expect([h.associations, h.errors, h.lost]).toEqual([SIZES.connectionsPerProc * SIZES.perConnection, {}, 0])
    expect(during.open).toBe(total)
    for (const d of done) expect([d.ok, d.errors, d.lost]).toEqual([SIZES.connectionsPerProc * SIZES.perConnection, {}, 0])
    expect([after.open, after.finished, after.failed]).toEqual([0, total, {}])
    expect(service.child.exitCode).toBeNull()
    expect(peak.service!).toBeLessThan(SIZES.serviceRss * MiB)
    await Promise.all(procs.map(async p => p.stop()))
    await service.stop()
  }, LONG)

  it('refuses associations beyond its table with BUSY (AssociationRejectedError) and keeps serving', async () => {
    // a table of 101 entries: the service's own AId and 100 associations. Plain (not resumable) associations
    // leave the table when they close; a resumable one lingers for the resume timeout (30 s) after its end.
    const service = startFixture('load-service', { point: pointAddrs, name: 'small-table', maxEntries: 101 })
    const ready = await service.next(l => l.event === 'ready')
    const target = { multiaddrs: ready.multiaddrs, peerId: ready.peerId, aid: ready.aid }
    const over = startFixture('load-associations', { service: target, proc: 9, connections: 1, perConnection: 150, resumable: false })
    const held = await over.next(l => l.event === 'held', 60_000)
    expect([held.associations, held.errors, held.lost]).toEqual([100, { 'AssociationRejectedError(4)': 50 }, 0])
    over.child.kill('SIGUSR1')
    const closed = await over.next(l => l.event === 'done', 60_000)
    expect([closed.ok, closed.lost]).toEqual([100, 0])
    // room again: a new client is served
    const again = startFixture('load-associations', { service: target, proc: 10, connections: 1, perConnection: 10, resumable: false })
    const heldAgain = await again.next(l => l.event === 'held', 60_000)
    expect([heldAgain.associations, heldAgain.errors]).toEqual([10, {}])
    again.child.kill('SIGUSR1')
    const closedAgain = await again.next(l => l.event === 'done', 60_000)
    expect([closedAgain.ok, closedAgain.errors]).toEqual([10, {}])
    expect(service.child.exitCode).toBeNull()
    await service.stop()
  }, LONG)
})

describe('slow clients (slowloris)', () => {
  /** The servers' read deadline in these runs (ms): short, so the test sees it act; the defaults are 10 s. */
  const DEADLINE_MS = 3_000

  it('TCPMUX: connections that never finish their request line are dropped (to make room, or at the read deadline) and well-behaved clients are served meanwhile', async () => {
    const server = startFixture('load-tcpmux', { readTimeoutMs: DEADLINE_MS })
    const { port } = await server.next(l => l.event === 'ready')
    const memory = sampler({ server })
    /** Twenty clients one after another, each echoing 1 KiB through the server: the time each took. */
    const echoes = async (): Promise<number[]> => {
      const took: number[] = []
      for (let i = 0; i < 20; i++) {
        const started = performance.now()
        const { socket } = await tcpmuxConnect({ host: '127.0.0.1', port: port as number, name: 'echo' })
        const data = randomBytes(1024)
        socket.end(data)
        const chunks: Buffer[] = []
        for await (const chunk of socket) chunks.push(chunk as Buffer)
        expect(Buffer.concat(chunks).equals(data)).toBe(true)
        took.push(performance.now() - started)
      }
      return took
    }

    // more slow clients than pending slots (64): each newcomer takes the slot of the one reading the longest
    const many = startFixture('load-slow', { mode: 'tcpmux', port, connections: SIZES.slowConnections, deadlineMs: DEADLINE_MS })
    await many.next(l => l.event === 'holding', LONG)
    // the dropped ones come back (after 100 ms): echo once they have, while they keep coming
    await until(async () => ((await statsOf(many)).opened as number) > 2 * SIZES.slowConnections, 'the slow clients back after being dropped', { timeoutMs: 30_000, intervalMs: 200 })
    const pressed = await statsOf(server)
    const servedUnderMany = await echoes()
    many.child.kill('SIGUSR1')
    const manyDone = await many.next(l => l.event === 'done')
    // fewer slow clients than slots: the read deadline drops them
    const few = startFixture('load-slow', { mode: 'tcpmux', port, connections: 40, deadlineMs: DEADLINE_MS })
    await few.next(l => l.event === 'holding', 60_000)
    const servedUnderFew = await echoes()
    await until(async () => ((await statsOf(few)).droppedAtDeadline as number) > 0, 'a slow client dropped at the read deadline', { timeoutMs: DEADLINE_MS * 4, intervalMs: 200 })
    const after = await statsOf(server)
    few.child.kill('SIGUSR1')
    const fewDone = await few.next(l => l.event === 'done')
    const peak = memory.stop()
    const max = (xs: number[]): string => Math.max(...xs).toFixed(0)
    console.log(`tcpmux slowloris: ${SIZES.slowConnections} slow connections (${manyDone.opened} opened in all, ${manyDone.droppedEarly} dropped to make room, ` +
      `${manyDone.droppedAtDeadline} at the ${DEADLINE_MS} ms deadline; server pending ${pressed.pending}, open ${pressed.connections}): 20 echoes served, max ${max(servedUnderMany)} ms; ` +
      `40 slow connections (${fewDone.droppedAtDeadline} dropped at the deadline, ${fewDone.droppedEarly} earlier): 20 echoes served, max ${max(servedUnderFew)} ms; ` +
      `server peak RSS ${(peak.server! / MiB).toFixed(0)} MiB, stats after ${JSON.stringify(after)}`)
    expect(pressed.pending as number).toBeLessThanOrEqual(64)
    expect(manyDone.droppedEarly as number).toBeGreaterThan(0)
    expect(fewDone.droppedAtDeadline as number).toBeGreaterThan(0)
    expect(after.served).toBe(40)
    expect(server.child.exitCode).toBeNull()
    expect(peak.server!).toBeLessThan(256 * MiB)
    await server.stop()
  }, LONG)

  it('rendezvous protocol: streams that never finish a request are dropped at the request deadline and others get answers meanwhile', async () => {
    const point = startFixture('load-point', { requestTimeout: DEADLINE_MS })
    const pointAddrs = (await point.next(l => l.event === 'ready')).multiaddrs as string[]
    const memory = sampler({ point })
    const slow = startFixture('load-slow', { mode: 'rendezvous', point: pointAddrs, nodes: SIZES.slowNodes, streams: 30, deadlineMs: DEADLINE_MS })
    const holding = await slow.next(l => l.event === 'holding', LONG)

    // a well-behaved client registers and resolves while the slow streams are held
    const key = await generateKeyPair('Ed25519')
    const node = await createNode({ privateKey: key, listen: [] })
    const answered: number[] = []
    try {
      const rv = rendezvousPoint(pointAddrs)({ node })
      for (let i = 0; i < 20; i++) {
        const started = performance.now()
        await rv.register(await createRecord(key, { name: 'patient', addrs: ['/ip4/127.0.0.1/tcp/4242'], aid: new Uint8Array(8).fill(3) }))
        expect((await rv.resolve('patient')).name).toBe('patient')
        answered.push(performance.now() - started)
      }
    } finally {
      await node.stop()
    }
    await until(async () => ((await statsOf(slow)).droppedAtDeadline as number) > 0, 'a slow stream dropped at the request deadline', { timeoutMs: DEADLINE_MS * 4, intervalMs: 200 })
    const stats = await statsOf(point)
    slow.child.kill('SIGUSR1')
    const done = await slow.next(l => l.event === 'done')
    const peak = memory.stop()
    console.log(`rendezvous slowloris: ${holding.opened} slow streams on ${SIZES.slowNodes} connections held (${done.opened} opened in all, ` +
      `${done.droppedAtDeadline} dropped at the ${DEADLINE_MS} ms deadline, ${done.droppedEarly} earlier, ${done.failedToOpen} not opened); ` +
      `20 register+resolve pairs answered, max ${Math.max(...answered).toFixed(0)} ms; point peak RSS ${(peak.point! / MiB).toFixed(0)} MiB; stats ${JSON.stringify(stats)}`)
    expect(done.droppedAtDeadline as number).toBeGreaterThan(0)
    expect(stats.failed).toBe(0)
    expect(point.child.exitCode).toBeNull()
    expect(peak.point!).toBeLessThan(512 * MiB)
    await point.stop()
  }, LONG)
})
