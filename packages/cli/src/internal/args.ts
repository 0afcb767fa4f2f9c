import { isIP } from 'node:net'
import { parseArgs } from 'node:util'
import { isServiceName } from '@fara/identity'
import { APP_NAME_PATTERN } from '@fara/identity/constants'
import { multiaddr } from '@multiformats/multiaddr'
import { UsageError } from '../errors.ts'

/** One option of a command, as `node:util` parseArgs takes it, plus what `--help` says about it. */
export interface OptionSpec {
  type: 'string' | 'boolean'
  short?: string
  multiple?: boolean
  /** Placeholder shown in `--help` for a string option, e.g. `<host:port>`. */
  value?: string
  help: string
  /**
   * A string option whose value may be left out (`--hop` or `--hop 30s`): the
   * next argument is its value only if it matches `pattern`; otherwise the
   * option takes `value`.
   */
  optional?: { value: string, pattern: RegExp }
}

/** The parsed command line of one command. */
export interface ParsedArgs {
  values: Record<string, string | boolean | string[] | boolean[] | undefined>
  positionals: string[]
}

/** Options every command takes. */
export const GLOBAL_OPTIONS: Record<string, OptionSpec> = {
  config: { type: 'string', value: '<file>', help: 'config file (default $FARA_CONFIG, else $XDG_CONFIG_HOME/fara/config.json)' },
  json: { type: 'boolean', help: 'one JSON object per line on stdout instead of human output' },
  verbose: { type: 'boolean', short: 'v', help: 'log the lifecycle (register, resolve, dial, open, refuse, …) on stderr, as DEBUG=fara* does' },
  help: { type: 'boolean', short: 'h', help: 'show this help' }
}

/** The option after `--`, cut from one of parseArgs' messages (they quote it). */
function optionIn (message: string): string | undefined {
  return /'(?:-\w, )?(-{1,2}[^' ,]+)/.exec(message)?.[1]
}

/** Parse `argv` against `options`; a bad command line throws {@link UsageError} naming the option. */
export function parseCommandLine (command: string, argv: string[], options: Record<string, OptionSpec>): ParsedArgs {
  const config = Object.fromEntries(Object.entries(options).map(([name, o]) => [name, {
    type: o.type, ...(o.short == null ? {} : { short: o.short }), ...(o.multiple === true ? { multiple: true } : {})
  }]))
  // an option with an optional value and none after it gets its default, written as --name=value
  const optional = new Map(Object.entries(options).filter(([, o]) => o.optional != null).map(([name, o]) => [`--${name}`, o.optional!]))
  if (optional.size > 0) {
    argv = argv.map((arg, i) => {
      const o = optional.get(arg)
      const next = argv[i + 1]
      return o == null || (next != null && o.pattern.test(next)) ? arg : `${arg}=${o.value}`
    })
  }
  try {
    const { values, positionals } = parseArgs({ args: argv, options: config, allowPositionals: true, strict: true })
    return { values: values as ParsedArgs['values'], positionals }
  } catch (err) {
    const e = err as Error & { code?: string }
    const option = optionIn(e.message)
    switch (e.code) {
      case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
        throw new UsageError(`unknown option ${option ?? ''}`.trim(), command)
      case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
        throw new UsageError(e.message.includes('does not take')
          ? `option ${option ?? ''} takes no value`
          : `option ${option ?? ''} needs a value`, command)
      case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
        throw new UsageError('unexpected argument', command)
      default:
        throw new UsageError(e.message.split('. ')[0] ?? 'bad command line', command)
    }
  }
}

