// TCPMUX (RFC 1078) in the `fara` command, with real programs in their own processes:
// - `fara tcpmux`, a TCPMUX front door: `fara rendezvous`, an echo service (socat EXEC:cat) behind
//   `fara serve`, and legacy clients (nc, socat) that speak TCPMUX to the front door;
// - `fara connect tcpmux://host[:port]/<service>` against a real xinetd serving TCPMUX services;
// - TCPMUX's own port 1 inside private network namespaces (xinetd there, `fara tcpmux` there,
//   and the one-line refusal without privilege);
// - bad values: one line on stderr, exit 2.
import { spawn, spawnSync } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { freePort, hasCommand } from '@fara/testkit'
import { FARA_BIN, startFara, startProgram, stopAllPrograms } from './fixtures/cli-process.ts'
import { XINETD, startDaemon, xinetdConfig } from './helpers/daemons.ts'
import type { Program } from './fixtures/cli-process.ts'
import type { AddressInfo } from 'node:net'

const ID = '12D3KooWPo5KrxYfF9ngRsbnax3Vc8DxbiP6V9YvWLtPfxUSSfKa'
const MiB = 1024 * 1024
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex')
const isRoot = process.getuid?.() === 0

/** What is missing for a part of this file, or `''`; under FARA_REQUIRE_DAEMONS=1 a missing piece is a failure, not a skip. */
function needs (what: string, missing: Array<string | false>): string {
  const text = missing.filter(Boolean).join(', ')
  if (text === '') return ''
  if (process.env.FARA_REQUIRE_DAEMONS === '1') throw new Error(`${what} required (FARA_REQUIRE_DAEMONS=1) but missing: ${text}`)
  console.warn(`SKIPPING ${what}: missing ${text}`)
  return text
}
const frontDoorMissing = needs('fara tcpmux end to end', [!hasCommand('socat') && 'socat', !hasCommand('nc') && 'nc (netcat-openbsd)'])
const xinetdMissing = needs('fara connect tcpmux:// against xinetd', [
  !isRoot && 'root (xinetd switches its services to user nobody)', XINETD == null && 'xinetd', !hasCommand('nc') && 'nc (netcat-openbsd)'
])
const portOneMissing = needs('TCPMUX port 1 in private network namespaces', [
  !isRoot && 'root (network namespaces)', XINETD == null && 'xinetd', !hasCommand('unshare') && 'unshare (util-linux)',
  !hasCommand('nsenter') && 'nsenter (util-linux)', !hasCommand('setpriv') && 'setpriv (util-linux)', !hasCommand('ip') && 'ip (iproute2)',
  !hasCommand('ss') && 'ss (iproute2)', spawnSync('unshare', ['-n', 'true']).status !== 0 && 'permission to create a network namespace'
])

/** Run `command` with `input` on its stdin (then EOF); its exit code and everything it wrote. */
async function exchange (command: string, args: string[], input: Uint8Array, env?: Record<string, string>): Promise<{ code: number | null, stdout: Buffer, stderr: string }> {
  const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'], ...(env == null ? {} : { env }) })
  const out: Buffer[] = []
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => out.push(d))
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
  child.stdin.on('error', () => {}) // a refused request: the program may exit before reading all of it
  child.stdin.end(input)
  const [code] = await once(child, 'close') as [number | null]
  return { code, stdout: Buffer.concat(out), stderr }
}

/** A legacy TCPMUX client: nc sends `name` CRLF and `data` at once, half-closes, and prints what comes back. */
async function nc (port: number, name: string, data: Uint8Array, netns?: number): Promise<Buffer> {
  const argv = ['nc', '-N', '127.0.0.1', String(port)]
  const [command, ...args] = netns == null ? argv : ['nsenter', `--net=/proc/${netns}/ns/net`, ...argv]
  const r = await exchange(command!, args, Buffer.concat([Buffer.from(`${name}\r\n`, 'latin1'), data]))
  expect(r.code, r.stderr).toBe(0)
  return r.stdout
}

/** `fara args…` to completion, with `input` on stdin. */
async function fara (args: string[], env: Record<string, string>, input: Uint8Array = new Uint8Array()): Promise<{ code: number | null, stdout: Buffer, stderr: string }> {
  return exchange(process.execPath, [FARA_BIN, ...args], input, env)
}

