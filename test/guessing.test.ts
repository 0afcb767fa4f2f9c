// Issue 14, point 5: AId guessing costs the guesser without locking out its neighbours. Every program in
// its own process: `fara rendezvous`, `fara serve` (default guessing limits) in front of a TCP echo server,
// a guesser (test/fixtures/guesser.ts) and a legitimate `fara connect`, both at 127.0.0.1. Before, about
// 0.3 s of guessing blocked the whole address for 60 s, the legitimate client got AssociationClosedError,
// and `fara serve` printed nothing. Now a connection is closed after its share of refusals, a key is blocked
// with backoff, the address is throttled (one guess per connection) but never blocked, and each block is a
// `guessing` line of `fara serve --json`.
import { createHash, randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { mkdtemp, rm } from 'node:fs/promises'
import { connect, createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { GUESS_LIMITS } from '@fara/sdk/constants'
import { afterAll, describe, expect, it } from 'vitest'
import { startFara, stopAllPrograms } from './fixtures/cli-process.ts'
import { startFixture, stopAll } from './helpers/process.ts'
import type { Line } from '@fara/testkit'
import type { AddressInfo, Server } from 'node:net'

const dirs: string[] = []
const servers: Server[] = []
afterAll(async () => {
  await stopAll()
  await stopAllPrograms()
  for (const s of servers) s.close()
  await Promise.all(dirs.map(async d => rm(d, { recursive: true, force: true })))
})

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex')

/** Send `data` over a new TCP connection to `port`, half-close, and read everything back. */
async function echo (port: number, data: Uint8Array): Promise<Buffer> {
  const socket = connect({ host: '127.0.0.1', port })
  await once(socket, 'connect')
  const chunks: Buffer[] = []
  socket.on('data', (c: Buffer) => chunks.push(c))
  socket.end(data)
  await once(socket, 'close')
  return Buffer.concat(chunks)
}

describe('AId guessing against fara serve', () => {
  it('slows the guesser per connection, per key and per address, while another client at its address connects; each block is a --json line', async () => {
    const home = await mkdtemp(join(tmpdir(), 'fara-guessing-'))
    dirs.push(home)
    const target = createServer({ allowHalfOpen: true }, (s) => { s.pipe(s) })
    servers.push(target)
    target.listen(0, '127.0.0.1')
    await once(target, 'listening')
    const forward = `127.0.0.1:${(target.address() as AddressInfo).port}`

    const env: Record<string, string> = { PATH: process.env.PATH ?? '', HOME: home, XDG_CONFIG_HOME: join(home, 'config'), FARA_KEYSTORE: join(home, 'keys') }
    const point = startFara('fara rendezvous', ['rendezvous', '--memory', '--listen', '/ip4/127.0.0.1/tcp/0', '--json'], env)
    const addrs = (await point.event('ready')).multiaddrs as string[]
    env.FARA_RENDEZVOUS = addrs.join(',')
    const serve = startFara('fara serve', ['serve', 'guarded', '--forward', forward, '--listen', '/ip4/127.0.0.1/tcp/0', '--json'], env)
    await serve.event('registered')

    const guesser = startFixture('guesser', { point: addrs, name: 'guarded', keys: 30 })
    const done = await guesser.next(l => l.event === 'done', 60_000)
    await guesser.next(l => l.event === 'guessing')
    console.log(`guesser: ${JSON.stringify(done)}`)

    const L = GUESS_LIMITS
    // 1. one key: its connections are closed after perConnection + 1 answers, and it is blocked once its
    //    burst (and what it earned back meanwhile) is spent; afterwards its guesses get no answer
    const key = done.key as { answered: number, connections: number, ms: number }
    expect(key.answered).toBeGreaterThanOrEqual(L.burst)
    expect(key.answered).toBeLessThanOrEqual(L.burst + Math.ceil(L.rate * key.ms / 1_000) + 1)
    expect(key.connections).toBeGreaterThanOrEqual(Math.ceil(key.answered / (L.perConnection + 1)))
    // 2. fresh keys: several answers on a connection until the address is throttled, never more than
    //    perConnection + 1; throttled, a connection gets one. In all, the address was answered at most its
    //    burst, what it earned back, and one guess per connection (without the throttle: 9 per connection)
    const fresh = done.fresh as number[]
    expect(fresh[0]).toBeGreaterThan(1)
    expect(Math.max(...fresh)).toBeLessThanOrEqual(L.perConnection + 1)
    expect(fresh.filter(n => n === 1).length).toBeGreaterThanOrEqual(3)
    const answered = key.answered + fresh.reduce((sum, n) => sum + n, 0)
    expect(answered).toBeLessThanOrEqual(L.sourceBurst + Math.ceil(L.sourceRate * (done.ms as number) / 1_000) + fresh.length + L.perConnection + 1)
    expect(answered).toBeLessThan(key.answered + fresh.length * (L.perConnection + 1))

    // 3. while the guesser keeps its address throttled, a legitimate client at the same address is served
    const client = startFara('fara connect', ['connect', 'guarded', '--listen', '127.0.0.1:0', '--json'], env)
    const port = (await client.event('listening')).port as number
    for (let i = 0; i < 5; i++) {
      const data = randomBytes(64 * 1024)
      expect(sha256(await echo(port, data))).toBe(sha256(data))
    }
    expect(client.lines.map(l => l.json).filter(j => j?.event === 'connection-failed')).toEqual([])

    // every block was reported by fara serve as a structured line: one per scope within the report interval
    const blocks = serve.lines.map(l => l.json).filter(j => j?.event === 'guessing')
    const scopes = blocks.map(b => b?.scope)
    expect(new Set(scopes)).toEqual(new Set(['connection', 'peer', 'source']))
    expect(blocks.find(b => b?.scope === 'source')).toMatchObject({ source: '127.0.0.1', blockMs: L.blockMs, reason: expect.any(String), blocks: 1 })
    expect(blocks.find(b => b?.scope === 'peer')).toMatchObject({ source: '127.0.0.1', blockMs: L.blockMs })
    expect(scopes.length).toBeLessThanOrEqual(3)
    // and served the legitimate client: five associations, each forwarded and closed with its bytes. The
    // client has its echo before fara serve prints the association's `closed` line, so wait for the fifth
    const closed = (l: Line): boolean => l.json?.event === 'closed' && l.json.toService === 64 * 1024
    await serve.line(l => closed(l) && serve.lines.filter(closed).length >= 5)
    expect(serve.lines.filter(closed)).toHaveLength(5)

    await guesser.stop()
    expect(await client.stop()).toBe(0)
    expect(await serve.stop()).toBe(0)
  }, 120_000)
})
