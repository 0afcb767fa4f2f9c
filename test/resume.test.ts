// Associations that survive the loss of their path (spec/resumption.md), between
// separate processes over real TCP: the connection is killed with injected TCP
// resets mid-transfer, and (in the NAT lab) the client's network path is
// restarted with a new address. The transfer completes with equal SHA-256, the
// application sees no reconnect, and the association reports its resumptions.
import { spawnSync } from 'node:child_process'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { createLab, labPrerequisites } from '@fara/nat-lab'
import { startFixture, stopAll } from './helpers/process.ts'
import type { Lab } from '@fara/nat-lab'

const MiB = 1024 * 1024
const isRoot = process.getuid?.() === 0
const hasIptables = spawnSync('iptables', ['--version']).status === 0
const missingKill = [isRoot ? '' : 'root', hasIptables ? '' : 'iptables'].filter(Boolean)
const missingLab = labPrerequisites()
for (const [what, missing] of [['connection-kill', missingKill], ['network-path', missingLab]] as const) {
  if (missing.length === 0) continue
  if (process.env.FARA_REQUIRE_LAB === '1') throw new Error(`${what} resumption test required (FARA_REQUIRE_LAB=1) but ${missing.join(' and ')} missing`)
  console.warn(`SKIPPING ${what} resumption test: needs ${missing.join(' and ')}`)
}

// fast liveness checks, so a silently dead path is noticed in about a second
const liveness = { interval: 500, minTimeout: 1_000 }

afterEach(async () => { await stopAll() })

describe.skipIf(missingKill.length > 0)(`resumption after the TCP connection is killed${missingKill.length > 0 ? ` — skipped: needs ${missingKill.join(' and ')}` : ''}`, () => {
  const rules: string[][] = []
  afterAll(() => {
    for (const rule of rules) spawnSync('iptables', ['-D', ...rule])
  })

  it('completes a 32 MiB echo with equal SHA-256 when the connection is reset mid-transfer', async () => {
    const point = startFixture('point')
    const pointAddrs = (await point.next(l => l.event === 'ready')).multiaddrs as string[]
    const name = `resume-${Math.random().toString(36).slice(2, 8)}`
    const service = startFixture('service', { point: pointAddrs, name, liveness })
    const port = (await service.next(l => l.event === 'ready')).port as number
    const client = startFixture('client', { point: pointAddrs, name, bytes: 32 * MiB, pauseAt: 4 * MiB, liveness })
    await client.next(l => l.event === 'paused')
    // every packet to the service's port now gets a TCP reset: the connection dies at both ends, with
    // the data the client sends next in flight
    const rule = ['INPUT', '-i', 'lo', '-p', 'tcp', '--dport', String(port), '-j', 'REJECT', '--reject-with', 'tcp-reset']
    expect(spawnSync('iptables', ['-I', ...rule]).status).toBe(0)
    rules.push(rule)
    client.child.kill('SIGUSR1')
    await service.next(l => l.event === 'connection-closed' && !String(l.remoteAddr).includes(pointAddrs[0]!.split('/')[4]!))
    expect(spawnSync('iptables', ['-D', ...rule]).status).toBe(0)
    rules.pop()
    const done = await client.next(l => l.event === 'done' || l.event === 'error', 90_000)
    expect(done.event).toBe('done')
    expect(done.receivedBytes).toBe(32 * MiB)
    expect(done.receivedSha256).toBe(done.sentSha256)
    expect(done.resumable).toBe(true)
    expect(done.resumptions).toBeGreaterThanOrEqual(1)
    const served = await service.next(l => l.event === 'association')
    expect(served.sha256).toBe(done.sentSha256)
    expect(served.resumptions).toBe(done.resumptions)
    // both directions moved onto the record path (spec/resumption.md#records), which the cut broke too
    expect(done.recordsSeen).toBe(true)
    expect(served.recordsSeen).toBe(true)
  })

  it('without resumption, the same cut fails the association with a typed error (the control)', async () => {
    const point = startFixture('point')
    const pointAddrs = (await point.next(l => l.event === 'ready')).multiaddrs as string[]
    const name = `plain-${Math.random().toString(36).slice(2, 8)}`
    const service = startFixture('service', { point: pointAddrs, name, liveness })
    const port = (await service.next(l => l.event === 'ready')).port as number
    const client = startFixture('client', { point: pointAddrs, name, bytes: 32 * MiB, pauseAt: 4 * MiB, liveness, resumable: false })
    await client.next(l => l.event === 'paused')
    const rule = ['INPUT', '-i', 'lo', '-p', 'tcp', '--dport', String(port), '-j', 'REJECT', '--reject-with', 'tcp-reset']
    expect(spawnSync('iptables', ['-I', ...rule]).status).toBe(0)
    rules.push(rule)
    client.child.kill('SIGUSR1')
    const done = await client.next(l => l.event === 'done' || l.event === 'error', 60_000)
    spawnSync('iptables', ['-D', ...rule])
    rules.pop()
    expect(done.event).toBe('error')
    expect(['AssociationResetError', 'AssociationClosedError', 'StreamResetError', 'StreamStateError']).toContain(done.name)
  })
})