/** One line of stderr: the last (and only) line of a failed command. */
const oneLine = (stderr: string): string[] => stderr.trimEnd().split('\n')

/** A fresh environment with nothing of the caller's Fara settings. */
const cleanEnv = (dir: string): Record<string, string> => ({ PATH: process.env.PATH ?? '', HOME: dir, XDG_CONFIG_HOME: join(dir, 'config'), FARA_KEYSTORE: join(dir, 'keys') })

/** Start socat as an echo server (every connection: `cat`); resolves with its port. */
async function startEcho (): Promise<number> {
  const echo = startProgram('socat echo', 'socat', ['-d', '-d', 'TCP-LISTEN:0,bind=127.0.0.1,reuseaddr,fork', 'EXEC:cat'])
  const listening = await echo.line(l => /listening on .*:\d+$/.test(l.text))
  return Number(/:(\d+)$/.exec(listening.text)![1])
}

afterAll(async () => { await stopAllPrograms() })

describe.skipIf(frontDoorMissing !== '')(`fara tcpmux: legacy TCPMUX clients reach Fara services${frontDoorMissing === '' ? '' : ` — skipped: needs ${frontDoorMissing}`}`, () => {
  let dir: string
  let env: Record<string, string>
  let hidden: Program
  let allowing: Program
  let allowingPort: number
  let open: Program
  let openPort: number

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fara-cli-tcpmux-'))
    env = cleanEnv(dir)
    const point = startFara('fara rendezvous', ['rendezvous', '--memory', '--listen', '/ip4/127.0.0.1/tcp/0', '--json'], env)
    env.FARA_RENDEZVOUS = ((await point.event('ready')).multiaddrs as string[]).join(',')
    const echoPort = await startEcho()
    const echo = startFara('fara serve echo', ['serve', 'echo', '--forward', `127.0.0.1:${echoPort}`, '--listen', '/ip4/127.0.0.1/tcp/0', '--json'], env)
    hidden = startFara('fara serve hidden', ['serve', 'hidden', '--forward', `127.0.0.1:${echoPort}`, '--listen', '/ip4/127.0.0.1/tcp/0', '--json'], env)
    await Promise.all([echo.event('registered'), hidden.event('registered')])
    // one front door with a map and an allow-list, one that serves any name
    allowing = startFara('fara tcpmux --allow', ['tcpmux', '--listen', '127.0.0.1:0', '--map', 'legacy-echo=echo', '--allow', 'echo', '--json'], env)
    open = startFara('fara tcpmux', ['tcpmux', '--listen', '127.0.0.1:0', '--json'], env)
    const [a, o] = await Promise.all([allowing.event('listening'), open.event('listening')])
    expect(a).toMatchObject({ host: '127.0.0.1', map: { 'legacy-echo': 'echo' }, allow: ['echo'] })
    expect(o).toMatchObject({ host: '127.0.0.1', map: {}, allow: null })
    allowingPort = a.port as number
    openPort = o.port as number
  })

  afterAll(async () => {
    await stopAllPrograms()
    if (dir != null) await rm(dir, { recursive: true, force: true })
  })

  it('nc sends `ECHO` CRLF and 1 MiB: it gets + and the echo service\'s bytes intact; the request is `open`, `closed` counts both ways', async () => {
    const data = randomBytes(MiB)
    const out = await nc(allowingPort, 'ECHO', data)
    expect(out.subarray(0, 3).toString('latin1')).toBe('+\r\n')
    expect(out.length).toBe(3 + data.length)
    expect(sha(out.subarray(3))).toBe(sha(data))
    const request = await allowing.event('request', j => j.name === 'echo')
    expect(request).toMatchObject({ fara: 'echo', result: 'open' })
    expect(request.remotePeer).toMatch(/^12D3KooW/)
    expect(await allowing.event('closed', j => j.id === request.id)).toMatchObject({ toService: data.length, toClient: data.length })
  })

  it('socat asks for a --map name and reaches the Fara name it maps to', async () => {
    const data = randomBytes(64 * 1024)
    const r = await exchange('socat', ['-t', '30', '-', `TCP:127.0.0.1:${allowingPort}`], Buffer.concat([Buffer.from('Legacy-Echo\r\n'), data]))
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout.subarray(0, 3).toString('latin1')).toBe('+\r\n')
    expect(sha(r.stdout.subarray(3))).toBe(sha(data))
    expect(await allowing.event('request', j => j.name === 'legacy-echo')).toMatchObject({ fara: 'echo', result: 'open' })
  })

  it('a registered name outside --allow gets `-` (RFC 1078) and no lookup; the door without --allow serves it', async () => {
    const refused = await nc(allowingPort, 'hidden', Buffer.from('x'))
    expect(refused.toString('latin1')).toBe('-Service not available\r\n')
    expect(await allowing.event('request', j => j.name === 'hidden')).toMatchObject({ fara: 'hidden', result: 'not-allowed' })
    const served = await nc(openPort, 'hidden', Buffer.from('through'))
    expect(served.toString('latin1')).toBe('+\r\nthrough')
    expect(await open.event('request', j => j.name === 'hidden')).toMatchObject({ result: 'open' })
  })

  it('without --allow: an unknown name, a name that is not a Fara name and a killed service all get `-`, never `+`, each with its reason', async () => {
    expect((await nc(openPort, 'no-such-service', Buffer.from('x'))).toString('latin1')).toBe('-Service not available\r\n')
    expect(await open.event('request', j => j.name === 'no-such-service')).toMatchObject({ result: 'not-found', error: 'NameNotFoundError' })
    expect((await nc(openPort, 'Not_A_Fara_Name!', Buffer.from('x'))).toString('latin1')).toBe('-Service not available\r\n')
    expect(await open.event('request', j => j.name === 'not_a_fara_name!')).toMatchObject({ result: 'invalid-name' })
    // its record stays at the rendezvous point until it expires: the front door finds it and cannot reach it
    expect(await hidden.stop('SIGKILL')).toBe(null)
    expect((await nc(openPort, 'hidden', Buffer.from('x'))).toString('latin1')).toBe('-Service not available\r\n')
    expect(await open.event('request', j => j.name === 'hidden' && j.result !== 'open')).toMatchObject({ result: 'unreachable', error: 'DialFailedError' })
  })

  it('`fara connect tcpmux://` to the front door: stdin/stdout carries the bytes; `-` is exit 5 with the reason, no server is exit 4', async () => {
    const data = randomBytes(256 * 1024)
    const ok = await fara(['connect', `tcpmux://127.0.0.1:${openPort}/echo`], env, data)
    expect(ok.code, ok.stderr).toBe(0)
    expect(sha(ok.stdout)).toBe(sha(data))
    const refused = await fara(['connect', `tcpmux://127.0.0.1:${allowingPort}/hidden`], env)
    expect(refused.code).toBe(5)
    expect(refused.stdout.length).toBe(0)
    expect(oneLine(refused.stderr)).toHaveLength(1)
    expect(refused.stderr).toContain('Service not available')
    const nobody = await fara(['connect', `tcpmux://127.0.0.1:${await freePort()}/echo`, '--json'], env)
    expect(nobody.code).toBe(4)
    // stdout carries the tunnel: the JSON error goes to stderr
    expect(JSON.parse(oneLine(nobody.stderr)[0]!)).toMatchObject({ event: 'error', exit: 4 })
  })

  it('--secret: a private name is reached through a front door that holds the secret, and not found through one that does not', async () => {
    const secret = randomBytes(8).toString('hex')
    const echoPort = await startEcho()
    const vault = startFara('fara serve vault --secret', ['serve', 'vault', '--forward', `127.0.0.1:${echoPort}`, '--listen', '/ip4/127.0.0.1/tcp/0', '--json'], { ...env, FARA_SECRET: secret })
    expect((await vault.event('registered')).private).toBe(true)
    const door = startFara('fara tcpmux --secret', ['tcpmux', '--listen', '127.0.0.1:0', '--secret', secret, '--json'], env)
    const { port } = await door.event('listening')
    expect((await nc(port as number, 'vault', Buffer.from('private bytes'))).toString('latin1')).toBe('+\r\nprivate bytes')
    expect((await nc(openPort, 'vault', Buffer.from('x'))).toString('latin1')).toBe('-Service not available\r\n')
    expect(await open.event('request', j => j.name === 'vault')).toMatchObject({ result: 'not-found' })
    expect(await door.stop()).toBe(0)
    expect(await vault.stop()).toBe(0)
  })

  it('SIGTERM stops fara tcpmux cleanly (exit 0), SIGINT with 130', async () => {
    expect(await allowing.stop('SIGTERM')).toBe(0)
    expect(allowing.lines.some(l => l.json?.event === 'stopping')).toBe(true)
    expect(await open.stop('SIGINT')).toBe(130)
  })
})

