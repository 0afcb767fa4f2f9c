// Real tools the tests run as observers or helpers: tcpdump and a STUN server (coturn).
import { spawn, spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { until } from '@fara/testkit'
import type { ChildProcess } from 'node:child_process'

/** `argv` as is, or inside a network namespace. */
function inNetns (netns: string | undefined, argv: string[]): [string, string[]] {
  const full = netns == null ? argv : ['ip', 'netns', 'exec', netns, ...argv]
  return [full[0]!, full.slice(1)]
}

/** A running tcpdump writing a pcap file. */
export interface Tcpdump { child: ChildProcess, file: string, stop: () => Promise<void> }

/** Capture TCP on `iface` into `file`; resolves once tcpdump says the capture is active. */
export async function startTcpdump (init: { file: string, iface: string, netns?: string }): Promise<Tcpdump> {
  const [cmd, args] = inNetns(init.netns, ['tcpdump', '-i', init.iface, '-n', '-U', '-B', '32768', '-s', '0', '-w', init.file, 'tcp'])
  const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] })
  const exited = new Promise<void>(resolve => child.on('exit', () => { resolve() }))
  // tcpdump says "listening on <iface>" once the capture is active: only then is it an observer
  await new Promise<void>((resolve, reject) => {
    let err = ''
    child.stderr!.on('data', (d: Buffer) => { err += d.toString(); if (err.includes('listening on')) resolve() })
    child.on('exit', (code) => { reject(new Error(`tcpdump exited (${code}): ${err}`)) })
  })
  return { child, file: init.file, stop: async () => { child.kill('SIGINT'); await exited } }
}

/** A STUN server (coturn, STUN only). */
export interface Stun { url: string, stop: () => Promise<void> }

/**
 * Start coturn as a STUN server on `address:port` (in `netns` if given) and
 * resolve once its UDP socket is bound, polling `ss` with a deadline.
 */
export async function startStun (init: { address: string, port?: number, dir: string, netns?: string }): Promise<Stun> {
  const port = init.port ?? 3478
  const [cmd, args] = inNetns(init.netns, ['turnserver', '-n', '--listening-ip', init.address, '--listening-port', String(port),
    '--stun-only', '--no-cli', '--no-tls', '--no-dtls', '--log-file', 'stdout', '--simple-log', '--pidfile', join(init.dir, 'turnserver.pid')])
  const child = spawn(cmd, args, { stdio: 'ignore' })
  const exited = new Promise<void>(resolve => child.on('exit', () => { resolve() }))
  const [ssCmd, ssArgs] = inNetns(init.netns, ['ss', '-Hlun', `sport = :${port}`])
  try {
    await until(() => {
      if (child.exitCode != null) throw new Error(`turnserver exited (${child.exitCode}) before binding ${init.address}:${port}`)
      return spawnSync(ssCmd, ssArgs, { encoding: 'utf8' }).stdout.trim() !== ''
    }, `turnserver to bind ${init.address}:${port}`, { timeoutMs: 10_000, intervalMs: 50 })
  } catch (err) {
    child.kill()
    throw err
  }
  return { url: `stun:${init.address}:${port}`, stop: async () => { if (child.exitCode == null) { child.kill(); await exited } } }
}
