// Allow-lists, stable client keys and invites, end to end, as a user runs them: `fara rendezvous`,
// an echo server (socat … EXEC:cat), `fara serve --allow <key>` in front of it, and `fara connect`
// clients, each in its own process. The keys come from `fara id create|show`, the invites from what
// `fara serve` and `fara rendezvous` print.
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { hasCommand, tcpRoundTrip } from '@fara/testkit'
import { jsonEvents, runFara, startFara, startProgram, stopAllPrograms } from './fixtures/cli-process.ts'
import type { FaraRun, Program } from './fixtures/cli-process.ts'

const missing = hasCommand('socat') ? '' : 'socat'
if (missing !== '') {
  if (process.env.FARA_REQUIRE_DAEMONS === '1') throw new Error('cli allow-list test required (FARA_REQUIRE_DAEMONS=1) but socat is missing')
  console.warn('SKIPPING cli allow-list test: needs socat')
}

/** `fara args…` to its end, `input` on stdin. */
const fara = async (args: string[], env: Record<string, string>, input?: Buffer): Promise<FaraRun> => runFara(args, env, input == null ? {} : { input })
const events = jsonEvents


describe.skipIf(missing !== '')(`fara serve --allow, fara connect --identity, invites${missing === '' ? '' : ' — skipped: needs socat'}`, () => {
  let dir: string
  let env: Record<string, string>
  let point: string[]
  let pointInvite: string
  let echoPort: number
  let serve: Program
  let keyA: string
  let keyB: string

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fara-cli-allow-'))
    env = { PATH: process.env.PATH ?? '', HOME: dir, XDG_CONFIG_HOME: join(dir, 'config'), FARA_KEYSTORE: join(dir, 'keys') }

    const echo = startProgram('socat echo', 'socat', ['-d', '-d', 'TCP-LISTEN:0,bind=127.0.0.1,reuseaddr,fork', 'EXEC:cat'])
    echoPort = Number(/:(\d+)$/.exec((await echo.line(l => /listening on .*:\d+$/.test(l.text))).text)![1])

    const rv = startFara('fara rendezvous', ['rendezvous', '--memory', '--listen', '/ip4/127.0.0.1/tcp/0', '--json'], env)
    const ready = await rv.event('ready')
    point = ready.multiaddrs as string[]
    pointInvite = ready.invite as string
    env.FARA_RENDEZVOUS = point.join(',')

    // the client keys, as a user gets them: `fara id create` once, `fara id show` to hand one over
    const created = events((await fara(['id', 'create', 'a', '--json'], env)).stdout.toString())
    const shown = await fara(['id', 'show', 'a', '--json'], env)
    expect(shown.code).toBe(0)
    keyA = events(shown.stdout.toString()).find(e => e.event === 'identity')!.peerId as string
    expect(created.find(e => e.event === 'created')?.peerId).toBe(keyA)
    keyB = events((await fara(['id', 'create', 'b', '--json'], env)).stdout.toString()).find(e => e.event === 'created')!.peerId as string
    expect(keyB).not.toBe(keyA)

    serve = startFara('fara serve --allow', ['serve', 'echo', '--forward', `127.0.0.1:${echoPort}`, '--allow', keyA, '--listen', '/ip4/127.0.0.1/tcp/0', '--json'], env)
    expect((await serve.event('registered')).allowed).toEqual([keyA])
  })

  afterAll(async () => {
    await stopAllPrograms()
    if (dir != null) await rm(dir, { recursive: true, force: true })
  })

  it('serves a client that connects with --identity a, whose key `fara id show a` printed and --allow lists: the bytes echo', async () => {
    const payload = randomBytes(256 * 1024)
    const r = await fara(['connect', 'echo', '--identity', 'a'], env, payload)
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout.equals(payload)).toBe(true)
    expect((await serve.event('association', j => j.remotePeer === keyA)).remotePeer).toBe(keyA)
  })

  it('still serves the older --stable-identity --app a', async () => {
    const r = await fara(['connect', 'echo', '--stable-identity', '--app', 'a'], env, Buffer.from('old flags'))
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout.toString()).toBe('old flags')
  })

  it('refuses another identity: the client exits 5 (AssociationRejectedError) and the server reports `refused` with that key', async () => {
    const r = await fara(['connect', 'echo', '--identity', 'b', '--json'], env, Buffer.from('let me in'))
    expect(r.code).toBe(5)
    expect(r.stdout.byteLength).toBe(0)
    expect(events(r.stderr).find(e => e.event === 'error')).toMatchObject({ name: 'AssociationRejectedError', exit: 5 })
    expect(await serve.event('refused', j => j.peer === keyB)).toMatchObject({ name: 'echo', peer: keyB })
    expect(serve.child.exitCode).toBe(null)
  })

  it('refuses a client with a fresh one-time key (no --identity) the same way, with one error', async () => {
    const r = await fara(['connect', 'echo', '--json'], env)
    expect(r.code).toBe(5)
    const refused = await serve.event('refused', j => j.peer !== keyA && j.peer !== keyB)
    expect(refused.peer).toMatch(/^12D3KooW/)
    expect(events(r.stderr).filter(e => e.event === 'error')).toEqual([expect.objectContaining({ name: 'AssociationRejectedError', exit: 5 })])
  })

  it('`fara id show` without <app> prints the key `--stable-identity` uses: the server refuses that very key', async () => {
    expect((await fara(['id', 'create', 'fara-connect'], env)).code).toBe(0)
    const shown = events((await fara(['id', 'show', '--json'], env)).stdout.toString()).find(e => e.event === 'identity')!
    expect(shown.app).toBe('fara-connect')
    expect((await fara(['connect', 'echo', '--stable-identity'], env)).code).toBe(5)
    expect((await serve.event('refused', j => j.peer === shown.peerId)).name).toBe('echo')
  })

  it('invite round trip: `fara serve --private --secret` prints an invite, and `fara connect --invite` (no other setting) reaches the service', async () => {
    const { FARA_RENDEZVOUS: _, ...bare } = env
    const secret = randomBytes(8).toString('hex')
    const db = startFara('fara serve --secret', ['serve', 'db', '--forward', `127.0.0.1:${echoPort}`, '--private', '--secret', secret, '--rendezvous', point[0]!, '--listen', '/ip4/127.0.0.1/tcp/0', '--json'], bare)
    const registered = await db.event('registered')
    expect(registered.private).toBe(true)
    const invite = registered.invite as string
    expect(invite).toMatch(/^fara1:[A-Za-z0-9_-]+$/)

    const client = startFara('fara connect --invite', ['connect', '--invite', invite, '--listen', '127.0.0.1:0', '--json'], bare)
    const listening = await client.event('listening')
    expect(listening.name).toBe('db')
    const payload = randomBytes(64 * 1024)
    expect((await tcpRoundTrip(listening.port as number, payload)).equals(payload)).toBe(true)
    expect(await client.stop()).toBe(0)

    // without the invite, the same bare client finds nothing to ask: a missing setting, exit 2
    expect((await fara(['connect', 'db', '--private'], bare)).code).toBe(2)
    expect(await db.stop()).toBe(0)
  })

  it('the rendezvous point\'s invite sets only the point: `fara connect echo --invite <it> --identity a` is served', async () => {
    const { FARA_RENDEZVOUS: _, ...bare } = env
    expect(pointInvite).toMatch(/^fara1:/)
    const r = await fara(['connect', 'echo', '--invite', pointInvite, '--identity', 'a'], bare, Buffer.from('via the point invite'))
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout.toString()).toBe('via the point invite')
  })

  it('a malformed invite: exit 2, an InvalidInviteError event, one line without --json, nothing started', async () => {
    for (const bad of ['fara1:AAAAAAAAAAAAAAAAAAAA', 'fara1:not base64!', pointInvite.slice(0, -3), 'hello']) {
      const r = await fara(['connect', '--invite', bad, '--listen', '127.0.0.1:0', '--json'], env)
      expect(r.code).toBe(2)
      expect(events(r.stdout.toString())).toEqual([expect.objectContaining({ event: 'error', name: 'InvalidInviteError', exit: 2 })])
      const plain = await fara(['connect', '--invite', bad], env)
      expect(plain.code).toBe(2)
      expect(plain.stderr.trim().split('\n')).toHaveLength(1)
    }
  })

  it('a bad --allow value stops `fara serve` before anything starts: exit 2', async () => {
    const r = await fara(['serve', 'x', '--forward', `127.0.0.1:${echoPort}`, '--allow', 'alice', '--json'], env)
    expect(r.code).toBe(2)
    expect(events(r.stdout.toString())).toEqual([expect.objectContaining({ event: 'error', name: 'UsageError', exit: 2 })])
  })
})