/** A foreground xinetd with the config `conf` (a file in `dir`); resolves once `port` listens (in its own network namespace with `unshare`). */
async function startXinetd (dir: string, conf: string, port: number, unshare: boolean): Promise<Program> {
  const argv = [XINETD!, '-dontfork', '-f', join(dir, conf), '-pidfile', join(dir, `${conf}.pid`)]
  return unshare
    ? startDaemon('xinetd (own netns)', ['unshare', '-n', 'sh', '-c', 'ip link set lo up && exec "$@"', 'sh', ...argv], port, { ownNetns: true })
    : startDaemon('xinetd', argv, port)
}

// a service program of type TCPMUX: it sends the positive reply itself
const BACKEND = '#!/bin/sh\nprintf \'+Fara backend\\r\\n\'\nexec cat\n'

describe.skipIf(xinetdMissing !== '')(`fara connect tcpmux:// against xinetd${xinetdMissing === '' ? '' : ` — skipped: needs ${xinetdMissing}`}`, () => {
  let dir: string
  let env: Record<string, string>
  let port: number

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fara-cli-xinetd-'))
    await chmod(dir, 0o755) // the services run as nobody
    env = cleanEnv(dir)
    const backend = join(dir, 'backend.sh')
    await writeFile(backend, BACKEND, { mode: 0o755 })
    port = await freePort()
    await writeFile(join(dir, 'xinetd.conf'), xinetdConfig({ dir, port, plus: 'fara-echo', backend }))
    await startXinetd(dir, 'xinetd.conf', port, false)
  })

  afterAll(async () => {
    await stopAllPrograms()
    if (dir != null) await rm(dir, { recursive: true, force: true })
  })

  it('--listen: nc through the local port carries 1 MiB both ways through xinetd\'s /bin/cat (its stray NUL dropped)', async () => {
    const tunnel = startFara('fara connect tcpmux://…/fara-echo', ['connect', `tcpmux://127.0.0.1:${port}/fara-echo`, '--listen', '127.0.0.1:0', '--json'], env)
    const listening = await tunnel.event('listening')
    expect(listening).toMatchObject({ host: '127.0.0.1', name: `tcpmux://127.0.0.1:${port}/fara-echo`, server: `127.0.0.1:${port}`, service: 'fara-echo' })
    const data = randomBytes(MiB)
    for (let i = 1; i <= 2; i++) {
      // each local connection makes its own TCPMUX request
      const r = await exchange('nc', ['-N', '127.0.0.1', String(listening.port)], data)
      expect(r.code, r.stderr).toBe(0)
      expect(r.stdout.length).toBe(data.length)
      expect(sha(r.stdout)).toBe(sha(data))
      expect(await tunnel.event('closed', j => j.id === i)).toMatchObject({ toService: data.length, toClient: data.length })
    }
    expect(await tunnel.stop()).toBe(0)
  })

  it('stdin/stdout: a TCPMUX service whose program sends the `+` itself, name in another case', async () => {
    const data = randomBytes(64 * 1024)
    const r = await fara(['connect', `tcpmux://127.0.0.1:${port}/FARA-SELF`, '--json'], env, data)
    expect(r.code, r.stderr).toBe(0)
    expect(sha(r.stdout)).toBe(sha(data))
    const events = oneLine(r.stderr).map(l => JSON.parse(l) as Record<string, unknown>)
    expect(events[0]).toMatchObject({ event: 'connected', service: 'FARA-SELF', message: 'Fara backend' })
    expect(events.at(-1)).toMatchObject({ event: 'closed', toService: data.length, toClient: data.length })
  })

  it('a name xinetd does not serve: exit 5 with xinetd\'s reason, one line on stderr', async () => {
    const r = await fara(['connect', `tcpmux://127.0.0.1:${port}/no-such`], env, Buffer.from('x'))
    expect(r.code).toBe(5)
    expect(r.stdout.length).toBe(0)
    expect(oneLine(r.stderr)).toHaveLength(1)
    expect(r.stderr).toContain('Service name not found')
  })

  it('--listen: a refused request is a `connection-failed` event with exit 5 for that connection; the tunnel keeps serving', async () => {
    const tunnel = startFara('fara connect tcpmux://…/no-such', ['connect', `tcpmux://127.0.0.1:${port}/no-such`, '--listen', '127.0.0.1:0', '--json'], env)
    const { port: local } = await tunnel.event('listening')
    const r = await exchange('nc', ['-N', '127.0.0.1', String(local)], Buffer.from('x'))
    expect(r.stdout.length).toBe(0)
    expect(await tunnel.event('connection-failed')).toMatchObject({ id: 1, error: 'ServiceRefusedError', exit: 5 })
    expect(tunnel.child.exitCode).toBe(null)
    expect(await tunnel.stop()).toBe(0)
  })
})

