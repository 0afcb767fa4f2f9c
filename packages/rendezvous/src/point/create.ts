import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { loadOrCreateIdentity } from '@fara/identity'
import { RENDEZVOUS_CONNECTION_LIMITS, createNode } from '@fara/transport'
import { LevelDatastore } from 'datastore-level'
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
   * 0600) and its records (a LevelDB datastore in `records/`), so a restart
   * keeps its identity and loses no live registration. Default: memory only.
   */
  dataDir?: string
}

/** A running rendezvous point. */
export interface RendezvousPointHandle {
  readonly node: Libp2p<{ rendezvous: RendezvousServer }>
  readonly server: RendezvousServer
  /** Addresses to hand to clients, each ending in `/p2p/<peer id>`. */
  readonly multiaddrs: Multiaddr[]
  close (): Promise<void>
}

/** Start a rendezvous point on its own libp2p node, with connection limits sized for many clients. */
export async function createRendezvousPoint (init: RendezvousPointServerInit = {}): Promise<RendezvousPointHandle> {
  let datastore = init.datastore
  let level: LevelDatastore | undefined
  let privateKey = init.privateKey
  if (init.dataDir != null) {
    await mkdir(init.dataDir, { recursive: true, mode: 0o700 })
    privateKey ??= (await loadOrCreateIdentity(init.dataDir, 'rendezvous-point')).privateKey
    if (datastore == null) {
      level = new LevelDatastore(join(init.dataDir, 'records'))
      await level.open()
      datastore = level
    }
  }
  let node
  try {
    node = await createNode({
      privateKey: privateKey ?? await generateKeyPair('Ed25519'),
      listen: init.listen ?? ['/ip4/0.0.0.0/tcp/0'],
      allowPinnedPort: init.allowPinnedPort ?? false,
      connectionManager: { ...RENDEZVOUS_CONNECTION_LIMITS },
      services: { rendezvous: rendezvousServer({ ...init, ...(datastore == null ? {} : { datastore }) }) }
    })
  } catch (err) {
    await level?.close()
    throw err
  }
  return {
    node,
    server: node.services.rendezvous,
    get multiaddrs () { return node.getMultiaddrs() },
    async close () {
      await node.stop()
      await level?.close()
    }
  }
}
