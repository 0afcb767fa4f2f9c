import { open } from 'node:fs/promises'
import { homedir } from 'node:os'
import { dirname, isAbsolute, join, resolve } from 'node:path'
import { modeAllowsOthers } from '@fara/identity'
import { CONFIG_FILE, DEFAULT_LISTEN, ENV, GC_SETTINGS, MAX_CONFIG_BYTES } from '../constants.ts'
import type { GcSetting } from '../constants.ts'
import { ConfigError } from '../errors.ts'
import { splitList } from './args.ts'
import { checkApp, checkPrivacyAgrees, checkServices, checkTunnels } from './up-config.ts'
import type { ServiceEntry, TunnelEntry } from './up-config.ts'

/** What the config file may hold (JSON). Paths in it are relative to the file's directory. */
export interface FileConfig {
  /** Multiaddrs of the rendezvous point (an array, or one comma-separated string). */
  rendezvous?: string[]
  /** The keystore directory. */
  keystore?: string
  /** A file whose first line is the keystore passphrase. */
  passphraseFile?: string
  /** Relays a serving entity holds a slot on. */
  relays?: string[]
  /** Listen multiaddrs of a serving entity. */
  listen?: string[]
  /** Data directory of `fara rendezvous`. */
  dataDir?: string
  /** DHT nodes to join with `rendezvous: ["dht"]` (multiaddrs ending in `/p2p/<id>`). */
  bootstrap?: string[]
  /** Client keys (peer ids) `fara serve` admits; absent: every client. */
  allow?: string[]
  /** The application (key) `fara up` serves every service as (default `fara-up`). */
  app?: string
  /** The services `fara up` serves (internal/up-config.ts). */
  services?: ServiceEntry[]
  /** The local tunnels `fara up` opens. */
  tunnels?: TunnelEntry[]
}

const KEYS: Record<keyof FileConfig, 'list' | 'path' | 'app' | 'services' | 'tunnels'> = {
  rendezvous: 'list', keystore: 'path', passphraseFile: 'path', relays: 'list', listen: 'list', dataDir: 'path', allow: 'list', bootstrap: 'list', app: 'app', services: 'services', tunnels: 'tunnels'
}

/** The config file read, and where from (`undefined`: none). */
export interface LoadedConfig { path: string | undefined, config: FileConfig }

/** Where a setting's value came from, highest precedence first. */
export type Source = 'flag' | 'env' | 'config' | 'default'

/** A setting's value and its source. */
export interface Setting<T> { value: T, source: Source }

/** Every setting a command may use, resolved: flags > environment > config file > defaults. */
export interface Settings {
  configPath: string | undefined
  rendezvous: Setting<string[]>
  keystore: Setting<string>
  /** The keystore passphrase, if any (never printed). */
  passphrase: Setting<string | undefined>
  relays: Setting<string[]>
  listen: Setting<string[]>
  dataDir: Setting<string>
  /** DHT nodes to join (with the `dht` rendezvous). */
  bootstrap: Setting<string[]>
  secret: Setting<string | undefined>
  /** Client keys `fara serve` admits (unchecked text: internal/allow.ts checks it); `undefined`: every client. */
  allow: Setting<string[] | undefined>
  /** The application `fara up` runs as (config "app"); `undefined`: the default. */
  app: Setting<string | undefined>
  /** What `fara up` serves and the privacy of those names (config "services"). */
  services: Setting<ServiceEntry[]>
  /** The tunnels `fara up` opens (config "tunnels"). */
  tunnels: Setting<TunnelEntry[]>
  /** Whether `fara` tuned V8's garbage collector at start (`FARA_GC`; environment only: it is read before the config). */
  gc: Setting<GcSetting>
}

/** The settings given as flags on the command line. */
export interface SettingFlags {
  rendezvous?: string[] | undefined
  keystore?: string | undefined
  passphraseFile?: string | undefined
  relays?: string[] | undefined
  listen?: string[] | undefined
  dataDir?: string | undefined
  bootstrap?: string[] | undefined
  secret?: string | undefined
  allow?: string[] | undefined
  app?: string | undefined
}

type Env = Record<string, string | undefined>

/** `$XDG_<kind>_HOME` if set to an absolute path (XDG Base Directory Specification 0.8: relative values are ignored), else `~/<fallback>`. */
function xdgHome (env: Env, variable: string, fallback: string): string {
  const v = env[variable]
  return v != null && isAbsolute(v) ? v : join(env.HOME != null && isAbsolute(env.HOME) ? env.HOME : homedir(), fallback)
}

