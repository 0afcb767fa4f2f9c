// `fara` with a DNS zone as its rendezvous, against a real BIND 9 (named) with a zone that a TSIG
// key may update: `fara serve --srv` publishes SRV + signed TXT records by RFC 2136 updates, dig
// sees them, `fara connect --rendezvous dns://…` reaches the service by name in another process
// and bytes flow, and stopping `fara serve` withdraws the records. Every program is its own process.
import { createHash, randomBytes } from 'node:crypto'
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bindAvailable, startBind, tsigKeygen } from './helpers/bind.ts'
import { roundTrip, startEchoServer } from './helpers/echo.ts'
import { runFara, startFara, stopAllPrograms } from './fixtures/cli-process.ts'
import type { Bind } from './helpers/bind.ts'
import type { EchoServer } from './helpers/echo.ts'

const available = bindAvailable('fara with a DNS zone (test/cli-srv.test.ts)')
const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex')

/** Run `fara args…` to its end: exit code and output, stdout as text (never throws on a non-zero exit). */
async function fara (args: string[], env: Record<string, string>, cwd?: string): Promise<{ code: number | null, stdout: string, stderr: string }> {
  const r = await runFara(args, env, cwd == null ? {} : { cwd })
  return { ...r, stdout: r.stdout.toString() }
}

/** The JSON lines of a `--json` run. */
const jsonLines = (text: string): Array<Record<string, unknown>> => text.trim().split('\n').filter(l => l !== '').map(l => JSON.parse(l) as Record<string, unknown>)

