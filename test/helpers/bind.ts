// A real BIND 9 for tests: `named -g` in the foreground on 127.0.0.1 and a
// free port (UDP and TCP), one dynamic zone that a TSIG key may update, all
// files in a fresh temporary directory. Readiness is a real SOA answer.
import { spawn, spawnSync } from 'node:child_process'
import { Resolver } from 'node:dns/promises'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort, hasCommand, until } from '@fara/testkit'
import type { ChildProcess } from 'node:child_process'

/** The programs a BIND test needs (Debian: bind9, bind9-utils, bind9-dnsutils). */
const TOOLS = ['named', 'tsig-keygen', 'nsupdate', 'dig'] as const

/** What is missing to run BIND tests, or `''`. */
export const bindMissing = TOOLS.filter(t => !hasCommand(t)).join(', ')

/**
 * True if BIND tests can run. Under `FARA_REQUIRE_DAEMONS=1` (CI) a missing
 * tool throws instead; otherwise it prints why `what` is skipped.
 */
export function bindAvailable (what: string): boolean {
  if (bindMissing === '') return true
  if (process.env.FARA_REQUIRE_DAEMONS === '1') throw new Error(`${what} required (FARA_REQUIRE_DAEMONS=1) but ${bindMissing} missing (apt-get install bind9 bind9-utils bind9-dnsutils)`)
  console.warn(`SKIPPING ${what}: needs ${bindMissing} (apt-get install bind9 bind9-utils bind9-dnsutils)`)
  return false
}

/** A TSIG key as `tsig-keygen` makes it. */
export interface BindKey { name: string, algorithm: 'hmac-sha256', secret: string, text: string }

/** A running named. */
export interface Bind {
  /** `'127.0.0.1:<port>'`. */
  server: string
  port: number
  zone: string
  /** The key the zone allows updates from. */
  key: BindKey
  dir: string
  /** Run dig against this server; returns stdout (throws on a non-zero exit). */
  dig: (...args: string[]) => string
  /** Run nsupdate with `-y` and this server's key; `script` lacks `server`/`send`, which are added. */
  nsupdate: (script: string, key?: BindKey) => { status: number | null, stdout: string, stderr: string }
  /** named's log so far (stderr of `named -g`). */
  log: () => string
  stop: () => Promise<void>
}

/** Make a key with `tsig-keygen -a hmac-sha256 <name>` and read it back. */
export function tsigKeygen (name: string): BindKey {
  const out = spawnSync('tsig-keygen', ['-a', 'hmac-sha256', name], { encoding: 'utf8' })
  if (out.status !== 0) throw new Error(`tsig-keygen failed: ${out.stderr}`)
  const secret = /secret "([^"]+)"/.exec(out.stdout)?.[1]
  if (secret == null) throw new Error(`tsig-keygen printed no secret: ${out.stdout}`)
  return { name, algorithm: 'hmac-sha256', secret, text: out.stdout }
}

/**
 * Start named for `zone` (default `fara.test`) with a fresh key; resolves once it answers the zone's SOA.
 * `allowTransfer`: answer AXFR from 127.0.0.1 (the whole zone, as its operator or a secondary sees it); otherwise BIND's default.
 */
export async function startBind (init: { zone?: string, keyName?: string, allowTransfer?: boolean } = {}): Promise<Bind> {
  const zone = init.zone ?? 'fara.test'
  const key = tsigKeygen(init.keyName ?? 'fara-test-key')
  const dir = await mkdtemp(join(tmpdir(), 'fara-bind-'))
  const port = await freePort({ protocol: 'both' })
  await writeFile(join(dir, 'key.conf'), key.text)
  await writeFile(join(dir, `${zone}.db`), [
    '$TTL 60',
    `@ IN SOA ns.${zone}. hostmaster.${zone}. 1 3600 600 86400 60`,
    `@ IN NS ns.${zone}.`,
    'ns IN A 127.0.0.1',
    ''
  ].join('\n'))
  await writeFile(join(dir, 'named.conf'), `
include "${dir}/key.conf";
options {
  directory "${dir}";
  pid-file "${dir}/named.pid";
  session-keyfile "${dir}/session.key";
  managed-keys-directory "${dir}";
  listen-on port ${port} { 127.0.0.1; };
  listen-on-v6 { none; };
  recursion no;
  notify no;
};
controls { };
zone "${zone}" { type primary; file "${dir}/${zone}.db"; allow-update { key "${key.name}"; };${init.allowTransfer === true ? ' allow-transfer { 127.0.0.1; };' : ''} };
`)
  // -g: foreground, log to stderr; no -u: stay root (the directory is root's); -n 1: one worker is plenty
  const child: ChildProcess = spawn('named', ['-g', '-n', '1', '-c', join(dir, 'named.conf')], { stdio: ['ignore', 'ignore', 'pipe'] })
  let log = ''
  child.stderr!.on('data', (d: Buffer) => { log = (log + d.toString()).slice(-64_000) })
  const exited = new Promise<void>(resolve => { child.on('exit', () => { resolve() }) })
  const stop = async (): Promise<void> => {
    if (child.exitCode == null && child.signalCode == null) {
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000)
      await exited
      clearTimeout(timer)
    }
    await rm(dir, { recursive: true, force: true })
  }
  // ready when it answers the zone's SOA (an independent client: node:dns)
  const resolver = new Resolver({ timeout: 200, tries: 1 })
  resolver.setServers([`127.0.0.1:${port}`])
  try {
    await until(async () => {
      if (child.exitCode != null || child.signalCode != null) throw new Error(`named exited (${child.exitCode ?? child.signalCode}) before answering`)
      return resolver.resolveSoa(zone).then(() => true, () => false)
    }, `named to answer SOA ${zone} on port ${port}`, { timeoutMs: 15_000, intervalMs: 50 })
  } catch (err) {
    await stop()
    throw new Error(`${(err as Error).message}; log:\n${log}`)
  }
  const dig = (...args: string[]): string => {
    const out = spawnSync('dig', ['@127.0.0.1', '-p', String(port), '+time=2', '+tries=1', ...args], { encoding: 'utf8' })
    if (out.status !== 0) throw new Error(`dig ${args.join(' ')} failed (${out.status}): ${out.stdout}${out.stderr}`)
    return out.stdout
  }
  const nsupdate = (script: string, k: BindKey = key): { status: number | null, stdout: string, stderr: string } => {
    const input = `server 127.0.0.1 ${port}\nzone ${zone}\n${script}\nsend\n`
    const out = spawnSync('nsupdate', ['-y', `hmac-sha256:${k.name}:${k.secret}`], { input, encoding: 'utf8' })
    return { status: out.status, stdout: out.stdout, stderr: out.stderr }
  }
  return { server: `127.0.0.1:${port}`, port, zone, key, dir, dig, nsupdate, log: () => log, stop }
}
