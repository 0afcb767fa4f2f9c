import { randomBytes } from 'node:crypto'
import {
  DEFAULT_INTERVAL_MS, DEFAULT_RANGE, HOP_KEY_BYTES, HOP_PARAMS_BYTES, HOP_PARAMS_PREFIX, HOP_PARAMS_VERSION, MAX_HOP_PARAMS_TEXT,
  MAX_INTERVAL_MS, MAX_PORT, MIN_INTERVAL_MS, MIN_PORT, MIN_RANGE_PORTS
} from './constants.ts'
import { InvalidHopParamsError, UnsupportedHopVersionError } from './errors.ts'

/** A range of ports, both ends included: `{ start: 20000, end: 20063 }` holds 64 ports. */
export interface PortRange {
  /** First port of the range (at least {@link MIN_PORT}). */
  readonly start: number
  /** Last port of the range, included (at most {@link MAX_PORT}). */
  readonly end: number
}

/**
 * Everything a peer needs to follow a schedule. It holds a secret (`key`): it
 * travels only inside a private (sealed) rendezvous record, never in clear.
 */
export interface HopParams {
  /** HMAC-SHA256 key, {@link HOP_KEY_BYTES} bytes from a CSPRNG. */
  readonly key: Uint8Array
  /** Start of slot 0, ms since the Unix epoch. */
  readonly epoch: number
  /** Slot length (ms). */
  readonly intervalMs: number
  /** The ports the schedule draws from. */
  readonly range: PortRange
}

/** Options of {@link createHopParams}; every field is optional. */
export interface HopParamsInit {
  /** The key (copied); default: {@link HOP_KEY_BYTES} fresh random bytes. */
  key?: Uint8Array
  /** Start of slot 0 (ms since the Unix epoch); default 0. */
  epoch?: number
  /** Slot length (ms); default {@link DEFAULT_INTERVAL_MS}. */
  intervalMs?: number
  /** Port range; default {@link DEFAULT_RANGE}. */
  range?: PortRange
}

/**
 * Make validated hop parameters, filling in defaults and a fresh random key.
 *
 * @example
 * ```ts
 * import { createHopParams, encodeHopParams } from '@fara/port-hopping'
 *
 * const params = createHopParams({ intervalMs: 30_000, range: { start: 20_000, end: 20_999 } })
 * const hop = encodeHopParams(params) // 49 bytes for a private record: they hold the key
 * console.log(hop.byteLength)
 * ```
 *
 * @throws `TypeError` when `init` or one of its fields has the wrong type (the message names it).
 * @throws `RangeError` when `key` is not 32 bytes, `intervalMs` is out of 1000 ms – 24 h, or `range` is outside 1024–65535 or under 16 ports.
 */
export function createHopParams (init: HopParamsInit = {}): HopParams {
  if (init == null || typeof init !== 'object') {
    throw new TypeError(`init must be an object, got ${describe(init)}`)
  }
  return checkHopParams({
    key: init.key ?? randomBytes(HOP_KEY_BYTES),
    epoch: init.epoch ?? 0,
    intervalMs: init.intervalMs ?? DEFAULT_INTERVAL_MS,
    range: init.range ?? DEFAULT_RANGE
  })
}

/**
 * Check hop parameters at an API boundary and return a frozen copy (the key
 * is copied too). Throws a `TypeError` for a wrong type and a `RangeError` for
 * a value out of range, each naming the parameter and what was got.
 */
export function checkHopParams (params: HopParams, name = 'params'): HopParams {
  if (params == null || typeof params !== 'object') {
    throw new TypeError(`${name} must be an object, got ${describe(params)}`)
  }
  const { key, epoch, intervalMs, range } = params
  if (!(key instanceof Uint8Array)) throw new TypeError(`${name}.key must be a Uint8Array, got ${describe(key)}`)
  if (range == null || typeof range !== 'object') throw new TypeError(`${name}.range must be an object { start, end }, got ${describe(range)}`)
  for (const [field, value] of [['epoch', epoch], ['intervalMs', intervalMs], ['range.start', range.start], ['range.end', range.end]] as const) {
    if (typeof value !== 'number') throw new TypeError(`${name}.${field} must be a number, got ${describe(value)}`)
  }
  const problem = problemOf(key.length, epoch, intervalMs, range.start, range.end)
  if (problem != null) throw new RangeError(`${name}.${problem}`)
  return freeze(new Uint8Array(key), epoch, intervalMs, range.start, range.end)
}