describe.skipIf(portOneMissing !== '')(`TCPMUX's port 1, in private network namespaces${portOneMissing === '' ? '' : ` — skipped: needs ${portOneMissing}`}`, () => {
  let dir: string
  let env: Record<string, string>
  const rendezvous = `/ip4/127.0.0.1/tcp/4001/p2p/${ID}`

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fara-cli-port1-'))
    await chmod(dir, 0o755)
    env = cleanEnv(dir)
  })

  afterAll(async () => {
    await stopAllPrograms()
    if (dir != null) await rm(dir, { recursive: true, force: true })
  })

  it('`fara connect tcpmux://127.0.0.1/<service>` without a port asks port 1 (xinetd there)', async () => {
    const backend = join(dir, 'backend.sh')
    await writeFile(backend, BACKEND, { mode: 0o755 })
    await writeFile(join(dir, 'port1.conf'), xinetdConfig({ dir, port: 1, plus: 'fara-echo', backend }))
    const daemon = await startXinetd(dir, 'port1.conf', 1, true)
    const data = randomBytes(64 * 1024)
    const r = await exchange('nsenter', [`--net=/proc/${daemon.child.pid}/ns/net`, process.execPath, FARA_BIN, 'connect', 'tcpmux://127.0.0.1/fara-echo'], data, env)
    expect(r.code, r.stderr).toBe(0)
    expect(sha(r.stdout)).toBe(sha(data))
    await daemon.stop()
  })

  it('`fara tcpmux` without --listen listens on 127.0.0.1:1', async () => {
    const door = startProgram('fara tcpmux (own netns)', 'unshare', ['-n', 'sh', '-c', 'ip link set lo up && exec "$@"', 'sh',
      process.execPath, FARA_BIN, 'tcpmux', '--rendezvous', rendezvous, '--json'], { env })
    expect(await door.event('listening')).toMatchObject({ address: '127.0.0.1:1', port: 1 })
    // the rendezvous point is not in this namespace: the request is answered `-`
    expect((await nc(1, 'web', Buffer.from('x'), door.child.pid)).toString('latin1')).toBe('-Service not available\r\n')
    expect(await door.event('request')).toMatchObject({ name: 'web', result: 'unreachable' })
    expect(await door.stop()).toBe(0)
  })

  it('without privilege (user nobody), `fara tcpmux` without --listen stops with one line naming --listen, exit 2', async () => {
    const r = await exchange('unshare', ['-n', 'sh', '-c', 'ip link set lo up && exec "$@"', 'sh',
      'setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, FARA_BIN, 'tcpmux', '--rendezvous', rendezvous], new Uint8Array(), env)
    expect(r.code).toBe(2)
    expect(r.stdout.length).toBe(0)
    expect(oneLine(r.stderr)).toHaveLength(1)
    expect(r.stderr).toContain('127.0.0.1:1')
    expect(r.stderr).toContain('--listen 127.0.0.1:10001')
  })
})

