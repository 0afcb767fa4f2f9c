import { generateKeyPair } from '@libp2p/crypto/keys'
import { loadOrCreateIdentity } from '@fara/identity'
import { createNode, natObserver, relayServer } from '@fara/transport'
import { RENDEZVOUS_CONNECTION_LIMITS } from '@fara/transport/constants'
import type { NatObserver, RelayServer, RelayServerInit } from '@fara/transport'
import { DATA_DIR_MODE } from '../constants.ts'
import { makeDir, openRecords } from './data-dir.ts'
import { rendezvousServer } from './server.ts'
import type { RendezvousServer, RendezvousServerInit } from './server.ts'
import type { Libp2p, PrivateKey } from '@libp2p/interface'
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
 * @throws `RangeError` when a listen address pins a port without `allowPinnedPort` (or any port below 1024), or a limit is out of range.
 * @throws `TypeError` when an option has the wrong type.
 */
export async function createRendezvousPoint (init: RendezvousPointServerInit = {}): Promise<RendezvousPointHandle> {
  init.signal?.throwIfAborted()
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
  let node
  try {
    init.signal?.throwIfAborted()
    // checked before the node starts, so a bad option leaves nothing running
    const relay = init.relay == null || init.relay === false ? undefined : relayServer(init.relay === true ? {} : init.relay)
    const observer = init.observe == null || init.observe.length === 0 ? undefined : natObserver({ listen: init.observe })
    node = await createNode<{ rendezvous: RendezvousServer, relay?: RelayServer, observer?: NatObserver }>({
      privateKey: privateKey ?? await generateKeyPair('Ed25519'),
      listen: init.listen ?? ['/ip4/0.0.0.0/tcp/0'],
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
  return {
    node,
    server: node.services.rendezvous,
    relay: node.services.relay,
    get multiaddrs () { return node.getMultiaddrs() },
    async close () {
      await node.stop()
      await level?.close()
    }
  }
}
