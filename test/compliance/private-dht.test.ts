// The private compliance suite against the DHT backend: three DHT nodes, each in its own process
// (private-dht-node.ts), started once for the file, and a fresh entity node in this process per test. Every
// node validates at the suite's clock: the processes follow each advance before the test goes on.
import { generateKeyPair } from '@libp2p/crypto/keys'
import { afterAll, beforeAll, describe, expect } from 'vitest'
import { dhtRendezvous, dhtServiceOf } from '@fara/rendezvous/dht'
import { createNode } from '@fara/transport'
import { multiaddr } from '@multiformats/multiaddr'
import { startFixture, stopAll } from '../helpers/process.ts'
import { privateRendezvousCompliance } from './private.ts'
import type { Fixture } from '../helpers/process.ts'

const PEERS = 3
// startFixture runs test/fixtures/<name>.ts; the node program lives beside this suite
const NODE = '../compliance/private-dht-node'

describe(`private dht: ${PEERS} DHT nodes in their own processes`, () => {
  let peers: Fixture[] = []
  let addrs: string[][] = []
  let sequence = 0

  beforeAll(async () => {
    const first = startFixture(NODE, { waitPeers: 1 }, { stdin: true })
    const bootstrap = (await first.next(l => l.event === 'ready')).multiaddrs as string[]
    peers = [first, ...Array.from({ length: PEERS - 1 }, () => startFixture(NODE, { bootstrap, waitPeers: 1 }, { stdin: true }))]
    const joined = await Promise.all(peers.map(async p => p.next(l => l.event === 'peers' || l.event === 'error')))
    expect(joined.map(l => l.event)).toEqual(peers.map(() => 'peers'))
    addrs = await Promise.all(peers.map(async p => (await p.next(l => l.event === 'ready')).multiaddrs as string[]))
  })

  afterAll(async () => {
    await stopAll()
  })

  privateRendezvousCompliance(`dht (${PEERS} nodes in their own processes)`, async (clock) => {
    // each node process takes the suite's clock offset, and says so, before the test goes on
    await clock.follow(async (offsetMs) => {
      const id = ++sequence
      await Promise.all(peers.map(async p => {
        p.send({ id, offsetMs })
        await p.next(l => l.event === 'clock' && l.id === id)
      }))
    })
    // the service's node and another party's, each a DHT node of its own in this process, both joined to the three
    const factory = dhtRendezvous({ now: clock.now, allowPrivateAddresses: true, timeout: 10_000 })
    const nodes = await Promise.all([0, 1].map(async () => {
      const node = await createNode({ privateKey: await generateKeyPair('Ed25519'), listen: ['/ip4/127.0.0.1/tcp/0'], services: factory.nodeServices })
      await Promise.all(addrs.map(async a => node.dial(a.map(m => multiaddr(m)))))
      await dhtServiceOf(node).waitForPeers(PEERS, { signal: AbortSignal.timeout(10_000) })
      return node
    }))
    return {
      rendezvous: factory({ node: nodes[0]! }),
      peer: factory({ node: nodes[1]! }),
      // one after another: two libp2p nodes that close their shared connection at once wait out a 500 ms grace period
      teardown: async () => { for (const n of nodes) await n.stop() }
    }
  })
})
