import { readFileSync } from 'node:fs'
import { ExitCode } from './constants.ts'
import { UsageError } from './errors.ts'
import { GLOBAL_OPTIONS, parseCommandLine, stringOf } from './internal/args.ts'
import { commandHelp, settingsLoader } from './internal/command.ts'
import { describeFailure } from './internal/failure.ts'
import { Output } from './internal/output.ts'
import { verbose } from './internal/verbose.ts'
import { config } from './commands/config.ts'
import { connect } from './commands/connect.ts'
import { demo } from './commands/demo.ts'
import { id } from './commands/id.ts'
import { rendezvous } from './commands/rendezvous.ts'
import { resolve } from './commands/resolve.ts'
import { serve } from './commands/serve.ts'
import { tcpmux } from './commands/tcpmux.ts'
import { up } from './commands/up.ts'
import type { Command, Context } from './internal/command.ts'
import type { Styles } from './internal/output.ts'
import type { Readable, Writable } from 'node:stream'

/** Options for {@link run}: where the command reads and writes, and what stops it. */
export interface RunOptions {
  /** Environment variables (default `process.env`). */
  env?: Record<string, string | undefined>
  /** Directory relative paths are resolved against (default `process.cwd()`). */
  cwd?: string
  stdin?: Readable
  stdout?: Writable
  stderr?: Writable
  /** Aborting it stops a long-running command cleanly; a `reason` with `signal: 'SIGINT'` makes it exit 130. */
  signal?: AbortSignal
}

const COMMANDS: Command[] = [rendezvous, serve, up, connect, resolve, tcpmux, id, config, demo]

/** The version in this package's package.json. */
export function version (): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
  return pkg.version
}

function topHelp (s: Styles): string {
  const width = Math.max(...COMMANDS.map(c => c.name.length))
  return [
    `${s.bold('fara')} — reach TCP services by name instead of a well-known port (encrypted, behind NAT)`,
    '',
    `${s.bold('Usage:')} fara <command> [options]`,
    '',
    s.bold('Commands:'),
    ...COMMANDS.map(c => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    `Every command takes --help (with examples), --json, --config <file> and --verbose (the lifecycle log on stderr).`,
    `Settings: flags > environment (FARA_RENDEZVOUS, FARA_KEYSTORE, FARA_PASSPHRASE, …) > config file > defaults.`,
    `Exit codes: 0 ok, 1 failure, 2 usage, 3 name not found, 4 unreachable, 5 refused, 6 keystore, 130 interrupted.`,
    '',
    s.bold('Example:'),
    `  ${s.dim('# on a server')}`,
    '  fara rendezvous                                   # prints FARA_RENDEZVOUS=…',
    '  fara serve web --forward 127.0.0.1:8000',
    `  ${s.dim('# anywhere else')}`,
    '  fara connect web --listen 127.0.0.1:8080',
    '  curl http://127.0.0.1:8080/',
    ''
  ].join('\n')
}

/**
 * Run the `fara` command line `argv` (without `node` and the script) and
 * resolve with its exit code. Nothing here calls `process.exit`: the `fara`
 * binary does that with the code this returns.
 */
export async function run (argv: string[], options: RunOptions = {}): Promise<ExitCode> {
  const io = { stdin: options.stdin ?? process.stdin, stdout: options.stdout ?? process.stdout, stderr: options.stderr ?? process.stderr }
  const env = options.env ?? process.env
  const cwd = options.cwd ?? process.cwd()
  const signal = options.signal ?? new AbortController().signal
  const [first, ...rest] = argv
  const command = COMMANDS.find(c => c.name === first)
  const wantsJson = argv.includes('--json')
  const out = new Output({ json: wantsJson, stdout: io.stdout, stderr: io.stderr, env, command: command?.name ?? '' })
  if (first === '--version' || first === '-V' || first === 'version') {
    out.result('version', { version: version() }, `fara ${version()}`)
    return ExitCode.OK
  }
  if (first === '--help' || first === '-h') {
    io.stdout.write(topHelp(out.out))
    return ExitCode.OK
  }
  if (first === 'help') {
    const about = COMMANDS.find(c => c.name === rest[0])
    if (rest[0] != null && about == null) {
      out.error(UsageError.name, `unknown command ${JSON.stringify(rest[0])}`, ExitCode.USAGE, 'see fara --help')
      return ExitCode.USAGE
    }
    io.stdout.write(about == null ? topHelp(out.out) : commandHelp(about, out.out))
    return ExitCode.OK
  }
  if (first == null) {
    io.stderr.write(topHelp(out.err))
    return ExitCode.USAGE
  }
  if (command == null) {
    out.error(UsageError.name, first.startsWith('-') ? `expected a command before ${first}` : `unknown command ${JSON.stringify(first)}`, ExitCode.USAGE, 'see fara --help')
    return ExitCode.USAGE
  }
  let name: string | undefined
  try {
    const args = parseCommandLine(command.name, rest, { ...command.options, ...GLOBAL_OPTIONS })
    if (args.values.help === true) {
      io.stdout.write(commandHelp(command, out.out))
      return ExitCode.OK
    }
    name = args.positionals[0]
    if (args.values.verbose === true) await verbose()
    const ctx: Context = { command: command.name, args, env, cwd, io, out, signal, settings: settingsLoader(stringOf(args, 'config'), env, cwd) }
    return await command.run(ctx) as ExitCode
  } catch (err) {
    if (signal.aborted && (err as Error)?.name !== UsageError.name) {
      // a stop requested while starting: not a failure
      return (signal.reason as { signal?: string } | undefined)?.signal === 'SIGINT' ? ExitCode.INTERRUPTED : ExitCode.OK
    }
    const failure = describeFailure(err, name == null ? {} : { name })
    const hint = (err as Error)?.name === UsageError.name ? `see fara ${command.name} --help` : failure.hint
    out.error(failure.name, failure.message, failure.exit, hint)
    return failure.exit
  }
}
