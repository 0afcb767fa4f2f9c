import { generateKeyPair } from '@libp2p/crypto/keys'
import { memoryRendezvous } from '@fara/rendezvous'
import { createNode } from '@fara/transport'
import { privateRendezvousCompliance } from './private.ts'

privateRendezvousCompliance('memory', async (clock) => {
  // one store; the backend ignores its nodes, dial-only ones keep the factory contract honest
  const factory = memoryRendezvous({ now: clock.now })
  const nodes = await Promise.all([0, 1].map(async () => createNode({ privateKey: await generateKeyPair('Ed25519'), listen: [] })))
  return {
    rendezvous: factory({ node: nodes[0]! }),
    peer: factory({ node: nodes[1]! }),
    teardown: async () => { for (const n of nodes) await n.stop() }
  }
})
