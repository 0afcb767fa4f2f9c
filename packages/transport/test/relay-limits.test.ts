// Per-source relay limits (spec/transport.md#relay-limits): one source address, one prefix and one key may hold only a share of
// the relay's slots and of one entity's relayed connections, whatever number of keys it uses.
import { isIPv6 } from 'node:net'
import { networkInterfaces } from 'node:os'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { tcp } from '@libp2p/tcp'
import { afterEach, describe, expect, it } from 'vitest'
import { createNode, dialEntity, relayServer } from '../src/index.ts'
import { RELAY_SERVER_LIMITS } from '../src/constants.ts'
import type { RelayRefusal, RelayReservations, RelayServer, RelayServerInit } from '../src/index.ts'
import type { Libp2p, PrivateKey } from '@libp2p/interface'

const nodes: Libp2p[] = []
afterEach(async () => { await Promise.all(nodes.splice(0).map(async n => n.stop())) })

const hasIpv6Loopback = Object.values(networkInterfaces()).flat().some(i => i != null && isIPv6(i.address) && i.address === '::1')

async function relay (host: string, init: RelayServerInit): Promise<Libp2p<{ relay: RelayServer }>> {
  const n = await createNode({ privateKey: await generateKeyPair('Ed25519'), listen: [`${host}/tcp/0`], services: { relay: relayServer(init) } })
  nodes.push(n)
  return n
}

/** An entity that listens nowhere; `from` binds its outgoing connections to that loopback address (another host). */
async function entity (init: { relays?: string[], from?: string, key?: PrivateKey } = {}): Promise<Libp2p<{ relays?: RelayReservations }>> {
  const { from, key, ...rest } = init
  const n = await createNode({
    privateKey: key ?? await generateKeyPair('Ed25519'),
    listen: [],
    dialRelayed: true,
    // dialOpts go to net.connect as they are; its localAddress is missing from their type
    ...(from == null ? {} : { tcp: tcp({ dialOpts: { localAddress: from } as never }) }),
    ...rest
  })
  nodes.push(n)
  return n
}

/** Every `relay:refused` event of a relay. */
function refusals (r: Libp2p<{ relay: RelayServer }>): RelayRefusal[] {
  const seen: RelayRefusal[] = []
  r.services.relay.addEventListener('relay:refused', (evt) => { seen.push(evt.detail) })
  return seen
}

