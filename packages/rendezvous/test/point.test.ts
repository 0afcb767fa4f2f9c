import { generateKeyPair } from '@libp2p/crypto/keys'
import { lpStream } from '@libp2p/utils'
import { createNode, openStream } from '@fara/transport'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createRendezvousPoint, rendezvousPoint } from '../src/index.ts'
import { MAX_POINT_MESSAGE_BYTES, RENDEZVOUS_PROTOCOL, Status } from '../src/constants.ts'
import { ResponseType, tryDecode } from '../src/internal/codec.ts'
import type { RendezvousPointHandle } from '../src/index.ts'
import type { Libp2p } from '@libp2p/interface'

describe('rendezvous point wire', () => {
  let point: RendezvousPointHandle
  let node: Libp2p

  beforeEach(async () => {
    point = await createRendezvousPoint({ listen: ['/ip4/127.0.0.1/tcp/0'] })
    node = await createNode({ privateKey: await generateKeyPair('Ed25519'), listen: [] })
  })

  afterEach(async () => {
    await node.stop()
    await point.close()
  })

  async function raw (bytes: Uint8Array, maxDataLength = 1 << 20): Promise<{ status: number, message: string }> {
    const stream = await openStream(node, point.node.peerId, point.multiaddrs, RENDEZVOUS_PROTOCOL)
    const lp = lpStream(stream, { maxDataLength })
    await lp.write(bytes)
    return tryDecode<{ status: number, message: string }>(ResponseType, (await lp.read()).subarray())!
  }

  it('answers a request that does not decode with INVALID_REQUEST and keeps serving', async () => {
    const res = await raw(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x0f]))
    expect(res.status).toBe(Status.INVALID_REQUEST)
    await expect(rendezvousPoint(point.multiaddrs)({ node }).resolve('still-up')).rejects.toMatchObject({ name: 'NameNotFoundError' })
  })

  it('drops an oversized request without answering and keeps serving', async () => {
    await expect(raw(new Uint8Array(64 * 1024))).rejects.toThrow()
    expect(point.server.stats.refused).toBeGreaterThanOrEqual(1)
    await expect(rendezvousPoint(point.multiaddrs)({ node }).resolve('still-up')).rejects.toMatchObject({ name: 'NameNotFoundError' })
  })

  it('reports a request the point drops (too large) as RendezvousUnavailableError', async () => {
    // a record within its own bound, but a request over MAX_POINT_MESSAGE_BYTES
    const huge = { record: new Uint8Array(4000), signature: new Uint8Array(MAX_POINT_MESSAGE_BYTES) }
    await expect(rendezvousPoint(point.multiaddrs)({ node }).register(huge)).rejects.toMatchObject({ name: 'RendezvousUnavailableError' })
  })

  it('answers a peer over its request rate with RATE_LIMITED and a retry delay, and other peers are served', async () => {
    const limited = await createRendezvousPoint({ listen: ['/ip4/127.0.0.1/tcp/0'], peerRate: 0.001, peerBurst: 2 })
    try {
      const rv = rendezvousPoint(limited.multiaddrs)({ node })
      for (let i = 0; i < 2; i++) await expect(rv.resolve('nobody')).rejects.toMatchObject({ name: 'NameNotFoundError' })
      const err = await rv.resolve('nobody').catch((e: unknown) => e)
      expect(err).toMatchObject({ name: 'RateLimitedError', code: Status.RATE_LIMITED })
      expect((err as { retryAfterMs: number }).retryAfterMs).toBeGreaterThan(0)
      const other = await createNode({ privateKey: await generateKeyPair('Ed25519'), listen: [] })
      try {
        await expect(rendezvousPoint(limited.multiaddrs)({ node: other }).resolve('nobody')).rejects.toMatchObject({ name: 'NameNotFoundError' })
      } finally {
        await other.stop()
      }
      expect(limited.server.stats.rateLimited).toBe(1)
    } finally {
      await limited.close()
    }
  })

  it('reports an unreachable point as RendezvousUnavailableError', async () => {
    const addrs = point.multiaddrs
    await point.close()
    await expect(rendezvousPoint(addrs)({ node }).resolve('anything')).rejects.toMatchObject({ name: 'RendezvousUnavailableError' })
  })

  it('rejects a point address without a /p2p/ peer id', () => {
    expect(() => rendezvousPoint('/ip4/127.0.0.1/tcp/4001')).toThrow(TypeError)
  })

  it('rejects a point address cut short, or not a multiaddr at all, with a TypeError that quotes it', () => {
    // as copied from a README where the peer id is elided
    expect(() => rendezvousPoint('/ip4/203.0.113.7/tcp/4001/p2p/12D3KooW...')).toThrow(/rendezvous point address .*12D3KooW\.\.\./)
    expect(() => rendezvousPoint('/ip4/203.0.113.7/tcp/4001/p2p/12D3KooW...')).toThrow(TypeError)
    expect(() => rendezvousPoint('203.0.113.7:4001')).toThrow(/rendezvous point address "203\.0\.113\.7:4001" is not a multiaddr/)
  })
})
