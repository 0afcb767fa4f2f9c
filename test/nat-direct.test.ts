// Direct paths across real NATs: for every pair of NAT types in the lab, a
// peer behind one NAT dials a peer behind another over the relay, then
// upgrades to a direct WebRTC (ICE/UDP) connection, found with a STUN server
// (coturn) on the public segment. Each path carries 8 MiB with equal SHA-256.
// Peers classify their NATs with the point's NAT observer (two public IPs):
// a consistent <-> random (symmetric) pair is birthday-punched over UDX
// (spec/direct-paths.md#birthday-punching), every other pair tries ICE.
// Only symmetric <-> symmetric stays relayed (both sides report the punch
// as not-applicable), and still works.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { spawnSync } from 'node:child_process'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createLab, labPrerequisites } from '@fara/nat-lab'
import { PUBLIC_ADDRESSES } from '@fara/nat-lab/constants'
import { startFixture, stopAll } from './helpers/process.ts'
import { startStun } from './helpers/tools.ts'
import type { Stun } from './helpers/tools.ts'
import type { Lab, NatType } from '@fara/nat-lab'

const missing = [...labPrerequisites(), ...(spawnSync('turnserver', ['--help']).error == null ? [] : ['turnserver (apt-get install coturn)'])]
const canRun = missing.length === 0
if (!canRun) {
  if (process.env.FARA_REQUIRE_LAB === '1') throw new Error(`direct-path NAT test required (FARA_REQUIRE_LAB=1) but ${missing.join(' and ')} missing`)
  console.warn(`SKIPPING direct-path NAT test: needs ${missing.join(' and ')}`)
}

const MiB = 1024 * 1024
// birthday pairs are punched this many times (FARA_PUNCH_RUNS=10 for the table in spec/nat-lab.md)
const PUNCH_RUNS = Number(process.env.FARA_PUNCH_RUNS ?? 1)
const median = (v: number[]): number => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!
interface Kind { name: string, type: NatType, double?: boolean, label: string }
const KINDS: Kind[] = [
  { name: 'fc', type: 'full-cone', label: 'full-cone' },
  { name: 'ar', type: 'address-restricted', label: 'address-restricted' },
  { name: 'pr', type: 'port-restricted', label: 'port-restricted' },
  { name: 'sym', type: 'symmetric', label: 'symmetric' },
  { name: 'cg', type: 'port-restricted', double: true, label: 'carrier-grade (port-restricted x2)' }
]
// two random mappings: neither side can aim at the other (Holepunch refuses this pair too)
const NO_DIRECT = new Set(['sym>sym'])
// a consistent <-> random pair: the birthday punch
const BIRTHDAY = (pair: string): boolean => pair.includes('sym') && pair !== 'sym>sym'

