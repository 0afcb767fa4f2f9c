// Faults (issue 9), each party in its own process: the rendezvous point is
// SIGKILLed and restarted under load; in the NAT lab, the relay carrying an
// association is SIGKILLed and restarted mid-transfer, the client's NAT drops
// its mappings mid-transfer, and the client's path is cut for longer than the
// resume timeout. Either the association resumes and both ends see the same
// bytes (SHA-256), or it fails with ResumeFailedError at both ends and what
// each end received is a prefix of what was sent: never silent corruption.
// Last, one host tries to use up a relay (slots, and the relayed connections
// to another entity) under fresh keys: it gets typed refusals beyond its
// share, and the victim keeps its slot and stays reachable.
import { createCipheriv, createHash, randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { spawnSync } from 'node:child_process'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createEntity, rendezvousPoint } from '@fara/sdk'
import { createLab, labPrerequisites } from '@fara/nat-lab'
import { startFixture, stopAll } from './helpers/process.ts'
import type { Lab, LabHost, LabNat } from '@fara/nat-lab'
import type { Fixture } from './helpers/process.ts'

type Line = Record<string, unknown>

const MiB = 1024 * 1024
// fast liveness checks, so that a silently dead path is noticed in about a second
const liveness = { interval: 500, minTimeout: 1_000 }
// a transfer paced at 4 MiB/s spans seconds: the faults below strike while data flows both ways
const RATE = 4 * MiB

const hasConntrack = spawnSync('conntrack', ['--version']).status === 0
const missingLab = [...labPrerequisites(), ...(hasConntrack ? [] : ['conntrack (apt-get install conntrack)'])]
if (missingLab.length > 0) {
  if (process.env.FARA_REQUIRE_LAB === '1' || process.env.FARA_REQUIRE_DAEMONS === '1') {
    throw new Error(`fault tests in the NAT lab required (FARA_REQUIRE_LAB=1 / FARA_REQUIRE_DAEMONS=1) but ${missingLab.join(' and ')} missing`)
  }
  console.warn(`SKIPPING fault tests in the NAT lab: need ${missingLab.join(' and ')}`)
}

const unique = (prefix: string): string => `${prefix}-${randomBytes(4).toString('hex')}`
const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex')

/** What the client fixture sends with `seed`: the AES-256-CTR keystream under SHA-256(seed), zero IV. */
function sentStream (seed: string, bytes: number): Buffer {
  return createCipheriv('aes-256-ctr', createHash('sha256').update(seed).digest(), Buffer.alloc(16)).update(Buffer.alloc(bytes))
}

/** A matching line of `fixture` printed after line `after`, or after the first `after` lines. */
async function since (fixture: Fixture, after: Line | number, match: (line: Line) => boolean, timeoutMs?: number): Promise<Line> {
  const first = typeof after === 'number' ? after : fixture.lines.indexOf(after) + 1
  return fixture.next(line => fixture.lines.indexOf(line) >= first && match(line), timeoutMs)
}

const progressed = (bytes: number) => (l: Line): boolean => l.event === 'progress' && Number(l.sent) >= bytes
const finished = (l: Line): boolean => l.event === 'done' || l.event === 'error'

let dir: string
beforeAll(async () => { dir = await mkdtemp(join(tmpdir(), 'fara-faults-')) })
afterEach(async () => { await stopAll() })
afterAll(async () => { await rm(dir, { recursive: true, force: true }) })

