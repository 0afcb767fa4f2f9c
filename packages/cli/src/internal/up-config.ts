// The "services" and "tunnels" of the config file (issue 16): what `fara up`
// runs in one process, and the privacy of the names they list, which
// `fara connect` and `fara resolve` use for those names (internal/privacy.ts).
import { isServiceName } from '@fara/identity'
import { APP_NAME_PATTERN } from '@fara/identity/constants'
import { DEFAULT_MAX_CONNECTIONS } from '../constants.ts'
import { ConfigError } from '../errors.ts'
import { MAX_ALLOW_ENTRIES, isClientKey } from './allow.ts'
import { formatHostPort, parseHostPort, quoted, splitList } from './args.ts'
import { DEFAULT_MAX_FLOWS, DEFAULT_UDP_IDLE_S } from './udp.ts'
import type { HostPort } from './args.ts'

/** A private name's setting: `true`, or with an invite secret. */
export type Privacy = true | { secret: string }

/** One service `fara up` serves: as `fara serve <name> --forward|--forward-udp …`. */
export interface ServiceEntry {
  name: string
  /** The local TCP service (exactly one of `forward` and `forwardUdp`). */
  forward?: HostPort
  /** The local UDP service. */
  forwardUdp?: HostPort
  /** Seconds a UDP flow may be silent (with `forwardUdp`). */
  udpIdle: number
  /** Absent: a public name. */
  private?: Privacy
  /** Client keys admitted; absent: every client. */
  allow?: string[]
}

/** One local tunnel `fara up` opens: as `fara connect <name> --listen|--listen-udp …`. */
export interface TunnelEntry {
  name: string
  /** The local TCP address (exactly one of `listen` and `listenUdp`). */
  listen?: HostPort
  /** The local UDP address. */
  listenUdp?: HostPort
  private?: Privacy
  maxConnections: number
  udpIdle: number
  maxFlows: number
}

/** Most services or tunnels one config file lists. */
export const MAX_UP_ENTRIES = 256

type Raw = Record<string, unknown>

const SERVICE_KEYS = ['name', 'forward', 'forwardUdp', 'udpIdle', 'private', 'secret', 'allow']
const TUNNEL_KEYS = ['name', 'listen', 'listenUdp', 'private', 'secret', 'maxConnections', 'udpIdle', 'maxFlows']

