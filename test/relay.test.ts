// Reach by name through a relay on loopback: the rendezvous point is also the relay,
// the service holds a slot on it and listens nowhere else.
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { freePort } from '@fara/testkit'
import { createEntity, createRendezvousPoint, rendezvousPoint } from '@fara/sdk'
import { RELAY_SERVER_LIMITS } from '@fara/transport/constants'
import { startFixture, stopAll } from './helpers/process.ts'
import type { Association, Entity, Rendezvous, RendezvousFactory } from '@fara/sdk'
import type { RendezvousPointHandle } from '@fara/rendezvous'
import type { RelayReservations } from '@fara/transport'
import type { Fixture } from './helpers/process.ts'

const MiB = 1024 * 1024

function uniqueName (prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`
}

/** A line printed after `after` (an earlier line of the same fixture). */
function since (fixture: Fixture, after: Record<string, unknown>, match: (line: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> {
  const index = fixture.lines.indexOf(after)
  return fixture.next(line => fixture.lines.indexOf(line) > index && match(line))
}

async function runClient (point: unknown, args: Record<string, unknown>): Promise<Record<string, unknown>> {
  const client = startFixture('client', { point, ...args })
  const result = await client.next(l => l.event === 'done' || l.event === 'error', 90_000)
  expect(await client.exited).toBe(0)
  return result
}

describe('reach by name through a relay, in separate processes', () => {
  let dir: string

  beforeAll(async () => { dir = await mkdtemp(join(tmpdir(), 'fara-relay-')) })
  afterEach(async () => { await stopAll() })
  afterAll(async () => { await rm(dir, { recursive: true, force: true }) })

  it('reaches a service that listens nowhere, by name, through the point\'s relay: 8 MiB intact over /p2p-circuit', async () => {
    const point = startFixture('point', { relay: true })
    const ready = await point.next(l => l.event === 'ready')
    expect(ready.relay).toBe(true)
    const pointAddrs = ready.multiaddrs as string[]
    const relayAddr = pointAddrs[0]
    const name = uniqueName('relayed')
    const service = startFixture('service', { point: pointAddrs, name, relays: [relayAddr], listen: [] })
    const up = await service.next(l => l.event === 'ready')
    const relayed = `${relayAddr}/p2p-circuit/p2p/${up.peerId as string}`
    // no address of its own: the relay is the only way in
    expect(up.port).toBeNull()
    expect(up.multiaddrs).toEqual([relayed])
    expect(up.relays).toEqual([{ relay: ready.peerId, state: 'reserved', error: null }])

    // from the client entity's own node, so that the connection it used can be shown
    const done = await runClient(pointAddrs, { name, bytes: 8 * MiB, stableIdentity: true })
    expect(done).toMatchObject({ event: 'done', receivedBytes: 8 * MiB })
    expect(done.receivedSha256).toBe(done.sentSha256)
    expect(done.remoteAddrs).toEqual([relayed])
    const served = await service.next(l => l.event === 'association' && l.remoteAid === done.localAid)
    expect(served).toMatchObject({ bytes: 8 * MiB, sha256: done.sentSha256 })

    // and with a fresh identity, as connect() does by default
    const fresh = await runClient(pointAddrs, { name, bytes: MiB })
    expect(fresh).toMatchObject({ event: 'done', receivedBytes: MiB })
    expect(fresh.receivedSha256).toBe(fresh.sentSha256)
  })

  it('restores the slot after the relay is killed and restarted on the same port and key; the name works again', async () => {
    const dataDir = join(dir, 'relay-point')
    // the key persists, the records do not: the service must register again by itself
    const first = startFixture('point', { relay: true, dataDir, memoryRecords: true })
    const ready = await first.next(l => l.event === 'ready')
    const pointAddrs = ready.multiaddrs as string[]
    const name = uniqueName('restored')
    const service = startFixture('service', { point: pointAddrs, name, relays: [pointAddrs[0]], listen: [] })
    const up = await service.next(l => l.event === 'ready')
    const before = await runClient(pointAddrs, { name, bytes: MiB })
    expect(before.receivedSha256).toBe(before.sentSha256)

    first.child.kill('SIGKILL')
    await first.exited
    const lost = await service.next(l => l.event === 'relay' && l.type === 'relay:lost')
    expect(lost).toMatchObject({ state: 'failed', addrs: [], error: 'ReservationFailedError' })

    const second = startFixture('point', { relay: true, dataDir, memoryRecords: true, port: ready.port })
    const again = await second.next(l => l.event === 'ready')
    expect(again.peerId).toBe(ready.peerId)
    expect(again.multiaddrs).toEqual(pointAddrs)

    // events, not sleeps: the slot comes back, then the record is registered again
    const restored = await since(service, lost, l => l.event === 'relay' && l.type === 'relay:reserved')
    expect(restored.addrs).toEqual(up.multiaddrs)
    await since(service, restored, l => l.event === 'registered')
    expect(service.child.exitCode).toBeNull()

    const after = await runClient(pointAddrs, { name, bytes: MiB, stableIdentity: true })
    expect(after).toMatchObject({ event: 'done', receivedBytes: MiB })
    expect(after.receivedSha256).toBe(after.sentSha256)
    expect(after.remoteAddrs).toEqual(up.multiaddrs)
  })

  it('a full relay refuses a slot with ReservationRefusedError and keeps serving', async () => {
    const point = startFixture('point', { relay: { maxReservations: 1 } })
    const ready = await point.next(l => l.event === 'ready')
    const pointAddrs = ready.multiaddrs as string[]
    const holder = uniqueName('holder')
    const first = startFixture('service', { point: pointAddrs, name: holder, relays: [pointAddrs[0]], listen: [] })
    expect((await first.next(l => l.event === 'ready')).relays).toEqual([{ relay: ready.peerId, state: 'reserved', error: null }])

    // the second entity also listens on loopback, so it still serves directly
    const refusedName = uniqueName('refused')
    const second = startFixture('service', { point: pointAddrs, name: refusedName, relays: [pointAddrs[0]] })
    const up = await second.next(l => l.event === 'ready')
    expect(up.relays).toEqual([{ relay: ready.peerId, state: 'failed', error: 'ReservationRefusedError' }])
    expect((up.multiaddrs as string[]).filter(a => a.includes('/p2p-circuit'))).toEqual([])

    // no crash anywhere: both names still answer, the first through the relay
    expect(point.child.exitCode).toBeNull()
    for (const name of [holder, refusedName]) {
      const done = await runClient(pointAddrs, { name, bytes: 256 * 1024 })
      expect(done.receivedSha256).toBe(done.sentSha256)
    }
  })
})

describe('relayed entities in one process', () => {
  let point: RendezvousPointHandle | undefined
  const entities: Entity[] = []

  afterEach(async () => {
    await Promise.allSettled(entities.splice(0).map(async e => e.close()))
    await point?.close()
    point = undefined
  })

  async function echo (a: Association): Promise<void> {
    for await (const chunk of a) if (!a.send(chunk)) await a.onDrain()
    await a.close()
  }

  /** The point's client, calling `onRegister` after each registration. */
  function reporting (addrs: string[], onRegister: () => void): RendezvousFactory {
    const base = rendezvousPoint(addrs)
    return (components) => {
      const rv = base(components)
      const wrapped: Rendezvous = {
        register: async (record, options) => { await rv.register(record, options); onRegister() },
        resolve: async (name, options) => rv.resolve(name, options),
        unregister: async (tombstone, options) => rv.unregister(tombstone, options)
      }
      return wrapped
    }
  }

  it('publishes the relayed address, and the relay applies no data or duration limit', async () => {
    point = await createRendezvousPoint({ listen: ['/ip4/127.0.0.1/tcp/0'], relay: true })
    const relayAddr = point.multiaddrs[0]!.toString()
    const rendezvous = rendezvousPoint(point.multiaddrs)
    const server = await createEntity({ app: 'relayed-echo', rendezvous, listen: [], relays: [relayAddr] })
    entities.push(server)
    const service = await server.serve(uniqueName('relayed-echo'), echo)
    const relayed = `${relayAddr}/p2p-circuit/p2p/${server.peerId.toString()}`
    expect(service.record?.addrs.map(String)).toEqual([relayed])

    // the configured limits (the data part is exercised by the 8 MiB transfer above; a
    // duration limit would need minutes to show, so the slot's terms are asserted instead)
    expect(RELAY_SERVER_LIMITS.applyDefaultLimit).toBe(false)
    const slot = point.relay?.reservations.get(server.peerId)
    expect(slot).toBeDefined()
    expect(slot?.limit).toBeUndefined()

    const client = await createEntity({ app: 'relayed-client', rendezvous, listen: [] })
    entities.push(client)
    const association = await client.connect(service.name, { stableIdentity: true })
    const [connection] = client.node.getConnections(server.peerId)
    expect(connection?.remoteAddr.toString()).toBe(relayed)
    expect(connection?.limits).toBeUndefined()
    association.send(new TextEncoder().encode('through the relay'))
    await association.close()
    const chunks: Uint8Array[] = []
    for await (const chunk of association) chunks.push(chunk)
    expect(Buffer.concat(chunks).toString()).toBe('through the relay')
  })

  it('re-registers at once when a slot appears after the service started', async () => {
    // a relay that is not up yet, at an address known in advance
    const port = await freePort()
    const privateKey = await generateKeyPair('Ed25519')
    const relayAddr = `/ip4/127.0.0.1/tcp/${port}/p2p/${peerIdFromPrivateKey(privateKey).toString()}`
    const directory = await createRendezvousPoint({ listen: ['/ip4/127.0.0.1/tcp/0'] })
    let registered = (): void => {}
    const server = await createEntity({
      app: 'late-relay',
      rendezvous: reporting(directory.multiaddrs.map(String), () => { registered() }),
      listen: ['/ip4/127.0.0.1/tcp/0'],
      relays: [relayAddr]
    })
    entities.push(server)
    try {
      const relays = (server.node.services as { relays?: RelayReservations }).relays
      expect(relays?.relays[0]).toMatchObject({ state: 'failed', error: { name: 'ReservationFailedError' } })
      const service = await server.serve(uniqueName('late'), echo)
      expect(service.record?.addrs.map(String).filter(a => a.includes('/p2p-circuit'))).toEqual([])

      const again = new Promise<void>(resolve => { registered = resolve })
      point = await createRendezvousPoint({ privateKey, listen: [`/ip4/127.0.0.1/tcp/${port}`], allowPinnedPort: true, relay: true })
      await again
      const record = await server.resolve(service.name)
      expect(record.addrs.map(String)).toContain(`${relayAddr}/p2p-circuit/p2p/${server.peerId.toString()}`)
    } finally {
      await directory.close()
    }
  })
})
