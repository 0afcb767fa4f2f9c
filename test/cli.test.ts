// The `fara` command end to end, as a user runs it: every program in its own process —
// `fara rendezvous`, a real server (python3 -m http.server), `fara serve` in front of it,
// `fara connect` giving a local port, and a real client (curl; socat for the stdin/stdout mode).
import { execFile } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { freePort, hasCommand } from '@fara/testkit'
import { FARA_BIN, startFara, startProgram, stopAllPrograms } from './fixtures/cli-process.ts'
import type { Program } from './fixtures/cli-process.ts'

const run = promisify(execFile)
const tools = ['python3', 'curl', 'socat']
const missing = tools.filter(t => !hasCommand(t)).join(', ')
if (missing !== '') {
  if (process.env.FARA_REQUIRE_DAEMONS === '1') throw new Error(`cli end-to-end test required (FARA_REQUIRE_DAEMONS=1) but ${missing} missing`)
  console.warn(`SKIPPING cli end-to-end test: needs ${missing}`)
}

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex')

/** GET `url` with curl (a fresh TCP connection each time); its stdout as bytes. */
async function curl (url: string): Promise<Buffer> {
  const { stdout } = await run('curl', ['-sS', '--fail', '--max-time', '20', url], { encoding: 'buffer', maxBuffer: 64 * 1024 * 1024 })
  return stdout
}