describe('per-source relay limits', () => {
  it('checks the per-source limits at the API boundary', () => {
    expect(() => relayServer({ maxReservationsPerSource: 0 })).toThrow(RangeError)
    expect(() => relayServer({ maxCircuitsPerSource: 1.5 })).toThrow(TypeError)
    expect(() => relayServer({ maxCircuitsPerSource: '2' as unknown as number })).toThrow(/maxCircuitsPerSource must be an integer/)
    expect(() => relayServer({ maxReservationsPerPrefix: 0 })).toThrow(/maxReservationsPerPrefix must be 1/)
    expect(() => relayServer({ maxCircuitsPerPrefix: -1 })).toThrow(RangeError)
    expect(() => relayServer({ maxCircuitsPerPeer: 0 })).toThrow(/maxCircuitsPerPeer must be 1/)
    expect(() => relayServer({ sourcePrefixes: { ip4: 40 } })).toThrow(/sourcePrefixes.ip4 must be 1 to 32/)
    // an eighth of the relay's slots, and of one entity's relayed connections
    expect(RELAY_SERVER_LIMITS.maxReservationsPerSource * 8).toBe(RELAY_SERVER_LIMITS.maxReservations)
    expect(RELAY_SERVER_LIMITS.maxCircuitsPerSource * 8).toBe(RELAY_SERVER_LIMITS.maxCircuitsPerEntity)
    // a quarter for a prefix, 1/32 for a key
    expect(RELAY_SERVER_LIMITS.maxReservationsPerPrefix * 4).toBe(RELAY_SERVER_LIMITS.maxReservations)
    expect(RELAY_SERVER_LIMITS.maxCircuitsPerPrefix * 4).toBe(RELAY_SERVER_LIMITS.maxCircuitsPerEntity)
    expect(RELAY_SERVER_LIMITS.maxCircuitsPerPeer * 32).toBe(RELAY_SERVER_LIMITS.maxCircuitsPerEntity)
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

  it('limits the slots of a prefix whatever its addresses, reports the refusal once, and still serves another prefix', async () => {
    const r = await relay('/ip4/127.0.0.1', { maxReservationsPerSource: 1, maxReservationsPerPrefix: 2 })
    const seen = refusals(r)
    const relayAddr = r.getMultiaddrs()[0]!.toString()
    // three hosts of 127.0.3.0/24, one slot each would be within their per-address share
    const a = await entity({ relays: [relayAddr], from: '127.0.3.1' })
    const b = await entity({ relays: [relayAddr], from: '127.0.3.2' })
    const c = await entity({ relays: [relayAddr], from: '127.0.3.3' })
    const d = await entity({ relays: [relayAddr], from: '127.0.3.4' })
    expect([a, b].map(n => n.services.relays?.relays[0]?.state)).toEqual(['reserved', 'reserved'])
    for (const n of [c, d]) expect(n.services.relays?.relays[0]).toMatchObject({ state: 'failed', error: { name: 'ReservationRefusedError', status: 'RESERVATION_REFUSED' } })
    // another network is not held back by its neighbour's
    const e = await entity({ relays: [relayAddr], from: '127.0.4.1' })
    expect(e.services.relays?.relays[0]?.state).toBe('reserved')
    expect(r.services.relay.reservations.size).toBe(3)
    // two refusals of one limit and source: one report, naming the prefix
    expect(seen).toEqual([{ kind: 'reservation', limit: 'prefix', source: '127.0.3.0/24', peer: c.peerId.toString(), max: 2, refused: 1 }])
  })

  it('limits the relayed connections to one entity per prefix and per key, and reports each limit', async () => {
    const r = await relay('/ip4/127.0.0.1', { maxCircuitsPerSource: 1, maxCircuitsPerPrefix: 2, maxCircuitsPerPeer: 1 })
    const seen = refusals(r)
    const relayAddr = r.getMultiaddrs()[0]!.toString()
    const victim = await entity({ relays: [relayAddr], from: '127.0.5.1' })
    expect(victim.services.relays?.relays[0]?.state).toBe('reserved')
    const target = `${relayAddr}/p2p-circuit/p2p/${victim.peerId.toString()}`
    const dial = async (n: Libp2p): Promise<string> => dialEntity(n, victim.peerId, [target]).then(() => 'connected', (err: Error) => err.message.includes('RESOURCE_LIMIT_EXCEEDED') ? 'refused' : err.message)

    // per prefix: two hosts of 127.0.6.0/24 get through, the third does not; 127.0.7.1 does
    const hosts = await Promise.all(['127.0.6.1', '127.0.6.2', '127.0.6.3', '127.0.7.1'].map(async from => entity({ from })))
    const results: string[] = []
    for (const h of hosts) results.push(await dial(h))
    expect(results).toEqual(['connected', 'connected', 'refused', 'connected'])

    // per key: a second node with the key of 127.0.7.1's client, on another host of yet another prefix
    const key = await generateKeyPair('Ed25519')
    const first = await entity({ key, from: '127.0.8.1' })
    const second = await entity({ key, from: '127.0.9.1' })
    expect([await dial(first), await dial(second)]).toEqual(['connected', 'refused'])
    expect(seen.map(s => [s.kind, s.limit, s.source, s.target, s.max])).toEqual([
      ['circuit', 'prefix', '127.0.6.0/24', victim.peerId.toString(), 2],
      ['circuit', 'peer', first.peerId.toString(), victim.peerId.toString(), 1]
    ])
  })
})