/** Number of ports in a range (both ends included). */
export function rangeSize (range: PortRange): number {
  return range.end - range.start + 1
}

/**
 * Encode parameters as the {@link HOP_PARAMS_BYTES}-byte version 1 form that
 * goes into a private rendezvous record (spec/port-hopping.md#encoding):
 * `0x01 || key(32) || u64be(epoch) || u32be(intervalMs) || u16be(range.start) || u16be(range.end)`.
 */
export function encodeHopParams (params: HopParams): Uint8Array {
  const p = checkHopParams(params)
  const out = new Uint8Array(HOP_PARAMS_BYTES)
  const view = new DataView(out.buffer)
  out[0] = HOP_PARAMS_VERSION
  out.set(p.key, 1)
  view.setBigUint64(1 + HOP_KEY_BYTES, BigInt(p.epoch))
  view.setUint32(9 + HOP_KEY_BYTES, p.intervalMs)
  view.setUint16(13 + HOP_KEY_BYTES, p.range.start)
  view.setUint16(15 + HOP_KEY_BYTES, p.range.end)
  return out
}

/**
 * Decode parameters from their byte form. Reads nothing past
 * {@link HOP_PARAMS_BYTES}.
 *
 * @example
 * ```ts
 * import { createHopParams, decodeHopParams, encodeHopParams, sameHopParams } from '@fara/port-hopping'
 *
 * const params = createHopParams()
 * const decoded = decodeHopParams(encodeHopParams(params)) // e.g. the `hop` field of a resolved private record
 * console.log(sameHopParams(params, decoded)) // true
 * ```
 *
 * @throws {@link UnsupportedHopVersionError} when the first byte is a version this implementation does not know.
 * @throws {@link InvalidHopParamsError} when the bytes are empty, not {@link HOP_PARAMS_BYTES} long, or a field breaks its rule.
 * @throws `TypeError` when `bytes` is not a Uint8Array.
 */
