import { generateKeyPair } from '@libp2p/crypto/keys'
import { createNode } from '@fara/transport'
import { afterAll, beforeAll, expect } from 'vitest'
import { dhtServiceOf } from '../src/dht/index.ts'
import type { dhtRendezvous } from '../src/dht/index.ts'
import type { Libp2p } from '@libp2p/interface'

/** The nodes of a local DHT testnet: `nodes` listen on loopback; a test adds its own nodes to `extra` to have them stopped too. */
export interface DhtTestnet {
  nodes: Libp2p[]
  extra: Libp2p[]
}

export interface DhtTestnetInit {
  /** Each node dials the nodes this many places after it (mod n). */
  offsets: number[]
  /** Wait until every node has this many peers in its routing table. */
  minPeers: number
}

/**
 * Call in a describe block: before its tests, `n` DHT server nodes start on
 * loopback with `factory`'s services and dial their ring neighbours; after
 * them, every node (and every `extra` one) stops.
 */
export function dhtTestnet (factory: ReturnType<typeof dhtRendezvous>, n: number, init: DhtTestnetInit): DhtTestnet {
  const net: DhtTestnet = { nodes: [], extra: [] }
  beforeAll(async () => {
    net.nodes.push(...await Promise.all(Array.from({ length: n }, async () => createNode({
      privateKey: await generateKeyPair('Ed25519'),
      listen: ['/ip4/127.0.0.1/tcp/0'],
      services: factory.nodeServices
    }))))
    const dials = net.nodes.flatMap((node, i) => init.offsets.map(async (o) => node.dial(net.nodes[(i + o) % n]!.getMultiaddrs())))
    const failed = (await Promise.allSettled(dials)).filter(r => r.status === 'rejected')
    expect(failed).toEqual([])
    await Promise.all(net.nodes.map(async node => dhtServiceOf(node).waitForPeers(init.minPeers, { signal: AbortSignal.timeout(10_000) })))
  })
  afterAll(async () => {
    await Promise.all([...net.nodes, ...net.extra].map(async node => node.stop()))
  })
  return net
}
