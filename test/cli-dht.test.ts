// `fara` with Fara's DHT as its rendezvous: `fara rendezvous --dht` runs a DHT node, `fara serve`
// and `fara connect` join it with `--rendezvous dht --bootstrap <its address>`, and bytes flow
// between a client and an echo server behind `fara serve`. Every program is its own process.
import { createHash, randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { roundTrip, startEchoServer } from './helpers/echo.ts'
import { runFara, startFara, stopAllPrograms } from './fixtures/cli-process.ts'
import type { EchoServer } from './helpers/echo.ts'
import type { Program } from './fixtures/cli-process.ts'

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex')

/** Run `fara args…` to its end: exit code and output, stdout as text (never throws on a non-zero exit). */
async function fara (args: string[], env: Record<string, string>): Promise<{ code: number | null, stdout: string, stderr: string }> {
  const r = await runFara(args, env, { timeoutMs: 90_000 })
  return { ...r, stdout: r.stdout.toString() }
}

const jsonLines = (text: string): Array<Record<string, unknown>> => text.trim().split('\n').filter(l => l !== '').map(l => JSON.parse(l) as Record<string, unknown>)

describe('fara rendezvous --dht, and serve / connect / resolve with --rendezvous dht', () => {
  let dir: string
  let env: Record<string, string>
  let echo: EchoServer
  let node: Program
  let bootstrap: string
  const big = randomBytes(1024 * 1024)

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fara-cli-dht-'))
    env = { PATH: process.env.PATH ?? '', HOME: dir, XDG_CONFIG_HOME: join(dir, 'config'), XDG_DATA_HOME: join(dir, 'data'), FARA_KEYSTORE: join(dir, 'keys') }
    echo = await startEchoServer()
    node = startFara('fara rendezvous --dht', ['rendezvous', '--dht', '--data-dir', join(dir, 'dht'), '--listen', '/ip4/127.0.0.1/tcp/0', '--json'], env)
    const ready = await node.event('ready')
    expect(ready).toMatchObject({ dht: true, lan: true })
    bootstrap = ready.invite as string
    expect(ready.multiaddrs).toContain(bootstrap)
  })

  afterAll(async () => {
    await stopAllPrograms()
    await echo?.close()
    if (dir != null) await rm(dir, { recursive: true, force: true })
  })

  it('a service registered through the DHT node is reached by name from another process, 1 MiB both ways; SIGTERM withdraws it', async () => {
    const dht = ['--rendezvous', 'dht', '--bootstrap', bootstrap]
    const serve = startFara('fara serve (dht)', ['serve', 'web', '--forward', `127.0.0.1:${echo.port}`, '--listen', '/ip4/127.0.0.1/tcp/0', ...dht, '--json'], env)
    const registered = await serve.event('registered')
    const connect = startFara('fara connect (dht)', ['connect', 'web', '--listen', '127.0.0.1:0', ...dht, '--json'], env)
    const { port } = await connect.event('listening')
    const echoed = await roundTrip(port as number, big, 60_000)
    expect(sha256(echoed)).toBe(sha256(big))
    expect(await serve.event('closed')).toMatchObject({ toService: big.length, toClient: big.length })

    // the same through the environment: FARA_RENDEZVOUS=dht FARA_BOOTSTRAP=<address>
    const resolved = await fara(['resolve', 'web', '--json'], { ...env, FARA_RENDEZVOUS: 'dht', FARA_BOOTSTRAP: bootstrap })
    expect(resolved.code, resolved.stderr).toBe(0)
    expect(jsonLines(resolved.stdout)[0]).toMatchObject({ event: 'resolved', name: 'web', peerId: registered.peerId, addrs: registered.addrs })

    expect(await connect.stop()).toBe(0)
    expect(await serve.stop('SIGTERM')).toBe(0)
    // the tombstone is newer than the record: the name is gone for every reader
    const gone = await fara(['resolve', 'web', ...dht, '--json'], env)
    expect(gone.code).toBe(3)
    expect(jsonLines(gone.stdout)).toEqual([expect.objectContaining({ event: 'error', name: 'NameNotFoundError', exit: 3 })])
  })

  it('a second DHT node joins the first; a client that knows only the second finds a service registered through the first', async () => {
    const second = startFara('fara rendezvous --dht (second)', ['rendezvous', '--dht', '--memory', '--listen', '/ip4/127.0.0.1/tcp/0', '--bootstrap', bootstrap, '--json'], env)
    const ready = await second.event('ready')
    await second.event('joined')
    const serve = startFara('fara serve (first node)', ['serve', 'db', '--forward', `127.0.0.1:${echo.port}`, '--listen', '/ip4/127.0.0.1/tcp/0',
      '--rendezvous', 'dht', '--bootstrap', bootstrap, '--json'], env)
    await serve.event('registered')
    const connect = startFara('fara connect (second node)', ['connect', 'db', '--listen', '127.0.0.1:0', '--rendezvous', 'dht', '--bootstrap', ready.invite as string, '--json'], env)
    const { port } = await connect.event('listening')
    expect((await roundTrip(port as number, Buffer.from('through two DHT nodes'), 60_000)).toString()).toBe('through two DHT nodes')
    expect(await connect.stop()).toBe(0)
    expect(await serve.stop()).toBe(0)
    expect(await second.stop('SIGINT')).toBe(130)
  })

  it('a DHT node restarted from its data directory keeps its key, its port and its records: the bootstrap address given out stays good', async () => {
    const before = (await node.event('ready'))
    // a service the node stores a record for, killed so that it neither withdraws nor refreshes it
    const serve = startFara('fara serve (killed)', ['serve', 'kept', '--forward', `127.0.0.1:${echo.port}`, '--listen', '/ip4/127.0.0.1/tcp/0',
      '--rendezvous', 'dht', '--bootstrap', bootstrap, '--json'], env)
    const registered = await serve.event('registered')
    expect(await serve.stop('SIGKILL')).toBe(null)
    expect(await node.stop('SIGTERM')).toBe(0)
    node = startFara('fara rendezvous --dht (restarted)', ['rendezvous', '--dht', '--data-dir', join(dir, 'dht'), '--json'], env)
    const ready = await node.event('ready')
    expect(ready).toMatchObject({ peerId: before.peerId, port: before.port, invite: bootstrap })
    expect(ready.records).toBeGreaterThan(0)
    // the restarted node is the only DHT node left: the record came from its data directory
    const resolved = await fara(['resolve', 'kept', '--rendezvous', 'dht', '--bootstrap', bootstrap, '--json'], env)
    expect(resolved.code, resolved.stderr).toBe(0)
    expect(jsonLines(resolved.stdout)[0]).toMatchObject({ event: 'resolved', name: 'kept', peerId: registered.peerId })
  })

  it('a private name through the DHT: served and reached with its secret; without it, or with another, it is not found', async () => {
    const dht = ['--rendezvous', 'dht', '--bootstrap', bootstrap]
    const secret = randomBytes(16).toString('hex')
    const serve = startFara('fara serve --private (dht)', ['serve', 'vault', '--forward', `127.0.0.1:${echo.port}`, '--listen', '/ip4/127.0.0.1/tcp/0', '--private', '--secret', secret, ...dht, '--json'], env)
    await serve.event('registered')
    const connect = startFara('fara connect --private (dht)', ['connect', 'vault', '--private', '--secret', secret, '--listen', '127.0.0.1:0', ...dht, '--json'], env)
    const { port } = await connect.event('listening')
    expect((await roundTrip(port as number, Buffer.from('a private name on the DHT'), 60_000)).toString()).toBe('a private name on the DHT')
    for (const wrong of [['--private'], ['--private', '--secret', randomBytes(16).toString('hex')]]) {
      const r = await fara(['resolve', 'vault', ...wrong, ...dht, '--json'], env)
      expect(r.code, r.stderr).toBe(3)
      expect(jsonLines(r.stdout)).toEqual([expect.objectContaining({ event: 'error', name: 'NameNotFoundError', exit: 3 })])
    }
    expect(await connect.stop()).toBe(0)
    expect(await serve.stop('SIGTERM')).toBe(0)
  })

  it('bad values: --rendezvous dht without --bootstrap, a --bootstrap that is not a peer address: one line, exit 2', async () => {
    for (const args of [
      ['resolve', 'web', '--rendezvous', 'dht'],
      ['connect', 'web', '--rendezvous', 'dht', '--bootstrap', '/ip4/127.0.0.1/tcp/4001'],
      ['rendezvous', '--bootstrap', bootstrap]
    ]) {
      const r = await fara([...args, '--json'], env)
      expect(r.code, r.stderr).toBe(2)
      expect(r.stderr.trimEnd().split('\n')).toHaveLength(1)
      expect(jsonLines(r.stdout)).toEqual([expect.objectContaining({ event: 'error', exit: 2 })])
    }
  })
})