describe.skipIf(!canRun)(`direct paths across NATs (WebRTC)${canRun ? '' : ` — skipped: needs ${missing.join(' and ')}`}`, () => {
  let lab: Lab
  let dir: string
  let stun: Stun | undefined
  let relay: string
  let stunUrl: string
  let observers: string[]
  const table: string[] = []

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fara-direct-'))
    // two NATs of each kind, so every pair (same kind included) is two different routers
    lab = await createLab({ nats: KINDS.flatMap(k => [1, 2].map(i => ({ name: `${k.name}${i}`, type: k.type, ...(k.double === true ? { double: true, carrierType: 'port-restricted' as const } : {}) }))) })
    stun = await startStun({ address: lab.publicAddress, dir, netns: lab.public.ns })
    stunUrl = stun.url
    const point = startFixture('point', { host: lab.publicAddress, relay: true, observe: PUBLIC_ADDRESSES.map(a => `${a}:3479`) }, { netns: lab.public.ns })
    const ready = await point.next(l => l.event === 'ready')
    relay = (ready.multiaddrs as string[])[0]!
    observers = ready.observers as string[]
  }, 60_000)

  afterAll(async () => {
    if (table.length > 0) console.log(['| from \\ to | path | method | punch ms, median / max (runs) | probes, median / max | relayed TTFB ms | relayed Mbit/s | upgrade ms | direct TTFB ms | direct Mbit/s |', '|---|---|---|---|---|---|---|---|---|---|', ...table].join('\n'))
    await stopAll()
    await stun?.stop()
    lab?.destroy()
    if (dir != null) await rm(dir, { recursive: true, force: true })
  })

  for (const from of KINDS) {
    for (const to of KINDS) {
      const pair = `${from.name}>${to.name}`
      const expectDirect = !NO_DIRECT.has(pair)
      it(`${from.label} -> ${to.label}: ${expectDirect ? 'direct' : 'stays relayed'}, 8 MiB each way intact`, async () => {
        const listener = startFixture('direct-peer', { role: 'listen', relay, stun: stunUrl, observers }, { netns: lab.nats[`${to.name}2`]!.hosts[0]!.ns })
        const ready = await listener.next(l => l.event === 'ready', 30_000)
        const dialer = startFixture('direct-peer', { role: 'dial', relay, stun: stunUrl, observers, target: ready.peerId, bytes: 8 * MiB }, { netns: lab.nats[`${from.name}1`]!.hosts[0]!.ns })
        // up to three punch attempts of at most 45 s each (the fixture retries a miss, as the SDK does)
        const r = await dialer.next(l => l.event === 'result', 170_000) as Record<string, any> // eslint-disable-line @typescript-eslint/no-explicit-any
        const punches: Array<{ ms: number, probes: number }> = r.method === 'birthday' ? [{ ms: r.punch.ms - r.punch.waitedMs, probes: r.punch.probes }] : []
        let missed = Number(r.punchMissed ?? 0)
        // where no direct path is expected, the listener's own report of the punch it was asked for (its 'punch' line)
        const answered = expectDirect ? undefined : await listener.next(l => l.event === 'punch', 30_000)
        await listener.stop()
        for (let run = 1; run < PUNCH_RUNS && BIRTHDAY(pair); run++) {
          // more punches for the median and the worst case, each between a fresh listener and a fresh dialer:
          // a listener's punch socket keeps the holes its earlier probes made in its NAT, which would make later runs easy
          const l2 = startFixture('direct-peer', { role: 'listen', relay, stun: stunUrl, observers }, { netns: lab.nats[`${to.name}2`]!.hosts[0]!.ns })
          const ready2 = await l2.next(l => l.event === 'ready', 30_000)
          const again = startFixture('direct-peer', { role: 'dial', relay, stun: stunUrl, observers, target: ready2.peerId, bytes: MiB }, { netns: lab.nats[`${from.name}1`]!.hosts[0]!.ns })
          const a = await again.next(l => l.event === 'result', 170_000) as Record<string, any> // eslint-disable-line @typescript-eslint/no-explicit-any
          missed += Number(a.punchMissed ?? 0)
          await l2.stop()
          expect(a.method, JSON.stringify(a)).toBe('birthday')
          // without any wait for a random side's pause between two punches (BUSY, then asked again)
          punches.push({ ms: a.punch.ms - a.punch.waitedMs, probes: a.punch.probes })
        }
        const d = r.direct as Record<string, unknown> | null
        const punchMs = punches.length === 0 ? '-' : `${median(punches.map(p => p.ms))} / ${Math.max(...punches.map(p => p.ms))} (${punches.length}${missed > 0 ? `, ${missed} missed` : ''})`
        const probes = punches.length === 0 ? '-' : `${median(punches.map(p => p.probes))} / ${Math.max(...punches.map(p => p.probes))}`
        table.push(`| ${from.label} \\ ${to.label} | ${d == null ? 'relayed' : 'direct'} | ${r.method ?? '-'} | ${punchMs} | ${probes} | ${r.relayed?.ttfbMs} | ${r.relayed?.mbps} | ${r.upgradeMs ?? '-'} | ${d?.ttfbMs ?? '-'} | ${d?.mbps ?? '-'} |`)
        expect(r.error, JSON.stringify(r)).toBeUndefined()
        expect(r.relayed.sha256Equal).toBe(true)
        expect(String(r.relayed.addr)).toContain('/p2p-circuit')
        if (expectDirect) {
          expect(d, JSON.stringify(r)).not.toBeNull()
          expect(d!.sha256Equal).toBe(true)
          if (BIRTHDAY(pair)) {
            expect(r.method, JSON.stringify(r)).toBe('birthday')
            expect(String(d!.addr)).toMatch(/^\/ip4\/[\d.]+\/udp\/\d+\/p2p\//)
          } else {
            expect(r.method, JSON.stringify(r)).toBe('ice')
            expect(String(d!.addr)).toContain('/webrtc')
          }
        } else {
          expect(d, JSON.stringify(r)).toBeNull()
          // the punch was asked and declined as random <-> random, on both sides: each side's PunchEvent (onAttempt;
          // an SDK entity emits the same object as its 'punch' event)
          const declined = { local: 'random', remote: 'random', result: 'not-applicable' }
          expect(r.punch, JSON.stringify(r)).toMatchObject({ role: 'initiator', ...declined })
          expect(answered, JSON.stringify(answered)).toMatchObject({ role: 'responder', ...declined })
        }
      }, 200_000 * PUNCH_RUNS)
    }
  }
})