/** Exactly the positionals named in `names` (the last ones optional from `min` on). */
export function positionalsOf (command: string, positionals: string[], names: string[], min = names.length): Array<string | undefined> {
  if (positionals.length < min) throw new UsageError(`missing ${names.slice(positionals.length, min).map(n => `<${n}>`).join(' ')}`, command)
  if (positionals.length > names.length) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[names.length])}`, command)
  return names.map((_, i) => positionals[i])
}

/** A string option's value (the last one if given twice). */
export function stringOf (args: ParsedArgs, name: string): string | undefined {
  const v = args.values[name]
  if (Array.isArray(v)) return v.at(-1) as string | undefined
  return typeof v === 'string' ? v : undefined
}

/** A repeatable string option's values; each may also hold a comma-separated list. */
export function listOf (args: ParsedArgs, name: string): string[] | undefined {
  const v = args.values[name]
  if (v == null) return undefined
  return splitList((Array.isArray(v) ? v : [v]).map(String).join(','))
}

/** `a, b,,c` → `['a', 'b', 'c']`. */
export function splitList (value: string): string[] {
  return value.split(',').map(s => s.trim()).filter(s => s.length > 0)
}

/** A boolean option's value. */
export function flagOf (args: ParsedArgs, name: string): boolean {
  return args.values[name] === true
}

/** A TCP endpoint given as `host:port` (`[v6]:port` for IPv6). */
export interface HostPort { host: string, port: number }

/**
 * Parse `host:port` (or `[::1]:port`, or a bare `port` meaning 127.0.0.1).
 * `allowZero` admits port 0 (an OS-assigned port, for listening).
 */
export function parseHostPort (command: string, option: string, value: string, allowZero: boolean): HostPort {
  const bad = (why: string): UsageError => new UsageError(`${option} must be host:port (${why}), got ${quoted(value)}`, command)
  let host: string
  let portText: string
  const v6 = /^\[([^\]]*)\]:(\d+)$/.exec(value)
  if (v6 != null) {
    host = v6[1]!
    portText = v6[2]!
    if (isIP(host) !== 6) throw bad('not an IPv6 address')
  } else if (/^\d+$/.test(value)) {
    host = '127.0.0.1'
    portText = value
  } else {
    const i = value.lastIndexOf(':')
    if (i <= 0) throw bad('no port')
    host = value.slice(0, i)
    portText = value.slice(i + 1)
    if (host.includes(':')) throw bad('write an IPv6 address in brackets: [::1]:22')
    if (isIP(host) === 0 && !/^[a-zA-Z0-9]([a-zA-Z0-9.-]{0,252})$/.test(host)) throw bad('not a host name or address')
  }
  if (!/^\d{1,5}$/.test(portText)) throw bad('port is not a number')
  const port = Number(portText)
  if (port > 65535 || (port === 0 && !allowZero)) throw bad(`port must be ${allowZero ? '0' : '1'} to 65535`)
  return { host, port }
}

/** `host:port` as it is written back (brackets around IPv6). */
export function formatHostPort ({ host, port }: HostPort): string {
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`
}

/** Every value must parse as a multiaddr; with `peer`, each must also end in `/p2p/<peer id>`. */
export function checkMultiaddrs (command: string, what: string, values: string[], peer: boolean): string[] {
  for (const value of values) {
    let components
    try {
      components = multiaddr(value).getComponents()
    } catch (err) {
      throw new UsageError(`${what}: ${quoted(value)} is not a multiaddr (${(err as Error).message})`, command)
    }
    if (peer && components.at(-1)?.name !== 'p2p') throw new UsageError(`${what}: ${quoted(value)} must end in /p2p/<peer id>`, command)
  }
  return values
}

/** A service name the rendezvous accepts (human-friendly or self-certifying). */
export function checkServiceName (command: string, name: string): string {
  if (!isServiceName(name)) {
    throw new UsageError(`<name> must be 1 to 63 of a-z 0-9 . _ - starting with a letter or digit, or a self-certifying name (fara id show), got ${quoted(name)}`, command)
  }
  return name
}

/** An application name (one key each). */
export function checkAppName (command: string, option: string, app: string): string {
  if (!APP_NAME_PATTERN.test(app)) throw new UsageError(`${option} must match ${String(APP_NAME_PATTERN)}, got ${quoted(app)}`, command)
  return app
}

/** A positive integer option. */
export function intOf (command: string, args: ParsedArgs, name: string, min: number, max: number): number | undefined {
  const v = stringOf(args, name)
  if (v == null) return undefined
  const n = Number(v)
  if (!/^\d+$/.test(v) || n < min || n > max) throw new UsageError(`--${name} must be an integer from ${min} to ${max}, got ${quoted(v)}`, command)
  return n
}

/** `value` as JSON for an error line, cut to 80 characters (a 5,000-character argument is not echoed back whole). */
export function quoted (value: string, max = 80): string {
  return value.length <= max ? JSON.stringify(value) : `${JSON.stringify(value.slice(0, max))}… (${value.length} characters)`
}

/** A duration: `30s`, `1500ms`, `2m`, or a bare number of seconds. */
export const DURATION = /^\d+(\.\d+)?(ms|s|m)?$/

/** Milliseconds of a {@link DURATION}; a usage error names the option otherwise. */
export function durationOf (command: string, option: string, value: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(value)
  if (m == null) throw new UsageError(`${option} must be a duration such as 30s, 1500ms or 2m, got ${quoted(value)}`, command)
  const n = Number(m[1])
  return Math.round(m[2] === 'ms' ? n : m[2] === 'm' ? n * 60_000 : n * 1000)
}

/**
 * A local address that cannot be listened on or bound (`--listen`, `--listen-udp`), as a usage error
 * that says why and what to do (exit 2); any other error as it is.
 */
export function localAddressError (command: string, option: string, err: unknown, local: HostPort): Error {
  const code = (err as { code?: string }).code
  const where = `${option} ${formatHostPort(local)}`
  if (code === 'EADDRINUSE') return new UsageError(`${where}: the address is in use (another program has it); pick another port, or 0 for any free one`, command)
  if (code === 'EACCES') return new UsageError(`${where}: no permission to use it (ports below 1024 need root); pick a port above 1023`, command)
  if (code === 'EADDRNOTAVAIL') return new UsageError(`${where}: no interface of this machine has that address`, command)
  return err as Error
}
