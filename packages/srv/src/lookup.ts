import { randomBytes } from 'node:crypto'
import { Resolver } from 'node:dns/promises'
import { DEFAULT_TIMEOUT_MS, DEFAULT_UDP_TRIES } from './constants.ts'
import { DnsUnavailableError, ServiceNotAvailableError, ServiceNotFoundError } from './errors.ts'
import { parseServer } from './internal/transport.ts'
import { nameToLabels } from './internal/wire.ts'
import type { SrvTarget } from './records.ts'
import type { AbortOptions } from '@libp2p/interface'

/** A source of uniform random numbers in [0, 1), like `Math.random`; tests pass a seeded one. */
export type RandomFraction = () => number

/** Options for {@link resolveSrv}. */
export interface ResolveSrvOptions extends AbortOptions {
  /** DNS servers to ask instead of the system's, as `'127.0.0.1:5353'` or `'[::1]:53'`. */
  servers?: string[]
  /** Random source of the weighted selection (default: the CSPRNG). */
  random?: RandomFraction
  /** Deadline of one try in ms (default {@link DEFAULT_TIMEOUT_MS}). */
  timeout?: number
  /** Tries per server (default {@link DEFAULT_UDP_TRIES}). */
  tries?: number
}

/** Uniform in [0, 1) with 48 bits from the CSPRNG. */
const csprngRandom: RandomFraction = () => randomBytes(6).readUIntBE(0, 6) / 2 ** 48

/** Node's `resolveSrv` gives `''` for the root target `.`. */
const isRoot = (name: string): boolean => name === '' || name === '.'

function checkTarget (r: SrvTarget, i: number): void {
  if (r == null || typeof r !== 'object') throw new TypeError(`records[${i}] must be an SRV target object`)
  if (typeof r.name !== 'string') throw new TypeError(`records[${i}].name must be a string, got ${typeof r.name}`)
  for (const field of ['priority', 'weight', 'port'] as const) {
    const v = r[field]
    if (!Number.isInteger(v) || v < 0 || v > 0xffff) throw new RangeError(`records[${i}].${field} must be an integer 0-65535, got ${String(v)}`)
  }
}

/** A uniform integer in [0, max] from `random`. */
function uniform (random: RandomFraction, max: number): number {
  const x = random()
  if (typeof x !== 'number' || !(x >= 0 && x < 1)) throw new RangeError(`random() must return a number in [0, 1), got ${String(x)}`)
  return Math.min(max, Math.floor(x * (max + 1)))
}

/**
 * Order SRV records for contacting exactly as RFC 2782 says: lowest
 * priority first; within a priority, repeatedly arrange the remaining
 * records with the weight-0 ones first, take running sums of the weights,
 * draw a uniform integer in [0, sum] and pick the first record whose running
 * sum is at least that number. A lone record with target `.` means the
 * service is decidedly not available ({@link ServiceNotAvailableError});
 * among several records, `.` targets are left out (they name no host), and if
 * nothing else is left the service is not available either.
 *
 * @example
 * ```ts
 * import { orderSrv } from '@fara/srv'
 *
 * const ordered = orderSrv([
 *   { name: 'backup.example.test', port: 40123, priority: 20, weight: 0 },
 *   { name: 'a.example.test', port: 40123, priority: 10, weight: 60 },
 *   { name: 'b.example.test', port: 40123, priority: 10, weight: 40 }
 * ])
 * console.log(ordered.map(r => r.name)) // a or b first (60:40), then the other, then backup
 * ```
 *
 * @throws {@link ServiceNotAvailableError} when every record has the target `.`.
 * @throws `TypeError` when `records` is not an array of SRV targets or `random` not a function.
 * @throws `RangeError` when a priority, weight or port is not an integer 0–65535, or `random()` leaves [0, 1).
 */
