// `fara serve --hop` (issue 16): the listening port moves on a keyed schedule,
// `fara connect` follows it, and a download through the tunnel crosses several
// hops intact. Real programs: `fara rendezvous`, `python3 -m http.server`,
// `fara serve --hop 1s`, `fara connect --private --listen`, `curl --limit-rate`.
import { execFile } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { hasCommand } from '@fara/testkit'
import { FARA_BIN, startFara, startProgram, stopAllPrograms } from './fixtures/cli-process.ts'

const run = promisify(execFile)
const missing = ['python3', 'curl'].filter(t => !hasCommand(t)).join(', ')
if (missing !== '') {
  if (process.env.FARA_REQUIRE_DAEMONS === '1') throw new Error(`cli hop test required (FARA_REQUIRE_DAEMONS=1) but ${missing} missing`)
  console.warn(`SKIPPING cli hop test: needs ${missing}`)
}
const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex')

describe.skipIf(missing !== '')(`fara serve --hop${missing === '' ? '' : ` — skipped: needs ${missing}`}`, () => {
  let dir: string
  let env: Record<string, string>
  let httpPort: number
  // 16 MiB at 2 MiB/s: the download lasts 6 to 8 s (curl lets a first burst through), so it spans at least three 1 s slots
  const big = randomBytes(16 * 1024 * 1024)

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fara-cli-hop-'))
    await mkdir(join(dir, 'www'))
    await writeFile(join(dir, 'www', 'big.bin'), big)
    env = { PATH: process.env.PATH ?? '', HOME: dir, XDG_CONFIG_HOME: join(dir, 'config'), FARA_KEYSTORE: join(dir, 'keys') }
    const point = startFara('fara rendezvous', ['rendezvous', '--data-dir', join(dir, 'rv'), '--listen', '/ip4/127.0.0.1/tcp/0', '--json'], env)
    env.FARA_RENDEZVOUS = ((await point.event('ready')).multiaddrs as string[]).join(',')
    const http = startProgram('http.server', 'python3', ['-u', '-m', 'http.server', '0', '--bind', '127.0.0.1', '--directory', join(dir, 'www')])
    httpPort = Number(/port (\d+)/.exec((await http.line(l => /port \d+/.test(l.text))).text)![1])
  })

  afterAll(async () => {
    await stopAllPrograms()
    await rm(dir, { recursive: true, force: true })
  })

  it('a download through fara connect crosses at least three hops of the service\'s port, intact', async () => {
    const serve = startFara('fara serve --hop', ['serve', 'web', '--forward', `127.0.0.1:${httpPort}`, '--hop', '1s', '--listen', '/ip4/127.0.0.1/tcp/0', '--json'], env)
    const registered = await serve.event('registered')
    expect(registered.private).toBe(true)
    const connect = startFara('fara connect', ['connect', 'web', '--private', '--listen', '127.0.0.1:0', '--json'], env)
    const port = (await connect.event('listening')).port as number
    const before = serve.lines.filter(l => l.json?.event === 'hop').length
    const started = Date.now()
    const { stdout } = await run('curl', ['-sS', '--fail', '--limit-rate', '2M', '--max-time', '60', `http://127.0.0.1:${port}/big.bin`], { encoding: 'buffer', maxBuffer: 32 * 1024 * 1024 })
    const hops = serve.lines.filter(l => l.json?.event === 'hop').slice(before).map(l => l.json!)
    expect(sha256(stdout)).toBe(sha256(big))
    expect(hops.length, `${Date.now() - started} ms\n${serve.transcript()}`).toBeGreaterThanOrEqual(3)
    // the window really moved: ports were closed and others opened along the way
    expect(hops.some(h => (h.closed as number[]).length > 0 && (h.opened as number[]).length > 0)).toBe(true)
  }, 90_000)

  it('refuses --hop without a listen host, and a bad interval, with one line and exit 2', async () => {
    const noHost = await run(process.execPath, [FARA_BIN, 'serve', 'x', '--forward', '127.0.0.1:1', '--hop', '--json'], { env }).catch((e: { code: number, stderr: string }) => e)
    expect((noHost as { code: number }).code).toBe(2)
    expect(String((noHost as { stderr: string }).stderr).trim().split('\n')).toHaveLength(1)
    const bad = await run(process.execPath, [FARA_BIN, 'serve', 'x', '--forward', '127.0.0.1:1', '--hop', '0.1s', '--listen', '/ip4/127.0.0.1/tcp/0', '--json'], { env }).catch((e: { code: number, stderr: string }) => e)
    expect((bad as { code: number }).code).toBe(2)
  })
})
