// The rendezvous backends the command can use, chosen by the `rendezvous` setting:
//   /ip4/…/tcp/…/p2p/<id>…                  a rendezvous point (`fara rendezvous`)
//   dns://<server[:port]>/<zone>?tsig=<file> a DNS zone, SRV + signed TXT records (spec/adapters.md#dns-srv-adapter-version-1)
//   dht (+ --bootstrap <multiaddr>…)         Fara's Kademlia DHT (spec/dht.md)
// Parsing, checking and construction live here; `rendezvousOf` (entity.ts) delegates to backendOf.
import { isIP } from 'node:net'
import { homedir } from 'node:os'
import { dirname, resolve } from 'node:path'
import { ENV } from '../constants.ts'
import { ConfigError, MissingSettingError, UsageError, ZoneNotServedError } from '../errors.ts'
import { checkMultiaddrs, listOf, parseHostPort, stringOf } from './args.ts'
import { readSmallFile } from './config.ts'
import { sdk } from './lazy.ts'
import type { OptionSpec, ParsedArgs } from './args.ts'
import type { Settings } from './config.ts'
import type { Output } from './output.ts'
import type { RendezvousFactory } from '@fara/rendezvous'
import type { TsigKey } from '@fara/srv'

/** The `rendezvous` value that selects the DHT backend. */
export const DHT_BACKEND = 'dht'

/** The URL scheme of the DNS backend (the `dns:` URI of RFC 4501 §2, with a `tsig` query attribute of our own). */
export const DNS_SCHEME = 'dns:'

/** Default DNS port (RFC 1035 §4.2). */
const DNS_PORT = 53

/** Deadline of the check that the DNS server serves the zone (ms). */
const ZONE_CHECK_TIMEOUT_MS = 5_000

/** A backend as the `rendezvous` setting (or `fara serve --srv`) describes it. */
export type BackendSpec =
  | { kind: 'point', addrs: string[] }
  | { kind: 'dns', server: string, zone: string, tsig: string | undefined, url: string }
  | { kind: 'dht', bootstrap: string[] }

/** What the backend needs from the running command. */
export interface BackendContext {
  args: ParsedArgs
  cwd: string
  signal: AbortSignal
  env?: Record<string, string | undefined>
}

/** `--bootstrap`: where a DHT client finds the DHT (every command that takes --rendezvous). */
export const BACKEND_OPTIONS: Record<string, OptionSpec> = {
  bootstrap: { type: 'string', multiple: true, value: '<multiaddr>', help: 'with --rendezvous dht: a DHT node to join, ending in /p2p/<id> (env FARA_BOOTSTRAP; `fara rendezvous --dht` prints it)' }
}

/** `fara serve --srv`: publish in a DNS zone, the explicit form of `--rendezvous dns://<server>/<zone>?tsig=<file>`. */
export const SRV_SERVE_OPTIONS: Record<string, OptionSpec> = {
  srv: { type: 'string', value: '<zone>', help: 'publish in this DNS zone: SRV + signed TXT at <name>._fara._tcp.<zone> by RFC 2136 updates, withdrawn on stop (= --rendezvous dns://<dns-server>/<zone>?tsig=<file>)' },
  'dns-server': { type: 'string', value: '<ip[:port]>', help: 'with --srv: the zone\'s primary DNS server (port default 53)' },
  'tsig-key': { type: 'string', value: '<file>', help: 'with --srv: the TSIG key allowed to update the zone, as tsig-keygen prints it (mode 0600)' }
}

/** `@fara/srv`, loaded on first use (it brings in the rendezvous records). */
async function srv (): Promise<typeof import('@fara/srv')> {
  return import('@fara/srv')
}

/** True if `value` names the DNS backend. */
function isDnsUrl (value: string): boolean {
  return value.slice(0, DNS_SCHEME.length).toLowerCase() === DNS_SCHEME
}

/** `ip`, `ip:port` or `[v6]:port` → `host:port` with an IP address, as `@fara/srv` takes a server (it never resolves a host name). */
export function parseDnsServer (command: string, option: string, value: string): string {
  const { host, port } = isIP(value) !== 0 ? { host: value, port: DNS_PORT } : parseHostPort(command, option, value, false)
  if (isIP(host) === 0) throw new UsageError(`${option} must be an IP address with an optional port (the zone's primary server; no host names), got ${JSON.stringify(value)}`, command)
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`
}

/** A path from a URL or a flag: `~/` is the home directory, a relative one is relative to `base`. */
function pathFrom (value: string, base: string, env: Record<string, string | undefined> | undefined): string {
  if (value === '~' || value.startsWith('~/')) return resolve(env?.HOME ?? homedir(), value.slice(2))
  return resolve(base, value)
}

/**
 * Parse `dns://<server[:port]>/<zone>?tsig=<file>` (RFC 4501's `dns:` URI
 * shape: the authority is the server to ask, the path the zone). A relative
 * key file is relative to `base`.
 */
