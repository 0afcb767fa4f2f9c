// The SDK across NATs with direct paths on: a service behind a port-restricted
// NAT holds a relay slot and publishes relayed and WebRTC addresses; clients
// connect by name. First contact goes through the relay; the connection is
// then upgraded in the background to a direct one: WebRTC (ICE with a STUN
// server on the public segment) from a full-cone NAT, a birthday-punched UDX
// path from a symmetric one (the point is also the NAT observer). The association opened on the
// relay continues across the upgrade with 8 MiB intact, and the next
// association uses the direct path.
import { spawnSync } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createLab, labPrerequisites } from '@fara/nat-lab'
import { PUBLIC_ADDRESSES } from '@fara/nat-lab/constants'
import { startFixture, stopAll } from './helpers/process.ts'
import { startStun } from './helpers/tools.ts'
import type { Stun } from './helpers/tools.ts'
import type { Lab } from '@fara/nat-lab'

const missing = [...labPrerequisites(), ...(spawnSync('turnserver', ['--help']).error == null ? [] : ['turnserver (apt-get install coturn)'])]
const canRun = missing.length === 0
if (!canRun) {
  if (process.env.FARA_REQUIRE_LAB === '1') throw new Error(`SDK direct-path NAT test required (FARA_REQUIRE_LAB=1) but ${missing.join(' and ')} missing`)
  console.warn(`SKIPPING SDK direct-path NAT test: needs ${missing.join(' and ')}`)
}

const MiB = 1024 * 1024

describe.skipIf(!canRun)(`SDK with direct paths across NATs${canRun ? '' : ` — skipped: needs ${missing.join(' and ')}`}`, () => {
  let lab: Lab
  let dir: string
  let stun: Stun | undefined
  let pointAddrs: string[]
  let stunUrl: string
  let observers: string[]

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fara-sdk-direct-'))
    lab = await createLab({ nats: [{ name: 'home', type: 'port-restricted' }, { name: 'cafe', type: 'full-cone' }, { name: 'mobile', type: 'symmetric' }] })
    stun = await startStun({ address: lab.publicAddress, dir, netns: lab.public.ns })
    stunUrl = stun.url
    const point = startFixture('point', { host: lab.publicAddress, relay: true, observe: PUBLIC_ADDRESSES.map(a => `${a}:3479`) }, { netns: lab.public.ns })
    const ready = await point.next(l => l.event === 'ready')
    pointAddrs = ready.multiaddrs as string[]
    observers = ready.observers as string[]
    const service = startFixture('service', {
      point: pointAddrs, name: 'media', relays: pointAddrs, listen: ['/ip4/0.0.0.0/tcp/0'], direct: { stunServers: [stunUrl], observers }
    }, { netns: lab.nats.home!.hosts[0]!.ns })
    // reachable once the record carries the WebRTC address behind the relay slot
    await service.next(l => l.event === 'registered' && JSON.stringify(service.lines).includes('/webrtc/'), 60_000)
  }, 90_000)

  afterAll(async () => {
    await stopAll()
    await stun?.stop()
    lab?.destroy()
    if (dir != null) await rm(dir, { recursive: true, force: true })
  })

  const cases = [
    { from: 'cafe', label: 'full-cone', method: 'ice' },
    { from: 'mobile', label: 'symmetric', method: 'birthday' }
  ]
  for (const c of cases) {
    it(`from behind a ${c.label} NAT to a port-restricted one: a direct path (${c.method === 'ice' ? 'WebRTC' : 'birthday punch, UDX'}), the live association moved onto it, 8 MiB intact`, async () => {
      const client = startFixture('upgrade-client', { point: pointAddrs, name: 'media', bytes: 8 * MiB, direct: { stunServers: [stunUrl], observers } }, { netns: lab.nats[c.from]!.hosts[0]!.ns })
      const r = await client.next(l => l.event === 'result', 170_000) as Record<string, any> // eslint-disable-line @typescript-eslint/no-explicit-any
      expect(r.error, JSON.stringify(r)).toBeUndefined()
      expect(r.continued).toMatchObject({ sentBytes: 8 * MiB, receivedBytes: 8 * MiB, sha256Equal: true })
      expect(r.second.echoed).toBe('after the upgrade')
      const onWebrtc = (path: unknown): boolean => String(path).includes('/webrtc')
      const onUdx = (path: unknown): boolean => /^\/ip4\/[\d.]+\/udp\/\d+\/p2p\//.test(String(path))
      // first contact goes through the relay at once; the upgrade runs in the background
      expect(String(r.firstPath)).toContain('/p2p-circuit')
      expect(onWebrtc(r.firstPath)).toBe(false)
      // the association opened on the relay went on across the upgrade (8 MiB intact above), moved onto the direct path
      expect(r.upgraded, JSON.stringify(r)).toBe(true)
      expect(r.resumptions, JSON.stringify(r)).toBeGreaterThanOrEqual(1)
      expect(r.method).toBe(c.method)
      const onDirect = c.method === 'ice' ? onWebrtc : onUdx
      expect(onDirect(r.laterPath), JSON.stringify(r)).toBe(true)
      expect(onDirect(r.second.path), JSON.stringify(r)).toBe(true)
    }, 200_000)
  }
})
