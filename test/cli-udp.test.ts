// UDP through `fara serve --forward-udp` and `fara connect --listen-udp`, with real programs,
// each in its own process: BIND's named answering dig, and a socat UDP echo answering several
// datagrams from several sources at once. Needs named and dig (bind9, bind9-dnsutils) and socat.
import { execFile } from 'node:child_process'
import { createSocket } from 'node:dgram'
import { once } from 'node:events'
import { mkdtemp, rm } from 'node:fs/promises'
import { createConnection } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { freePort, hasCommand } from '@fara/testkit'
import { runFara, startFara, startProgram, stopAllPrograms } from './fixtures/cli-process.ts'
import { bindAvailable, startBind } from './helpers/bind.ts'
import type { Program } from './fixtures/cli-process.ts'
import type { Bind } from './helpers/bind.ts'
import type { Socket } from 'node:dgram'

const run = promisify(execFile)
const haveBind = bindAvailable('UDP through fara (dig → fara connect --listen-udp → fara serve --forward-udp → named)')
const haveSocat = hasCommand('socat')
if (!haveSocat) {
  if (process.env.FARA_REQUIRE_DAEMONS === '1') throw new Error('UDP through fara required (FARA_REQUIRE_DAEMONS=1) but socat missing (apt-get install socat)')
  console.warn('SKIPPING UDP through fara: needs socat (apt-get install socat)')
}
const missing = !haveBind || !haveSocat

/** The largest datagram Fara carries (spec/udp.md). */
const MAX_DATAGRAM_BYTES = 65_507

/** A UDP client on its own source port (so its own flow), keeping every datagram it receives. */
interface UdpClient {
  socket: Socket
  /** `127.0.0.1:<its port>`, as `fara connect` reports it in `from`. */
  from: string
  send: (port: number, datagram: Uint8Array | string) => void
  /** The first `n` datagrams received (past or future); rejects after `timeoutMs` with what came. */
  replies: (n: number, timeoutMs?: number) => Promise<Buffer[]>
}

const clients: Socket[] = []

async function udpClient (): Promise<UdpClient> {
  const socket = createSocket('udp4')
  clients.push(socket)
  const got: Buffer[] = []
  const waiters = new Set<() => void>()
  socket.on('message', (m) => { got.push(m); for (const w of waiters) w() })
  socket.bind(0, '127.0.0.1')
  await once(socket, 'listening')
  return {
    socket,
    from: `127.0.0.1:${socket.address().port}`,
    send: (port, datagram) => { socket.send(datagram, port, '127.0.0.1') },
    replies: async (n, timeoutMs = 30_000) => new Promise((resolve, reject) => {
      const check = (): void => { if (got.length >= n) { done(); resolve(got.slice(0, n)) } }
      const timer = setTimeout(() => { done(); reject(new Error(`${n} replies expected within ${timeoutMs} ms, got ${got.length}: ${got.map(b => b.byteLength > 40 ? `<${b.byteLength} bytes>` : b.toString()).join(', ')}`)) }, timeoutMs)
      const done = (): void => { clearTimeout(timer); waiters.delete(check) }
      waiters.add(check)
      check()
    })
  }
}

/** Run `fara args…` to its end: exit code and output, stdout as text (never throws on a non-zero exit). */
async function fara (args: string[], env: Record<string, string>): Promise<{ code: number | null, stdout: string, stderr: string }> {
  const r = await runFara(args, env)
  return { ...r, stdout: r.stdout.toString() }
}

const label = (b: Buffer): string => b.byteLength > 40 ? `<${b.byteLength} bytes of ${b[0]}>` : b.toString()