export function decodeHopParams (bytes: Uint8Array): HopParams {
  if (!(bytes instanceof Uint8Array)) throw new TypeError(`bytes must be a Uint8Array, got ${describe(bytes)}`)
  if (bytes.length === 0) throw new InvalidHopParamsError('Hop parameters are empty')
  if (bytes[0] !== HOP_PARAMS_VERSION) throw new UnsupportedHopVersionError(bytes[0] ?? 0)
  if (bytes.length !== HOP_PARAMS_BYTES) {
    throw new InvalidHopParamsError(`Hop parameters must be ${HOP_PARAMS_BYTES} bytes, got ${bytes.length}`)
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const epoch = view.getBigUint64(1 + HOP_KEY_BYTES)
  if (epoch > BigInt(Number.MAX_SAFE_INTEGER)) throw new InvalidHopParamsError(`epoch ${epoch} is above 2^53 - 1`)
  const intervalMs = view.getUint32(9 + HOP_KEY_BYTES)
  const start = view.getUint16(13 + HOP_KEY_BYTES)
  const end = view.getUint16(15 + HOP_KEY_BYTES)
  const problem = problemOf(HOP_KEY_BYTES, Number(epoch), intervalMs, start, end)
  if (problem != null) throw new InvalidHopParamsError(`Invalid hop parameters: ${problem}`)
  return freeze(new Uint8Array(bytes.subarray(1, 1 + HOP_KEY_BYTES)), Number(epoch), intervalMs, start, end)
}

/** Text form of parameters: {@link HOP_PARAMS_PREFIX} then base64url (no padding) of {@link encodeHopParams}. It holds the key: keep it secret. */
export function hopParamsToString (params: HopParams): string {
  return HOP_PARAMS_PREFIX + Buffer.from(encodeHopParams(params)).toString('base64url')
}

/**
 * Parse the text form of {@link hopParamsToString}; bounded to {@link MAX_HOP_PARAMS_TEXT} characters, canonical base64url only.
 *
 * @example
 * ```ts
 * import { createHopParams, hopParamsFromString, hopParamsToString } from '@fara/port-hopping'
 *
 * const text = hopParamsToString(createHopParams()) // holds the key: pass it only where a secret may go
 * console.log(hopParamsFromString(text).range) // { start: …, end: … }
 * ```
 *
 * @throws {@link InvalidHopParamsError} when the text is too long, lacks the prefix, is not canonical base64url, or its bytes are invalid.
 * @throws {@link UnsupportedHopVersionError} when its bytes are of a version this implementation does not know.
 * @throws `TypeError` when `text` is not a string.
 */
export function hopParamsFromString (text: string): HopParams {
  if (typeof text !== 'string') throw new TypeError(`text must be a string, got ${describe(text)}`)
  if (text.length > MAX_HOP_PARAMS_TEXT) throw new InvalidHopParamsError(`Hop parameters text is longer than ${MAX_HOP_PARAMS_TEXT} characters`)
  if (!text.startsWith(HOP_PARAMS_PREFIX)) throw new InvalidHopParamsError(`Hop parameters text must start with ${HOP_PARAMS_PREFIX}`)
  const body = text.slice(HOP_PARAMS_PREFIX.length)
  if (!/^[A-Za-z0-9_-]+$/.test(body)) throw new InvalidHopParamsError('Hop parameters text is not base64url')
  const bytes = Buffer.from(body, 'base64url')
  // Buffer ignores stray trailing bits: accept only the one canonical spelling
  if (bytes.toString('base64url') !== body) throw new InvalidHopParamsError('Hop parameters text is not canonical base64url')
  return decodeHopParams(new Uint8Array(bytes))
}

/** True when two parameter sets describe the same schedule (constant time in the key is not needed: both are local). */
export function sameHopParams (a: HopParams, b: HopParams): boolean {
  return a.epoch === b.epoch && a.intervalMs === b.intervalMs && a.range.start === b.range.start && a.range.end === b.range.end &&
    Buffer.compare(a.key, b.key) === 0
}

/** The first rule the fields break, as `field must …, got …`, or undefined. */
function problemOf (keyBytes: number, epoch: number, intervalMs: number, start: number, end: number): string | undefined {
  if (keyBytes !== HOP_KEY_BYTES) return `key must be ${HOP_KEY_BYTES} bytes, got ${keyBytes}`
  if (!Number.isSafeInteger(epoch) || epoch < 0) return `epoch must be an integer from 0 to 2^53 - 1 (ms since the Unix epoch), got ${epoch}`
  if (!Number.isInteger(intervalMs) || intervalMs < MIN_INTERVAL_MS || intervalMs > MAX_INTERVAL_MS) {
    return `intervalMs must be an integer from ${MIN_INTERVAL_MS} to ${MAX_INTERVAL_MS}, got ${intervalMs}`
  }
  for (const [field, port] of [['start', start], ['end', end]] as const) {
    if (!Number.isInteger(port) || port < MIN_PORT || port > MAX_PORT) return `range.${field} must be an integer from ${MIN_PORT} to ${MAX_PORT}, got ${port}`
  }
  if (end - start + 1 < MIN_RANGE_PORTS) return `range must hold at least ${MIN_RANGE_PORTS} ports (start and end included), got ${start}..${end}`
  return undefined
}

function freeze (key: Uint8Array, epoch: number, intervalMs: number, start: number, end: number): HopParams {
  return Object.freeze({ key, epoch, intervalMs, range: Object.freeze({ start, end }) })
}

function describe (value: unknown): string {
  if (value === null) return 'null'
  if (value instanceof Uint8Array) return `${value.constructor.name}(${value.length})`
  if (typeof value === 'number') return String(value)
  return typeof value
}
