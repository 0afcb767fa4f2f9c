// Faults of the birthday punch in the NAT lab (spec/direct-paths.md#faults):
// the punched path's NAT mappings dropped under a live association (conntrack
// -F on the symmetric NAT's router), and peers that lie in the negotiation
// (about their endpoint or their NAT's kind) or stop answering. In each case
// nothing is lost and the relay keeps serving.
import { spawnSync } from 'node:child_process'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createLab, labPrerequisites } from '@fara/nat-lab'
import { startFixture, stopAll } from './helpers/process.ts'
import type { Lab } from '@fara/nat-lab'

const missing = [...labPrerequisites(), ...(spawnSync('conntrack', ['--version']).error == null ? [] : ['conntrack (apt-get install conntrack)'])]
const canRun = missing.length === 0
if (!canRun) {
  if (process.env.FARA_REQUIRE_LAB === '1') throw new Error(`punch fault test required (FARA_REQUIRE_LAB=1) but ${missing.join(' and ')} missing`)
  console.warn(`SKIPPING punch fault test: needs ${missing.join(' and ')}`)
}

const MiB = 1024 * 1024

describe.skipIf(!canRun)(`birthday punch faults across NATs${canRun ? '' : ` — skipped: needs ${missing.join(' and ')}`}`, () => {
  let lab: Lab
  let pointAddrs: string[]
  let observers: string[]

  beforeAll(async () => {
    lab = await createLab({ nats: [{ name: 'home', type: 'port-restricted' }, { name: 'mobile', type: 'symmetric' }, { name: 'liar', type: 'port-restricted' }, { name: 'poser', type: 'symmetric' }] })
    const point = startFixture('point', { host: lab.publicAddress, relay: true, observe: lab.public.addresses.map(a => `${a}:3479`) }, { netns: lab.public.ns })
    const ready = await point.next(l => l.event === 'ready')
    pointAddrs = ready.multiaddrs as string[]
    observers = ready.observers as string[]
  }, 60_000)

  afterAll(async () => {
    await stopAll()
    lab?.destroy()
  })

  it('an association on a punched path survives its NAT mappings being dropped (conntrack -F): it resumes, 8 MiB intact both ways', async () => {
    const service = startFixture('service', { point: pointAddrs, name: 'media', relays: pointAddrs, listen: ['/ip4/0.0.0.0/tcp/0'], direct: { observers } }, { netns: lab.nats.home!.hosts[0]!.ns })
    await service.next(l => l.event === 'registered' && JSON.stringify(service.lines).includes('/p2p-circuit'), 60_000)
    // the precondition, a punched path: a birthday punch misses now and then (and a punched path that
    // measures slower than the relay on a loaded machine is not used), so a client that got none within
    // its bound says so, and one more client (a new entity: no punch backoff) tries
    let client = startFixture('punch-fault-client', { point: pointAddrs, name: 'media', bytes: 8 * MiB, direct: { observers }, directWithinMs: 150_000 }, { netns: lab.nats.mobile!.hosts[0]!.ns, stdin: true })
    let direct = await client.next(l => l.event === 'direct' || l.event === 'result', 170_000)
    if (direct.event === 'result' && String(direct.error).startsWith('NoDirectPathError')) {
      await client.stop()
      client = startFixture('punch-fault-client', { point: pointAddrs, name: 'media', bytes: 8 * MiB, direct: { observers }, directWithinMs: 150_000 }, { netns: lab.nats.mobile!.hosts[0]!.ns, stdin: true })
      direct = await client.next(l => l.event === 'direct' || l.event === 'result', 170_000)
    }
    expect(direct.event, JSON.stringify(client.lines)).toBe('direct')
    expect(String(direct.path)).toMatch(/\/udp\/\d+\/p2p\//)
    // every mapping of the symmetric NAT goes: the punched UDP path, and the TCP connection to the relay with it
    const flushed = lab.exec(lab.nats.mobile!.router, ['conntrack', '-F'])
    expect(flushed.status, flushed.stderr).toBe(0)
    client.send({ cmd: 'go' })
    const r = await client.next(l => l.event === 'result', 110_000)
    expect(r.error, JSON.stringify(r)).toBeUndefined()
    const total = r.total as { sentBytes: number, receivedBytes: number, sha256Equal: boolean }
    expect(total.sentBytes).toBeGreaterThan(8 * MiB)
    expect(total).toEqual({ sentBytes: total.sentBytes, receivedBytes: total.sentBytes, sha256Equal: true })
    expect(r.resumedAfterFault as number, JSON.stringify(r)).toBeGreaterThanOrEqual(1)
    await Promise.all([client.stop(), service.stop()])
  }, 600_000)

  const liars = [
    { liar: 'lie', what: 'accepts and names an endpoint nobody answers on', nat: 'liar', results: ['failed'] },
    { liar: 'silent', what: 'reads the offer and never answers', nat: 'liar', results: ['timeout'] },
    // random <-> random told as consistent <-> random: the honest random side aims its sockets at a mapping only the
    // observer may use, the liar probes from ports its NAT draws at random, and nothing can meet
    { liar: 'kind', what: 'claims a consistent NAT from behind a symmetric one', nat: 'poser', results: ['failed', 'timeout'] }
  ] as const
  for (const { liar, what, nat, results } of liars) {
    it(`a peer that ${what}: the attempt ends within its budget and the relay keeps serving`, async () => {
      const budgetMs = 6_000
      const punch = { maxProbes: 150, budgetMs }
      const listener = startFixture('direct-peer', {
        role: 'listen', relay: pointAddrs[0], stun: 'stun:198.18.0.1:3478', liar, ...(liar === 'kind' ? { observers, punch } : {})
      }, { netns: lab.nats[nat]!.hosts[0]!.ns })
      const ready = await listener.next(l => l.event === 'ready', 30_000)
      const dialer = startFixture('direct-peer', {
        role: 'dial', relay: pointAddrs[0], stun: 'stun:198.18.0.1:3478', observers, target: ready.peerId, bytes: MiB, punch, punchAttempts: 1
      }, { netns: lab.nats.mobile!.hosts[0]!.ns })
      const r = await dialer.next(l => l.event === 'result', 90_000) as Record<string, any> // eslint-disable-line @typescript-eslint/no-explicit-any
      await listener.stop()
      expect(r.error, JSON.stringify(r)).toBeUndefined()
      expect(r.direct, JSON.stringify(r)).toBeNull()
      expect(r.punch.role).toBe('initiator')
      expect(results, JSON.stringify(r.punch)).toContain(r.punch.result)
      expect(r.punch.ms).toBeLessThanOrEqual(budgetMs + 1_000)
      if (liar !== 'silent') expect(r.punch.probes).toBeGreaterThan(0)
      // the lie was believed: this side punched as the random side of a pair it took for consistent <-> random
      if (liar === 'kind') expect(r.punch, JSON.stringify(r.punch)).toMatchObject({ local: 'random', remote: 'consistent', side: 'random' })
      expect(r.relayedAfter.sha256Equal).toBe(true)
    }, 120_000)
  }
})