export function orderSrv<T extends SrvTarget> (records: readonly T[], random: RandomFraction = csprngRandom): T[] {
  if (!Array.isArray(records)) throw new TypeError(`records must be an array, got ${typeof records}`)
  if (typeof random !== 'function') throw new TypeError(`random must be a function, got ${typeof random}`)
  records.forEach(checkTarget)
  if (records.length === 0) return []
  const usable = records.filter(r => !isRoot(r.name))
  if (usable.length === 0) throw new ServiceNotAvailableError()
  const priorities = [...new Set(usable.map(r => r.priority))].sort((a, b) => a - b)
  const out: T[] = []
  for (const priority of priorities) {
    const group = usable.filter(r => r.priority === priority)
    // RFC 2782: "all those with weight 0 are placed at the beginning of the list"
    const unordered = [...group.filter(r => r.weight === 0), ...group.filter(r => r.weight !== 0)]
    while (unordered.length > 0) {
      const sum = unordered.reduce((s, r) => s + r.weight, 0)
      const pick = uniform(random, sum)
      let running = 0
      const index = unordered.findIndex(r => (running += r.weight) >= pick)
      out.push(unordered.splice(index, 1)[0]!)
    }
  }
  return out
}

/**
 * Look up the SRV records of `name` (`_service._proto.domain`) with
 * `node:dns` and return them in the order to try (RFC 2782, see
 * {@link orderSrv}).
 *
 * @example
 * ```ts
 * import { ServiceNotFoundError, resolveSrv } from '@fara/srv'
 *
 * try {
 *   const [first] = await resolveSrv('chat._fara._tcp.example.test', { servers: ['127.0.0.1:5353'], signal: AbortSignal.timeout(5_000) })
 *   console.log(first?.name, first?.port)
 * } catch (err) {
 *   if ((err as Error).name !== ServiceNotFoundError.name) throw err
 *   console.log('no such service')
 * }
 * ```
 *
 * @throws {@link ServiceNotFoundError} when the name does not exist (`reason: 'NXDOMAIN'`) or has no SRV records (`'NODATA'`).
 * @throws {@link ServiceNotAvailableError} when the only target is `.`: the service is decidedly not available there.
 * @throws {@link DnsUnavailableError} when no server answers usefully (timeout, refused, SERVFAIL).
 * @throws `TypeError` when `name` is not a string.
 * @throws `RangeError` when `name` is the root, or `servers`, `timeout` or `tries` is out of range.
 */
export async function resolveSrv (name: string, options: ResolveSrvOptions = {}): Promise<SrvTarget[]> {
  if (typeof name !== 'string') throw new TypeError(`name must be a string, got ${typeof name}`)
  if (nameToLabels(name).length === 0) throw new RangeError('name must not be the root')
  const timeout = options.timeout ?? DEFAULT_TIMEOUT_MS
  const tries = options.tries ?? DEFAULT_UDP_TRIES
  if (!Number.isSafeInteger(timeout) || timeout <= 0) throw new RangeError(`timeout must be a positive integer of ms, got ${timeout}`)
  if (!Number.isSafeInteger(tries) || tries <= 0) throw new RangeError(`tries must be a positive integer, got ${tries}`)
  if (options.servers != null && (!Array.isArray(options.servers) || options.servers.length === 0)) throw new RangeError('servers must be a non-empty array')
  const servers = options.servers?.map(s => {
    const { host, port, family } = parseServer(s)
    return family === 6 ? `[${host}]:${port}` : `${host}:${port}`
  })
  options.signal?.throwIfAborted()
  const resolver = new Resolver({ timeout, tries })
  if (servers != null) resolver.setServers(servers)
  const onAbort = (): void => { resolver.cancel() }
  options.signal?.addEventListener('abort', onAbort, { once: true })
  let records: SrvTarget[]
  try {
    records = (await resolver.resolveSrv(name)).map(r => ({ name: r.name, port: r.port, priority: r.priority, weight: r.weight }))
  } catch (err) {
    options.signal?.throwIfAborted()
    const code = (err as { code?: string }).code
    if (code === 'ENOTFOUND') throw new ServiceNotFoundError('NXDOMAIN', `${name} does not exist (NXDOMAIN)`)
    if (code === 'ENODATA') throw new ServiceNotFoundError('NODATA', `${name} has no SRV records (NODATA)`)
    throw new DnsUnavailableError(`SRV lookup of ${name} failed: ${code ?? (err as Error).message}`, { cause: err })
  } finally {
    options.signal?.removeEventListener('abort', onAbort)
  }
  if (records.length === 0) throw new ServiceNotFoundError('NODATA', `${name} has no SRV records (NODATA)`)
  return orderSrv(records, options.random)
}