describe('the rendezvous point is SIGKILLed and restarted under load', () => {
  it('loses no live registration; services and resolving clients recover without a restart', async () => {
    const dataDir = join(dir, 'point')
    const first = startFixture('point', { dataDir })
    const ready = await first.next(l => l.event === 'ready')
    const pointAddrs = ready.multiaddrs as string[]
    const names = [unique('load-a'), unique('load-b'), unique('load-c'), unique('load-d')]
    // a 12 s record is refreshed every 6 s, so the services' refresh meets the outage; after a failure
    // the SDK retries after 1 s, then 2 s, capped at a quarter of the lifetime (3 s)
    const services = names.map(name => startFixture('service', { point: pointAddrs, name, ttl: 12_000 }))
    for (const s of services) await s.next(l => l.event === 'ready')
    // two long-lived clients resolve every name five times a second through their own node
    const resolvers = [0, 1].map(() => startFixture('resolver', { point: pointAddrs, names, every: 200 }))
    const allResolved = (l: Line): boolean => l.event === 'round' && (l.results as Line[]).every(r => typeof r.seq === 'number')
    for (const r of resolvers) await r.next(allResolved)

    // no clean shutdown: what the point acknowledged must already be on disk
    first.child.kill('SIGKILL')
    await first.exited
    const acked = services.map(s => Math.max(...s.lines.filter(l => l.event === 'registered').map(l => Number(l.seq))))
    // the outage is seen: each resolver has a failed round
    for (const r of resolvers) {
      const failed = await r.next(l => l.event === 'round' && (l.results as Line[]).some(x => x.error != null))
      expect((failed.results as Line[]).filter(x => x.error != null).map(x => x.error)).toContain('RendezvousUnavailableError')
    }
    // a service's refresh falls in the outage and fails; restarting then, every record still has at least
    // half its lifetime left (the first refresh comes after half of it)
    const failure = await Promise.any(services.map(async s => s.next(l => l.event === 'register-failed', 20_000)))
    expect(failure.name).toBe('RendezvousUnavailableError')

    const second = startFixture('point', { dataDir, port: ready.port })
    const again = await second.next(l => l.event === 'ready')
    expect(again.peerId).toBe(ready.peerId)
    expect(again.multiaddrs).toEqual(pointAddrs)
    const restartedAt = resolvers.map(r => r.lines.length)
    const servicesAt = services.map(s => s.lines.length)

    // every service registers again by itself (a failed refresh is retried with backoff)
    for (const [i, s] of services.entries()) {
      const renewed = await since(s, servicesAt[i]!, l => l.event === 'registered', 20_000)
      expect(Number(renewed.seq)).toBeGreaterThan(acked[i]!)
      expect(s.child.exitCode).toBeNull()
    }
    // the resolvers recover on the same process, and after the restart never see a name missing: each
    // round is all records (at least as new as the last acknowledged before the kill) or, while their
    // connection to the point is being re-made, unavailable
    for (const [i, r] of resolvers.entries()) {
      const recovered = await since(r, restartedAt[i]!, allResolved)
      expect(r.child.exitCode).toBeNull()
      for (const line of r.lines.slice(restartedAt[i]!, r.lines.indexOf(recovered) + 1)) {
        for (const [k, result] of (line.results as Line[]).entries()) {
          if (result.error != null) expect(result.error).toBe('RendezvousUnavailableError')
          else expect(Number(result.seq)).toBeGreaterThanOrEqual(acked[k]!)
        }
      }
    }

    // every name resolves to its service's current record (the last it registered, or a newer one
    // registered while asking), and a client reaches each service by name
    const checker = await createEntity({ app: 'faults-checker', rendezvous: rendezvousPoint(pointAddrs), listen: [] })
    try {
      for (const [i, name] of names.entries()) {
        const s = services[i]!
        const latest = Math.max(...s.lines.filter(l => l.event === 'registered').map(l => Number(l.seq)))
        const record = await checker.resolve(name)
        expect(record.seq).toBeGreaterThanOrEqual(latest)
        expect(record.expires).toBeGreaterThan(Date.now())
        await s.next(l => l.event === 'registered' && l.seq === record.seq)
      }
    } finally {
      await checker.close()
    }
    const clients = names.map(name => startFixture('client', { point: pointAddrs, name, bytes: 256 * 1024 }))
    for (const c of clients) {
      const done = await c.next(finished, 60_000)
      expect(done, JSON.stringify(done)).toMatchObject({ event: 'done', receivedBytes: 256 * 1024 })
      expect(done.receivedSha256).toBe(done.sentSha256)
    }
  })
})

