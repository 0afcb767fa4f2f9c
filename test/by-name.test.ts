// Entities and the rendezvous point in separate processes on loopback.
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { generateKeyPair, publicKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromString } from '@libp2p/peer-id'
import protobuf from 'protobufjs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ReplyCode, createDemux, randomAid } from '@fara/demux'
import { ASSOCIATION_PROTOCOL } from '@fara/demux/constants'
import { signDomain } from '@fara/identity'
import { createRecord, rendezvousPoint } from '@fara/rendezvous'
import { RECORD_DOMAIN } from '@fara/rendezvous/constants'
import { createNode, openStream } from '@fara/transport'
import { startFixture, stopAll } from './helpers/process.ts'
import type { Fixture } from './helpers/process.ts'
import type { Libp2p } from '@libp2p/interface'

const MiB = 1024 * 1024

// an encoder built from the normative .proto, independent of the packages' generated code
const proto = protobuf.parse(readFileSync(fileURLToPath(new URL('../spec/proto/rendezvous.proto', import.meta.url)), 'utf8')).root
const RecordType = proto.lookupType('fara.rendezvous.v1.Record')

describe('reach a service by name across processes', () => {
  let point: Fixture
  let pointAddrs: string[]
  let service: Fixture
  let ready: Record<string, unknown>
  let node: Libp2p
  const name = `echo-${Math.random().toString(36).slice(2, 8)}`

  beforeAll(async () => {
    point = startFixture('point')
    pointAddrs = (await point.next(l => l.event === 'ready')).multiaddrs as string[]
    service = startFixture('service', { point: pointAddrs, name })
    ready = await service.next(l => l.event === 'ready')
    node = await createNode({ privateKey: await generateKeyPair('Ed25519'), listen: [] })
  })

  afterAll(async () => {
    await node?.stop()
    await stopAll()
  })

  async function runClient (args: Record<string, unknown>): Promise<Record<string, unknown>> {
    const client = startFixture('client', { point: pointAddrs, ...args })
    const result = await client.next(l => l.event === 'done' || l.event === 'error', 90_000)
    expect(await client.exited).toBe(0)
    return result
  }

  it('connects by name and echoes 16 MiB with equal SHA-256 at both ends', async () => {
    const result = await runClient({ name, bytes: 16 * MiB })
    expect(result).toMatchObject({ event: 'done', receivedBytes: 16 * MiB })
    expect(result.receivedSha256).toBe(result.sentSha256)
    const served = await service.next(l => l.event === 'association' && l.remoteAid === result.localAid)
    expect(served.bytes).toBe(16 * MiB)
    expect(served.sha256).toBe(result.sentSha256)
    expect(served.localAid).toBe(result.remoteAid)
  })

  it('reports an unknown name as NameNotFoundError', async () => {
    expect(await runClient({ name: 'no-such-service', bytes: 1 })).toMatchObject({ event: 'error', name: 'NameNotFoundError' })
  })

  it('rejects an unknown AId with a typed error and the service keeps serving', async () => {
    const peer = peerIdFromString(ready.peerId as string)
    const record = await rendezvousPoint(pointAddrs)({ node }).resolve(name)
    expect(record.peerId.equals(peer)).toBe(true)
    const stream = await openStream(node, record.peerId, record.addrs, ASSOCIATION_PROTOCOL)
    const association = createDemux().open(stream, randomAid(), record.peerId)
    association.send(new TextEncoder().encode('let me in'))
    const read = (async () => { for await (const _ of association) { /* nothing should arrive */ } })()
    await expect(read).rejects.toMatchObject({ name: 'AssociationRejectedError', code: ReplyCode.UNKNOWN_AID })
    await expect(association.accepted).rejects.toMatchObject({ name: 'AssociationRejectedError' })
    // no crash: the same process still serves the name
    expect(service.child.exitCode).toBeNull()
    const again = await runClient({ name, bytes: MiB })
    expect(again.receivedSha256).toBe(again.sentSha256)
  })

  it('refuses a record for the name signed by another key', async () => {
    const rv = rendezvousPoint(pointAddrs)({ node })
    const held = await rv.resolve(name)
    const mallory = await generateKeyPair('Ed25519')
    // names the service's key, signed by mallory
    const now = Date.now()
    const fields = { name, publicKey: publicKeyToProtobuf(held.publicKey), addrs: [], aid: randomAid(), seq: now, expires: now + 60_000 }
    const bytes = RecordType.encode(fields).finish()
    await expect(rv.register({ record: bytes, signature: await signDomain(mallory, RECORD_DOMAIN, bytes) })).rejects.toMatchObject({ name: 'InvalidSignatureError' })
    // mallory's own, validly signed record for a name that is held by another key
    const own = await createRecord(mallory, { name, addrs: ['/ip4/127.0.0.1/tcp/40000'], aid: randomAid() })
    await expect(rv.register(own)).rejects.toMatchObject({ name: 'NameTakenError' })
    // the record is untouched
    expect((await rv.resolve(name)).publicKey.equals(held.publicKey)).toBe(true)
  })
})
