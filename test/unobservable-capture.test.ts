// What an on-path observer (or a censor's classifier) sees of Fara (spec/unobservable.md, issue 14):
// one tcpdump capture of a lab namespace's loopback while, each in its own process, the demo runs, the
// CLI path carries 120+ curls (each a new connection from a fresh key), an entity reachable only
// through the rendezvous point's relay is reached, and a hopping service is reached. Every flow in the
// namespace is Fara's except the user's own local legs (curl ↔ `fara connect`, `fara serve` ↔ the
// HTTP server) and a plain js-libp2p control (TCP + Noise + Yamux, no protector), on its own port, which
// the same analysis must reject, so that each check is seen to be able to fail.
import { randomBytes } from 'node:crypto'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startProgram, stopAllPrograms } from './fixtures/cli-process.ts'
import { describeDirection, inNs, missingFor, pool, runIn, startFaraIn, stopCapture } from './helpers/observer.ts'
import { startFixture, stopAll } from './helpers/process.ts'
import { distinct, expectedRuns, printableRuns, uniformity } from './helpers/randomness.ts'
import { directionsOf, readConnections } from './helpers/tcp-flows.ts'
import { startTcpdump } from './helpers/tools.ts'
import { createLab } from '@fara/nat-lab'
import type { Lab } from '@fara/nat-lab'
import type { Connection, Direction } from './helpers/tcp-flows.ts'

const missing = missingFor('unobservable capture test', ['curl'])

const DEMO = fileURLToPath(new URL('../examples/dist/demo.js', import.meta.url))
const CURLS = 120
const HOP_RANGE = { start: 20_000, end: 20_999 }
/** Flows whose first bytes are tested, and connections whose first segments are compared (issue 14). */
const MIN_FLOWS = 200
const MIN_CONNECTIONS = 100
/** How many bytes at the start of each flow the printable-run and uniformity checks look at. */
const HEAD = 1024
const WIDTH = 64