export function parseDnsUrl (command: string, what: string, value: string, base: string, env?: Record<string, string | undefined>): Extract<BackendSpec, { kind: 'dns' }> {
  const bad = (why: string): UsageError => new UsageError(`${what}: ${JSON.stringify(value)} is not dns://<server[:port]>/<zone>?tsig=<file> (${why})`, command)
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw bad('not a URL')
  }
  if (url.username !== '' || url.password !== '') throw bad('no user name or password')
  if (url.hash !== '') throw bad('no #fragment')
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1')
  if (host === '') throw bad('no DNS server')
  if (isIP(host) === 0) throw bad(`the server must be an IP address, got ${JSON.stringify(host)}`)
  const port = url.port === '' ? DNS_PORT : Number(url.port)
  if (port === 0) throw bad('port 0')
  let zone: string
  try {
    zone = decodeURIComponent(url.pathname.replace(/^\//, '')).replace(/\.$/, '')
  } catch {
    throw bad('the zone is not percent-encoded right')
  }
  if (zone === '' || zone.includes('/')) throw bad('no zone after the server')
  let tsig: string | undefined
  for (const part of url.search.replace(/^\?/, '').split('&').filter(p => p !== '')) {
    const eq = part.indexOf('=')
    const key = eq < 0 ? part : part.slice(0, eq)
    if (key !== 'tsig') throw bad(`unknown parameter ${JSON.stringify(key)}; the only one is tsig=<file>`)
    let file: string
    try {
      file = decodeURIComponent(eq < 0 ? '' : part.slice(eq + 1))
    } catch {
      throw bad('the tsig file is not percent-encoded right')
    }
    if (file === '') throw bad('tsig= needs a file')
    tsig = pathFrom(file, base, env)
  }
  const server = isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`
  return { kind: 'dns', server, zone, tsig, url: value }
}

/**
 * Check the form of `--rendezvous` values (nothing is read or dialled): one
 * `dns://…` URL, `dht`, or multiaddrs ending in `/p2p/<id>`.
 */
export function checkRendezvousValues (command: string, values: string[], what = '--rendezvous', base = '.'): string[] {
  if (values.some(v => isDnsUrl(v) || v === DHT_BACKEND)) {
    if (values.length !== 1) throw new UsageError(`${what}: dns://… and ${DHT_BACKEND} stand alone; got ${values.length} values (${values.map(v => JSON.stringify(v)).join(', ')})`, command)
    if (isDnsUrl(values[0]!)) parseDnsUrl(command, what, values[0]!, base)
    return values
  }
  return checkMultiaddrs(command, what, values, true)
}

/** The flags of `fara serve --srv` as a backend, or undefined without --srv. */
function srvFlagsOf (command: string, args: ParsedArgs, settings: Settings, ctx: BackendContext): BackendSpec | undefined {
  const zone = stringOf(args, 'srv')
  const server = stringOf(args, 'dns-server')
  const key = stringOf(args, 'tsig-key')
  if (zone == null) {
    if (server != null || key != null) throw new UsageError(`${server != null ? '--dns-server' : '--tsig-key'} goes with --srv <zone>`, command)
    return undefined
  }
  if (settings.rendezvous.source === 'flag') throw new UsageError('give --srv <zone> or --rendezvous, not both (--srv is the same as --rendezvous dns://<server>/<zone>?tsig=<file>)', command)
  if (server == null) throw new UsageError('--srv needs --dns-server <ip[:port]>: the zone\'s primary DNS server, which takes the updates', command)
  if (key == null) throw new UsageError('--srv needs --tsig-key <file>: the TSIG key the zone allows updates from (tsig-keygen prints one)', command)
  const dnsServer = parseDnsServer(command, '--dns-server', server)
  const clean = zone.replace(/\.$/, '')
  if (clean === '' || clean.includes('/')) throw new UsageError(`--srv must be a DNS zone such as fara.example.com, got ${JSON.stringify(zone)}`, command)
  const tsig = pathFrom(key, ctx.cwd, ctx.env)
  return { kind: 'dns', server: dnsServer, zone: clean, tsig, url: `dns://${dnsServer}/${clean}?tsig=${tsig}` }
}

/** The backend the settings (and, for `fara serve`, `--srv`) select; a missing or malformed one is a usage error. */
export function backendSpecOf (command: string, settings: Settings, ctx: BackendContext): BackendSpec {
  const fromFlags = srvFlagsOf(command, ctx.args, settings, ctx)
  if (fromFlags != null) return fromFlags
  const values = settings.rendezvous.value
  if (values.length === 0) {
    throw new MissingSettingError(`no rendezvous point: pass --rendezvous <multiaddr> (or dns://<server>/<zone>, or ${DHT_BACKEND}), set ${ENV.RENDEZVOUS}, or put "rendezvous" in the config file (\`fara rendezvous\` prints it)`)
  }
  const source = settings.rendezvous.source
  const what = `rendezvous (from ${source})`
  const base = source === 'config' && settings.configPath != null ? dirname(settings.configPath) : ctx.cwd
  checkRendezvousValues(command, values, what, base)
  const [first] = values as [string]
  if (isDnsUrl(first)) return parseDnsUrl(command, what, first, base, ctx.env)
  if (first === DHT_BACKEND) {
    const bootstrap = settings.bootstrap.value
    if (bootstrap.length === 0) {
      throw new MissingSettingError(`--rendezvous ${DHT_BACKEND} needs --bootstrap <multiaddr>: a DHT node to join (\`fara rendezvous --dht\` prints its address), or ${ENV.BOOTSTRAP}, or "bootstrap" in the config file`)
    }
    return { kind: 'dht', bootstrap: checkMultiaddrs(command, `bootstrap (from ${settings.bootstrap.source})`, bootstrap, true) }
  }
  return { kind: 'point', addrs: values }
}

/** Read and parse a TSIG key file (owner-only, as `tsig-keygen -a hmac-sha256 <name>` prints it). */
export async function readTsigKey (path: string): Promise<TsigKey> {
  const text = await readSmallFile(path, 'TSIG key file', true)
  const { parseTsigKey } = await srv()
  try {
    return parseTsigKey(text)
  } catch (err) {
    throw new ConfigError(`TSIG key file ${path}: ${(err as Error).message}`)
  }
}

/** Loopback, private (RFC 1918, RFC 4193) and link-local addresses: those a public DHT node must not dial for a stranger. */
export function isPrivateAddress (ip: string): boolean {
  if (isIP(ip) === 4) {
    const [a, b] = ip.split('.').map(Number) as [number, number]
    return a === 127 || a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || (a === 169 && b === 254)
  }
  const v6 = ip.toLowerCase()
  return v6 === '::1' || /^f[cd]/.test(v6) || /^fe[89ab]/.test(v6)
}

/** True if a multiaddr starts with a private or loopback IP (`/ip4/10.…`, `/ip6/::1/…`). */
export function isPrivateMultiaddr (addr: string): boolean {
  const m = /^\/ip[46]\/([^/]+)/.exec(addr)
  return m != null && isPrivateAddress(m[1]!)
}

/**
 * Check that the DNS server serves the zone before anything starts, so that a
 * wrong zone or key is one line now instead of retries forever. With a key:
 * an UPDATE whose only prerequisite is that the zone's name is in use and
 * which changes nothing (RFC 2136 §2.4.4): it proves the server is the zone's
 * primary and that the key may update it. Without one: its SOA record.
 * An unreachable server is left to the backend (serve retries; lookups exit 4).
 */
async function checkZone (spec: Extract<BackendSpec, { kind: 'dns' }>, key: TsigKey | undefined, signal: AbortSignal): Promise<void> {
  const { DnsUnavailableError, NotAuthoritativeError, PrerequisiteFailedError, dnsClient } = await srv()
  const notServed = (why: string): ZoneNotServedError =>
    new ZoneNotServedError(`${spec.server} does not serve the DNS zone ${JSON.stringify(spec.zone)} (${why})`)
  const deadline = AbortSignal.any([signal, AbortSignal.timeout(ZONE_CHECK_TIMEOUT_MS)])
  if (key != null) {
    try {
      await dnsClient({ server: spec.server, zone: spec.zone, key }).update({ prerequisites: [{ require: 'nameInUse', name: spec.zone }], changes: [] }, { signal: deadline })
    } catch (err) {
      signal.throwIfAborted()
      const e = err as Error & { rcodeName?: string }
      if (e.name === NotAuthoritativeError.name) throw notServed(e.rcodeName ?? 'NOTAUTH')
      if (e.name === PrerequisiteFailedError.name) throw notServed(`${e.rcodeName ?? 'NXDOMAIN'}: the zone's own name is not in it`)
      if (e.name === DnsUnavailableError.name || deadline.aborted) return
      throw err
    }
    return
  }
  const { Resolver } = await import('node:dns/promises')
  const resolver = new Resolver({ timeout: ZONE_CHECK_TIMEOUT_MS / 2, tries: 1 })
  resolver.setServers([spec.server])
  const cancel = (): void => { resolver.cancel() }
  signal.addEventListener('abort', cancel, { once: true })
  try {
    await resolver.resolveSoa(spec.zone)
  } catch (err) {
    signal.throwIfAborted()
    const code = (err as { code?: string }).code
    if (code === 'EREFUSED') throw notServed('REFUSED')
    if (code === 'ENOTFOUND') throw notServed('NXDOMAIN')
    if (code === 'ENODATA') throw notServed('no SOA record at that name')
    // unreachable: the backend says so when it is used
  } finally {
    signal.removeEventListener('abort', cancel)
  }
}

/**
 * The rendezvous the settings select, built and (for DNS) checked. `fara
 * serve` must be able to write: a DNS zone needs a TSIG key.
 */
export async function backendOf (command: string, settings: Settings, ctx: BackendContext): Promise<RendezvousFactory> {
  const spec = backendSpecOf(command, settings, ctx)
  if (spec.kind === 'point') {
    const { rendezvousPoint } = await sdk()
    return rendezvousPoint(spec.addrs)
  }
  // private names (and a hopping service's record, which is private too) work on every backend:
  // sealed records under blinded lookup keys on the DHT and in the zone (spec/dht.md, spec/adapters.md)
  if (spec.kind === 'dht') {
    const { dhtRendezvous } = await import('@fara/rendezvous/dht')
    // bootstrapped from a private or loopback address: a LAN (or one host), whose peers' private addresses are kept
    return dhtRendezvous({ bootstrap: spec.bootstrap, allowPrivateAddresses: spec.bootstrap.some(isPrivateMultiaddr) })
  }
  const writes = command === 'serve'
  if (writes && spec.tsig == null) {
    throw new UsageError(`publishing in DNS needs a TSIG key: ${spec.url}?tsig=<file>, or --srv ${spec.zone} --dns-server ${spec.server} --tsig-key <file>`, command)
  }
  const key = spec.tsig == null ? undefined : await readTsigKey(spec.tsig)
  const { srvRendezvous } = await srv()
  let factory: RendezvousFactory
  try {
    factory = srvRendezvous({ zone: spec.zone, server: spec.server, ...(key == null ? {} : { key }) })
  } catch (err) {
    throw new UsageError(`${spec.url}: ${(err as Error).message}`, command)
  }
  await checkZone(spec, writes ? key : undefined, ctx.signal)
  return factory
}

/**
 * After `fara serve` registered a public name through DNS: where anyone can see it (a status line), else
 * nothing. A private name has no SRV record to point at: its sealed TXT record sits under a blinded owner
 * name (spec/adapters.md#srv-private-records).
 */
export async function announceBackend (out: Output, command: string, settings: Settings, ctx: BackendContext, name: string): Promise<void> {
  const spec = backendSpecOf(command, settings, ctx)
  if (spec.kind !== 'dns') return
  const { ownerName } = await srv()
  const owner = ownerName(name, spec.zone)
  const [, host, port] = /^\[?(.*?)\]?:(\d+)$/.exec(spec.server) ?? []
  out.status('published', { name, zone: spec.zone, server: spec.server, owner },
    `published in DNS zone ${spec.zone} (SRV + signed TXT, public): dig @${host ?? spec.server} -p ${port ?? DNS_PORT} SRV ${owner}`)
}

/** `--bootstrap` values from the command line, checked (each ends in /p2p/<id>). */
export function bootstrapFlagOf (command: string, args: ParsedArgs): string[] | undefined {
  const values = listOf(args, 'bootstrap')
  return values == null ? undefined : checkMultiaddrs(command, '--bootstrap', values, true)
}
