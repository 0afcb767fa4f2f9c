// `fara up` (issue 16), end to end, as a user runs it: `fara rendezvous`, Node echo servers as
// the backends, and `fara up --config <file> --json` serving two of them and opening one tunnel,
// each program in its own process. The config file is rewritten and SIGHUP sent, as
// `systemctl reload` does; `fara connect` and `fara resolve` take a private name's setting from it.
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { tcpRoundTrip } from '@fara/testkit'
import { FARA_BIN, jsonEvents, runFara, startFara, stopAllPrograms } from './fixtures/cli-process.ts'
import type { FaraRun, Program } from './fixtures/cli-process.ts'
import type { Server } from 'node:net'


/** `fara args…` to its end, `input` on stdin. */
const fara = async (args: string[], env: Record<string, string>, input?: Buffer): Promise<FaraRun> => runFara(args, env, input == null ? {} : { input })
const events = jsonEvents

/** A TCP echo server on 127.0.0.1 that prefixes what it echoes with `tag:`, so each backend is told apart. */
async function echoServer (tag: string): Promise<{ server: Server, port: number }> {
  const server = createServer({ allowHalfOpen: true }, (socket) => {
    socket.write(`${tag}:`)
    socket.pipe(socket)
    socket.on('error', () => {})
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return { server, port: (server.address() as { port: number }).port }
}


describe('fara up: many services and tunnels in one process, reloaded by SIGHUP', () => {
  let dir: string
  let env: Record<string, string>
  let configPath: string
  let up: Program
  const backends: Array<{ server: Server, port: number }> = []
  const secret = randomBytes(8).toString('hex')
  let config: Record<string, unknown>

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fara-cli-up-'))
    env = { PATH: process.env.PATH ?? '', HOME: dir, XDG_CONFIG_HOME: join(dir, 'config'), FARA_KEYSTORE: join(dir, 'keys') }
    for (const tag of ['web', 'db', 'extra']) backends.push(await echoServer(tag))

    const rv = startFara('fara rendezvous', ['rendezvous', '--memory', '--listen', '/ip4/127.0.0.1/tcp/0', '--json'], env)
    const point = (await rv.event('ready')).multiaddrs as string[]

    configPath = join(dir, 'up.json')
    config = {
      rendezvous: point,
      listen: ['/ip4/127.0.0.1/tcp/0'],
      app: 'testhost',
      services: [
        { name: 'web', forward: `127.0.0.1:${backends[0]!.port}` },
        { name: 'db', forward: `127.0.0.1:${backends[1]!.port}`, private: true, secret }
      ],
      tunnels: [{ name: 'web', listen: '127.0.0.1:0' }]
    }
    await writeFile(configPath, JSON.stringify(config))
    up = startFara('fara up', ['up', '--config', configPath, '--json'], env)
    expect((await up.event('ready')).app).toBe('testhost')
    await up.event('started', j => j.kind === 'service' && j.name === 'web')
    await up.event('started', j => j.kind === 'service' && j.name === 'db')
  })

  afterAll(async () => {
    await stopAllPrograms()
    for (const b of backends) b.server.close()
    if (dir != null) await rm(dir, { recursive: true, force: true })
  })

  it('serves both services: `fara connect` reaches each (the bytes come back from the right backend)', async () => {
    const payload = randomBytes(64 * 1024)
    const web = await fara(['connect', 'web', '--config', configPath], env, payload)
    expect(web.code, web.stderr).toBe(0)
    expect(web.stdout.equals(Buffer.concat([Buffer.from('web:'), payload]))).toBe(true)
    // "db" is private in the config: connect looks it up privately with its secret, no flags needed
    const db = await fara(['connect', 'db', '--config', configPath], env, Buffer.from('select 1'))
    expect(db.code, db.stderr).toBe(0)
    expect(db.stdout.toString()).toBe('db:select 1')
  })

  it('opens the tunnel from the same process: its local port reaches the service', async () => {
    const started = await up.event('started', j => j.kind === 'tunnel' && j.name === 'web')
    const payload = randomBytes(16 * 1024)
    expect((await tcpRoundTrip(started.port as number, payload)).equals(Buffer.concat([Buffer.from('web:'), payload]))).toBe(true)
  })

  it('resolves a config-listed private name privately without flags, and not without the config', async () => {
    const found = await fara(['resolve', 'db', '--config', configPath, '--json'], env)
    expect(found.code, found.stderr).toBe(0)
    expect(events(found.stdout.toString()).find(e => e.event === 'resolved')?.name).toBe('db')
    // the same lookup without the config file (none at the default path) is a public one: no public record "db"
    const point = (config.rendezvous as string[])[0]!
    const publicLookup = await fara(['resolve', 'db', '--rendezvous', point, '--json'], env)
    expect(publicLookup.code).toBe(3)
    // and the secret is what finds it: the config's secret given as a flag works without the file
    const flagged = await fara(['resolve', 'db', '--secret', secret, '--rendezvous', point, '--json'], env)
    expect(flagged.code, flagged.stderr).toBe(0)
  })

  it('SIGHUP with a third service added: a `reloaded` event naming it, and it is reachable; the others were not restarted', async () => {
    config.services = [...(config.services as unknown[]), { name: 'extra', forward: `127.0.0.1:${backends[2]!.port}` }]
    await writeFile(configPath, JSON.stringify(config))
    up.child.kill('SIGHUP')
    const reloaded = await up.event('reloaded')
    expect(reloaded.added).toEqual([{ kind: 'service', name: 'extra' }])
    expect(reloaded.removed).toEqual([])
    expect(reloaded.changed).toEqual([])
    await up.event('started', j => j.name === 'extra')
    const r = await fara(['connect', 'extra', '--config', configPath], env, Buffer.from('third'))
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout.toString()).toBe('extra:third')
  })

  it('SIGHUP with a broken config: `reload-failed`, and the running services and tunnel keep working', async () => {
    await writeFile(configPath, JSON.stringify({ ...config, services: [{ name: 'web' }] }))
    up.child.kill('SIGHUP')
    const failed = await up.event('reload-failed')
    expect(failed.error).toBe('ConfigError')
    await writeFile(configPath, '{ not json')
    up.child.kill('SIGHUP')
    await up.event('reload-failed', j => j !== failed)
    expect(up.lines.filter(l => l.json?.event === 'stopped')).toEqual([])
    await writeFile(configPath, JSON.stringify(config))
    for (const name of ['web', 'extra']) {
      const r = await fara(['connect', name, '--config', configPath], env, Buffer.from('still'))
      expect(r.code, r.stderr).toBe(0)
      expect(r.stdout.toString()).toBe(`${name}:still`)
    }
    const tunnel = await up.event('started', j => j.kind === 'tunnel')
    expect((await tcpRoundTrip(tunnel.port as number, Buffer.from('x'))).toString()).toBe('web:x')
  })

  it('SIGHUP with a service removed: it is stopped and withdrawn (connect exits 3)', async () => {
    config.services = (config.services as Array<{ name: string }>).filter(s => s.name !== 'extra')
    await writeFile(configPath, JSON.stringify(config))
    up.child.kill('SIGHUP')
    const reloaded = await up.event('reloaded', j => (j.removed as unknown[]).length > 0)
    expect(reloaded.removed).toEqual([{ kind: 'service', name: 'extra' }])
    await up.event('stopped', j => j.name === 'extra')
    expect((await fara(['connect', 'extra', '--config', configPath], env)).code).toBe(3)
  })

  it('--print-systemd-unit prints a unit with ExecStart … up --config <absolute path>, ExecReload and Restart, and exits 0', async () => {
    await writeFile(join(dir, 'pass'), 'correct horse\n', { mode: 0o600 })
    const r = await fara(['up', '--config', configPath, '--print-systemd-unit'], { ...env, FARA_PASSPHRASE_FILE: join(dir, 'pass') })
    expect(r.code, r.stderr).toBe(0)
    const unit = r.stdout.toString()
    expect(unit).toMatch(new RegExp(`^ExecStart=${process.execPath}\\s+${FARA_BIN}\\s+up --config ${configPath}$`, 'm'))
    expect(unit).toMatch(/^ExecReload=\/bin\/kill -HUP \$MAINPID$/m)
    expect(unit).toMatch(/^Restart=on-failure$/m)
    expect(unit).toContain(`Environment=FARA_PASSPHRASE_FILE=${join(dir, 'pass')}`)
    const json = await fara(['up', '--config', configPath, '--print-systemd-unit', '--json'], env)
    expect(events(json.stdout.toString()).find(e => e.event === 'systemd-unit')?.config).toBe(configPath)
  })

  it('a config that does not check out stops `fara up` before anything starts: exit 2, one error', async () => {
    const bad = join(dir, 'bad.json')
    await writeFile(bad, JSON.stringify({ services: [{ name: 'a', forward: '127.0.0.1:1', forwardUdp: '127.0.0.1:2' }] }))
    const r = await fara(['up', '--config', bad, '--json'], env)
    expect(r.code).toBe(2)
    expect(events(r.stdout.toString())).toEqual([expect.objectContaining({ event: 'error', name: 'ConfigError', exit: 2 })])
  })

  it('SIGTERM withdraws every name and closes the tunnel: `stopped` for each, exit 0', async () => {
    expect(await up.stop()).toBe(0)
    const stopped = up.lines.filter(l => l.json?.event === 'stopped').map(l => `${String(l.json!.kind)} ${String(l.json!.name)}`)
    expect(stopped).toEqual(expect.arrayContaining(['service web', 'service db', 'tunnel web']))
  })
})