describe.skipIf(missing !== '')(`an on-path observer of Fara (tcpdump in a namespace)${missing === '' ? '' : ` — skipped: needs ${missing}`}`, () => {
  let dir: string
  let lab: Lab | undefined
  /** Every direction of every Fara connection. */
  let fara: Direction[] = []
  /** Connections `fara connect` made to `fara serve`: one per curl. */
  let tunnels: Connection[] = []
  let plain: Connection[] = []
  let localLegs: Connection[] = []
  let hopping: Connection[] = []
  const marker = `MARKER-${randomBytes(8).toString('hex')}`
  const names = { web: `web-${randomBytes(4).toString('hex')}`, relayed: `behind-nat-${randomBytes(4).toString('hex')}`, hop: `hopper-${randomBytes(4).toString('hex')}`, demo: 'chat' }
  const outcomes: Record<string, unknown> = {}

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fara-unobservable-capture-'))
    lab = await createLab({ nats: [] })
    const ns = lab.public.ns
    const tcpdump = await startTcpdump({ file: join(dir, 'lo.pcap'), iface: 'lo', netns: ns })
    let ports: { plain: number, local: number, http: number, serve: number }
    let sentinel = 0
    try {
      // the control: plain js-libp2p, 100 connections
      const plainListener = startFixture('plain-libp2p', { role: 'listen' }, { netns: ns })
      const plainReady = await plainListener.next(l => l.event === 'ready')
      const plainDialer = startFixture('plain-libp2p', { role: 'dial', target: (plainReady.multiaddrs as string[])[0], count: MIN_CONNECTIONS }, { netns: ns })

      // the demo (`npm start` runs the built examples/dist/demo.js)
      const [demoCmd, demoArgs] = inNs(ns, [process.execPath, DEMO])
      const demo = startProgram('demo', demoCmd, demoArgs)

      // the CLI path: rendezvous point (also the relay), the user's HTTP server, serve, connect
      const env: Record<string, string> = { PATH: process.env.PATH ?? '', HOME: dir, XDG_CONFIG_HOME: join(dir, 'config'), FARA_KEYSTORE: join(dir, 'keys') }
      const point = startFaraIn(ns, 'fara rendezvous', ['rendezvous', '--data-dir', join(dir, 'rv'), '--listen', '/ip4/127.0.0.1/tcp/0', '--json'], env)
      const pointAddrs = (await point.event('ready')).multiaddrs as string[]
      env.FARA_RENDEZVOUS = pointAddrs.join(',')
      const http = startFixture('http-files', { marker }, { netns: ns })
      const httpPort = (await http.next(l => l.event === 'ready')).port as number
      const serve = startFaraIn(ns, 'fara serve', ['serve', names.web, '--forward', `127.0.0.1:${httpPort}`, '--listen', '/ip4/127.0.0.1/tcp/0', '--json'], env)
      const registered = await serve.event('registered')
      const servePort = Number(/\/tcp\/(\d+)/.exec((registered.addrs as string[])[0]!)![1])
      const connect = startFaraIn(ns, 'fara connect', ['connect', names.web, '--listen', '127.0.0.1:0', '--json'], env)
      const localPort = (await connect.event('listening')).port as number
      ports = { plain: plainReady.port as number, local: localPort, http: httpPort, serve: servePort }

      // an entity with no listener of its own, reachable only through the point's relay
      const relayed = startFixture('service', { point: pointAddrs, name: names.relayed, relays: pointAddrs, listen: [] }, { netns: ns })
      // a hopping service (private name: its hop key travels in the encrypted record)
      const secret = randomBytes(8).toString('hex')
      const hopper = startFixture('service', { point: pointAddrs, name: names.hop, secret, hop: { intervalMs: 2_000, range: HOP_RANGE } }, { netns: ns })

      const curls = pool(Array.from({ length: CURLS }, (_, i) => i), 4, async () =>
        (await runIn(ns, ['curl', '-sS', '--fail', '--max-time', '20', `http://127.0.0.1:${localPort}/marker`])).toString())
      const bigs = pool([0, 1], 1, async () => (await runIn(ns, ['curl', '-sS', '--fail', '--max-time', '30', `http://127.0.0.1:${localPort}/big`])).byteLength)
      const throughRelay = (async () => {
        // reachable once its record carries the relayed address (the slot may be reserved before 'ready')
        await relayed.next(l => l.event === 'ready' && (l.multiaddrs as string[]).some(a => a.includes('/p2p-circuit')), 30_000)
        await relayed.next(l => l.event === 'registered', 30_000)
        const client = startFixture('client', { point: pointAddrs, name: names.relayed, bytes: 64 * 1024, marker, stableIdentity: true }, { netns: ns })
        return client.next(l => l.event === 'done' || l.event === 'error', 30_000)
      })()
      const throughHops = (async () => {
        await hopper.next(l => l.event === 'registered', 30_000)
        const client = startFixture('client', { point: pointAddrs, name: names.hop, secret, bytes: 64 * 1024, marker }, { netns: ns })
        return client.next(l => l.event === 'done' || l.event === 'error', 30_000)
      })()
      const [curled, big, relayedDone, hopDone, demoExit, plainDone] = await Promise.all([
        curls, bigs, throughRelay, throughHops, demo.exited, plainDialer.next(l => l.event === 'done', 60_000)
      ])
      Object.assign(outcomes, { curled, big, relayedDone, hopDone, demoExit, demoTranscript: demo.transcript(), plainDone })
    } finally {
      await Promise.all([stopAll(), stopAllPrograms()])
      sentinel = await stopCapture(tcpdump, ns)
    }
    const all = readConnections(await readFile(tcpdump.file)).filter(c => c.listener.srcPort !== sentinel)
    plain = all.filter(c => c.listener.srcPort === ports.plain)
    localLegs = all.filter(c => c.listener.srcPort === ports.local || c.listener.srcPort === ports.http)
    const excluded = new Set([...plain, ...localLegs])
    const faraConnections = all.filter(c => !excluded.has(c))
    fara = directionsOf(faraConnections)
    tunnels = faraConnections.filter(c => c.listener.srcPort === ports.serve)
    hopping = faraConnections.filter(c => c.listener.srcPort >= HOP_RANGE.start && c.listener.srcPort <= HOP_RANGE.end && c.listener.bytes > 0)
  }, 120_000)

  afterAll(async () => {
    await Promise.all([stopAll(), stopAllPrograms()])
    await lab?.destroy()
    if (dir != null) await rm(dir, { recursive: true, force: true })
  })

  it('captured every path working: the demo, 120 curls through the CLI, a relayed and a hopping service', () => {
    expect(outcomes.demoExit, String(outcomes.demoTranscript)).toBe(0)
    expect(outcomes.curled).toEqual(Array.from({ length: CURLS }, () => marker))
    expect(outcomes.big).toEqual([1024 * 1024, 1024 * 1024])
    expect(outcomes.relayedDone).toMatchObject({ event: 'done' })
    const relayedDone = outcomes.relayedDone as Record<string, unknown>
    expect(relayedDone.receivedSha256).toBe(relayedDone.sentSha256)
    expect((relayedDone.remoteAddrs as string[]).every(a => a.includes('/p2p-circuit')), JSON.stringify(relayedDone)).toBe(true)
    expect(outcomes.hopDone).toMatchObject({ event: 'done' })
    expect(outcomes.plainDone).toMatchObject({ event: 'done', ok: MIN_CONNECTIONS })
    // the observer saw them: one tunnel per curl, the hopping ports, the control
    expect(tunnels.length).toBeGreaterThanOrEqual(CURLS)
    expect(hopping.length).toBeGreaterThanOrEqual(1)
    expect(plain.length).toBe(MIN_CONNECTIONS)
    // and what travels in clear on the user's own loopback legs is visible to it (the marker check can succeed)
    expect(localLegs.some(c => c.listener.payload.includes(marker))).toBe(true)
  })

  it('shows no protocol id, service name or payload in any Fara flow (and finds them in the plain libp2p control)', () => {
    const needles = ['/multistream', '/noise', '/yamux', '/p2p', '/fara', '/ipfs', marker, ...Object.values(names)]
    const found: string[] = []
    for (const d of fara) {
      for (const needle of needles) if (d.payload.includes(needle)) found.push(`${needle} in ${describeDirection(d)}`)
    }
    expect(found).toEqual([])
    // plain libp2p negotiates Yamux inside Noise: its clear text is multistream-select's and Noise's ids
    const control = directionsOf(plain)
    for (const needle of ['/multistream/1.0.0', '/noise']) {
      expect(control.filter(d => d.payload.includes(needle)).length, needle).toBeGreaterThanOrEqual(MIN_CONNECTIONS)
    }
  })

  it('has no more printable runs of 6+ bytes than uniform random bytes would have (the control has far more)', () => {
    const tally = (dirs: readonly Direction[], head: number): { runs: number, expected: number, longest: string[] } => {
      let runs = 0
      let expected = 0
      const longest: string[] = []
      for (const d of dirs) {
        const bytes = d.payload.subarray(0, head)
        const r = printableRuns(bytes)
        runs += r.count
        expected += expectedRuns(bytes.byteLength)
        longest.push(...r.longest)
      }
      return { runs, expected, longest: longest.sort((a, b) => b.length - a.length).slice(0, 5) }
    }
    // Poisson-like count: 5 standard deviations above the expectation (a chance failure below 1 in 10^6)
    const bound = (e: number): number => e + 5 * Math.sqrt(e) + 3
    const whole = tally(fara, Infinity)
    const heads = tally(fara, HEAD)
    const control = tally(directionsOf(plain), HEAD)
    console.log(`printable runs >= 6: whole Fara flows ${whole.runs} (uniform: ${whole.expected.toFixed(1)}), first ${HEAD} B ${heads.runs} (uniform: ${heads.expected.toFixed(1)}), plain libp2p first ${HEAD} B ${control.runs} (uniform: ${control.expected.toFixed(1)}; e.g. ${JSON.stringify(control.longest.slice(0, 2))})`)
    expect(fara.reduce((n, d) => n + d.payload.byteLength, 0)).toBeGreaterThan(2 * 1024 * 1024)
    expect(whole.runs, JSON.stringify(whole.longest)).toBeLessThanOrEqual(bound(whole.expected))
    expect(heads.runs, JSON.stringify(heads.longest)).toBeLessThanOrEqual(bound(heads.expected))
    expect(control.runs).toBeGreaterThan(bound(control.expected))
  })

  it(`makes the first ${WIDTH} bytes of every flow, over ${MIN_FLOWS}+ flows, pass a uniformity test that plain libp2p fails`, () => {
    // flows seen from their SYN (so from their first byte) that carried at least WIDTH bytes
    const sample = fara.filter(d => d.synSeen && d.payload.byteLength >= WIDTH)
    const u = uniformity(sample.map(d => d.payload.subarray(0, WIDTH)), WIDTH)
    const controlSample = directionsOf(plain).filter(d => d.payload.byteLength >= WIDTH).map(d => d.payload.subarray(0, WIDTH))
    const c = uniformity(controlSample, WIDTH)
    console.log(`uniformity of the first ${WIDTH} bytes: Fara (${sample.length} of ${fara.length} directions, ${tunnels.length} tunnels, ${hopping.length} hopping) ${JSON.stringify(u)}; plain libp2p ${JSON.stringify(c)}`)
    expect(sample.length).toBeGreaterThanOrEqual(MIN_FLOWS)
    expect(u.pass, JSON.stringify(u)).toBe(true)
    expect(controlSample.length).toBeGreaterThanOrEqual(MIN_FLOWS)
    expect(c.pass, JSON.stringify(c)).toBe(false)
  })

  it(`varies the size of the first segment in each direction between connections (at least half distinct over ${MIN_CONNECTIONS}+)`, () => {
    const firstSizes = (conns: readonly Connection[], side: 'initiator' | 'listener'): number[] =>
      conns.map(c => c[side].dataSizes[0]).filter((s): s is number => s != null)
    const sample = tunnels.slice(0, Math.max(MIN_CONNECTIONS, tunnels.length))
    const initiator = firstSizes(sample, 'initiator')
    const listener = firstSizes(sample, 'listener')
    const control = { initiator: firstSizes(plain, 'initiator'), listener: firstSizes(plain, 'listener') }
    console.log(`distinct first-segment sizes over ${sample.length} tunnels: initiator ${distinct(initiator)} (${Math.min(...initiator)}–${Math.max(...initiator)} B), listener ${distinct(listener)} (${Math.min(...listener)}–${Math.max(...listener)} B); plain libp2p over ${plain.length}: ${distinct(control.initiator)} and ${distinct(control.listener)}`)
    expect(initiator.length).toBeGreaterThanOrEqual(MIN_CONNECTIONS)
    expect(listener.length).toBeGreaterThanOrEqual(MIN_CONNECTIONS)
    expect(distinct(initiator)).toBeGreaterThanOrEqual(initiator.length / 2)
    expect(distinct(listener)).toBeGreaterThanOrEqual(listener.length / 2)
    // the control: plain libp2p's first segments have the same few sizes on every connection
    expect(distinct(control.initiator)).toBeLessThan(control.initiator.length / 2)
    expect(distinct(control.listener)).toBeLessThan(control.listener.length / 2)
  })
})
