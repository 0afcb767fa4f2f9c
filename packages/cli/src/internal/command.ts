import { ExitCode } from '../constants.ts'
import { GLOBAL_OPTIONS, checkMultiaddrs, listOf, stringOf } from './args.ts'
import { loadConfig, resolveSettings } from './config.ts'
import { BACKEND_OPTIONS, bootstrapFlagOf, checkRendezvousValues } from './backends.ts'
import type { OptionSpec, ParsedArgs } from './args.ts'
import type { Settings, SettingFlags } from './config.ts'
import type { Output, Styles } from './output.ts'
import type { Readable, Writable } from 'node:stream'

/** The streams a command reads and writes. */
export interface Io {
  stdin: Readable
  stdout: Writable
  stderr: Writable
}

/** Why a long-running command was asked to stop. */
export class StopRequest extends Error {
  static override name = 'StopRequest'
  override name = 'StopRequest'
  readonly signal: string
  constructor (signal: string) {
    super(`stopped by ${signal}`)
    this.signal = signal
  }
}

/** Everything a command runs with. */
export interface Context {
  command: string
  args: ParsedArgs
  env: Record<string, string | undefined>
  cwd: string
  io: Io
  out: Output
  /** Aborted (with a {@link StopRequest}) on SIGINT or SIGTERM. */
  signal: AbortSignal
  /** The settings: `flags` (from this command's options) > environment > config file > defaults. */
  settings: (flags?: SettingFlags) => Promise<Settings>
}

/** One `fara` subcommand. */
export interface Command {
  name: string
  /** One line for `fara --help`. */
  summary: string
  /** Usage lines, without the leading `fara `. */
  usage: string[]
  /** The lines of the description in `fara <command> --help`. */
  description: string[]
  /** The command's own options (the global ones are added). */
  options: Record<string, OptionSpec>
  /** `[command line, what it does]` pairs. */
  examples: Array<[string, string]>
  run: (ctx: Context) => Promise<ExitCode>
}

/** The exit code of a long-running command that stopped because it was asked to. */
export function exitAfterStop (signal: AbortSignal): ExitCode {
  return (signal.reason as StopRequest | undefined)?.signal === 'SIGINT' ? ExitCode.INTERRUPTED : ExitCode.OK
}

/** Resolves when `signal` is aborted. */
export async function untilAborted (signal: AbortSignal): Promise<void> {
  if (signal.aborted) return
  await new Promise<void>(resolve => { signal.addEventListener('abort', () => { resolve() }, { once: true }) })
}

/** Wait `ms`, or less if `signal` is aborted first (a backoff between retries, not a synchronisation). */
export async function pause (ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return
  await new Promise<void>(resolve => {
    const done = (): void => { clearTimeout(timer); signal.removeEventListener('abort', done); resolve() }
    const timer = setTimeout(done, ms)
    signal.addEventListener('abort', done, { once: true })
  })
}

/** Options every command that talks to a rendezvous point takes. */
export const RENDEZVOUS_OPTIONS: Record<string, OptionSpec> = {
  rendezvous: { type: 'string', short: 'r', multiple: true, value: '<multiaddr>', help: 'rendezvous point address(es), ending in /p2p/<id>; or dns://<server[:port]>/<zone>?tsig=<file> (a DNS zone); or dht (with --bootstrap) (env FARA_RENDEZVOUS)' },
  ...BACKEND_OPTIONS
}

/** Options of commands that use the keystore. */
export const KEYSTORE_OPTIONS: Record<string, OptionSpec> = {
  keystore: { type: 'string', value: '<dir>', help: 'keystore directory (env FARA_KEYSTORE; default $XDG_DATA_HOME/fara/keystore)' },
  'passphrase-file': { type: 'string', value: '<file>', help: 'file holding the keystore passphrase (or env FARA_PASSPHRASE); none: a plain key directory' }
}

/** Options of commands that look up or serve a private name. */
export const PRIVATE_OPTIONS: Record<string, OptionSpec> = {
  private: { type: 'boolean', help: 'a private name: the rendezvous learns neither the name nor the address' },
  secret: { type: 'string', value: '<secret>', help: 'private name with an invite secret (implies --private; env FARA_SECRET)' }
}

/** The setting flags a command's parsed options carry (only those it declares). */
export function settingFlagsOf (command: string, args: ParsedArgs): SettingFlags {
  const rendezvous = listOf(args, 'rendezvous')
  const relays = listOf(args, 'relay')
  return {
    rendezvous: rendezvous == null ? undefined : checkRendezvousValues(command, rendezvous),
    bootstrap: bootstrapFlagOf(command, args),
    keystore: stringOf(args, 'keystore'),
    passphraseFile: stringOf(args, 'passphrase-file'),
    relays: relays == null ? undefined : checkMultiaddrs(command, '--relay', relays, true),
    dataDir: stringOf(args, 'data-dir'),
    secret: stringOf(args, 'secret')
  }
}

/** Build the settings loader of a context. */
export function settingsLoader (configFlag: string | undefined, env: Record<string, string | undefined>, cwd: string): (flags?: SettingFlags) => Promise<Settings> {
  return async (flags = {}) => resolveSettings(flags, env, await loadConfig(configFlag, env, cwd), cwd)
}

/** `fara <command> --help`. */
export function commandHelp (command: Command, s: Styles): string {
  const options = { ...command.options, ...GLOBAL_OPTIONS }
  const rows = Object.entries(options).map(([name, o]) => {
    const flag = `${o.short == null ? '    ' : `-${o.short}, `}--${name}${o.value == null ? '' : ` ${o.value}`}`
    return [flag, o.help + (o.multiple === true ? ' (repeatable)' : '')] as const
  })
  const width = Math.max(...rows.map(([f]) => f.length))
  return [
    `${s.bold('Usage:')} ${command.usage.map(u => `fara ${u}`).join('\n       ')}`,
    '',
    ...command.description,
    '',
    s.bold('Options:'),
    ...rows.map(([f, h]) => `  ${f.padEnd(width)}  ${h}`),
    '',
    s.bold('Examples:'),
    ...command.examples.flatMap(([line, what]) => [`  ${s.dim(`# ${what}`)}`, `  ${line}`]),
    ''
  ].join('\n')
}
