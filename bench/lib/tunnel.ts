// The command-line tunnel as a user runs it: `fara serve <name> --forward
// <host:port>` in front of a plain TCP server and `fara connect <name> --listen
// 127.0.0.1:0` giving a local port, each the real `fara` command
// (packages/cli/bin/fara.js) in its own process, run by the bench's Node, with
// a fresh home and keystore and the bench's rendezvous point.
import { mkdtemp, rm } from 'node:fs/promises'
import { readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { startWorker } from './process.ts'
import type { Worker } from './process.ts'

/** The `fara` program (it loads packages/cli/dist: the bench builds first). */
export const FARA_BIN = fileURLToPath(new URL('../../packages/cli/bin/fara.js', import.meta.url))

/** The name the tunnel's service registers. */
export const TUNNEL_NAME = 'bench-tunnel'

/** A running `fara serve` + `fara connect` pair. */
export interface Tunnel {
  /** The local port `fara connect --listen` accepts on. */
  port: number
  serve: Worker
  connect: Worker
  /** CPU time (user + system, ms) each `fara` process has used so far; NaN where /proc is not there. */
  cpuMs: () => { serve: number, connect: number }
  /** Stop both (SIGTERM: a clean stop, which writes a CPU profile if one was asked for). */
  stop: () => Promise<void>
}

const TICK_MS = 10 // USER_HZ is 100 on Linux

/** utime + stime of a process, in ms (clock ticks of 10 ms). */
function processCpuMs (pid: number | undefined): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ').map(Number)
    return (f[11]! + f[12]!) * TICK_MS
  } catch {
    return Number.NaN
  }
}

/** Start `fara serve` forwarding to `forward` (a TCP port on 127.0.0.1), then `fara connect --listen`. */
export async function startTunnel (init: { point: string[], forward: number, profileDir: string | null, env?: Record<string, string>, name?: string }): Promise<Tunnel> {
  const name = init.name ?? TUNNEL_NAME
  const home = await mkdtemp(join(tmpdir(), 'fara-bench-tunnel-'))
  // nothing of the caller's settings: a fresh home, the keystore in it, the bench's point
  const env = { HOME: home, XDG_CONFIG_HOME: join(home, 'config'), FARA_KEYSTORE: join(home, 'keys'), FARA_RENDEZVOUS: init.point.join(','), NO_COLOR: '1', ...init.env }
  const fara = (name: string, args: string[]): Worker => startWorker(`fara ${name}`, {}, {
    command: { file: FARA_BIN, args: [name, ...args, '--json'] },
    env,
    ...(init.profileDir == null ? {} : { nodeFlags: ['--cpu-prof', `--cpu-prof-dir=${init.profileDir}`, `--cpu-prof-name=tunnel-${name}.cpuprofile`] })
  })
  const serve = fara('serve', [name, '--forward', `127.0.0.1:${init.forward}`, '--listen', '/ip4/127.0.0.1/tcp/0'])
  let connect: Worker | undefined
  try {
    await serve.next(l => l.event === 'registered', 60_000)
    connect = fara('connect', [name, '--listen', '127.0.0.1:0'])
    const listening = await connect.next(l => l.event === 'listening', 60_000)
    const both = connect
    return {
      port: listening.port as number,
      serve,
      connect,
      cpuMs: () => ({ serve: processCpuMs(serve.child.pid), connect: processCpuMs(both.child.pid) }),
      stop: async () => {
        await Promise.all([serve.stop(), both.stop()])
        await rm(home, { recursive: true, force: true })
      }
    }
  } catch (err) {
    await Promise.all([serve.stop(), connect?.stop()])
    await rm(home, { recursive: true, force: true })
    throw err
  }
}
