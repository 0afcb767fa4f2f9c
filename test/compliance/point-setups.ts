// The setups of the rendezvous point's compliance runs: one point on loopback whose store verifies at the
// suite's clock, reached by fresh client nodes over their own libp2p connections.
import { generateKeyPair } from '@libp2p/crypto/keys'
import { createRendezvousPoint, rendezvousPoint } from '@fara/rendezvous'
import { createNode } from '@fara/transport'
import type { rendezvousCompliance } from './index.ts'
import type { privateRendezvousCompliance } from './private.ts'

/** The public suite's setup: one client node. */
export function pointSetup (workers = 1): Parameters<typeof rendezvousCompliance>[1] {
  return async (clock) => {
    const point = await createRendezvousPoint({ listen: ['/ip4/127.0.0.1/tcp/0'], now: clock.now, workers })
    const node = await createNode({ privateKey: await generateKeyPair('Ed25519'), listen: [] })
    return {
      rendezvous: rendezvousPoint(point.multiaddrs)({ node }),
      teardown: async () => { await node.stop(); await point.close() }
    }
  }
}

/** The private suite's setup: the service and the other party, each on its own connection (with workers, dealt round-robin). */
export function privatePointSetup (workers = 1): Parameters<typeof privateRendezvousCompliance>[1] {
  return async (clock) => {
    const point = await createRendezvousPoint({ listen: ['/ip4/127.0.0.1/tcp/0'], now: clock.now, workers })
    const nodes = await Promise.all([0, 1].map(async () => createNode({ privateKey: await generateKeyPair('Ed25519'), listen: [] })))
    const factory = rendezvousPoint(point.multiaddrs)
    return {
      rendezvous: factory({ node: nodes[0]! }),
      peer: factory({ node: nodes[1]! }),
      teardown: async () => { for (const n of nodes) await n.stop(); await point.close() }
    }
  }
}
