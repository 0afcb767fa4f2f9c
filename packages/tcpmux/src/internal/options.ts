// Validation at the API boundary: TypeError for a wrong type, RangeError for a
// wrong range, each naming the parameter and what it got.
import { DEFAULT_MAX_LINE_BYTES, DEFAULT_MAX_PENDING, DEFAULT_READ_TIMEOUT_MS, TCPMUX_PORT } from '../constants.ts'
import { isValidName } from './codec.ts'

const show = (value: unknown): string => typeof value === 'string' ? JSON.stringify(value) : String(value)

/** An integer in [min, max], or the default when undefined. */
export function intOption (name: string, value: unknown, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number') throw new TypeError(`${name} must be a number, got ${typeof value}`)
  if (!Number.isInteger(value) || value < min || value > max) throw new RangeError(`${name} must be an integer from ${min} to ${max}, got ${show(value)}`)
  return value
}

/** A TCP port (0 asks the OS for a free one). */
export function portOption (name: string, value: unknown, fallback = TCPMUX_PORT): number {
  return intOption(name, value, fallback, 0, 65_535)
}

/** A host string, or undefined. */
export function hostOption (name: string, value: unknown): string | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'string' || value === '') throw new TypeError(`${name} must be a non-empty string, got ${show(value)}`)
  return value
}

/** A boolean, or the default when undefined. */
export function boolOption (name: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback
  if (typeof value !== 'boolean') throw new TypeError(`${name} must be a boolean, got ${typeof value}`)
  return value
}

/** A function, or undefined. */
export function fnOption<F> (name: string, value: unknown): F | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'function') throw new TypeError(`${name} must be a function, got ${typeof value}`)
  return value as F
}

/** A service name a line of `maxLineBytes` can carry: 1 to `maxLineBytes - 2` visible ASCII characters. */
export function assertName (param: string, name: unknown, maxLineBytes: number): asserts name is string {
  if (typeof name !== 'string') throw new TypeError(`${param} must be a string, got ${typeof name}`)
  if (!isValidName(name, maxLineBytes - 2)) {
    throw new RangeError(`${param} must be 1 to ${maxLineBytes - 2} visible ASCII characters (no spaces or control characters), got ${show(name)}`)
  }
}

/** A `+`/`-` message: printable, no CR or LF, at most 200 characters. */
export function messageOption (name: string, value: unknown): string {
  if (value === undefined) return ''
  if (typeof value !== 'string') throw new TypeError(`${name} must be a string, got ${typeof value}`)
  // eslint-disable-next-line no-control-regex
  if (value.length > 200 || /[\u0000-\u001f\u007f]/.test(value)) throw new RangeError(`${name} must be at most 200 characters without control characters, got ${show(value)}`)
  return value
}

/** The limits shared by the server and the gateway. */
export interface CommonInit {
  host?: string
  port?: number
  help?: boolean
  maxLineBytes?: number
  readTimeoutMs?: number
  maxPending?: number
  maxConnections?: number
  onError?: (err: Error) => void
}

/** {@link CommonInit} with defaults applied and every field checked. */
export function commonOptions (init: CommonInit, prefix: string): {
  host: string | undefined, port: number, help: boolean, maxLineBytes: number, readTimeoutMs: number,
  maxPending: number, maxConnections: number | undefined, onError: ((err: Error) => void) | undefined
} {
  if (init == null || typeof init !== 'object') throw new TypeError(`${prefix} must be an object, got ${init === null ? 'null' : typeof init}`)
  return {
    host: hostOption(`${prefix}.host`, init.host),
    port: portOption(`${prefix}.port`, init.port),
    help: boolOption(`${prefix}.help`, init.help, false),
    // 3 bytes: the shortest useful line, one character and CRLF
    maxLineBytes: intOption(`${prefix}.maxLineBytes`, init.maxLineBytes, DEFAULT_MAX_LINE_BYTES, 3, 65_536),
    readTimeoutMs: intOption(`${prefix}.readTimeoutMs`, init.readTimeoutMs, DEFAULT_READ_TIMEOUT_MS, 1, 3_600_000),
    maxPending: intOption(`${prefix}.maxPending`, init.maxPending, DEFAULT_MAX_PENDING, 1, 1_000_000),
    maxConnections: init.maxConnections === undefined ? undefined : intOption(`${prefix}.maxConnections`, init.maxConnections, 0, 1, 1_000_000),
    onError: fnOption(`${prefix}.onError`, init.onError)
  }
}