/** The default config file path: `$XDG_CONFIG_HOME/fara/config.json`. */
export function defaultConfigPath (env: Env): string {
  return join(xdgHome(env, 'XDG_CONFIG_HOME', '.config'), 'fara', CONFIG_FILE)
}

/** The default directory for Fara's state: `$XDG_DATA_HOME/fara`. */
export function defaultDataHome (env: Env): string {
  return join(xdgHome(env, 'XDG_DATA_HOME', join('.local', 'share')), 'fara')
}

/**
 * Read a small file through one handle, refusing anything but a regular file
 * of at most {@link MAX_CONFIG_BYTES}; with `secret`, also one that group or others can read
 * (POSIX only: on Windows mode bits do not reflect the ACL, see `modeAllowsOthers` in @fara/identity).
 */
export async function readSmallFile (path: string, what: string, secret = false): Promise<string> {
  let fh
  try {
    fh = await open(path, 'r')
  } catch (err) {
    throw new ConfigError(`${what} ${path}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`)
  }
  try {
    const info = await fh.stat()
    if (!info.isFile()) throw new ConfigError(`${what} ${path} is not a regular file`)
    if (info.size > MAX_CONFIG_BYTES) throw new ConfigError(`${what} ${path} is larger than ${MAX_CONFIG_BYTES} bytes`)
    if (secret && modeAllowsOthers(info.mode)) throw new ConfigError(`${what} ${path} has mode ${(info.mode & 0o777).toString(8)}: others can read it; chmod 600 it`)
    return (await fh.readFile()).subarray(0, MAX_CONFIG_BYTES).toString('utf8')
  } finally {
    await fh.close()
  }
}

/** Check the parsed JSON of a config file: known keys, right types; paths made absolute. */
export function checkConfig (json: unknown, path: string): FileConfig {
  if (json == null || typeof json !== 'object' || Array.isArray(json)) throw new ConfigError(`config file ${path}: must hold a JSON object`)
  const config: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(json)) {
    const kind = KEYS[key as keyof FileConfig]
    if (kind == null) throw new ConfigError(`config file ${path}: unknown key ${JSON.stringify(key)} (known: ${Object.keys(KEYS).join(', ')})`)
    if (kind === 'app') {
      config[key] = checkApp(value, path)
    } else if (kind === 'services') {
      config[key] = checkServices(value, path)
    } else if (kind === 'tunnels') {
      config[key] = checkTunnels(value, path)
    } else if (kind === 'path') {
      if (typeof value !== 'string' || value.length === 0) throw new ConfigError(`config file ${path}: ${key} must be a non-empty string`)
      config[key] = resolve(dirname(path), value)
    } else if (typeof value === 'string') {
      config[key] = splitList(value)
    } else if (Array.isArray(value) && value.every(v => typeof v === 'string')) {
      config[key] = value.flatMap(v => splitList(v))
    } else {
      throw new ConfigError(`config file ${path}: ${key} must be a string or an array of strings`)
    }
  }
  checkPrivacyAgrees((config.services ?? []) as ServiceEntry[], (config.tunnels ?? []) as TunnelEntry[], path)
  return config as FileConfig
}

/**
 * Load the config file: `--config <file>`, else `$FARA_CONFIG`, else the
 * default path. A file named by the flag or the variable must exist; the
 * default one may be missing.
 */
