// Start-up checks and clear refusals of the `fara` command (issue 16): a name
// nobody serves and a forward target nobody listens on are reported at start
// (the command keeps running: either may come up later); a local port in use,
// a huge argument: one short line and exit 2; a rendezvous address whose
// /p2p/ id is not the point's: one line that says so, exit 4.
import { execFile } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { freePort } from '@fara/testkit'
import { FARA_BIN, startFara, stopAllPrograms } from './fixtures/cli-process.ts'
import type { AddressInfo } from 'node:net'

const run = promisify(execFile)
type Failed = { code: number, stdout: string, stderr: string }
const fails = async (args: string[], env: Record<string, string>): Promise<Failed> =>
  run(process.execPath, [FARA_BIN, ...args], { env }).then(() => ({ code: 0, stdout: '', stderr: '' }), (e: Failed) => e)

describe('fara start-up checks and refusals', () => {
  let dir: string
  let env: Record<string, string>

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fara-cli-checks-'))
    env = { PATH: process.env.PATH ?? '', HOME: dir, XDG_CONFIG_HOME: join(dir, 'config'), FARA_KEYSTORE: join(dir, 'keys') }
    const point = startFara('fara rendezvous', ['rendezvous', '--data-dir', join(dir, 'rv'), '--listen', '/ip4/127.0.0.1/tcp/0', '--json'], env)
    env.FARA_RENDEZVOUS = ((await point.event('ready')).multiaddrs as string[]).join(',')
  })

  afterAll(async () => {
    await stopAllPrograms()
    await rm(dir, { recursive: true, force: true })
  })

  it('fara connect to a name nobody serves: listening, and a check-failed event at once that says so', async () => {
    const connect = startFara('fara connect nosuch', ['connect', 'nosuch', '--listen', '127.0.0.1:0', '--json'], env)
    await connect.event('listening')
    const failed = await connect.event('check-failed')
    expect(failed.error).toBe('NameNotFoundError')
    expect(connect.child.exitCode).toBeNull() // still listening: the service may come up later
    await connect.stop()
  })

  it('fara serve in front of a port nobody listens on: a forward-down event, and the name is registered anyway', async () => {
    const port = await freePort()
    const serve = startFara('fara serve down', ['serve', 'down', '--forward', `127.0.0.1:${port}`, '--listen', '/ip4/127.0.0.1/tcp/0', '--json'], env)
    const down = await serve.event('forward-down')
    expect(down.target).toBe(`127.0.0.1:${port}`)
    await serve.event('registered')
    await serve.stop()
  })

  it('fara connect --listen on a port in use: one line that says so, exit 2', async () => {
    const taken = createServer().listen(0, '127.0.0.1')
    await once(taken, 'listening')
    const { port } = taken.address() as AddressInfo
    try {
      const human = await fails(['connect', 'web', '--listen', `127.0.0.1:${port}`], env)
      expect(human.code).toBe(2)
      expect(human.stderr.trim().split('\n')).toHaveLength(1)
      const json = await fails(['connect', 'web', '--listen', `127.0.0.1:${port}`, '--json'], env)
      const error = JSON.parse(json.stdout.trim().split('\n').at(-1)!) as { event: string, name: string, exit: number }
      expect(error).toMatchObject({ event: 'error', name: 'UsageError', exit: 2 })
    } finally {
      taken.close()
    }
  })

  it('a rendezvous address with another peer\'s /p2p/ id: one line saying something listens there without that key, exit 4; a dead port is not said to listen', async () => {
    const point = env.FARA_RENDEZVOUS!.split(',')[0]!
    const other = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
    const wrongId = point.replace(/\/p2p\/[^/]+$/, `/p2p/${other}`)
    expect(wrongId).not.toBe(point)
    const wrong = await fails(['resolve', 'web', '--rendezvous', wrongId], env)
    expect(wrong.code).toBe(4)
    expect(wrong.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^fara resolve: error: something listens at the rendezvous point's address but did not prove the key in its \/p2p\/ id: a wrong \/p2p\/ id, or not a Fara rendezvous point \(/)])
    const json = await fails(['resolve', 'web', '--rendezvous', wrongId, '--json'], env)
    expect(JSON.parse(json.stdout.trim().split('\n').at(-1)!)).toMatchObject({ event: 'error', name: 'RendezvousUnavailableError', exit: 4, message: expect.stringContaining('/p2p/ id') })
    // the point's own id on a port where nothing listens: unreachable too, but no claim that something listens
    const deadPort = point.replace(/\/tcp\/\d+\//, `/tcp/${await freePort()}/`)
    const dead = await fails(['resolve', 'web', '--rendezvous', deadPort], env)
    expect(dead.code).toBe(4)
    expect(dead.stderr.trim().split('\n')).toHaveLength(1)
    expect(dead.stderr).toContain('unreachable')
    expect(dead.stderr).not.toContain('/p2p/ id')
  })

  it('a 5,000-character name is not echoed back whole: the error line stays short, exit 2', async () => {
    const r = await fails(['connect', 'a'.repeat(5000), '--listen', '127.0.0.1:0'], env)
    expect(r.code).toBe(2)
    expect(r.stderr.length).toBeLessThan(400)
  })
})
