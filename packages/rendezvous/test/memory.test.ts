import { memoryRendezvous } from '../src/index.ts'
import { createNode } from '@fara/transport'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { rendezvousCompliance } from './compliance/index.ts'

rendezvousCompliance('memory', async (clock) => {
  // the memory backend ignores its node; a dial-only one keeps the factory contract honest
  const node = await createNode({ privateKey: await generateKeyPair('Ed25519'), listen: [] })
  return { rendezvous: memoryRendezvous({ now: clock.now })({ node }), teardown: async () => { await node.stop() } }
})