describe.skipIf(missing !== '')(`fara rendezvous | serve | connect with real programs${missing === '' ? '' : ` — skipped: needs ${missing}`}`, () => {
  let dir: string
  let env: Record<string, string>
  let httpPort: number
  let localPort: number
  let serve: Program
  let servePeerId: string
  const marker = `hello-from-fara-${randomBytes(6).toString('hex')}`
  const big = randomBytes(4 * 1024 * 1024)

  const serveArgs = (): string[] => ['serve', 'web', '--forward', `127.0.0.1:${httpPort}`, '--listen', '/ip4/127.0.0.1/tcp/0', '--json']

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fara-cli-e2e-'))
    await mkdir(join(dir, 'www'))
    await writeFile(join(dir, 'www', 'index.html'), marker)
    await writeFile(join(dir, 'www', 'big.bin'), big)
    // nothing of the caller's settings: a fresh home, the keystore in the test directory
    env = { PATH: process.env.PATH ?? '', HOME: dir, XDG_CONFIG_HOME: join(dir, 'config'), FARA_KEYSTORE: join(dir, 'keys') }

    const point = startFara('fara rendezvous', ['rendezvous', '--data-dir', join(dir, 'rv'), '--listen', '/ip4/127.0.0.1/tcp/0', '--json'], env)
    const ready = await point.event('ready')
    env.FARA_RENDEZVOUS = (ready.multiaddrs as string[]).join(',')

    const http = startProgram('http.server', 'python3', ['-u', '-m', 'http.server', '0', '--bind', '127.0.0.1', '--directory', join(dir, 'www')])
    const serving = await http.line(l => /port \d+/.test(l.text))
    httpPort = Number(/port (\d+)/.exec(serving.text)![1])

    serve = startFara('fara serve', serveArgs(), env)
    servePeerId = (await serve.event('registered')).peerId as string

    const connect = startFara('fara connect', ['connect', 'web', '--listen', '127.0.0.1:0', '--json'], env)
    const listening = await connect.event('listening')
    localPort = listening.port as number
    expect(listening.address).toBe(`127.0.0.1:${localPort}`)
  })

  afterAll(async () => {
    await stopAllPrograms()
    if (dir != null) await rm(dir, { recursive: true, force: true })
  })

  it('curl through `fara connect --listen` gets the files python3 -m http.server serves behind `fara serve`', async () => {
    expect((await curl(`http://127.0.0.1:${localPort}/index.html`)).toString()).toBe(marker)
    expect(sha256(await curl(`http://127.0.0.1:${localPort}/big.bin`))).toBe(sha256(big))
  })

  it('`fara resolve` shows the record, signed by the key `fara serve` registered with', async () => {
    const { stdout } = await run(process.execPath, [FARA_BIN, 'resolve', 'web', '--json'], { env })
    const record = JSON.parse(stdout) as Record<string, unknown>
    expect(record).toMatchObject({ event: 'resolved', name: 'web', peerId: servePeerId })
    expect(record.aid).toMatch(/^[0-9a-f]{16}$/)
  })

  it('stdin/stdout mode: socat hands each connection to `fara connect web`, and curl through it gets the file', async () => {
    const socat = startProgram('socat', 'socat', ['-d', '-d', 'TCP-LISTEN:0,bind=127.0.0.1,reuseaddr,fork', `EXEC:${process.execPath} ${FARA_BIN} connect web`], { env })
    const listening = await socat.line(l => /listening on .*:\d+$/.test(l.text))
    const port = Number(/:(\d+)$/.exec(listening.text)![1])
    expect((await curl(`http://127.0.0.1:${port}/index.html`)).toString()).toBe(marker)
    expect(sha256(await curl(`http://127.0.0.1:${port}/big.bin`))).toBe(sha256(big))
    await socat.stop()
  })

  it('survives `kill -9` of fara serve: restarted with the same keystore, it is the same key and new connections get through', async () => {
    expect(await serve.stop('SIGKILL')).toBe(null)
    serve = startFara('fara serve (restarted)', serveArgs(), env)
    const registered = await serve.event('registered')
    expect(registered.peerId).toBe(servePeerId)
    // the same `fara connect`, which kept running, reaches the new process
    expect((await curl(`http://127.0.0.1:${localPort}/index.html`)).toString()).toBe(marker)
    expect(sha256(await curl(`http://127.0.0.1:${localPort}/big.bin`))).toBe(sha256(big))
  })

  it('a private name with a secret is found with the secret and not without it (exit 3)', async () => {
    const secret = randomBytes(8).toString('hex')
    const db = startFara('fara serve --secret', ['serve', 'db', '--forward', `127.0.0.1:${httpPort}`, '--listen', '/ip4/127.0.0.1/tcp/0', '--json'], { ...env, FARA_SECRET: secret })
    const registered = await db.event('registered')
    expect(registered.private).toBe(true)
    const found = await run(process.execPath, [FARA_BIN, 'resolve', 'db', '--secret', secret, '--json'], { env })
    expect(JSON.parse(found.stdout)).toMatchObject({ event: 'resolved', peerId: registered.peerId })
    for (const args of [['resolve', 'db'], ['resolve', 'db', '--secret', 'wrong']]) {
      const err = await run(process.execPath, [FARA_BIN, ...args], { env }).then(() => undefined, (e: { code: number, stderr: string }) => e)
      expect(err?.code).toBe(3)
      expect(err?.stderr.trim().split('\n')).toHaveLength(1)
    }
    expect(await db.stop()).toBe(0)
  })

  it('reachable only through the rendezvous point\'s relay (`--listen none --relay`), as behind NAT', async () => {
    const relayed = startFara('fara serve --relay', ['serve', 'relayed', '--forward', `127.0.0.1:${httpPort}`, '--listen', 'none', '--relay', env.FARA_RENDEZVOUS!.split(',')[0]!, '--json'], env)
    const registered = await relayed.event('registered')
    expect((registered.addrs as string[]).every(a => a.includes('/p2p-circuit/'))).toBe(true)
    const connect = startFara('fara connect relayed', ['connect', 'relayed', '--listen', '127.0.0.1:0', '--json'], env)
    const port = (await connect.event('listening')).port as number
    expect(sha256(await curl(`http://127.0.0.1:${port}/big.bin`))).toBe(sha256(big))
    expect(await connect.stop()).toBe(0)
    expect(await relayed.stop()).toBe(0)
  })

  it('a forward target that refuses resets that one connection, tells the client nothing of where it lives, and serving goes on', async () => {
    const closedPort = await freePort()
    const down = startFara('fara serve (target down)', ['serve', 'down', '--forward', `127.0.0.1:${closedPort}`, '--listen', '/ip4/127.0.0.1/tcp/0', '--json'], env)
    await down.event('registered')
    const err = await run(process.execPath, [FARA_BIN, 'connect', 'down'], { env }).then(() => undefined, (e: { code: number, stderr: string }) => e)
    expect(err?.code).toBe(1)
    expect(err?.stderr).toContain('did not accept the connection')
    expect(err?.stderr).not.toContain(String(closedPort))
    expect((await down.event('forward-failed')).message).toContain(`127.0.0.1:${closedPort}`)
    expect(down.child.exitCode).toBe(null)
    expect(await down.stop()).toBe(0)
  })

  it('a rendezvous point restarted from its data directory keeps its key and port; a fara serve started while it was down registers once it is back', async () => {
    const rvDir = join(dir, 'rv2')
    const first = startFara('fara rendezvous #2', ['rendezvous', '--data-dir', rvDir, '--listen', '/ip4/127.0.0.1/tcp/0', '--json'], env)
    const ready = await first.event('ready')
    expect(await first.stop('SIGTERM')).toBe(0)
    const rvEnv = { ...env, FARA_RENDEZVOUS: (ready.multiaddrs as string[]).join(',') }
    const early = startFara('fara serve (early)', ['serve', 'early', '--forward', `127.0.0.1:${httpPort}`, '--listen', '/ip4/127.0.0.1/tcp/0', '--json'], rvEnv)
    // the point is down: the registration fails and is retried
    expect((await early.event('retrying')).error).toBe('RendezvousUnavailableError')
    const again = startFara('fara rendezvous #2 (restarted)', ['rendezvous', '--data-dir', rvDir, '--json'], env)
    expect(await again.event('ready')).toMatchObject({ peerId: ready.peerId, port: ready.port })
    expect((await early.event('registered')).name).toBe('early')
    const { stdout } = await run(process.execPath, [FARA_BIN, 'resolve', 'early', '--json'], { env: rvEnv })
    expect(JSON.parse(stdout)).toMatchObject({ name: 'early' })
    expect(await early.stop()).toBe(0)
    expect(await again.stop()).toBe(0)
  })

  it('SIGTERM stops fara serve cleanly: exit 0, and its name is withdrawn (resolve exits 3)', async () => {
    expect(await serve.stop('SIGTERM')).toBe(0)
    const err = await run(process.execPath, [FARA_BIN, 'resolve', 'web'], { env }).then(() => undefined, (e: { code: number, stderr: string }) => e)
    expect(err?.code).toBe(3)
    expect(err?.stderr).toContain('no service "web"')
  })
})
