// Private names: the rendezvous point's whole state and every message it handles
// hold neither the service's name, nor its key, nor its addresses.
import { randomBytes } from 'node:crypto'
import { publicKeyToProtobuf } from '@libp2p/crypto/keys'
import { MemoryDatastore } from 'datastore-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createEntity, createRendezvousPoint, rendezvousPoint } from '@fara/sdk'
import type { Association, Entity, RendezvousFactory } from '@fara/sdk'
import type { RendezvousPointHandle } from '@fara/rendezvous'

async function echo (a: Association): Promise<void> {
  for await (const chunk of a) if (!a.send(chunk)) await a.onDrain()
  await a.close()
}

describe('private names', () => {
  const datastore = new MemoryDatastore()
  const exchanges: Array<{ peer: string, request: Uint8Array, response: Uint8Array }> = []
  const name = `hidden-${randomBytes(4).toString('hex')}`
  const secret = `invite-${randomBytes(8).toString('hex')}`
  let point: RendezvousPointHandle
  let rendezvous: RendezvousFactory
  let server: Entity
  let client: Entity

  beforeAll(async () => {
    point = await createRendezvousPoint({ listen: ['/ip4/127.0.0.1/tcp/0'], datastore, tap: (e) => exchanges.push(e) })
    rendezvous = rendezvousPoint(point.multiaddrs)
    server = await createEntity({ app: 'hidden', rendezvous, listen: ['/ip4/127.0.0.1/tcp/0'] })
    await server.serve(name, echo, { private: { secret } })
    client = await createEntity({ app: 'friend', rendezvous, listen: [] })
  })

  afterAll(async () => {
    await client?.close()
    await server?.close()
    await point?.close()
  })

  it('lets a client who knows the name and the secret connect', async () => {
    const a = await client.connect(name, { private: { secret } })
    a.send(Buffer.from('knock knock'))
    await a.close()
    const chunks: Uint8Array[] = []
    for await (const c of a) chunks.push(c)
    expect(Buffer.concat(chunks).toString()).toBe('knock knock')
    expect(a.remotePeer.equals(server.peerId)).toBe(true)
  })

  it('gives a wrong secret exactly the answer an unregistered name gets', async () => {
    const before = exchanges.length
    await expect(client.resolve(name, { private: { secret: 'wrong' } })).rejects.toMatchObject({ name: 'NameNotFoundError' })
    const wrongSecret = exchanges.slice(before).map(e => Buffer.from(e.response).toString('hex'))
    const middle = exchanges.length
    await expect(client.resolve(`never-${randomBytes(4).toString('hex')}`, { private: true })).rejects.toMatchObject({ name: 'NameNotFoundError' })
    const unregistered = exchanges.slice(middle).map(e => Buffer.from(e.response).toString('hex'))
    expect(wrongSecret.length).toBe(3) // current, next and previous period
    expect(wrongSecret).toEqual(unregistered)
    // nor is the name public (asked of the store directly: a public lookup would itself tell the point the name)
    await expect(point.server.store.get(name)).rejects.toMatchObject({ name: 'NameNotFoundError' })
  })

  it('leaves no trace of the name, the key or the addresses in the point\'s state or traffic', async () => {
    const dump: Buffer[] = []
    for await (const { key, value } of datastore.query({})) dump.push(Buffer.from(key.toString()), Buffer.from(value))
    for (const e of exchanges) dump.push(Buffer.from(e.request), Buffer.from(e.response))
    const all = Buffer.concat(dump)
    expect(dump.length).toBeGreaterThan(4) // the point did store and answer things
    const needles: Array<[string, Uint8Array]> = [
      ['name', Buffer.from(name)],
      ['secret', Buffer.from(secret)],
      ['public key (protobuf)', publicKeyToProtobuf(server.publicKey)],
      ['public key (raw)', server.publicKey.raw],
      ['peer id (multihash)', server.peerId.toMultihash().bytes],
      ['peer id (text)', Buffer.from(server.peerId.toString())],
      ...server.multiaddrs.map((ma): [string, Uint8Array] => [`address ${ma.toString()}`, ma.bytes]),
      ...server.multiaddrs.map((ma): [string, Uint8Array] => [`address text ${ma.toString()}`, Buffer.from(ma.toString())])
    ]
    for (const [what, needle] of needles) {
      expect(all.includes(Buffer.from(needle)), `${what} found in the point's state or traffic`).toBe(false)
    }
    // and the service never connected to the point with its own key
    expect(exchanges.some(e => e.peer === server.peerId.toString())).toBe(false)
  })
})
