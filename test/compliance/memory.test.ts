import { generateKeyPair } from '@libp2p/crypto/keys'
import { memoryRendezvous } from '@fara/rendezvous'
import { createNode } from '@fara/transport'
import { rendezvousCompliance } from './index.ts'

rendezvousCompliance('memory', async (clock) => {
  // the memory backend ignores its node; a dial-only one keeps the factory contract honest
  const node = await createNode({ privateKey: await generateKeyPair('Ed25519'), listen: [] })
  return { rendezvous: memoryRendezvous({ now: clock.now })({ node }), teardown: async () => { await node.stop() } }
})
