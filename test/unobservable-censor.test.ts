// A censor's string filter on the path (spec/unobservable.md, issue 14): the NAT lab's router between a
// client's home network and the public host drops every forwarded TCP packet that contains /multistream,
// /noise, /yamux, /p2p or /fara (`iptables -m string --algo bm`). Fara (rendezvous point and service on the
// public host, the client behind the router, each in its own process) connects by name and moves 1 MiB
// anyway, without a single packet matching; plain js-libp2p, which gets through before the rules, does not.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startFixture, stopAll } from './helpers/process.ts'
import { createLab, labPrerequisites } from '@fara/nat-lab'
import type { Lab } from '@fara/nat-lab'

const missing = labPrerequisites().join(' and ')
if (missing !== '') {
  if (process.env.FARA_REQUIRE_LAB === '1') throw new Error(`censor test required (FARA_REQUIRE_LAB=1) but ${missing} missing`)
  console.warn(`SKIPPING censor test: needs ${missing}`)
}

const STRINGS = ['/multistream', '/noise', '/yamux', '/p2p', '/fara']
const MiB = 1024 * 1024

describe.skipIf(missing !== '')(`a string-matching censor on the path${missing === '' ? '' : ` — skipped: needs ${missing}`}`, () => {
  let lab: Lab | undefined
  let router: string
  let client: string
  let pointAddrs: string[]
  let plainTarget: string
  let plainPeer: string

  /** Packets each rule dropped so far, by string. */
  const drops = (): Record<string, number> => {
    const out = lab!.exec(router, ['iptables', '-w', '-L', 'FORWARD', '-v', '-n', '-x'])
    expect(out.status, out.stderr).toBe(0)
    return Object.fromEntries(STRINGS.map(s => {
      const line = out.stdout.split('\n').find(l => l.includes(`"${s}"`) && l.includes('DROP'))
      return [s, line == null ? -1 : Number(line.trim().split(/\s+/)[0])]
    }))
  }

  /** Put the censor's rules on the router's FORWARD chain (once), both directions, before anything else there. */
  let ruled = false
  const censor = (): void => {
    if (ruled) return
    for (const s of STRINGS) {
      const out = lab!.exec(router, ['iptables', '-w', '-I', 'FORWARD', '1', '-p', 'tcp', '-m', 'string', '--algo', 'bm', '--string', s, '-j', 'DROP'])
      expect(out.status, `iptables -m string (kernel module xt_string) refused the rule: ${out.stderr}`).toBe(0)
    }
    ruled = true
  }

  beforeAll(async () => {
    lab = await createLab({ nats: [{ name: 'home', type: 'port-restricted' }] })
    router = lab.nats.home!.router
    client = lab.hosts['home-1']!.ns
    const pub = lab.public.ns
    const point = startFixture('point', { host: lab.publicAddress }, { netns: pub })
    pointAddrs = (await point.next(l => l.event === 'ready')).multiaddrs as string[]
    const service = startFixture('service', { point: pointAddrs, name: 'censored-name', listen: [`/ip4/${lab.publicAddress}/tcp/0`] }, { netns: pub })
    const plain = startFixture('plain-libp2p', { role: 'listen', host: lab.publicAddress }, { netns: pub })
    const plainReady = await plain.next(l => l.event === 'ready')
    plainTarget = (plainReady.multiaddrs as string[])[0]!
    plainPeer = plainReady.peerId as string
    await service.next(l => l.event === 'registered')
  })

  afterAll(async () => {
    await stopAll()
    await lab?.destroy()
  })

  it('lets plain libp2p through before the rules (the path works)', async () => {
    const dial = startFixture('plain-libp2p', { role: 'dial', target: plainTarget }, { netns: client })
    expect(await dial.next(l => l.event === 'dialed')).toMatchObject({ ok: true, remotePeer: plainPeer })
  })

  it('connects by name and moves 1 MiB through the rules, none of which matches a Fara packet', async () => {
    censor()
    expect(drops()).toEqual(Object.fromEntries(STRINGS.map(s => [s, 0])))
    const fara = startFixture('client', { point: pointAddrs, name: 'censored-name', bytes: MiB }, { netns: client })
    const done = await fara.next(l => l.event === 'done' || l.event === 'error', 60_000)
    expect(done, JSON.stringify(done)).toMatchObject({ event: 'done', receivedBytes: MiB })
    expect(done.receivedSha256).toBe(done.sentSha256)
    expect(drops()).toEqual(Object.fromEntries(STRINGS.map(s => [s, 0])))
  })

  it('stops a plain libp2p dial under the same rules (the rules work)', async () => {
    censor()
    const dial = startFixture('plain-libp2p', { role: 'dial', target: plainTarget, timeoutMs: 5_000 }, { netns: client })
    const result = await dial.next(l => l.event === 'dialed', 30_000)
    expect(result, JSON.stringify(result)).toMatchObject({ ok: false, remotePeer: null })
    expect(drops()['/multistream']).toBeGreaterThan(0)
  })
})