describe('bad values: one line on stderr, nothing on stdout, exit 2', () => {
  let home: string
  beforeAll(async () => { home = await mkdtemp(join(tmpdir(), 'fara-cli-tcpmux-args-')) })
  afterAll(async () => { if (home != null) await rm(home, { recursive: true, force: true }) })
  const cases: Array<[string[], string]> = [
    [['connect', 'tcpmux://'], 'no host'],
    [['connect', 'tcpmux:echo'], 'tcpmux://host[:port]/<service>'],
    [['connect', 'tcpmux://127.0.0.1:70000/echo'], 'port must be 1 to 65535'],
    [['connect', 'tcpmux://127.0.0.1/'], 'no service name'],
    [['connect', 'tcpmux://127.0.0.1/echo?x=1'], 'query or fragment'],
    [['connect', 'tcpmux://127.0.0.1/HELP'], 'HELP is not a service'],
    [['connect', 'tcpmux://user@host/echo'], 'not a host name or address'],
    [['connect', 'tcpmux://127.0.0.1/echo', '--secret', 's'], '--secret does not apply to tcpmux://'],
    [['connect', 'tcpmux://127.0.0.1/echo', '--identity', 'web'], '--identity does not apply to tcpmux://'],
    [['connect', 'tcpmux://127.0.0.1/echo', '--listen', 'x'], '--listen must be host:port'],
    [['tcpmux', '--map', 'www'], '--map must be <tcpmux name>=<fara name> (no =)'],
    [['tcpmux', '--map', '=web'], 'the TCPMUX name must be'],
    [['tcpmux', '--map', 'www=Not A Name'], 'is not a Fara service name'],
    [['tcpmux', '--map', 'www=web', '--map', 'WWW=ssh'], 'mapped twice'],
    [['tcpmux', '--map', 'help=web'], 'HELP is reserved'],
    [['tcpmux', '--allow', 'Bad!'], '--allow must be a Fara service name'],
    [['tcpmux', '--map', 'www=web', '--allow', 'ssh'], 'add --allow web'],
    [['tcpmux', '--listen', '127.0.0.1:99999'], '--listen must be host:port'],
    [['tcpmux', 'extra'], 'unexpected argument "extra"'],
    [['tcpmux', '--listen', '127.0.0.1:0'], 'no rendezvous point']
  ]
  for (const [args, message] of cases) {
    it(`fara ${args.join(' ')}`, async () => {
      const r = await fara(args, cleanEnv(home))
      expect(r.code).toBe(2)
      expect(r.stdout.length).toBe(0)
      expect(oneLine(r.stderr)).toHaveLength(1)
      expect(r.stderr).toContain(message)
    })
  }

  it('a --listen address in use is one line and exit 2, for `fara tcpmux` and for `fara connect tcpmux://`', async () => {
    const taken = createServer().listen(0, '127.0.0.1')
    await once(taken, 'listening')
    const { port } = taken.address() as AddressInfo
    try {
      for (const args of [
        ['tcpmux', '--listen', `127.0.0.1:${port}`, '--rendezvous', `/ip4/127.0.0.1/tcp/4001/p2p/${ID}`],
        ['connect', 'tcpmux://127.0.0.1/echo', '--listen', `127.0.0.1:${port}`]
      ]) {
        const r = await fara(args, cleanEnv(home))
        expect(r.code).toBe(2)
        expect(r.stdout.length).toBe(0)
        expect(oneLine(r.stderr)).toHaveLength(1)
        expect(r.stderr).toContain(`127.0.0.1:${port}`)
        expect(r.stderr).toContain('in use')
      }
    } finally {
      taken.close()
    }
  })

  it('--help documents every flag with an example, and `fara --help` lists the command', async () => {
    const help = await fara(['tcpmux', '--help'], cleanEnv(home))
    expect(help.code).toBe(0)
    const examples = help.stdout.toString().split('\nExamples:\n')[1] ?? ''
    for (const flag of ['--listen', '--map', '--allow', '--max-connections']) {
      expect(help.stdout.toString()).toContain(flag)
      expect(examples).toMatch(new RegExp(`^ {2}fara tcpmux .*${flag} `, 'm'))
    }
    expect(help.stdout.toString()).toMatch(/Examples:\n {2}# .+\n {2}.*fara tcpmux/)
    expect((await fara(['--help'], cleanEnv(home))).stdout.toString()).toMatch(/^ {2}tcpmux /m)
    expect((await fara(['connect', '--help'], cleanEnv(home))).stdout.toString()).toContain('tcpmux://')
  })
})
