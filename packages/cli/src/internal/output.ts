import type { Writable } from 'node:stream'

type Env = Record<string, string | undefined>

/** SGR codes (ECMA-48 §8.3.117) of the few styles used. */
const SGR = { bold: [1, 22], dim: [2, 22], red: [31, 39], green: [32, 39], yellow: [33, 39], cyan: [36, 39] } as const

/** A style: the text unchanged, or wrapped in SGR codes. */
export type Style = (text: string) => string

/** The styles of one stream. */
export type Styles = Record<keyof typeof SGR, Style>

/**
 * Colours only on a terminal: never when `NO_COLOR` is set (no-color.org) or
 * `TERM=dumb`; always when `FORCE_COLOR` is set to anything but `0`.
 */
export function colourOn (stream: Writable, env: Env): boolean {
  if (env.FORCE_COLOR != null && env.FORCE_COLOR !== '') return env.FORCE_COLOR !== '0'
  if (env.NO_COLOR != null && env.NO_COLOR !== '') return false
  if (env.TERM === 'dumb') return false
  return (stream as Writable & { isTTY?: boolean }).isTTY === true
}

function stylesFor (on: boolean): Styles {
  const make = ([open, close]: readonly [number, number]): Style => on ? (text) => `\u001b[${open}m${text}\u001b[${close}m` : (text) => text
  return { bold: make(SGR.bold), dim: make(SGR.dim), red: make(SGR.red), green: make(SGR.green), yellow: make(SGR.yellow), cyan: make(SGR.cyan) }
}

/** Fields of one JSON output line besides `event`. */
export type Fields = Record<string, unknown>

/** Options for {@link Output}. */
export interface OutputInit {
  json: boolean
  stdout: Writable
  stderr: Writable
  env: Env
  /** The command's name, prefixed to human status and error lines. */
  command: string
}

/** One line of text: no control characters from remote or user input reach the terminal. */
function oneLine (text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f\u009b]/g, '?').replace(/\n/g, ' ')
}

/**
 * Where a command's output goes. Results (what the command was asked for)
 * go to stdout, status lines to stderr; with `--json`, both are JSON lines
 * on stdout. In stdio mode (stdout carries a tunnel) everything goes to stderr.
 */
export class Output {
  readonly json: boolean
  /** Styles for stdout and for stderr (each coloured only if that stream is a terminal). */
  readonly out: Styles
  readonly err: Styles
  /** Whether stdout is a terminal (and not NO_COLOR-agnostic: a QR code is drawn only there). */
  readonly stdoutIsTerminal: boolean
  readonly #stdout: Writable
  readonly #stderr: Writable
  readonly #command: string
  #stdoutIsData = false

  constructor (init: OutputInit) {
    this.json = init.json
    this.#stdout = init.stdout
    this.#stderr = init.stderr
    this.#command = init.command
    this.out = stylesFor(colourOn(init.stdout, init.env))
    this.err = stylesFor(colourOn(init.stderr, init.env))
    this.stdoutIsTerminal = (init.stdout as Writable & { isTTY?: boolean }).isTTY === true
  }

  /** From now on stdout carries data: every line goes to stderr. */
  stdoutIsData (): void {
    this.#stdoutIsData = true
  }

  #jsonLine (event: string, fields: Fields): void {
    (this.#stdoutIsData ? this.#stderr : this.#stdout).write(JSON.stringify({ event, ...fields }) + '\n')
  }

  /** A result: human lines on stdout (as given: they may be multi-line tables), or one JSON line. */
  result (event: string, fields: Fields, human: string | string[]): void {
    if (this.json) { this.#jsonLine(event, fields); return }
    const text = Array.isArray(human) ? human.join('\n') : human
    ;(this.#stdoutIsData ? this.#stderr : this.#stdout).write(text + '\n')
  }

  /** A status line: `fara <command>: text` on stderr, or one JSON line. */
  status (event: string, fields: Fields, human: string): void {
    if (this.json) { this.#jsonLine(event, fields); return }
    this.#stderr.write(`${this.err.dim(`fara ${this.#command}:`)} ${oneLine(human)}\n`)
  }

  /** A warning: always on stderr in human form; also a JSON line with `--json`. */
  warn (event: string, fields: Fields, human: string): void {
    if (this.json) this.#jsonLine(event, fields)
    this.#stderr.write(`${this.err.dim(`fara ${this.#command}:`)} ${this.err.yellow('warning:')} ${oneLine(human)}\n`)
  }

  /** The one line a failed command prints on stderr (and, with `--json`, an `error` JSON line). */
  error (name: string, message: string, exit: number, hint?: string): void {
    if (this.json) this.#jsonLine('error', { name, message, exit })
    const where = this.#command === '' ? 'fara:' : `fara ${this.#command}:`
    this.#stderr.write(`${where} ${this.err.red('error:')} ${oneLine(message)}${hint == null ? '' : ` ${this.err.dim(`(${hint})`)}`}\n`)
  }
}
