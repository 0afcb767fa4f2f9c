// Issue 14, point 5: limits no single host can dodge. Every program in its own process: `fara rendezvous`
// (the CLI, default limits), a legitimate client on 127.0.0.2, and a flood from 127.0.1.1 with a fresh key
// every 32 requests, resolves and registrations (half each) as fast as they are answered. Before the per-source limits
// such a flood (123 keys, 10 s) got 12,300 resolves and 6,048 registrations, none refused. Now the flood is
// refused once its address's burst is spent, its address holds at most its share of the store, and the
// legitimate client is served throughout. Assertions are on counts; latencies only as a loose sanity bound.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DEFAULT_ADDRESS_BURST, DEFAULT_ADDRESS_RATE, DEFAULT_MAX_RECORDS_PER_ADDRESS } from '@fara/rendezvous/constants'
import { afterAll, describe, expect, it } from 'vitest'
import { startFara, stopAllPrograms } from './fixtures/cli-process.ts'
import { startFixture, stopAll } from './helpers/process.ts'

const FLOOD_MS = 3_000
const dirs: string[] = []
afterAll(async () => {
  await stopAll()
  await stopAllPrograms()
  await Promise.all(dirs.map(async d => rm(d, { recursive: true, force: true })))
})

/** What one flood's 'done' line says. */
interface Flood {
  served: number
  answeringMs: number
  registrationsAnswered: number
  firstSecond: { served: number, refused: number }
  outcomes: Record<string, number>
  messages: Record<string, string>
}

// the flooder counts from its first answer, the point from its first request: half a second of the rate as slack
const SLACK = DEFAULT_ADDRESS_RATE / 2

/** Everything a flood from one address may be served: its burst, and its rate over its span. */
function checkServed (f: Flood): void {
  // refused within its first second at the point (from its first answer); counted, not timed
  expect(f.firstSecond.refused, 'the flood was not refused in its first second').toBeGreaterThan(0)
  expect(f.firstSecond.served).toBeLessThanOrEqual(DEFAULT_ADDRESS_BURST + DEFAULT_ADDRESS_RATE + SLACK)
  expect(f.served).toBeLessThanOrEqual(DEFAULT_ADDRESS_BURST + DEFAULT_ADDRESS_RATE * f.answeringMs / 1_000 + SLACK)
  // every answer is a result or a typed refusal (or a connection the point's node refused: more than
  // MAX_PENDING_PER_HOST handshakes from one host at once); no key ever reached a per-key limit
  expect(Object.keys(f.outcomes).filter(o => !['resolved', 'registered', 'RateLimitedError', 'TooManyRegistrationsError', 'RendezvousUnavailableError'].includes(o))).toEqual([])
  expect(f.messages.TooManyRegistrationsError ?? '').not.toContain('key')
  // the store: at most the address's share
  expect(f.outcomes.registered ?? 0).toBeLessThanOrEqual(DEFAULT_MAX_RECORDS_PER_ADDRESS)
}

describe('a sybil flood from one address against fara rendezvous', () => {
  it('is refused within its first second, holds only its address\'s share of the store, and another client keeps being served', async () => {
    const home = await mkdtemp(join(tmpdir(), 'fara-sybil-'))
    dirs.push(home)
    const env = { PATH: process.env.PATH ?? '', HOME: home, XDG_CONFIG_HOME: join(home, 'config') }
    const point = startFara('fara rendezvous', ['rendezvous', '--memory', '--listen', '/ip4/127.0.0.1/tcp/0', '--json'], env)
    const addrs = (await point.event('ready')).multiaddrs as string[]

    const probe = startFixture('sybil', { mode: 'probe', point: addrs, from: '127.0.0.2', every: 100 })
    await probe.next(l => l.event === 'ready')
    await probe.next(l => l.event === 'progress' && (l.requests as number) >= 30)
    probe.child.kill('SIGUSR1')
    const quiet = await probe.next(l => l.event === 'phase' && l.phase === 1)

    // resolves and registrations, half each, from 127.0.1.1
    const mixed = startFixture('sybil', { mode: 'flood', point: addrs, from: '127.0.1.1', durationMs: FLOOD_MS })
    const a = await mixed.next(l => l.event === 'done', 60_000) as unknown as Flood
    // registrations only (16 per key) from 127.0.2.1: its address's share of the store is reached
    const registering = startFixture('sybil', { mode: 'flood', point: addrs, from: '127.0.2.1', durationMs: FLOOD_MS, registerEvery: 1, perKey: 16 })
    const b = await registering.next(l => l.event === 'done', 60_000) as unknown as Flood
    probe.child.kill('SIGUSR1')
    const loud = await probe.next(l => l.event === 'phase' && l.phase === 2)
    probe.child.kill('SIGUSR2')
    const after = await probe.next(l => l.event === 'registered')
    console.log(`sybil flood, mixed: ${JSON.stringify(a)}\nsybil flood, registrations: ${JSON.stringify(b)}\n` +
      `legit client: quiet ${JSON.stringify(quiet)}, during the floods ${JSON.stringify(loud)}`)

    checkServed(a)
    checkServed(b)
    expect(b.registrationsAnswered).toBeGreaterThan(DEFAULT_MAX_RECORDS_PER_ADDRESS)
    expect(b.outcomes.registered).toBe(DEFAULT_MAX_RECORDS_PER_ADDRESS)
    expect(b.outcomes.TooManyRegistrationsError).toBe(b.registrationsAnswered - DEFAULT_MAX_RECORDS_PER_ADDRESS)

    // the legitimate client: every request served in both phases, and it can still register
    expect([quiet.errors, loud.errors]).toEqual([{}, {}])
    expect(loud.requests as number).toBeGreaterThan(0)
    expect(after).toMatchObject({ ok: true })
    // loose sanity bound on its latency under the floods (the machine's CPUs are shared with them)
    expect(loud.p99 as number).toBeLessThan(Math.max(1_000, 10 * (quiet.p99 as number)))

    // the point reported each flooding address, once per limit (and never the legitimate client)
    const refused = point.lines.map(l => l.json).filter(j => j?.event === 'refused')
    expect(refused).toEqual(expect.arrayContaining([
      expect.objectContaining({ service: 'rendezvous', kind: 'requests', limit: 'address', source: '127.0.1.1', max: DEFAULT_ADDRESS_RATE }),
      expect.objectContaining({ service: 'rendezvous', kind: 'requests', limit: 'address', source: '127.0.2.1', max: DEFAULT_ADDRESS_RATE }),
      expect.objectContaining({ service: 'rendezvous', kind: 'registrations', limit: 'address', source: '127.0.2.1', max: DEFAULT_MAX_RECORDS_PER_ADDRESS })
    ]))
    expect(refused.filter(r => r?.source === '127.0.0.2' || r?.source === '127.0.0.0/24')).toEqual([])
    // reported once per limit and source within the report interval, not once per refused request
    expect(refused.length).toBeLessThanOrEqual(5)
    await probe.stop()
    expect(await point.stop()).toBe(0)
  }, 90_000)
})