export async function loadConfig (flag: string | undefined, env: Env, cwd: string): Promise<LoadedConfig> {
  const named = flag ?? (env[ENV.CONFIG] === '' ? undefined : env[ENV.CONFIG])
  const path = named == null ? defaultConfigPath(env) : resolve(cwd, named)
  let text: string
  try {
    text = await readSmallFile(path, 'config file')
  } catch (err) {
    if (named == null && /no such file/.test((err as Error).message)) return { path: undefined, config: {} }
    throw err
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (err) {
    throw new ConfigError(`config file ${path}: not JSON (${(err as Error).message})`)
  }
  return { path, config: checkConfig(json, path) }
}

/** First of the candidates that is set, with its source. */
function pick<T> (...candidates: Array<[T | undefined, Source]>): Setting<T> | undefined {
  for (const [value, source] of candidates) if (value !== undefined) return { value, source }
  return undefined
}

function envList (env: Env, name: string): string[] | undefined {
  const v = env[name]
  return v == null || v.trim() === '' ? undefined : splitList(v)
}

function envString (env: Env, name: string): string | undefined {
  const v = env[name]
  return v == null || v === '' ? undefined : v
}

/** The first line of a passphrase file (owner-only), which must not be empty. */
async function passphraseFrom (path: string): Promise<string> {
  const line = (await readSmallFile(path, 'passphrase file', true)).split(/\r?\n/)[0] ?? ''
  if (line.length === 0) throw new ConfigError(`passphrase file ${path}: the first line is empty`)
  return line
}

/**
 * Resolve every setting: flags > environment > config file > defaults. The
 * passphrase comes from `--passphrase-file`, `$FARA_PASSPHRASE`,
 * `$FARA_PASSPHRASE_FILE` or the config's `passphraseFile`, in that order;
 * there is no passphrase flag, so it never shows in the process list.
 */
export async function resolveSettings (flags: SettingFlags, env: Env, loaded: LoadedConfig, cwd: string): Promise<Settings> {
  const file = loaded.config
  const abs = (p: string | undefined): string | undefined => p == null ? undefined : resolve(cwd, p)
  const data = defaultDataHome(env)
  const passphraseSource = pick<[string, boolean]>(
    [flags.passphraseFile == null ? undefined : [abs(flags.passphraseFile)!, true], 'flag'],
    [envString(env, ENV.PASSPHRASE) == null ? undefined : [envString(env, ENV.PASSPHRASE)!, false], 'env'],
    [envString(env, ENV.PASSPHRASE_FILE) == null ? undefined : [abs(envString(env, ENV.PASSPHRASE_FILE))!, true], 'env'],
    [file.passphraseFile == null ? undefined : [file.passphraseFile, true], 'config']
  )
  let passphrase: Setting<string | undefined> = { value: undefined, source: 'default' }
  if (passphraseSource != null) {
    const [value, isFile] = passphraseSource.value
    passphrase = { value: isFile ? await passphraseFrom(value) : value, source: passphraseSource.source }
  }
  return {
    configPath: loaded.path,
    rendezvous: pick([flags.rendezvous, 'flag'], [envList(env, ENV.RENDEZVOUS), 'env'], [file.rendezvous, 'config'], [[], 'default'])!,
    keystore: pick([abs(flags.keystore), 'flag'], [abs(envString(env, ENV.KEYSTORE)), 'env'], [file.keystore, 'config'], [join(data, 'keystore'), 'default'])!,
    passphrase,
    relays: pick([flags.relays, 'flag'], [envList(env, ENV.RELAYS), 'env'], [file.relays, 'config'], [[], 'default'])!,
    listen: pick([flags.listen, 'flag'], [envList(env, ENV.LISTEN), 'env'], [file.listen, 'config'], [[DEFAULT_LISTEN], 'default'])!,
    dataDir: pick([abs(flags.dataDir), 'flag'], [abs(envString(env, ENV.DATA_DIR)), 'env'], [file.dataDir, 'config'], [join(data, 'rendezvous'), 'default'])!,
    bootstrap: pick([flags.bootstrap, 'flag'], [envList(env, ENV.BOOTSTRAP), 'env'], [file.bootstrap, 'config'], [[], 'default'])!,
    secret: pick<string | undefined>([flags.secret, 'flag'], [envString(env, ENV.SECRET), 'env']) ?? { value: undefined, source: 'default' },
    allow: pick<string[] | undefined>([flags.allow, 'flag'], [file.allow, 'config']) ?? { value: undefined, source: 'default' },
    app: pick<string | undefined>([flags.app, 'flag'], [file.app, 'config']) ?? { value: undefined, source: 'default' },
    services: pick([file.services, 'config'], [[], 'default'])!,
    tunnels: pick([file.tunnels, 'config'], [[], 'default'])!,
    gc: gcSettingOf(env)
  }
}

/**
 * `FARA_GC`: `tuned` by default, or `node-defaults`. The `fara` binary reads it before anything else (bin.ts,
 * which only tunes unless it says `node-defaults`); a command that loads its settings refuses any other value.
 */
function gcSettingOf (env: Env): Setting<GcSetting> {
  const value = envString(env, ENV.GC)
  if (value == null) return { value: 'tuned', source: 'default' }
  if (!(GC_SETTINGS as readonly string[]).includes(value)) {
    throw new ConfigError(`${ENV.GC}=${JSON.stringify(value)}: expected ${GC_SETTINGS.join(' or ')}`)
  }
  return { value: value as GcSetting, source: 'env' }
}
