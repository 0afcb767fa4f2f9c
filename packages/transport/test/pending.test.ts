// A handshake slowloris: one host opens many TCP connections and never speaks. libp2p bounds
// connections in their handshake only in total; the per-host gate keeps that host to its share.
import { connect } from 'node:net'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { tcp } from '@libp2p/tcp'
import { afterEach, describe, expect, it } from 'vitest'
import { createNode, dialEntity } from '../src/index.ts'
import { MAX_PENDING_PER_HOST } from '../src/constants.ts'
import type { Socket } from 'node:net'

describe('connections in their handshake, per host', () => {
  const sockets: Socket[] = []
  const stops: Array<() => Promise<void>> = []
  afterEach(async () => {
    for (const s of sockets.splice(0)) s.destroy()
    await Promise.allSettled(stops.splice(0).map(async s => s()))
  })

  it('a host holding many silent connections does not keep another host out', async () => {
    const server = await createNode({
      privateKey: await generateKeyPair('Ed25519'),
      listen: ['/ip4/0.0.0.0/tcp/0'],
      // a small total, so that the slowloris would fill it without the per-host gate
      connectionManager: { maxIncomingPendingConnections: 24, inboundUpgradeTimeout: 30_000, inboundConnectionThreshold: 1_000 }
    })
    stops.push(async () => server.stop())
    const port = Number(server.getMultiaddrs()[0]!.getComponents().find(c => c.name === 'tcp')!.value)
    // 40 silent connections from 127.0.0.1: more than the total of 24
    await Promise.all(Array.from({ length: 40 }, async () => new Promise<void>((resolve, reject) => {
      const s = connect({ host: '127.0.0.1', port }, () => { resolve() })
      s.on('error', reject)
      sockets.push(s)
    })))
    // another host (127.0.0.2, loopback too) still gets through
    // dialOpts go to net.connect as they are; its localAddress is missing from their type
    const client = await createNode({ privateKey: await generateKeyPair('Ed25519'), listen: [], tcp: tcp({ dialOpts: { localAddress: '127.0.0.2' } as never }) })
    stops.push(async () => client.stop())
    const connection = await dialEntity(client, server.peerId, [`/ip4/127.0.0.1/tcp/${port}`])
    expect(connection.status).toBe('open')
    expect(MAX_PENDING_PER_HOST).toBeLessThan(24)
  })
})
