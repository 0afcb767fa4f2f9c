import { generateKeyPair } from '@libp2p/crypto/keys'
import { createRendezvousPoint, rendezvousPoint } from '@fara/rendezvous'
import { createNode } from '@fara/transport'
import { privateRendezvousCompliance } from './private.ts'

privateRendezvousCompliance('rendezvous point (in-memory store)', async (clock) => {
  // the point's store verifies at the suite's clock; the service and the other party each talk to it over
  // their own libp2p connection
  const point = await createRendezvousPoint({ listen: ['/ip4/127.0.0.1/tcp/0'], now: clock.now })
  const nodes = await Promise.all([0, 1].map(async () => createNode({ privateKey: await generateKeyPair('Ed25519'), listen: [] })))
  const factory = rendezvousPoint(point.multiaddrs)
  return {
    rendezvous: factory({ node: nodes[0]! }),
    peer: factory({ node: nodes[1]! }),
    teardown: async () => { for (const n of nodes) await n.stop(); await point.close() }
  }
})