describe.skipIf(!available)('fara serve --srv / --rendezvous dns:// with a real BIND', () => {
  let bind: Bind
  let dir: string
  let keyFile: string
  let echo: EchoServer
  let env: Record<string, string>
  const big = randomBytes(1024 * 1024)

  const owner = (name: string): string => `${name}._fara._tcp.${bind.zone}`
  /** What dig (a client that is not Fara's) sees: the SRV records of `name`, one `prio weight port target` per line. */
  const digSrv = (name: string): string[] => bind.dig('SRV', owner(name), '+short').trim().split('\n').filter(l => l !== '')
  const dnsUrl = (extra = ''): string => `dns://${bind.server}/${bind.zone}${extra}`

  beforeAll(async () => {
    bind = await startBind({ zone: 'cli.fara.test', keyName: 'fara-cli-key' })
    dir = await mkdtemp(join(tmpdir(), 'fara-cli-srv-'))
    keyFile = join(dir, 'fara.key')
    await writeFile(keyFile, bind.key.text, { mode: 0o600 })
    echo = await startEchoServer()
    env = { PATH: process.env.PATH ?? '', HOME: dir, XDG_CONFIG_HOME: join(dir, 'config'), XDG_DATA_HOME: join(dir, 'data'), FARA_KEYSTORE: join(dir, 'keys') }
  })

  afterAll(async () => {
    await stopAllPrograms()
    await echo?.close()
    await bind?.stop()
    if (dir != null) await rm(dir, { recursive: true, force: true })
  })

  it('fara serve --srv publishes SRV + TXT that dig sees; connect through dns:// carries 1 MiB both ways; SIGTERM withdraws the SRV record', async () => {
    const serve = startFara('fara serve --srv', ['serve', 'web', '--forward', `127.0.0.1:${echo.port}`, '--listen', '/ip4/127.0.0.1/tcp/0',
      '--srv', bind.zone, '--dns-server', bind.server, '--tsig-key', keyFile, '--json'], env)
    const registered = await serve.event('registered')
    expect(await serve.event('published')).toMatchObject({ name: 'web', zone: bind.zone, server: bind.server, owner: owner('web') })
    // dig, not Fara, finds the service's random port and an address for it
    expect(digSrv('web')).toEqual([`0 0 ${registered.port as number} 127-0-0-1.fara-ip4.${bind.zone}.`])
    expect(bind.dig('A', `127-0-0-1.fara-ip4.${bind.zone}`, '+short').trim()).toBe('127.0.0.1')
    expect(bind.dig('TXT', owner('web'), '+short')).toContain('"fara1 slot"')

    // a client that only reads the zone (no key): the signed TXT record tells it the key to expect
    const connect = startFara('fara connect dns://', ['connect', 'web', '--listen', '127.0.0.1:0', '--rendezvous', dnsUrl(), '--json'], env)
    const { port } = await connect.event('listening')
    const echoed = await roundTrip(port as number, big)
    expect(echoed.length).toBe(big.length)
    expect(sha256(echoed)).toBe(sha256(big))
    expect(await serve.event('closed')).toMatchObject({ toService: big.length, toClient: big.length })

    const resolved = await fara(['resolve', 'web', '--rendezvous', dnsUrl(`?tsig=${keyFile}`), '--json'], env)
    expect(resolved.code).toBe(0)
    expect(jsonLines(resolved.stdout)[0]).toMatchObject({ event: 'resolved', name: 'web', peerId: registered.peerId })

    expect(await connect.stop()).toBe(0)
    expect(await serve.stop('SIGTERM')).toBe(0)
    expect(digSrv('web')).toEqual([])
    const gone = await fara(['resolve', 'web', '--rendezvous', dnsUrl()], env)
    expect(gone.code).toBe(3)
    expect(gone.stderr.trimEnd().split('\n')).toHaveLength(1)
  })

  it('a private name in the zone: served and reached with its secret, no SRV record for it; with another secret, not found', async () => {
    const secret = randomBytes(16).toString('hex')
    const serve = startFara('fara serve --private --srv', ['serve', 'vault', '--forward', `127.0.0.1:${echo.port}`, '--listen', '/ip4/127.0.0.1/tcp/0', '--private', '--secret', secret,
      '--srv', bind.zone, '--dns-server', bind.server, '--tsig-key', keyFile, '--json'], env)
    await serve.event('registered')
    expect(digSrv('vault')).toEqual([])
    const connect = startFara('fara connect --private dns://', ['connect', 'vault', '--private', '--secret', secret, '--listen', '127.0.0.1:0', '--rendezvous', dnsUrl(), '--json'], env)
    const { port } = await connect.event('listening')
    expect((await roundTrip(port as number, Buffer.from('a private name in DNS'))).toString()).toBe('a private name in DNS')
    const wrong = await fara(['resolve', 'vault', '--private', '--secret', randomBytes(16).toString('hex'), '--rendezvous', dnsUrl(), '--json'], env)
    expect(wrong.code, wrong.stderr).toBe(3)
    expect(await connect.stop()).toBe(0)
    expect(await serve.stop('SIGTERM')).toBe(0)
    // no `published` line: it points at an SRV record, and a private name has none
    expect(serve.lines.filter(l => l.json?.event === 'published' || /published in DNS zone/.test(l.text))).toEqual([])
  })

  it('fara resolve --srv prints the RFC 2782 order of what was published, as JSON', async () => {
    const serve = startFara('fara serve (for --srv lookup)', ['serve', 'lookup', '--forward', `127.0.0.1:${echo.port}`, '--listen', '/ip4/127.0.0.1/tcp/0',
      '--srv', bind.zone, '--dns-server', bind.server, '--tsig-key', keyFile, '--json'], env)
    const registered = await serve.event('registered')
    const r = await fara(['resolve', '--srv', owner('lookup'), '--dns-server', bind.server, '--json'], env)
    expect(r.code).toBe(0)
    expect(jsonLines(r.stdout)).toEqual([{
      event: 'srv', name: owner('lookup'), server: bind.server,
      targets: [{ target: `127-0-0-1.fara-ip4.${bind.zone}`, port: registered.port, priority: 0, weight: 0 }]
    }])
    // several targets: lower priority first, whatever the weights (RFC 2782); the records are nsupdate's, not Fara's
    const name = `_multi._tcp.${bind.zone}`
    const added = bind.nsupdate([`update add ${name} 60 SRV 20 5 7002 b.${bind.zone}.`, `update add ${name} 60 SRV 10 0 7001 a.${bind.zone}.`, `update add ${name} 60 SRV 30 9 7003 c.${bind.zone}.`].join('\n'))
    expect(added.status, added.stderr).toBe(0)
    const multi = await fara(['resolve', '--srv', name, '--dns-server', bind.server, '--json'], env)
    expect(multi.code).toBe(0)
    expect((jsonLines(multi.stdout)[0]!.targets as Array<{ port: number }>).map(t => t.port)).toEqual([7001, 7002, 7003])
    const human = await fara(['resolve', '--srv', name, '--dns-server', bind.server], env)
    expect(human.code).toBe(0)
    expect(human.stdout.trim().split('\n')).toHaveLength(5) // the name, the header, three targets
    // no such name: exit 3; no DNS server answering: exit 4
    expect((await fara(['resolve', '--srv', `_nothing._tcp.${bind.zone}`, '--dns-server', bind.server], env)).code).toBe(3)
    expect(await serve.stop()).toBe(0)
  })

  it('--rendezvous dns://…?tsig=<file> is the same as --srv (a relative key file is relative to the working directory)', async () => {
    const serve = startFara('fara serve dns://', ['serve', 'db', '--forward', `127.0.0.1:${echo.port}`, '--listen', '/ip4/127.0.0.1/tcp/0',
      '--rendezvous', dnsUrl('?tsig=fara.key'), '--json'], env, dir)
    const registered = await serve.event('registered')
    expect(digSrv('db')).toEqual([`0 0 ${registered.port as number} 127-0-0-1.fara-ip4.${bind.zone}.`])
    // FARA_RENDEZVOUS takes the URL as well
    const connect = startFara('fara connect (env)', ['connect', 'db', '--listen', '127.0.0.1:0', '--json'], { ...env, FARA_RENDEZVOUS: dnsUrl() })
    const { port } = await connect.event('listening')
    expect((await roundTrip(port as number, Buffer.from('over a DNS zone'))).toString()).toBe('over a DNS zone')
    expect(await connect.stop()).toBe(0)
    expect(await serve.stop('SIGINT')).toBe(130)
    expect(digSrv('db')).toEqual([])
  })

  describe('bad values: one line on stderr, the documented exit code, nothing started', () => {
    const expectOneLine = (r: { code: number | null, stdout: string, stderr: string }, code: number, name: string): void => {
      expect(r.code, r.stderr).toBe(code)
      expect(r.stderr.trimEnd().split('\n')).toHaveLength(1)
      expect(r.stderr).not.toMatch(/\n\s+at /)
      expect(jsonLines(r.stdout)).toEqual([expect.objectContaining({ event: 'error', name, exit: code })])
    }
    const serveArgs = (...more: string[]): string[] => ['serve', 'bad', '--forward', `127.0.0.1:${echo.port}`, '--listen', '/ip4/127.0.0.1/tcp/0', '--json', ...more]

    it('a zone the server does not serve (NOTAUTH to the update, REFUSED to the query): exit 2', async () => {
      expectOneLine(await fara(serveArgs('--srv', 'nowhere.test', '--dns-server', bind.server, '--tsig-key', keyFile), env), 2, 'ZoneNotServedError')
      expectOneLine(await fara(['connect', 'web', '--rendezvous', `dns://${bind.server}/nowhere.test`, '--json'], env), 2, 'ZoneNotServedError')
      expectOneLine(await fara(['resolve', 'web', '--rendezvous', `dns://${bind.server}/nowhere.test`, '--json'], env), 2, 'ZoneNotServedError')
    })

    it('a TSIG key the server does not know, or with another secret: exit 5 (refused)', async () => {
      const unknown = join(dir, 'unknown.key')
      await writeFile(unknown, tsigKeygen('no-such-key').text, { mode: 0o600 })
      expectOneLine(await fara(serveArgs('--srv', bind.zone, '--dns-server', bind.server, '--tsig-key', unknown), env), 5, 'TsigBadKeyError')
      const wrong = join(dir, 'wrong.key')
      await writeFile(wrong, tsigKeygen(bind.key.name).text, { mode: 0o600 })
      expectOneLine(await fara(serveArgs('--rendezvous', dnsUrl(`?tsig=${wrong}`)), env), 5, 'TsigBadSignatureError')
    })

    it('a TSIG key file that is missing, readable by others, or not a key: exit 2', async () => {
      expectOneLine(await fara(serveArgs('--srv', bind.zone, '--dns-server', bind.server, '--tsig-key', join(dir, 'missing.key')), env), 2, 'ConfigError')
      const open = join(dir, 'open.key')
      await writeFile(open, bind.key.text)
      await chmod(open, 0o644)
      expectOneLine(await fara(serveArgs('--srv', bind.zone, '--dns-server', bind.server, '--tsig-key', open), env), 2, 'ConfigError')
      const garbage = join(dir, 'garbage.key')
      await writeFile(garbage, 'not a key\n', { mode: 0o600 })
      expectOneLine(await fara(serveArgs('--rendezvous', dnsUrl(`?tsig=${garbage}`)), env), 2, 'ConfigError')
    })

    it('a malformed dns:// URL or --dns-server: exit 2', async () => {
      for (const url of ['dns://ns.example/zone', `dns://${bind.server}`, `dns://${bind.server}/${bind.zone}?key=x`, `dns://${bind.server}/${bind.zone}?tsig=`]) {
        expectOneLine(await fara(['resolve', 'web', '--rendezvous', url, '--json'], env), 2, 'UsageError')
      }
      expectOneLine(await fara(serveArgs('--rendezvous', dnsUrl()), env), 2, 'UsageError') // serve needs a key to publish
      expectOneLine(await fara(serveArgs('--srv', bind.zone, '--dns-server', 'ns.example', '--tsig-key', keyFile), env), 2, 'UsageError')
      expectOneLine(await fara(serveArgs('--srv', bind.zone, '--tsig-key', keyFile), env), 2, 'UsageError')
    })
  })
})
