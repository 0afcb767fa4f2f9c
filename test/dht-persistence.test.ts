// A DHT node with a data directory survives SIGKILL: restarted from it, with the same key and address, it serves
// the public and private names it held, although nobody registers them again, and republishes them to new peers.
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startFixture, stopAll } from './helpers/process.ts'
import type { Fixture } from './helpers/process.ts'

/** Ask a fixture started with `commands` for its DHT store: the entries' datastore keys. */
async function dumpKeys (f: Fixture): Promise<string[]> {
  const before = f.lines.length
  f.send({ cmd: 'dump' })
  const dump = await f.next(l => l.event === 'dump' && f.lines.indexOf(l) >= before)
  return (dump.entries as Array<{ key: string }>).map(e => e.key)
}

describe('persistent DHT node', () => {
  let dir: string

  beforeAll(async () => { dir = await mkdtemp(join(tmpdir(), 'fara-dht-persist-')) })
  afterAll(async () => {
    await stopAll()
    await rm(dir, { recursive: true, force: true })
  })

  it('serves every name it held after a SIGKILL and a restart, without re-registration, and republishes them', async () => {
    const dataDir = join(dir, 'node')
    const first = startFixture('dht-node', { dataDir })
    const ready = await first.next(l => l.event === 'ready')
    expect(ready.loaded).toBe(0)
    const bootstrap = ready.multiaddrs as string[]

    // two services whose own nodes are DHT clients: the node above is the only one that stores their slots
    const suffix = randomBytes(4).toString('hex')
    const publicName = `kept-public-${suffix}`
    const privateName = `kept-private-${suffix}`
    const secret = `invite-${randomBytes(16).toString('hex')}`
    const services = [
      startFixture('service', { dht: bootstrap, dhtClient: true, name: publicName }),
      startFixture('service', { dht: bootstrap, dhtClient: true, name: privateName, secret })
    ]
    const [publicReady, privateReady] = await Promise.all(services.map(async s => s.next(l => l.event === 'ready', 60_000)))
    // killed, not closed: they neither withdraw nor refresh their names from here on
    for (const s of services) s.child.kill('SIGKILL')
    await Promise.all(services.map(async s => s.exited))

    // a second DHT node joins: nothing hands it the records
    const second = startFixture('dht-node', { bootstrap, waitPeers: 1, commands: true }, { stdin: true })
    await second.next(l => l.event === 'peers')
    expect(await dumpKeys(second)).toEqual([])

    // no clean shutdown: whatever the node acknowledged must already be on disk
    first.child.kill('SIGKILL')
    await first.exited
    const restarted = startFixture('dht-node', { dataDir, port: ready.port, commands: true }, { stdin: true })
    const again = await restarted.next(l => l.event === 'ready')
    // one public record, and the private slots of this period and the next
    expect(again).toMatchObject({ peerId: ready.peerId, multiaddrs: ready.multiaddrs, loaded: 3 })
    expect(await dumpKeys(restarted)).toHaveLength(3)

    // through the restarted node: the only one that ever held them
    const via = again.multiaddrs as string[]
    const resolvedPublic = startFixture('dht-node', { bootstrap: via, client: true, resolve: publicName })
    expect(await resolvedPublic.next(l => l.event === 'resolved' || l.event === 'error')).toMatchObject({
      event: 'resolved', key: publicReady!.peerId, addrs: publicReady!.multiaddrs
    })
    const resolvedPrivate = startFixture('dht-node', { bootstrap: via, client: true, resolvePrivate: { name: privateName, secret } })
    expect(await resolvedPrivate.next(l => l.event === 'resolved-private' || l.event === 'error')).toMatchObject({
      event: 'resolved-private', key: privateReady!.peerId, addrs: privateReady!.multiaddrs
    })

    // a node that joins the restarted one gets what it loaded; with the restarted node gone, it alone serves the names
    const third = startFixture('dht-node', { bootstrap: again.multiaddrs, waitPeers: 1 })
    const thirdReady = await third.next(l => l.event === 'ready')
    const republished = await restarted.next(l => l.event === 'republished', 60_000)
    expect(republished.count).toBeGreaterThanOrEqual(3)
    expect(await restarted.stop()).toBe(0)
    const pub = startFixture('dht-node', { bootstrap: thirdReady.multiaddrs, client: true, resolve: publicName })
    expect(await pub.next(l => l.event === 'resolved' || l.event === 'error')).toMatchObject({ event: 'resolved', key: publicReady!.peerId })
    const priv = startFixture('dht-node', { bootstrap: thirdReady.multiaddrs, client: true, resolvePrivate: { name: privateName, secret } })
    expect(await priv.next(l => l.event === 'resolved-private' || l.event === 'error')).toMatchObject({ event: 'resolved-private', key: privateReady!.peerId })
  })
})