describe.skipIf(missing)(`UDP through fara serve --forward-udp and fara connect --listen-udp${missing ? ' — skipped: needs named, dig and socat' : ''}`, () => {
  let dir: string
  let env: Record<string, string>
  let bind: Bind
  let echoPort: number
  let serveDns: Program
  let serveEcho: Program
  let connectDns: Program
  let connectEcho: Program
  let dnsPort: number
  let udpEchoPort: number
  const marker = `fara-udp-${Math.random().toString(36).slice(2, 10)}`

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fara-cli-udp-'))
    env = { PATH: process.env.PATH ?? '', HOME: dir, XDG_CONFIG_HOME: join(dir, 'config'), FARA_KEYSTORE: join(dir, 'keys') }
    const point = startFara('fara rendezvous', ['rendezvous', '--memory', '--listen', '/ip4/127.0.0.1/tcp/0', '--json'], env)
    env.FARA_RENDEZVOUS = ((await point.event('ready')).multiaddrs as string[]).join(',')

    // a real DNS server, with a record nobody else could answer
    bind = await startBind()
    const added = bind.nsupdate(`update add marker.${bind.zone} 60 TXT "${marker}"`)
    expect(added.status, added.stderr).toBe(0)

    // a UDP echo: socat answers each datagram (a child per datagram) to the address it came from
    echoPort = await freePort({ protocol: 'udp' })
    const echo = startProgram('socat echo', 'socat', ['-d', '-d', '-b', '65536', '-T', '5', `UDP4-RECVFROM:${echoPort},bind=127.0.0.1,fork`, 'PIPE'])
    await echo.line(l => l.text.includes(`receiving on AF=2 127.0.0.1:${echoPort}`))

    serveDns = startFara('fara serve dns', ['serve', 'dns', '--forward-udp', bind.server, '--listen', '/ip4/127.0.0.1/tcp/0', '--json'], env)
    serveEcho = startFara('fara serve echo', ['serve', 'echo', '--forward-udp', `127.0.0.1:${echoPort}`, '--listen', '/ip4/127.0.0.1/tcp/0', '--json'], env)
    const [dns, echoed] = await Promise.all([serveDns.event('registered'), serveEcho.event('registered')])
    expect(dns).toMatchObject({ protocol: 'udp', forward: bind.server })
    expect(echoed).toMatchObject({ protocol: 'udp' })

    connectDns = startFara('fara connect dns', ['connect', 'dns', '--listen-udp', '127.0.0.1:0', '--json'], env)
    connectEcho = startFara('fara connect echo', ['connect', 'echo', '--listen-udp', '127.0.0.1:0', '--json'], env)
    const [a, b] = await Promise.all([connectDns.event('listening'), connectEcho.event('listening')])
    expect(a).toMatchObject({ protocol: 'udp', host: '127.0.0.1' })
    dnsPort = a.port as number
    udpEchoPort = b.port as number
  })

  afterAll(async () => {
    for (const s of clients.splice(0)) s.close()
    await stopAllPrograms()
    await bind?.stop()
    if (dir != null) await rm(dir, { recursive: true, force: true })
  })

  it('dig through `fara connect --listen-udp` gets the answer BIND gives behind `fara serve --forward-udp`', async () => {
    const { stdout } = await run('dig', ['@127.0.0.1', '-p', String(dnsPort), `marker.${bind.zone}`, 'TXT', '+short', '+time=20', '+tries=1'])
    expect(stdout.trim()).toBe(`"${marker}"`)
    // a second dig is a second source port: its own flow, its own association
    const again = await run('dig', ['@127.0.0.1', '-p', String(dnsPort), `ns.${bind.zone}`, 'A', '+short', '+time=20', '+tries=1'])
    expect(again.stdout.trim()).toBe('127.0.0.1')
    expect(await connectDns.event('flow', j => j.id === 2)).toMatchObject({ from: expect.stringMatching(/^127\.0\.0\.1:\d+$/) as unknown })
    expect(await serveDns.event('association', j => j.id === 2)).toMatchObject({ protocol: 'udp' })
  })

  it('a UDP echo round trip: several datagrams, up to the largest (65,507 bytes), all come back', async () => {
    const client = await udpClient()
    const datagrams = ['one', 'two', 'three', Buffer.alloc(MAX_DATAGRAM_BYTES, 0x5a), Buffer.alloc(1200, 0x01)].map(d => Buffer.from(d))
    for (const d of datagrams) client.send(udpEchoPort, d)
    // socat answers each datagram from its own child: the order may change, the datagrams may not
    const replies = await client.replies(datagrams.length)
    expect(replies.map(label).sort()).toEqual(datagrams.map(label).sort())
    expect(replies.find(r => r.byteLength === MAX_DATAGRAM_BYTES)?.equals(datagrams[3]!)).toBe(true)
    const flow = await connectEcho.event('flow', j => j.from === client.from)
    expect(flow.id).toBeTypeOf('number')
  })

  it('two sources at once each get their own replies, over their own flows', async () => {
    const [a, b] = await Promise.all([udpClient(), udpClient()])
    for (let i = 0; i < 4; i++) {
      a.send(udpEchoPort, `a-${i}`)
      b.send(udpEchoPort, `b-${i}`)
    }
    const [fromA, fromB] = await Promise.all([a.replies(4), b.replies(4)])
    expect(fromA.map(String).sort()).toEqual(['a-0', 'a-1', 'a-2', 'a-3'])
    expect(fromB.map(String).sort()).toEqual(['b-0', 'b-1', 'b-2', 'b-3'])
    const [flowA, flowB] = await Promise.all([connectEcho.event('flow', j => j.from === a.from), connectEcho.event('flow', j => j.from === b.from)])
    expect(flowA.id).not.toBe(flowB.id)
  })

  it('an idle flow closes after --udp-idle (both ends), and the next datagram from that source opens a new one', async () => {
    const idle = startFara('fara connect echo --udp-idle 1', ['connect', 'echo', '--listen-udp', '127.0.0.1:0', '--udp-idle', '1', '--json'], env)
    const port = (await idle.event('listening')).port as number
    const client = await udpClient()
    client.send(port, 'before')
    expect((await client.replies(1)).map(String)).toEqual(['before'])
    const closed = await idle.event('closed', j => j.from === client.from)
    expect(closed).toMatchObject({ id: 1, reason: 'idle', datagramsToService: 1, datagramsToClient: 1, dropped: 0 })
    // the service's end saw the association close: a `closed` with the one datagram each way
    expect(await serveEcho.event('closed', j => j.reason === 'remote' && j.datagramsToService === 1 && j.datagramsToClient === 1)).toBeDefined()
    client.send(port, 'after')
    expect((await client.replies(2)).map(String)).toEqual(['before', 'after'])
    expect(await idle.event('flow', j => j.id === 2)).toMatchObject({ from: client.from })
    expect(await idle.stop('SIGTERM')).toBe(0)
  })

  it('--max-flows bounds the sources: one beyond is dropped and reported once (flows-full), the flows open keep working', async () => {
    const one = startFara('fara connect echo --max-flows 1', ['connect', 'echo', '--listen-udp', '127.0.0.1:0', '--max-flows', '1', '--json'], env)
    const port = (await one.event('listening')).port as number
    const [a, b] = await Promise.all([udpClient(), udpClient()])
    a.send(port, 'a-first')
    expect((await a.replies(1)).map(String)).toEqual(['a-first'])
    b.send(port, 'b-refused')
    b.send(port, 'b-refused-again')
    expect(await one.event('flows-full')).toMatchObject({ max: 1, from: b.from, refused: 1 })
    // a datagram after them from the open flow still goes through
    a.send(port, 'a-second')
    expect((await a.replies(2)).map(String)).toEqual(['a-first', 'a-second'])
    // after it stopped: one report only, and never a flow for the refused source
    expect(await one.stop('SIGTERM')).toBe(0)
    expect(one.lines.filter(l => l.json?.event === 'flows-full')).toHaveLength(1)
    expect(one.lines.filter(l => l.json?.event === 'flow').map(l => l.json?.from)).toEqual([a.from])
  })

  it('a TCP client of a UDP service is refused per connection (UdpFrameError), and the service goes on', async () => {
    const tcp = startFara('fara connect echo (TCP)', ['connect', 'echo', '--listen', '127.0.0.1:0', '--json'], env)
    const port = (await tcp.event('listening')).port as number
    const socket = createConnection({ host: '127.0.0.1', port })
    socket.on('error', () => {})
    const socketClosed = once(socket, 'close')
    socket.resume() // read on to the end: only then does it close
    socket.write('GET / HTTP/1.0\r\n\r\n')
    const closed = await serveEcho.event('closed', j => j.error === 'UdpFrameError')
    expect(closed).toMatchObject({ reason: 'error' })
    expect(closed.message).toContain('preamble')
    // the client's connection is reset, and told why (`connection-failed` on its side)
    await socketClosed
    expect((await tcp.event('connection-failed')).error).toBe('AssociationResetError')
    // the UDP clients are still served
    const client = await udpClient()
    client.send(udpEchoPort, 'still-here')
    expect((await client.replies(1)).map(String)).toEqual(['still-here'])
    expect(await tcp.stop('SIGTERM')).toBe(0)
  })

  it('bad UDP flags, and a UDP port in use, stop with exit 2 and one line', async () => {
    for (const args of [
      ['serve', 'dns', '--forward', '127.0.0.1:53', '--forward-udp', '127.0.0.1:53'],
      ['serve', 'dns', '--forward-udp', '127.0.0.1:0'],
      ['connect', 'dns', '--listen', '127.0.0.1:0', '--listen-udp', '127.0.0.1:0'],
      ['connect', 'dns', '--listen-udp', '127.0.0.1:0', '--udp-idle', 'soon'],
      ['connect', 'dns', '--max-flows', '8']
    ]) {
      const r = await fara(args, env)
      expect(r.code, args.join(' ')).toBe(2)
      expect(r.stderr.trim().split('\n'), r.stderr).toHaveLength(1)
      expect(r.stdout).toBe('')
    }
    const taken = await fara(['connect', 'dns', '--listen-udp', `127.0.0.1:${dnsPort}`, '--json'], env)
    expect(taken.code).toBe(2)
    expect(JSON.parse(taken.stdout)).toMatchObject({ event: 'error', name: 'UsageError', exit: 2 })
    expect(taken.stderr).toContain('the address is in use')
    expect(taken.stderr.trim().split('\n')).toHaveLength(1)
  })

  it('SIGTERM stops fara connect --listen-udp and fara serve --forward-udp cleanly (exit 0)', async () => {
    expect(await connectDns.stop('SIGTERM')).toBe(0)
    expect(await serveDns.stop('SIGTERM')).toBe(0)
  })
})
