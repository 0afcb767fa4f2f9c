// Three Fara DHT nodes, each in its own process, joined through the first one's address.
import { afterEach, describe, expect, it } from 'vitest'
import { startFixture, stopAll } from './helpers/process.ts'

describe('DHT rendezvous across processes', () => {
  afterEach(async () => {
    await stopAll()
  })

  it('resolves on process C a name registered on process A', async () => {
    const name = `dht-${Math.random().toString(36).slice(2, 10)}`
    // A registers once B has joined its routing table: ordered by events, not by sleeping
    const a = startFixture('dht-node', { waitPeers: 1, register: name })
    const ready = await a.next(l => l.event === 'ready')
    const bootstrap = ready.multiaddrs as string[]
    const b = startFixture('dht-node', { bootstrap, waitPeers: 1 })
    await b.next(l => l.event === 'peers')
    const registered = await a.next(l => l.event === 'registered' || l.event === 'error')
    expect(registered).toMatchObject({ event: 'registered', name })
    // C joins after the registration; it finds A through the bootstrap address and the record through the DHT
    const c = startFixture('dht-node', { bootstrap, resolve: name })
    const resolved = await c.next(l => l.event === 'resolved' || l.event === 'error')
    expect(resolved).toMatchObject({ event: 'resolved', name, key: registered.key, addrs: registered.addrs })
    expect(b.lines.some(l => l.event === 'error')).toBe(false)
    // each process exits by itself once its node has stopped: no DHT timer outlives the node
    expect(await Promise.all([a.stop(), b.stop(), c.stop()])).toEqual([0, 0, 0])
  })
})