/** Checks one entry of a list, with errors that say which entry. */
class EntryChecker {
  readonly #where: string
  readonly #raw: Raw
  constructor (path: string, list: string, index: number, raw: unknown, known: string[]) {
    this.#where = `config file ${path}: ${list}[${index}]`
    if (raw == null || typeof raw !== 'object' || Array.isArray(raw)) throw new ConfigError(`${this.#where} must be an object such as {"name": "web", …}`)
    this.#raw = raw as Raw
    const name = this.#raw.name
    if (typeof name !== 'string' || !isServiceName(name)) {
      throw new ConfigError(`${this.#where}: name must be 1 to 63 of a-z 0-9 . _ - starting with a letter or digit, or a self-certifying name, got ${typeof name === 'string' ? quoted(name) : String(JSON.stringify(name))}`)
    }
    this.#where += ` (${JSON.stringify(name)})`
    for (const key of Object.keys(this.#raw)) {
      if (!known.includes(key)) throw this.error(`unknown key ${JSON.stringify(key)} (known: ${known.join(', ')})`)
    }
  }

  get name (): string { return this.#raw.name as string }

  error (message: string): ConfigError { return new ConfigError(`${this.#where}: ${message}`) }

  hostPort (key: string, allowZero: boolean): HostPort | undefined {
    const v = this.#raw[key]
    if (v === undefined) return undefined
    if (typeof v !== 'string') throw this.error(`${key} must be a "host:port" string`)
    try {
      return parseHostPort('', key, v, allowZero)
    } catch (err) {
      throw this.error((err as Error).message)
    }
  }

  int (key: string, min: number, max: number, fallback: number): number {
    const v = this.#raw[key]
    if (v === undefined) return fallback
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw this.error(`${key} must be an integer from ${min} to ${max}, got ${JSON.stringify(v)}`)
    return v
  }

  /** `private` and `secret`: a secret makes the name private; `"private": false` with a secret is a contradiction. */
  privacy (): Privacy | undefined {
    const { private: flag, secret } = this.#raw
    if (flag !== undefined && typeof flag !== 'boolean') throw this.error('private must be true or false')
    if (secret !== undefined && (typeof secret !== 'string' || secret.length === 0)) throw this.error('secret must be a non-empty string')
    if (secret !== undefined && flag === false) throw this.error('"private": false with a secret: a secret makes the name private; drop one of them')
    if (typeof secret === 'string') return { secret }
    return flag === true ? true : undefined
  }

  allow (): string[] | undefined {
    const v = this.#raw.allow
    if (v === undefined) return undefined
    const list = typeof v === 'string' ? splitList(v) : Array.isArray(v) && v.every(k => typeof k === 'string') ? v.flatMap(k => splitList(k)) : undefined
    if (list == null) throw this.error('allow must be a string or an array of strings (client keys)')
    if (list.length === 0) throw this.error('allow lists no key, so every client would be refused; list client keys (`fara id show <app>` prints one), or drop it to admit every client')
    if (list.length > MAX_ALLOW_ENTRIES) throw this.error(`allow lists ${list.length} keys; at most ${MAX_ALLOW_ENTRIES}`)
    const bad = list.find(k => !isClientKey(k))
    if (bad != null) throw this.error(`allow: ${quoted(bad, 64)} is not a client key (a peer id like 12D3KooW…, as \`fara id show <app>\` prints it)`)
    return list
  }

  /** Exactly one of two keys. */
  oneOf<T> (a: [string, T | undefined], b: [string, T | undefined]): void {
    if (a[1] === undefined && b[1] === undefined) throw this.error(`needs ${a[0]} (TCP) or ${b[0]} (UDP): "host:port"`)
    if (a[1] !== undefined && b[1] !== undefined) throw this.error(`give ${a[0]} (TCP) or ${b[0]} (UDP), not both: list the name twice under two names`)
  }
}

function listOfEntries (value: unknown, path: string, list: string): unknown[] {
  if (!Array.isArray(value)) throw new ConfigError(`config file ${path}: ${list} must be an array of objects`)
  if (value.length > MAX_UP_ENTRIES) throw new ConfigError(`config file ${path}: ${list} lists ${value.length} entries; at most ${MAX_UP_ENTRIES}`)
  return value
}

function unique (path: string, list: string, names: string[]): void {
  const seen = new Set<string>()
  for (const name of names) {
    if (seen.has(name)) throw new ConfigError(`config file ${path}: ${list} lists ${JSON.stringify(name)} twice; each name once`)
    seen.add(name)
  }
}

/** The config file's "services". */
export function checkServices (value: unknown, path: string): ServiceEntry[] {
  const entries = listOfEntries(value, path, 'services').map((raw, i) => {
    const c = new EntryChecker(path, 'services', i, raw, SERVICE_KEYS)
    const forward = c.hostPort('forward', false)
    const forwardUdp = c.hostPort('forwardUdp', false)
    c.oneOf(['forward', forward], ['forwardUdp', forwardUdp])
    const privacy = c.privacy()
    const allow = c.allow()
    return {
      name: c.name,
      ...(forward == null ? {} : { forward }),
      ...(forwardUdp == null ? {} : { forwardUdp }),
      udpIdle: c.int('udpIdle', 1, 86_400, DEFAULT_UDP_IDLE_S),
      ...(privacy == null ? {} : { private: privacy }),
      ...(allow == null ? {} : { allow })
    }
  })
  unique(path, 'services', entries.map(e => e.name))
  return entries
}

/** The config file's "tunnels". */
export function checkTunnels (value: unknown, path: string): TunnelEntry[] {
  const entries = listOfEntries(value, path, 'tunnels').map((raw, i) => {
    const c = new EntryChecker(path, 'tunnels', i, raw, TUNNEL_KEYS)
    const listen = c.hostPort('listen', true)
    const listenUdp = c.hostPort('listenUdp', true)
    c.oneOf(['listen', listen], ['listenUdp', listenUdp])
    const privacy = c.privacy()
    return {
      name: c.name,
      ...(listen == null ? {} : { listen }),
      ...(listenUdp == null ? {} : { listenUdp }),
      ...(privacy == null ? {} : { private: privacy }),
      maxConnections: c.int('maxConnections', 1, 4096, DEFAULT_MAX_CONNECTIONS),
      udpIdle: c.int('udpIdle', 1, 86_400, DEFAULT_UDP_IDLE_S),
      maxFlows: c.int('maxFlows', 1, 65_536, DEFAULT_MAX_FLOWS)
    }
  })
  unique(path, 'tunnels', entries.map(e => e.name))
  const bound = new Map<string, string>()
  for (const e of entries) {
    const local = e.listen ?? e.listenUdp!
    if (local.port === 0) continue
    const key = `${e.listen == null ? 'udp' : 'tcp'} ${formatHostPort(local)}`
    const other = bound.get(key)
    if (other != null) throw new ConfigError(`config file ${path}: tunnels ${JSON.stringify(other)} and ${JSON.stringify(e.name)} both listen on ${key}`)
    bound.set(key, e.name)
  }
  return entries
}

/** An application name (the config's "app"). */
export function checkApp (value: unknown, path: string): string {
  if (typeof value !== 'string' || !APP_NAME_PATTERN.test(value)) throw new ConfigError(`config file ${path}: app must match ${String(APP_NAME_PATTERN)}, got ${JSON.stringify(value)}`)
  return value
}

function samePrivacy (a: Privacy | undefined, b: Privacy | undefined): boolean {
  if (a == null || b == null || a === true || b === true) return a === b
  return a.secret === b.secret
}

/**
 * A name listed in both "services" and "tunnels" must have one privacy: a
 * lookup of it (fara connect, fara resolve) takes its setting from the file.
 */
export function checkPrivacyAgrees (services: ServiceEntry[], tunnels: TunnelEntry[], path: string): void {
  for (const t of tunnels) {
    const s = services.find(e => e.name === t.name)
    if (s != null && !samePrivacy(s.private, t.private)) {
      throw new ConfigError(`config file ${path}: ${JSON.stringify(t.name)} is in services and tunnels with different private/secret settings; give both the same`)
    }
  }
}

/** The privacy the config file gives `name` (undefined: not listed, or public). */
export function listedPrivacy (services: ServiceEntry[], tunnels: TunnelEntry[], name: string): Privacy | undefined {
  return (services.find(e => e.name === name) ?? tunnels.find(e => e.name === name))?.private
}