describe.skipIf(missingLab.length > 0)(`faults on the path, in the NAT lab${missingLab.length > 0 ? ` — skipped: needs ${missingLab.join(' and ')}` : ''}`, () => {
  let lab: Lab
  let service: LabHost
  let client: LabHost
  let clientNat: LabNat

  beforeAll(async () => {
    lab = await createLab({
      nats: [
        { name: 'svc', type: 'port-restricted' },
        // symmetric: a new conntrack entry gets a new random port, so a dropped mapping is not silently re-made
        { name: 'cli', type: 'symmetric', hosts: 2 },
        { name: 'bad', type: 'port-restricted' }
      ]
    })
    service = lab.nats.svc!.hosts[0]!
    clientNat = lab.nats.cli!
    client = clientNat.hosts[0]!
  }, 60_000)
  afterAll(async () => { await lab?.destroy() })

  it('a relay SIGKILLed mid-transfer and restarted: the slot comes back and the relayed association resumes, 16 MiB intact', async () => {
    const dataDir = join(dir, 'relay-point')
    const first = startFixture('point', { host: lab.publicAddress, relay: true, dataDir }, { netns: lab.public.ns })
    const ready = await first.next(l => l.event === 'ready')
    const pointAddrs = ready.multiaddrs as string[]
    const name = unique('relayed')
    // listens nowhere: the relay is its only way in
    const svc = startFixture('service', { point: pointAddrs, name, relays: [pointAddrs[0]], listen: [], liveness }, { netns: service.ns })
    const up = await svc.next(l => l.event === 'ready')
    expect(up.relays).toEqual([{ relay: ready.peerId, state: 'reserved', error: null }])
    expect((up.multiaddrs as string[]).every(a => a.includes('/p2p-circuit'))).toBe(true)

    const seed = randomBytes(8).toString('hex')
    const cli = startFixture('client', { point: pointAddrs, name, bytes: 16 * MiB, seed, rate: RATE, progressEvery: MiB, liveness }, { netns: client.ns })
    await cli.next(progressed(4 * MiB))
    first.child.kill('SIGKILL')
    await first.exited
    const lost = await svc.next(l => l.event === 'relay' && l.type === 'relay:lost')

    const second = startFixture('point', { host: lab.publicAddress, relay: true, dataDir, port: ready.port }, { netns: lab.public.ns })
    const again = await second.next(l => l.event === 'ready')
    expect(again.multiaddrs).toEqual(pointAddrs)
    const restored = await since(svc, lost, l => l.event === 'relay' && l.type === 'relay:reserved')
    expect(restored.addrs).toEqual(up.multiaddrs)
    await since(svc, restored, l => l.event === 'registered')

    const done = await cli.next(finished, 90_000)
    expect(done, JSON.stringify(done)).toMatchObject({ event: 'done', receivedBytes: 16 * MiB })
    expect(done.sentSha256).toBe(sha256(sentStream(seed, 16 * MiB)))
    expect(done.receivedSha256).toBe(done.sentSha256)
    expect(done.resumptions).toBeGreaterThanOrEqual(1)
    const served = await svc.next(l => l.event === 'association')
    expect(served).toMatchObject({ bytes: 16 * MiB, sha256: done.sentSha256, resumptions: done.resumptions })
    // the service listens nowhere: the resumed path, like the first, was a connection through the relay
    // (the first closed when the relay died, the second when the client finished)
    const relayed = (l: Line): boolean => l.event === 'connection-closed' && String(l.remoteAddr).startsWith(`${pointAddrs[0]}/p2p-circuit/`)
    await svc.next(() => svc.lines.filter(relayed).length >= 2)
    expect(svc.child.exitCode).toBeNull()
  })

  it('the client\'s NAT drops its mappings mid-transfer: the association resumes on a new mapping, 16 MiB intact', async () => {
    const point = startFixture('point', { host: lab.publicAddress }, { netns: lab.public.ns })
    const pointAddrs = (await point.next(l => l.event === 'ready')).multiaddrs as string[]
    const name = unique('mapped')
    const svc = startFixture('service', { point: pointAddrs, name, listen: [`/ip4/${lab.publicAddress}/tcp/0`], liveness }, { netns: lab.public.ns })
    await svc.next(l => l.event === 'ready')
    const seed = randomBytes(8).toString('hex')
    const cli = startFixture('client', { point: pointAddrs, name, bytes: 16 * MiB, seed, rate: RATE, progressEvery: MiB, liveness }, { netns: client.ns })
    await cli.next(progressed(4 * MiB))
    const flush = lab.exec(clientNat.router, ['conntrack', '-F'])
    expect(flush.status, flush.stderr).toBe(0)

    const done = await cli.next(finished, 90_000)
    expect(done, JSON.stringify(done)).toMatchObject({ event: 'done', receivedBytes: 16 * MiB })
    expect(done.sentSha256).toBe(sha256(sentStream(seed, 16 * MiB)))
    expect(done.receivedSha256).toBe(done.sentSha256)
    expect(done.resumptions).toBeGreaterThanOrEqual(1)
    const served = await svc.next(l => l.event === 'association')
    expect(served).toMatchObject({ bytes: 16 * MiB, sha256: done.sentSha256 })
    // the service saw the association's connections come from two different mappings of the NAT: the
    // old one (closed by the liveness check) and the new one (closed when the client finished)
    const fromNat = (l: Line): boolean => l.event === 'connection-closed' && String(l.remoteAddr).startsWith(`/ip4/${clientNat.publicAddress}/tcp/`)
    await svc.next(() => svc.lines.filter(fromNat).length >= 2)
    expect(new Set(svc.lines.filter(fromNat).map(l => l.remoteAddr)).size).toBe(2)
  })

  it('a path cut for longer than the resume timeout fails with ResumeFailedError at both ends; what each received is a prefix of what was sent', async () => {
    const resumeTimeout = 3_000
    const point = startFixture('point', { host: lab.publicAddress }, { netns: lab.public.ns })
    const pointAddrs = (await point.next(l => l.event === 'ready')).multiaddrs as string[]
    const name = unique('cut')
    const svc = startFixture('service', { point: pointAddrs, name, listen: [`/ip4/${lab.publicAddress}/tcp/0`], liveness, demux: { resumeTimeout } }, { netns: lab.public.ns })
    await svc.next(l => l.event === 'ready')
    const seed = randomBytes(8).toString('hex')
    const bytes = 16 * MiB
    const cli = startFixture('client', { point: pointAddrs, name, bytes, seed, rate: RATE, progressEvery: MiB, liveness, demux: { resumeTimeout } }, { netns: client.ns })
    await cli.next(progressed(4 * MiB))
    // every packet through the client's NAT is dropped, both ways, until both ends have given up
    const rule = ['FORWARD', '-j', 'DROP']
    const cut = lab.exec(clientNat.router, ['iptables', '-I', ...rule])
    expect(cut.status, cut.stderr).toBe(0)
    let failed: Line
    let lost: Line
    try {
      failed = await cli.next(finished, 60_000)
      lost = await svc.next(l => l.event === 'association-error' || l.event === 'association', 60_000)
    } finally {
      lab.exec(clientNat.router, ['iptables', '-D', ...rule])
    }
    expect(failed, JSON.stringify(failed)).toMatchObject({ event: 'error', name: 'ResumeFailedError' })
    expect(lost, JSON.stringify(lost)).toMatchObject({ event: 'association-error', name: 'ResumeFailedError' })
    // no silent corruption: the service received a prefix of what the client sent, the client a prefix of that
    const sent = sentStream(seed, bytes)
    const served = Number(lost.bytes)
    const echoed = Number(failed.receivedBytes)
    expect(served).toBeLessThanOrEqual(Number(failed.sentBytes))
    expect(echoed).toBeLessThanOrEqual(served)
    expect(echoed).toBeGreaterThan(0)
    expect(lost.sha256).toBe(sha256(sent.subarray(0, served)))
    expect(failed.receivedSha256).toBe(sha256(sent.subarray(0, echoed)))
  })

  it('one host cannot use up the relay\'s slots or another entity\'s relayed connections: typed refusals for it, the victim stays reachable', async () => {
    // 16 slots and 16 relayed connections per entity: one source may hold an eighth of each (2)
    const point = startFixture('point', { host: lab.publicAddress, relay: { maxReservations: 16, maxCircuitsPerEntity: 16 } }, { netns: lab.public.ns })
    const ready = await point.next(l => l.event === 'ready')
    const pointAddrs = ready.multiaddrs as string[]
    const name = unique('victim')
    const victim = startFixture('service', { point: pointAddrs, name, relays: [pointAddrs[0]], listen: [], liveness }, { netns: service.ns })
    const up = await victim.next(l => l.event === 'ready')
    expect(up.relays).toEqual([{ relay: ready.peerId, state: 'reserved', error: null }])

    // from one host behind its NAT, under a fresh key each time: a slot for every place in the relay's
    // table, then a relayed connection to the victim for every one the relay would carry to it
    const attacker = startFixture('relay-attacker', { relay: pointAddrs[0], reservations: 16, circuits: 16, target: (up.multiaddrs as string[])[0] }, { netns: lab.nats.bad!.hosts[0]!.ns })
    const slots = await attacker.next(l => l.event === 'reservations', 60_000)
    expect(slots.granted).toBe(2)
    expect(slots.refused).toEqual(Array(14).fill({ error: 'ReservationRefusedError', status: 'RESERVATION_REFUSED' }))
    const circuits = await attacker.next(l => l.event === 'circuits', 60_000)
    expect(circuits.opened).toBe(2)
    expect(circuits.refused).toEqual(Array(14).fill({ error: 'DialFailedError', status: 'RESOURCE_LIMIT_EXCEEDED' }))
    await attacker.next(l => l.event === 'holding')

    // while the attacker holds all it got: the victim never lost its slot, a client on another network
    // reaches it through the relay, and an entity there can still take a slot of its own
    const cli = startFixture('client', { point: pointAddrs, name, bytes: MiB, stableIdentity: true }, { netns: client.ns })
    const done = await cli.next(finished, 60_000)
    expect(done, JSON.stringify(done)).toMatchObject({ event: 'done', receivedBytes: MiB })
    expect(done.receivedSha256).toBe(done.sentSha256)
    expect(done.remoteAddrs).toEqual(up.multiaddrs)
    const newcomer = startFixture('service', { point: pointAddrs, name: unique('newcomer'), relays: [pointAddrs[0]], listen: [] }, { netns: clientNat.hosts[1]!.ns })
    expect((await newcomer.next(l => l.event === 'ready')).relays).toEqual([{ relay: ready.peerId, state: 'reserved', error: null }])
    expect(victim.lines.filter(l => l.event === 'relay')).toEqual([])
    expect(attacker.child.exitCode).toBeNull()
    expect(point.child.exitCode).toBeNull()
  })
})
