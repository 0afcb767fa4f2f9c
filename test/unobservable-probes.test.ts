// What an active prober gets from Fara ports (spec/unobservable.md, issue 14): a service, a rendezvous
// point and a relay (a point running the relay), each in its own process in a lab namespace, with their
// defaults (silent close at 2–8 s). A battery of probes — nothing, 64 random bytes, the multistream
// header, an HTTP request, a TLS ClientHello, an SSH banner, and a replay of a real client's first flight
// taken from a tcpdump capture — and `nmap -sV`, all from 127.0.0.2, get zero bytes and a FIN from the
// listener; a plain libp2p dial without the record fails and learns no key (the same dial to a plain
// libp2p node, the control, learns it); and a service restarted with the same keystore on a new port
// looks to the prober exactly as it did before. A tcpdump capture checks that no payload at all flowed
// from a Fara port to the prober's address.
import { randomBytes } from 'node:crypto'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { connect as tlsConnect } from 'node:tls'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { firstFlight, missingFor, runIn, stopCapture } from './helpers/observer.ts'
import { startFixture, stopAll } from './helpers/process.ts'
import { readConnections } from './helpers/tcp-flows.ts'
import { startTcpdump } from './helpers/tools.ts'
import { createLab } from '@fara/nat-lab'
import type { AddressInfo } from 'node:net'
import type { Lab } from '@fara/nat-lab'
import type { Connection } from './helpers/tcp-flows.ts'
import type { Fixture } from './helpers/process.ts'

const missing = missingFor('unobservable probe test', ['nmap'])

/** Where Fara listens, and where the prober and scanner come from (another loopback address: their flows are told apart by it). */
const HOST = '127.0.0.1'
const PROBER = '127.0.0.2'
/** The documented silent-close window (spec/unobservable.md, "The listener"), with a margin for scheduling only. */
const SILENT_CLOSE = { min: 2_000, max: 8_000 }
/** The prober's clock starts at its connect, a moment before the listener's accept: only millisecond rounding can make it early. */
const CLOCK_SLACK_MS = 50
/** A loaded machine may run the listener's timer, and deliver its FIN, late. */
const SCHEDULING_SLACK_MS = 1_000

/** A real TLS ClientHello: what Node's TLS stack sends first. */
async function clientHello (): Promise<Buffer> {
  const server = createServer()
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const first = new Promise<Buffer>(resolve => server.once('connection', s => { s.once('data', (d: Buffer) => { resolve(d); s.destroy() }) }))
  const client = tlsConnect({ host: '127.0.0.1', port: (server.address() as AddressInfo).port, servername: 'www.example.com', ALPNProtocols: ['h2', 'http/1.1'] })
  client.on('error', () => {})
  const hello = await first
  client.destroy()
  server.close()
  // RFC 8446 §5.1 and §4: a handshake record (22) whose first message is a ClientHello (1)
  if (hello[0] !== 22 || hello[5] !== 1) throw new Error(`not a TLS ClientHello: ${hello.subarray(0, 8).toString('hex')}`)
  return hello
}

interface ProbeResult { target: string, probe: string, localPort: number, bytesReceived: number, received: string, end: string, code: string | null, delayMs: number | null }

/** The targets: the names the results use. */
const BEFORE = 'service (before restart)'
const AFTER = 'service (restarted)'
const TARGETS = ['service', 'rendezvous point', 'relay', BEFORE] as const
const CONTROL = 'plain libp2p (control)'

