// The TCPMUX daemons Debian ships, for the tests that run them (tcpmux-daemons, cli-tcpmux):
// where they are, an xinetd config with TCPMUX services, and a daemon started in the
// foreground that counts as up once its port listens (polling `ss`, with a deadline).
import { spawnSync } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { hasCommand, until } from '@fara/testkit'
import { startProgram } from '../fixtures/cli-process.ts'
import type { Program } from '../fixtures/cli-process.ts'

/** The first of `names` that runs: a command on the PATH, or an executable file (sbin directories may be off a minimal PATH). */
export const which = (names: string[]): string | undefined => names.find(p => hasCommand(p) || spawnSync('test', ['-x', p]).status === 0)

/** xinetd, if installed. */
export const XINETD = which(['xinetd', '/usr/local/sbin/xinetd', '/usr/sbin/xinetd'])

/** What {@link xinetdConfig} writes. */
export interface XinetdInit {
  /** Its log goes to `<dir>/xinetd.log`. */
  dir: string
  /** The internal tcpmux service's port, on 127.0.0.1. */
  port: number
  /** A TCPMUXPLUS service: xinetd answers `+Go`, then /bin/cat echoes. */
  plus: string
  /** The program behind the TCPMUX service `fara-self`: it sends the positive reply itself. */
  backend: string
}

/** An xinetd config: the internal tcpmux service, `plus` and `fara-self`. */
export function xinetdConfig (init: XinetdInit): string {
  // TCPMUX services must be UNLISTED, or xinetd drops them; the internal tcpmux takes `port =` only when UNLISTED
  return `defaults
{
  log_type = FILE ${join(init.dir, 'xinetd.log')}
  cps = 1000 1
}
service tcpmux
{
  type = INTERNAL UNLISTED
  id = tcpmux
  socket_type = stream
  protocol = tcp
  user = root
  wait = no
  port = ${init.port}
  bind = 127.0.0.1
}
service ${init.plus}
{
  type = UNLISTED TCPMUXPLUS
  socket_type = stream
  protocol = tcp
  wait = no
  user = nobody
  server = /bin/cat
}
service fara-self
{
  type = UNLISTED TCPMUX
  socket_type = stream
  protocol = tcp
  wait = no
  user = nobody
  server = ${init.backend}
}
`
}

/** Whether something listens on TCP `port`, as `ss` sees it (in the network namespace of process `pid`, if given). */
function listening (port: number, pid?: number): boolean {
  const ss = ['ss', '-Hltn', `sport = :${port}`]
  const argv = pid == null ? ss : ['nsenter', `--net=/proc/${pid}/ns/net`, ...ss]
  return spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8' }).stdout.trim() !== ''
}

/** Options for {@link startDaemon}. */
export interface DaemonOptions {
  /** The daemon runs in its own network namespace: look for the port there. */
  ownNetns?: boolean
  /** Its log file, quoted when it fails to come up. */
  log?: string
}

/** Start `argv` in the foreground; resolves once it listens on TCP `port`, fails (and stops it) if it exits first or takes over 10 s. */
export async function startDaemon (name: string, argv: string[], port: number, options: DaemonOptions = {}): Promise<Program> {
  const daemon = startProgram(name, argv[0]!, argv.slice(1))
  try {
    await until(() => {
      if (daemon.child.exitCode != null) throw new Error(`${name} exited (${daemon.child.exitCode}) before listening on ${port}`)
      return listening(port, options.ownNetns === true ? daemon.child.pid : undefined)
    }, `${name} to listen on ${port}`, { timeoutMs: 10_000, intervalMs: 25 })
  } catch (err) {
    await daemon.stop()
    const log = options.log == null ? '' : await readFile(options.log, 'utf8').catch(() => '')
    throw new Error(`${(err as Error).message}:\n${daemon.transcript()}\n${log}`)
  }
  return daemon
}
