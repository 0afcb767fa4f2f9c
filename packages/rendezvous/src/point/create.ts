import { generateKeyPair } from '@libp2p/crypto/keys'
import { loadOrCreateIdentity } from '@fara/identity'
import { checkListenAddrs, createNode, natObserver, relayServer } from '@fara/transport'
import { RENDEZVOUS_CONNECTION_LIMITS } from '@fara/transport/constants'
import type { NatObserver, RelayServer, RelayServerInit } from '@fara/transport'
import { DATA_DIR_MODE } from '../constants.ts'
import { makeDir, openRecords } from './data-dir.ts'
import { rendezvousServer } from './server.ts'
import { startWorkers, workerCount } from './cluster.ts'
import type { Primary, RendezvousWorker, Workers } from './cluster.ts'
import type { RendezvousServer, RendezvousServerInit } from './server.ts'
import type { Libp2p, PrivateKey } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import type { Multiaddr } from '@multiformats/multiaddr'

/** Options for {@link createRendezvousPoint}. */
export interface RendezvousPointServerInit extends RendezvousServerInit {
  /** The point's key (default: kept in `dataDir`, else a fresh one; clients pin it through the `/p2p/` address). */
  privateKey?: PrivateKey
  /** Listen multiaddrs (default `/ip4/0.0.0.0/tcp/0`). */
  listen?: string[]
  /** Allow a fixed port at or above 1024, so clients can be given a stable address (default false). */
  allowPinnedPort?: boolean
  /**
   * A directory for the point's state: its key (`rendezvous-point.key`, mode
   * 0600) and its records (a LevelDB datastore in `records/`, mode 0700, its
   * files 0600), so a restart keeps its identity and loses no live
   * registration; created with mode 0700 if missing. Default: memory only.
   */
  dataDir?: string
  /**
   * Also run a circuit relay v2 server on the point's node, so entities
   * behind NAT can reserve a slot and be reached through it
   * (spec/transport.md#relays). `true` for Fara's limits
   * (`RELAY_SERVER_LIMITS`: no data or duration cut, bounded slots and
   * connections), or some of them overridden. Default false.
   */
  relay?: boolean | RelayServerInit
  /**
   * Also answer NAT classification questions over UDP on these `host:port`
   * endpoints (a `natObserver`, spec/direct-paths.md#observers), for the
   * entities that punch direct paths. Two public IPs let one point serve as
   * both observers a classification needs. Default: none.
   */
  observe?: string[]
  /**
   * Worker processes that serve clients (spec/rendezvous.md#workers): `1`
   * (the default) serves in this process; more, or `'auto'` (one per core),
   * fork that many processes on one shared listening socket, each a libp2p
   * node with the point's key, that forward every request to this process,
   * which alone holds the records and the request rates. Nothing changes on
   * the wire. Not with `relay` or `observe` (their state is per process).
   */
  workers?: number | 'auto'
  /** Abort the start: `createRendezvousPoint` rejects with the signal's reason, and nothing it started keeps running. */
  signal?: AbortSignal
}

/** A running rendezvous point. */
export interface RendezvousPointHandle {
  readonly node: Libp2p<{ rendezvous: RendezvousServer, relay?: RelayServer, observer?: NatObserver }>
  readonly server: RendezvousServer
  /** The relay server, when the point was started with `relay`. */
  readonly relay: RelayServer | undefined
  /** Addresses to hand to clients, each ending in `/p2p/<peer id>`. */
  readonly multiaddrs: Multiaddr[]
  /**
   * The processes that serve clients: this one alone with one worker, else
   * the worker processes (the node of this process then listens on nothing
   * and only answers what they forward).
   */
  readonly workers: RendezvousWorker[]
  close (): Promise<void>
}

