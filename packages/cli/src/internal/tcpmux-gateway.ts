// The parts of `fara tcpmux` that are not the command itself: which Fara name
// a TCPMUX request goes to (--map, --allow), an association that counts
// only once the service accepted it, and a stream that counts its bytes.
import { Duplex } from 'node:stream'
import { isServiceName } from '@fara/identity'
import { DEFAULT_MAX_LINE_BYTES, HELP_NAME } from '@fara/tcpmux/constants'
import { UsageError } from '../errors.ts'
import type { Association } from '@fara/sdk'

/** Where requests go: `map` from TCPMUX name (lower case) to Fara name; `allow`, if set, the only Fara names served. */
export interface Routes {
  map: Map<string, string>
  allow: Set<string> | undefined
}

/** What became of one TCPMUX request (the `result` of a `request` event). */
export type RequestResult = 'open' | 'not-allowed' | 'invalid-name' | 'not-found' | 'unreachable' | 'refused' | 'timeout' | 'abandoned' | 'failed'

const serviceNameRule = 'a Fara service name (1 to 63 of a-z 0-9 . _ - starting with a letter or digit, or a self-certifying name)'

/**
 * `--map legacy=fara` entries: the TCPMUX name a legacy client asks for (any
 * case: RFC 1078 names are case-insensitive) and the Fara name it reaches.
 */
export function parseMap (command: string, entries: string[]): Map<string, string> {
  const map = new Map<string, string>()
  for (const entry of entries) {
    const bad = (why: string): UsageError => new UsageError(`--map must be <tcpmux name>=<fara name> (${why}), got ${JSON.stringify(entry)}`, command)
    const eq = entry.indexOf('=')
    if (eq === -1) throw bad('no =')
    const legacy = entry.slice(0, eq)
    const fara = entry.slice(eq + 1)
    if (!/^[\x21-\x7e]+$/.test(legacy) || legacy.length > DEFAULT_MAX_LINE_BYTES - 2) throw bad(`the TCPMUX name must be 1 to ${DEFAULT_MAX_LINE_BYTES - 2} visible ASCII characters`)
    if (legacy.toUpperCase() === HELP_NAME) throw bad('HELP is reserved by RFC 1078')
    if (!isServiceName(fara)) throw bad(`${JSON.stringify(fara)} is not a Fara service name`)
    const key = legacy.toLowerCase()
    if (map.has(key)) throw bad(`${JSON.stringify(legacy)} is mapped twice`)
    map.set(key, fara)
  }
  return map
}

/** `--allow` names (Fara names); undefined when none was given: every name is served. */
export function parseAllow (command: string, names: string[] | undefined, map: Map<string, string>): Set<string> | undefined {
  if (names == null) return undefined
  for (const name of names) {
    if (!isServiceName(name)) throw new UsageError(`--allow must be ${serviceNameRule}, got ${JSON.stringify(name)}`, command)
  }
  const allow = new Set(names)
  for (const [legacy, fara] of map) {
    // a mapping that could never be used is a mistake worth stopping for
    if (!allow.has(fara)) throw new UsageError(`--map ${legacy}=${fara} leads to a name --allow does not list: add --allow ${fara}`, command)
  }
  return allow
}

/** The Fara name for a requested TCPMUX name (lower case), or why the request is refused before any lookup. */
export function routeOf (routes: Routes, requested: string): { fara: string, refused?: 'not-allowed' | 'invalid-name' } {
  const fara = routes.map.get(requested) ?? requested
  if (routes.allow != null && !routes.allow.has(fara)) return { fara, refused: 'not-allowed' }
  if (!isServiceName(fara)) return { fara, refused: 'invalid-name' }
  return { fara }
}

/**
 * Resolve when the service accepted the association (its Reply came back),
 * so that a TCPMUX `+` promises an open association, not an optimistic one
 * (spec/wire.md#zero-round-trip-open); rejects with the refusal or the
 * signal's reason, aborting the association.
 */
export async function untilAccepted (association: Association, signal: AbortSignal): Promise<void> {
  let onAbort: (() => void) | undefined
  try {
    await Promise.race([
      association.accepted,
      new Promise<never>((_resolve, reject) => {
        onAbort = () => { reject(signal.reason) }
        if (signal.aborted) onAbort()
        else signal.addEventListener('abort', onAbort, { once: true })
      })
    ])
  } catch (err) {
    association.abort(err instanceof Error ? err : new Error(String(err)))
    throw err
  } finally {
    if (onAbort != null) signal.removeEventListener('abort', onAbort)
  }
}

/** Bytes that went through a {@link counted} stream, and how it ended. */
export interface Carried {
  toService: number
  toClient: number
  /** Set when it did not end cleanly both ways: the error, or a reset by one side. */
  error?: Error
}

/**
 * `inner` (an association's stream) wrapped so that it counts the bytes each
 * way and calls `onClose` once. Backpressure and half-close go through; an
 * error or a reset on either side reaches the other; `inner` is read as soon
 * as the wrapper exists, into the wrapper's buffer, so nothing is lost before
 * the reader comes. Errors of `inner` are added to `seen` before the wrapper
 * fails with them (whoever watches the wrapper then knows they are reported).
 */
export function counted (inner: Duplex, seen: WeakSet<Error>, onClose: (carried: Carried) => void): Duplex {
  let toService = 0
  let toClient = 0
  const clean = (s: Duplex): boolean => s.readableEnded && s.writableFinished
  const outer = new Duplex({
    allowHalfOpen: true,
    read () { inner.resume() },
    write (chunk: Buffer, _encoding, callback) {
      toService += chunk.byteLength
      if (inner.write(chunk)) callback()
      else inner.once('drain', () => { callback() })
    },
    final (callback) {
      inner.end()
      inner.once('finish', () => { callback() })
    },
    destroy (err, callback) {
      if (err != null || !clean(inner)) inner.destroy(err ?? undefined)
      callback(err)
    }
  })
  inner.on('data', (chunk: Buffer) => {
    toClient += chunk.byteLength
    if (!outer.push(chunk)) inner.pause()
  })
  inner.once('end', () => { outer.push(null) })
  inner.on('error', (err) => { seen.add(err); outer.destroy(err) })
  inner.once('close', () => { if (!clean(inner) && !outer.destroyed) outer.destroy() })
  outer.once('close', () => {
    const ok = clean(outer) && outer.errored == null
    const error = outer.errored ?? (ok ? undefined : Object.assign(new Error('reset before both sides ended'), { name: 'ConnectionResetError' }))
    onClose({ toService, toClient, ...(error == null ? {} : { error }) })
  })
  return outer
}
