// A private name served and reached through Fara's DHT, with the SDK, every party in its own process:
// three DHT nodes, a service that serves the name privately (sealed slots for this period and the next,
// each registered from a throwaway node), and clients that connect by name and secret.
import { randomBytes } from 'node:crypto'
import { afterEach, describe, expect, it } from 'vitest'
import { startFixture, stopAll } from './helpers/process.ts'
import type { Fixture } from './helpers/process.ts'

/** Three DHT nodes joined through the first; resolves with the first one's addresses, to bootstrap from. */
async function dht (): Promise<string[]> {
  const a = startFixture('dht-node', { waitPeers: 2 })
  const bootstrap = (await a.next(l => l.event === 'ready')).multiaddrs as string[]
  const others = [0, 1].map(() => startFixture('dht-node', { bootstrap, waitPeers: 1 }))
  for (const f of [a, ...others]) expect(await f.next(l => l.event === 'peers' || l.event === 'error')).toMatchObject({ event: 'peers' })
  return bootstrap
}

const count = (f: Fixture, event: string): number => f.lines.filter(l => l.event === event).length

describe('private names on the DHT, every party its own process', () => {
  afterEach(async () => {
    await stopAll()
  })

  it('a client with the name and secret connects; a wrong secret finds nothing; the public name does not exist; closing withdraws both slots', async () => {
    const bootstrap = await dht()
    const name = `dht-private-${randomBytes(4).toString('hex')}`
    const secret = `invite-${randomBytes(16).toString('hex')}`
    const service = startFixture('service', { dht: bootstrap, name, secret })
    const ready = await service.next(l => l.event === 'ready', 60_000)
    // serve() resolved after both slots (this period's and the next's) were stored
    expect(count(service, 'registered')).toBe(2)
    expect(count(service, 'register-failed')).toBe(0)

    const client = startFixture('client', { dht: bootstrap, name, secret, bytes: 256 * 1024 })
    const done = await client.next(l => l.event === 'done' || l.event === 'error', 60_000)
    expect(done).toMatchObject({ event: 'done', receivedBytes: 256 * 1024 })
    expect(done.receivedSha256).toBe(done.sentSha256)
    const association = await service.next(l => l.event === 'association')
    expect(association).toMatchObject({ bytes: 256 * 1024, sha256: done.sentSha256 })

    // what a DHT client that knows the name and the secret gets: the service's key and addresses
    const resolver = startFixture('dht-node', { bootstrap, client: true, resolvePrivate: { name, secret } })
    expect(await resolver.next(l => l.event === 'resolved-private' || l.event === 'error')).toMatchObject({
      event: 'resolved-private', name, key: ready.peerId, addrs: ready.multiaddrs
    })
    // a wrong secret, and the name asked publicly: nothing, as for a name nobody registered
    const wrong = startFixture('client', { dht: bootstrap, name, secret: 'not-the-invite', bytes: 1 })
    expect(await wrong.next(l => l.event === 'done' || l.event === 'error', 60_000)).toMatchObject({ event: 'error', name: 'NameNotFoundError' })
    const asPublic = startFixture('dht-node', { bootstrap, client: true, resolve: name })
    expect(await asPublic.next(l => l.event === 'resolved' || l.event === 'error')).toMatchObject({ event: 'error', name: 'NameNotFoundError' })

    // closing withdraws the slots with the writer key's tombstones: the name is gone for those who know it too
    expect(await service.stop()).toBe(0)
    const after = startFixture('dht-node', { bootstrap, client: true, resolvePrivate: { name, secret } })
    expect(await after.next(l => l.event === 'resolved-private' || l.event === 'error')).toMatchObject({ event: 'error', name: 'NameNotFoundError' })
  })
})