describe.skipIf(missingLab.length > 0)(`resumption after the client's network path restarts${missingLab.length > 0 ? ` — skipped: needs ${missingLab.join(' and ')}` : ''}`, () => {
  let lab: Lab | undefined
  afterAll(async () => { await lab?.destroy() })

  it('continues an 8 MiB echo when the client behind a NAT gets a new address mid-transfer', async () => {
    lab = await createLab({ nats: [{ name: 'home', type: 'port-restricted', hosts: 2 }] })
    const home = lab.nats.home!
    const [host, spare] = [home.hosts[0]!, home.hosts[1]!]
    const point = startFixture('point', { host: lab.publicAddress }, { netns: lab.public.ns })
    const pointAddrs = (await point.next(l => l.event === 'ready')).multiaddrs as string[]
    const service = startFixture('service', { point: pointAddrs, name: 'roam', listen: [`/ip4/${lab.publicAddress}/tcp/0`], liveness }, { netns: lab.public.ns })
    await service.next(l => l.event === 'ready')
    const client = startFixture('client', { point: pointAddrs, name: 'roam', bytes: 8 * MiB, pauseAt: MiB, liveness }, { netns: host.ns })
    await client.next(l => l.event === 'paused')
    // the client's network restarts with another address on the LAN (the spare host's, which gives it up):
    // the NAT's mapping for the old address leads nowhere, so the old connection is dead
    const run = (ns: string, argv: string[]): void => {
      const r = lab!.exec(ns, argv)
      expect(r.status, `${argv.join(' ')}: ${r.stderr}`).toBe(0)
    }
    run(spare.ns, ['ip', 'addr', 'flush', 'dev', 'eth0'])
    run(host.ns, ['ip', 'addr', 'del', `${host.address}/24`, 'dev', 'eth0'])
    run(host.ns, ['ip', 'addr', 'add', `${spare.address}/24`, 'dev', 'eth0'])
    run(host.ns, ['ip', 'route', 'replace', 'default', 'via', home.gateway])
    client.child.kill('SIGUSR1')
    const done = await client.next(l => l.event === 'done' || l.event === 'error', 90_000)
    expect(done.event).toBe('done')
    expect(done.receivedSha256).toBe(done.sentSha256)
    expect(done.resumptions).toBeGreaterThanOrEqual(1)
    // the service saw the association come back from the new address
    const closed = await service.next(l => l.event === 'connection-closed' && String(l.remoteAddr).includes(home.publicAddress))
    expect(closed).toBeDefined()
  })
})

describe('resumption across port hops', () => {
  it('moves 64 MiB with equal SHA-256 while the service hops ports every second, no reconnect visible to the application', async () => {
    const point = startFixture('point')
    const pointAddrs = (await point.next(l => l.event === 'ready')).multiaddrs as string[]
    const name = `hop-${Math.random().toString(36).slice(2, 8)}`
    const secret = 'hop-test-secret'
    const service = startFixture('service', { point: pointAddrs, name, secret, liveness, hop: { intervalMs: 1_000, range: { start: 20_000, end: 29_999 } } })
    const ready = await service.next(l => l.event === 'ready')
    // the record (sealed in the private slot) carries the range start, not a live port
    expect(String((ready.multiaddrs as string[])[0])).toContain('/tcp/20000')
    // paced at 8 MiB/s: the transfer spans about 8 s, so several hops
    const client = startFixture('client', { point: pointAddrs, name, secret, bytes: 64 * MiB, rate: 8 * MiB, liveness })
    const done = await client.next(l => l.event === 'done' || l.event === 'error', 110_000)
    expect(done.event).toBe('done')
    expect(done.receivedBytes).toBe(64 * MiB)
    expect(done.receivedSha256).toBe(done.sentSha256)
    // each hop closed the port the connection was on: the association moved, the application did not notice
    expect(done.resumptions).toBeGreaterThanOrEqual(2)
    const served = await service.next(l => l.event === 'association')
    expect(served.sha256).toBe(done.sentSha256)
  })
})
