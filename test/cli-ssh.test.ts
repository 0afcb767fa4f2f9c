// OpenSSH through Fara: a real sshd behind `fara serve`, and a real ssh client that reaches it with
// `fara connect` as its ProxyCommand (stdin/stdout mode) — each in its own process.
// Needs openssh-server (sshd) and openssh-client; FARA_SSHD names another sshd binary.
import { execFile, spawn } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir, userInfo } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { freePort, hasCommand } from '@fara/testkit'
import { FARA_BIN, startFara, startProgram, stopAllPrograms } from './fixtures/cli-process.ts'

const run = promisify(execFile)
const SSHD = process.env.FARA_SSHD ?? '/usr/sbin/sshd'
const missing = [
  hasCommand(SSHD) ? '' : `sshd at ${SSHD} (apt-get install openssh-server)`,
  hasCommand('ssh') && hasCommand('ssh-keygen') ? '' : 'ssh and ssh-keygen (apt-get install openssh-client)'
].filter(Boolean).join(' and ')
if (missing !== '') {
  if (process.env.FARA_REQUIRE_DAEMONS === '1') throw new Error(`ssh-through-fara test required (FARA_REQUIRE_DAEMONS=1) but ${missing} missing`)
  console.warn(`SKIPPING ssh-through-fara test: needs ${missing}`)
}

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex')

/** Run ssh with `stdin` as its input; resolves with its exit code and output. */
async function ssh (args: string[], stdin: Uint8Array, env: Record<string, string>): Promise<{ code: number | null, stdout: Buffer, stderr: string }> {
  const child = spawn('ssh', args, { env, stdio: ['pipe', 'pipe', 'pipe'] })
  const out: Buffer[] = []
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => out.push(d))
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
  child.stdin.end(stdin)
  const [code] = await once(child, 'exit') as [number | null]
  return { code, stdout: Buffer.concat(out), stderr }
}

describe.skipIf(missing !== '')(`ssh with \`fara connect\` as ProxyCommand${missing === '' ? '' : ` — skipped: needs ${missing}`}`, () => {
  let dir: string
  let env: Record<string, string>
  let sshArgs: string[]
  const user = userInfo().username

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fara-cli-ssh-'))
    env = { PATH: process.env.PATH ?? '', HOME: dir, XDG_CONFIG_HOME: join(dir, 'config'), FARA_KEYSTORE: join(dir, 'keys') }
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'host_key')])
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'user_key')])
    await writeFile(join(dir, 'authorized_keys'), await readFile(join(dir, 'user_key.pub')))
    const port = await freePort()
    await writeFile(join(dir, 'sshd_config'), [
      `Port ${port}`, 'ListenAddress 127.0.0.1', `HostKey ${join(dir, 'host_key')}`, `PidFile ${join(dir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`, 'StrictModes no', 'UsePAM no', 'PasswordAuthentication no',
      'KbdInteractiveAuthentication no', 'PubkeyAuthentication yes', 'PermitRootLogin prohibit-password', ''
    ].join('\n'))
    // as root, sshd wants its privilege separation directory (systemd usually makes it)
    if (process.getuid?.() === 0 && await stat('/run/sshd').then(() => false, () => true)) await mkdir('/run/sshd', { mode: 0o755 })
    const sshd = startProgram('sshd', SSHD, ['-D', '-e', '-f', join(dir, 'sshd_config')])
    await sshd.line(l => l.text.includes(`Server listening on 127.0.0.1 port ${port}`))

    const point = startFara('fara rendezvous', ['rendezvous', '--memory', '--listen', '/ip4/127.0.0.1/tcp/0', '--json'], env)
    env.FARA_RENDEZVOUS = ((await point.event('ready')).multiaddrs as string[]).join(',')
    const serve = startFara('fara serve', ['serve', 'ssh-svc', '--forward', `127.0.0.1:${port}`, '--listen', '/ip4/127.0.0.1/tcp/0', '--json'], env)
    await serve.event('registered')

    sshArgs = [
      '-F', '/dev/null', '-i', join(dir, 'user_key'), '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes',
      '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR',
      // the host name ssh is given is the service name: %h
      '-o', `ProxyCommand=${process.execPath} ${FARA_BIN} connect %h`, '-l', user, 'ssh-svc'
    ]
  })

  afterAll(async () => {
    await stopAllPrograms()
    if (dir != null) await rm(dir, { recursive: true, force: true })
  })

  it('runs a command on the sshd behind `fara serve`', async () => {
    const marker = `fara-ssh-${randomBytes(6).toString('hex')}`
    const r = await ssh([...sshArgs, 'echo', marker], new Uint8Array(), env)
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout.toString().trim()).toBe(marker)
  })

  it('carries 4 MiB through ssh both ways intact (cat)', async () => {
    const data = randomBytes(4 * 1024 * 1024)
    const r = await ssh([...sshArgs, 'cat'], data, env)
    expect(r.code, r.stderr).toBe(0)
    expect(sha256(r.stdout)).toBe(sha256(data))
  })
})
