// Per-source relay limits (spec/transport.md#relay-limits): one source address may hold only a share of
// the relay's slots and of one entity's relayed connections, whatever number of keys it uses.
import { isIPv6 } from 'node:net'
import { networkInterfaces } from 'node:os'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { afterEach, describe, expect, it } from 'vitest'
import { RELAY_SERVER_LIMITS, createNode, dialEntity, relayServer } from '../src/index.ts'
import type { RelayReservations, RelayServer, RelayServerInit } from '../src/index.ts'
import type { Libp2p } from '@libp2p/interface'

const nodes: Libp2p[] = []
afterEach(async () => { await Promise.all(nodes.splice(0).map(async n => n.stop())) })

const hasIpv6Loopback = Object.values(networkInterfaces()).flat().some(i => i != null && isIPv6(i.address) && i.address === '::1')

async function relay (host: string, init: RelayServerInit): Promise<Libp2p<{ relay: RelayServer }>> {
  const n = await createNode({ privateKey: await generateKeyPair('Ed25519'), listen: [`${host}/tcp/0`], services: { relay: relayServer(init) } })
  nodes.push(n)
  return n
}

async function entity (init: { relays?: string[] } = {}): Promise<Libp2p<{ relays?: RelayReservations }>> {
  const n = await createNode({ privateKey: await generateKeyPair('Ed25519'), listen: [], dialRelayed: true, ...init })
  nodes.push(n)
  return n
}

describe('per-source relay limits', () => {
  it('checks the per-source limits at the API boundary', () => {
    expect(() => relayServer({ maxReservationsPerSource: 0 })).toThrow(RangeError)
    expect(() => relayServer({ maxCircuitsPerSource: 1.5 })).toThrow(TypeError)
    expect(() => relayServer({ maxCircuitsPerSource: '2' as unknown as number })).toThrow(/maxCircuitsPerSource must be an integer/)
    // an eighth of the relay's slots, and of one entity's relayed connections
    expect(RELAY_SERVER_LIMITS.maxReservationsPerSource * 8).toBe(RELAY_SERVER_LIMITS.maxReservations)
    expect(RELAY_SERVER_LIMITS.maxCircuitsPerSource * 8).toBe(RELAY_SERVER_LIMITS.maxCircuitsPerEntity)
  })

  for (const host of ['/ip4/127.0.0.1', ...(hasIpv6Loopback ? ['/ip6/::1'] : [])]) {
    it(`refuses a source its second slot and its second connection to one entity, then admits it again once one closes (${host})`, async () => {
      const r = await relay(host, { maxReservationsPerSource: 1, maxCircuitsPerSource: 1 })
      const relayAddr = `${r.getMultiaddrs()[0]!.toString()}`
      const victim = await entity({ relays: [relayAddr] })
      expect(victim.services.relays?.relays[0]?.state).toBe('reserved')
      // the same source, another key: no second slot
      const other = await entity({ relays: [relayAddr] })
      expect(other.services.relays?.relays[0]).toMatchObject({ state: 'failed', error: { name: 'ReservationRefusedError', status: 'RESERVATION_REFUSED' } })
      expect(r.services.relay.reservations.size).toBe(1)

      const target = `${relayAddr}/p2p-circuit/p2p/${victim.peerId.toString()}`
      const first = await entity()
      const held = await dialEntity(first, victim.peerId, [target])
      const second = await entity()
      const refused = await dialEntity(second, victim.peerId, [target]).catch((err: Error) => err)
      expect(refused).toMatchObject({ name: 'DialFailedError', message: expect.stringContaining('RESOURCE_LIMIT_EXCEEDED') })
      // the circuit's end frees its place, once the relay has seen it end: retried, with a deadline
      await held.close()
      const deadline = Date.now() + 10_000
      let again = await dialEntity(second, victim.peerId, [target]).catch((err: Error) => err)
      let attempts = 1
      while (again instanceof Error && Date.now() < deadline) {
        expect(again.message).toContain('RESOURCE_LIMIT_EXCEEDED')
        again = await dialEntity(second, victim.peerId, [target]).catch((err: Error) => err)
        attempts++
      }
      expect(again, `still refused after ${attempts} attempts`).not.toBeInstanceOf(Error)
      expect((again as { remoteAddr: { toString: () => string } }).remoteAddr.toString()).toBe(target)
    })
  }
})