describe.skipIf(missing !== '')(`Fara ports to active probers and scanners${missing === '' ? '' : ` — skipped: needs ${missing}`}`, () => {
  let dir: string
  let lab: Lab | undefined
  const ports: Record<string, number> = {}
  const peerIds: Record<string, string> = {}
  let results: ProbeResult[] = []
  const flights: Record<string, Buffer> = {}
  let nmapXml = ''
  /** Every connection from the prober's address during the probes, scans and keyless dials. */
  let probed: Connection[] = []
  const dials: Record<string, Record<string, unknown>> = {}
  let controlPeer = ''
  let controlProbe: ProbeResult | undefined

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fara-unobservable-probes-'))
    lab = await createLab({ nats: [] })
    const ns = lab.public.ns
    const inLab = (name: string, args: unknown): Fixture => startFixture(name, args, { netns: ns })
    const ready = async (f: Fixture): Promise<Record<string, unknown>> => f.next(l => l.event === 'ready')
    const tls = await clientHello()

    // 1. legitimate traffic, captured: a real client's first flight to each target, to replay later
    const legit = await startTcpdump({ file: join(dir, 'legit.pcap'), iface: 'lo', netns: ns })
    let pointAddrs: string[]
    let restarted: Fixture
    try {
      const [p, r] = await Promise.all([ready(inLab('point', {})), ready(inLab('point', { relay: true }))])
      expect(r.relay).toBe(true)
      pointAddrs = p.multiaddrs as string[]
      restarted = inLab('service', { point: pointAddrs, name: 'restarted-service', keystore: join(dir, 'keys-2') })
      const [s, before, relayed] = await Promise.all([
        ready(inLab('service', { point: pointAddrs, name: 'probed-service', keystore: join(dir, 'keys-1') })),
        ready(restarted),
        // reaching the relay: an entity that holds a slot on it
        ready(inLab('service', { point: pointAddrs, name: 'relayed-service', relays: r.multiaddrs, listen: [] }))
      ])
      expect((relayed.multiaddrs as string[]).some(a => a.includes('/p2p-circuit'))).toBe(true)
      Object.assign(ports, { service: s.port, 'rendezvous point': p.port, relay: r.port, [BEFORE]: before.port })
      Object.assign(peerIds, { service: s.peerId, 'rendezvous point': p.peerId, relay: r.peerId, [BEFORE]: before.peerId })
      const clients = ['probed-service', 'restarted-service'].map(name => inLab('client', { point: pointAddrs, name, bytes: 4096 }))
      for (const c of clients) expect(await c.next(l => l.event === 'done' || l.event === 'error')).toMatchObject({ event: 'done' })
    } finally {
      await stopCapture(legit, ns)
    }
    const legitConnections = readConnections(await readFile(legit.file))
    for (const target of TARGETS) {
      // the first connection the target answered: its first flight was valid
      const answered = legitConnections.find(c => c.listener.srcPort === ports[target] && firstFlight(c) != null)
      if (answered != null) flights[target] = firstFlight(answered)!
    }
    expect(Object.keys(flights).sort(), JSON.stringify({ ports, conns: legitConnections.map(c => [c.key, c.initiator.bytes, c.listener.bytes, c.initiator.synSeen]) })).toEqual([...TARGETS].sort())
    flights[AFTER] = flights[BEFORE]!

    const battery = (target: string): Array<{ name: string, hex: string }> => [
      { name: 'nothing', hex: '' },
      { name: '64 random bytes', hex: randomBytes(64).toString('hex') },
      { name: 'multistream header', hex: Buffer.from('\x13/multistream/1.0.0\n').toString('hex') },
      { name: 'HTTP GET', hex: Buffer.from('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\n\r\n').toString('hex') },
      { name: 'TLS ClientHello', hex: tls.toString('hex') },
      { name: 'SSH banner', hex: Buffer.from('SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n').toString('hex') },
      { name: 'replayed first flight', hex: flights[target]!.toString('hex') }
    ]
    const probe = async (targets: string[], extra: unknown[] = []): Promise<ProbeResult[]> => {
      const prober = inLab('prober', { localAddress: PROBER, targets: [...targets.map(name => ({ name, host: HOST, port: ports[name], probes: battery(name) })), ...extra] })
      await prober.next(l => l.event === 'done', 30_000)
      return prober.lines.filter(l => l.event === 'probe') as unknown as ProbeResult[]
    }
    const keylessDial = async (port: number): Promise<Record<string, unknown>> =>
      inLab('plain-libp2p', { role: 'dial', target: `/ip4/${HOST}/tcp/${port}`, localAddress: PROBER }).next(l => l.event === 'dialed', 30_000)

    // 2. the probes, the scan and the keyless dials, all from 127.0.0.2, captured
    const capture = await startTcpdump({ file: join(dir, 'probes.pcap'), iface: 'lo', netns: ns })
    try {
      const control = await ready(inLab('plain-libp2p', { role: 'listen' }))
      controlPeer = control.peerId as string
      const nmap = runIn(ns, ['nmap', '-sV', '--version-light', '-Pn', '-n', '-S', PROBER, '-e', 'lo',
        '-p', [ports.service, ports['rendezvous point'], ports.relay].join(','), HOST, '-oX', '-'], 90_000)
      const dialed = Promise.all([
        keylessDial(ports.service!).then(d => { dials.service = d }),
        keylessDial(ports[BEFORE]!).then(d => { dials[BEFORE] = d }),
        keylessDial(control.port as number).then(d => { dials.control = d })
      ])
      // the control: the multistream header to a plain libp2p node, which answers it
      results = await probe([...TARGETS], [{ name: CONTROL, host: HOST, port: control.port, probes: [{ ...battery('service')[2], stopAfter: 20 }] }])
      controlProbe = results.find(r => r.target === CONTROL)
      results = results.filter(r => r.target !== CONTROL)
      await dialed
      // 3. the restart: same keystore, a new port; the same battery and dial again
      await restarted!.stop()
      const after = await ready(inLab('service', { point: pointAddrs!, name: 'restarted-service', keystore: join(dir, 'keys-2') }))
      ports[AFTER] = after.port as number
      peerIds[AFTER] = after.peerId as string
      const [again, dialAgain] = await Promise.all([probe([AFTER]), keylessDial(ports[AFTER])])
      results.push(...again)
      dials[AFTER] = dialAgain
      nmapXml = (await nmap).toString()
    } finally {
      await stopCapture(capture, ns)
    }
    probed = readConnections(await readFile(capture.file)).filter(c => c.initiator.src === PROBER)
  }, 120_000)

  afterAll(async () => {
    await stopAll()
    await lab?.destroy()
    if (dir != null) await rm(dir, { recursive: true, force: true })
  })

  it('answers every probe with zero bytes and a FIN of its own 2–8 s later, at a service, a rendezvous point and a relay', () => {
    const targets = [...TARGETS, AFTER]
    expect(results).toHaveLength(targets.length * 7)
    // the prober sees an answer where there is one: plain libp2p echoes the multistream header at once
    expect(controlProbe, JSON.stringify(controlProbe)).toMatchObject({ end: 'data' })
    expect(controlProbe!.received.startsWith(Buffer.from('\x13/multistream/1.0.0\n').toString('hex')), JSON.stringify(controlProbe)).toBe(true)
    // the replays were real first flights: each was answered when its client sent it
    for (const t of targets) expect(flights[t]!.byteLength).toBeGreaterThanOrEqual(32 + 10 + 16)
    const summary = targets.map(t => {
      const delays = results.filter(r => r.target === t).map(r => r.delayMs ?? NaN)
      return `${t}: ${Math.min(...delays)}–${Math.max(...delays)} ms`
    })
    console.log(`silent close after connect (7 probes each): ${summary.join('; ')}`)
    for (const r of results) {
      const what = `${r.probe} → ${r.target}: ${JSON.stringify(r)}`
      expect(r.bytesReceived, what).toBe(0)
      expect(r.end, what).toBe('fin')
      expect(r.delayMs, what).toBeGreaterThanOrEqual(SILENT_CLOSE.min - CLOCK_SLACK_MS)
      expect(r.delayMs, what).toBeLessThanOrEqual(SILENT_CLOSE.max + SCHEDULING_SLACK_MS)
    }
  })

  it('sends no TCP payload from any Fara port to the prober\'s address: probes, nmap -sV and keyless dials (capture)', () => {
    const faraPorts = new Map(Object.entries(ports).map(([name, port]) => [port, name]))
    const toFara = probed.filter(c => faraPorts.has(c.listener.srcPort))
    const answered = toFara.filter(c => c.listener.bytes > 0).map(c => `${faraPorts.get(c.listener.srcPort)}: ${c.listener.bytes} bytes to ${c.key}`)
    expect(answered).toEqual([])
    // nmap connected to each scanned port, beyond the prober's 7 connections (and one keyless dial to the service)
    const count = (name: string): number => toFara.filter(c => c.listener.srcPort === ports[name]).length
    console.log(`connections from ${PROBER} to Fara ports, none answered: ${[...faraPorts.values()].map(n => `${n} ${count(n)}`).join(', ')}; nmap: ${[...nmapXml.matchAll(/portid="(\d+)">.*?(?:<service ([^>]*)\/>)?<\/port>/gs)].map(m => `${faraPorts.get(Number(m[1]))} ${m[2] ?? '(no service)'}`).join('; ')}`)
    expect(count('service')).toBeGreaterThanOrEqual(7 + 1 + 1)
    expect(count('rendezvous point')).toBeGreaterThanOrEqual(7 + 1)
    expect(count('relay')).toBeGreaterThanOrEqual(7 + 1)
    // nmap found the ports open and could name no product or version on any of them
    expect(nmapXml).toContain('exit="success"')
    for (const name of ['service', 'rendezvous point', 'relay']) expect(nmapXml).toMatch(new RegExp(`portid="${ports[name]}"><state state="open"`))
    expect(nmapXml).not.toMatch(/<service [^>]*(product|version|extrainfo|servicefp)=/)
  })

  it('lets a plain libp2p dial without the record fail and learn no key (the same dial learns a plain libp2p node\'s key)', () => {
    expect(dials.control).toMatchObject({ ok: true, remotePeer: controlPeer })
    for (const t of ['service', BEFORE, AFTER]) {
      expect(dials[t], t).toMatchObject({ ok: false, remotePeer: null })
      expect(JSON.stringify(dials[t])).not.toContain(peerIds[t]!)
    }
  })

  it('gives a prober the same observations of a service before and after a restart on a new port (no key, nothing to link)', () => {
    expect(ports[AFTER]).not.toBe(ports[BEFORE])
    // the same service (the test knows it: same keystore, same key); the prober cannot tell
    expect(peerIds[AFTER]).toBe(peerIds[BEFORE])
    const seen = (target: string): unknown[] => results.filter(r => r.target === target)
      .map(r => ({ probe: r.probe, bytesReceived: r.bytesReceived, received: r.received, end: r.end }))
      .sort((a, b) => a.probe.localeCompare(b.probe))
    expect(seen(AFTER)).toEqual(seen(BEFORE))
    const dial = (target: string): unknown => ({ ok: dials[target]!.ok, remotePeer: dials[target]!.remotePeer, error: dials[target]!.error })
    expect(dial(AFTER)).toEqual(dial(BEFORE))
  })
})
