import { generateKeyPair } from '@libp2p/crypto/keys'
import { dhtRendezvous, dhtServiceOf } from '@fara/rendezvous/dht'
import { createNode } from '@fara/transport'
import { rendezvousCompliance } from './index.ts'

const PEERS = 3

rendezvousCompliance('dht', async (clock) => {
  // every node validates at the suite's clock; the entity's node and three DHT servers on loopback
  const factory = dhtRendezvous({ now: clock.now, allowPrivateAddresses: true, timeout: 10_000 })
  const nodes = await Promise.all(Array.from({ length: PEERS + 1 }, async () => createNode({
    privateKey: await generateKeyPair('Ed25519'),
    listen: ['/ip4/127.0.0.1/tcp/0'],
    services: factory.nodeServices
  })))
  const [entity, ...peers] = nodes
  await Promise.all(peers.map(async p => entity!.dial(p.getMultiaddrs())))
  await dhtServiceOf(entity!).waitForPeers(PEERS, { signal: AbortSignal.timeout(10_000) })
  return {
    rendezvous: factory({ node: entity! }),
    // one after another: two libp2p nodes that close their shared connection at once wait out a 500 ms grace period
    teardown: async () => { for (const n of nodes) await n.stop() },
    // a DHT has no first-come pinning: the newest valid record for a name wins (spec/dht.md#selector)
    capabilities: { pinsNames: false }
  }
})
