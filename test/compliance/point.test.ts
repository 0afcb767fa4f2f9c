import { generateKeyPair } from '@libp2p/crypto/keys'
import { createRendezvousPoint, rendezvousPoint } from '@fara/rendezvous'
import { createNode } from '@fara/transport'
import { rendezvousCompliance } from './index.ts'

rendezvousCompliance('rendezvous point (in-memory store)', async (clock) => {
  const point = await createRendezvousPoint({ listen: ['/ip4/127.0.0.1/tcp/0'], now: clock.now })
  const node = await createNode({ privateKey: await generateKeyPair('Ed25519'), listen: [] })
  return {
    rendezvous: rendezvousPoint(point.multiaddrs)({ node }),
    teardown: async () => { await node.stop(); await point.close() }
  }
})