/**
 * Start a rendezvous point on its own libp2p node, with connection limits sized for many clients, and optionally a relay.
 *
 * @example
 * ```ts
 * import { createRendezvousPoint } from '@fara/rendezvous'
 *
 * const point = await createRendezvousPoint({
 *   dataDir: '/var/lib/fara/rendezvous', // key + records (needs datastore-level), mode 0700/0600
 *   listen: ['/ip4/0.0.0.0/tcp/40123'],
 *   allowPinnedPort: true,
 *   relay: true,
 *   signal: AbortSignal.timeout(10_000)
 * })
 * console.log(point.multiaddrs.map(String)) // hand these to clients: rendezvousPoint(addrs)
 * await point.close()
 * ```
 *
 * @throws {@link @fara/identity!index.InvalidIdentityFileError | InvalidIdentityFileError} when `dataDir` holds a damaged or foreign `rendezvous-point.key`.
 * @throws {@link @fara/identity!index.InsecureIdentityFileError | InsecureIdentityFileError} when that key file is open to other users (expected mode 0600).
 * @throws {@link @fara/transport!index.MissingDependencyError | MissingDependencyError} when `dataDir` is set and the optional peer dependency `datastore-level` is not installed.
 * @throws `RangeError` when a listen address pins a port without `allowPinnedPort` (or any port below 1024), a limit is out of range, or `workers` is out of range or above 1 with `relay` or `observe`.
 * @throws `TypeError` when an option has the wrong type.
 */
export async function createRendezvousPoint (init: RendezvousPointServerInit = {}): Promise<RendezvousPointHandle> {
  init.signal?.throwIfAborted()
  const workers = workerCount(init.workers)
  if (workers > 1) {
    if (init.relay != null && init.relay !== false) throw new RangeError('relay needs workers: 1 (a relay slot and the connections through it must meet in one process)')
    if (init.observe != null && init.observe.length > 0) throw new RangeError('observe needs workers: 1')
    checkListenAddrs(init.listen ?? DEFAULT_POINT_LISTEN, init.allowPinnedPort ?? false)
  }
  let datastore = init.datastore
  let level: Awaited<ReturnType<typeof openRecords>> | undefined
  let privateKey = init.privateKey
  const signal = init.signal == null ? {} : { signal: init.signal }
  if (init.dataDir != null) {
    await makeDir(init.dataDir, DATA_DIR_MODE)
    privateKey ??= (await loadOrCreateIdentity(init.dataDir, 'rendezvous-point', signal)).privateKey
    init.signal?.throwIfAborted()
    if (datastore == null) {
      level = await openRecords(init.dataDir)
      datastore = level.datastore
    }
  }
  const key = privateKey ?? await generateKeyPair('Ed25519')
  let node
  try {
    init.signal?.throwIfAborted()
    // checked before the node starts, so a bad option leaves nothing running
    const relay = init.relay == null || init.relay === false ? undefined : relayServer(init.relay === true ? {} : init.relay)
    const observer = init.observe == null || init.observe.length === 0 ? undefined : natObserver({ listen: init.observe })
    node = await createNode<{ rendezvous: RendezvousServer, relay?: RelayServer, observer?: NatObserver }>({
      privateKey: key,
      // with workers, they listen; this node only answers what they forward
      listen: workers > 1 ? [] : init.listen ?? DEFAULT_POINT_LISTEN,
      allowPinnedPort: init.allowPinnedPort ?? false,
      connectionManager: { ...RENDEZVOUS_CONNECTION_LIMITS },
      services: {
        rendezvous: rendezvousServer({ ...init, ...(datastore == null ? {} : { datastore }) }),
        ...(relay == null ? {} : { relay }),
        ...(observer == null ? {} : { observer })
      },
      // an abort while the node starts stops it
      ...signal
    })
  } catch (err) {
    await level?.close()
    throw err
  }
  let forked: Workers | undefined
  if (workers > 1) {
    const server = node.services.rendezvous as RendezvousServer & Primary
    try {
      forked = await startWorkers(workers, key, { ...init, listen: init.listen ?? DEFAULT_POINT_LISTEN }, server, node.logger.forComponent('fara:rendezvous:point'), init.signal)
    } catch (err) {
      await node.stop()
      await level?.close()
      throw err
    }
  }
  return {
    node,
    server: node.services.rendezvous,
    relay: node.services.relay,
    get multiaddrs () { return forked == null ? node.getMultiaddrs() : forked.multiaddrs.map(a => multiaddr(a)) },
    get workers () {
      const { requests, rateLimited } = node.services.rendezvous.stats
      return forked?.list() ?? [{ pid: process.pid, requests: requests + rateLimited }]
    },
    async close () {
      await forked?.stop()
      await node.stop()
      await level?.close()
    }
  }
}

/** Listen addresses of a point by default. */
const DEFAULT_POINT_LISTEN = ['/ip4/0.0.0.0/tcp/0']
