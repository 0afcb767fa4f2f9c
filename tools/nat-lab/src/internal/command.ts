// Synchronous command helpers: building and tearing down a lab is a short, ordered list of
// `ip`, `sysctl`, `ipset` and `iptables-restore` calls, and teardown must also run inside
// process.on('exit'), where only synchronous work happens.
import { spawnSync } from 'node:child_process'
import { LabCommandError } from '../errors.ts'

/** What a finished command left behind (as spawnSync reports it). */
export interface ExecResult {
  /** Exit status; null when killed by a signal or when it could not start. */
  status: number | null
  stdout: string
  stderr: string
}

/** Run `argv` and report how it went; never throws. */
export function run (argv: readonly string[], input?: string): ExecResult {
  const [file, ...args] = argv
  if (file == null) throw new TypeError('argv must name a program')
  const r = spawnSync(file, args, { encoding: 'utf8', input: input ?? '', timeout: 30_000 })
  return { status: r.status, stdout: r.stdout ?? '', stderr: (r.stderr ?? '') + (r.error == null ? '' : String(r.error)) }
}

/** Run `argv`; throw LabCommandError unless it exits 0. Returns its stdout. */
export function must (argv: readonly string[], input?: string): string {
  const r = run(argv, input)
  if (r.status !== 0) throw new LabCommandError(argv, r.status, r.stderr.slice(-2000))
  return r.stdout
}

/** The argv that runs `argv` inside namespace `ns`. */
export function inNs (ns: string, argv: readonly string[]): string[] {
  return ['ip', 'netns', 'exec', ns, ...argv]
}

/** True when `program --version`-like `argv` runs. */
export function works (argv: readonly string[]): boolean {
  return run(argv).status === 0
}
