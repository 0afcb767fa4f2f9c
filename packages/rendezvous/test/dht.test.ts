import { generateKeyPair, publicKeyToProtobuf } from '@libp2p/crypto/keys'
import { createNode } from '@fara/transport'
import { signDomain } from '@fara/identity'
import { beforeAll, describe, expect, it } from 'vitest'
import { rawPut } from './raw-dht.ts'
import { dhtTestnet } from './dht-testnet.ts'
import { createRecord, createTombstone, encodeSignedRecord } from '../src/index.ts'
import { DHT_PROTOCOL, RECORD_DOMAIN } from '../src/constants.ts'
import { dhtKey, dhtRendezvous, dhtServiceOf } from '../src/dht/index.ts'
import { RecordType } from '../src/internal/codec.ts'
import type { Rendezvous, SignedRecord } from '../src/index.ts'
import type { Ed25519PrivateKey, Libp2p } from '@libp2p/interface'

const N = 20
/** Each node dials the nodes 1, 3 and 7 places after it (mod N): sparse, and every node is dialled by three others. */
const OFFSETS = [1, 3, 7]
const AID = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8])

/** Sign arbitrary record fields, claiming `claimed`'s key: for forging. */
async function forge (signer: Ed25519PrivateKey, claimed: Ed25519PrivateKey, fields: Record<string, unknown>): Promise<SignedRecord> {
  const record = RecordType.encode({ publicKey: publicKeyToProtobuf(claimed.publicKey), ...fields }).finish()
  return { record, signature: await signDomain(signer, RECORD_DOMAIN, record) }
}

describe(`DHT rendezvous: ${N} nodes on loopback`, () => {
  // k = 5: a record lives on the five nodes closest to its key, so most nodes must look it up hop by hop
  const factory = dhtRendezvous({ allowPrivateAddresses: true, kBucketSize: 5, timeout: 15_000 })
  // each node has at least the three it dialled in its routing table once they answered a DHT PING
  const { nodes, extra } = dhtTestnet(factory, N, { offsets: OFFSETS, minPeers: OFFSETS.length })
  let alice: Ed25519PrivateKey
  let mallory: Ed25519PrivateKey
  const rv = (i: number): Rendezvous => factory({ node: nodes[i]! })
  const holders = (name: string): number[] => nodes.flatMap((n, i) => dhtServiceOf(n).localValue(name) == null ? [] : [i])
  /** Whether a and b dialled each other when the network was built (queries open more connections later). */
  const neighbours = (a: number, b: number): boolean => OFFSETS.some(o => (a + o) % N === b || (b + o) % N === a)

  beforeAll(async () => {
    alice = await generateKeyPair('Ed25519')
    mallory = await generateKeyPair('Ed25519')
  })

  it('runs every listening node as a DHT server on its own protocol id', () => {
    expect(DHT_PROTOCOL).toBe('/fara/kad/1.0.0')
    for (const n of nodes) {
      expect(dhtServiceOf(n).mode()).toBe('server')
      expect(dhtServiceOf(n).protocol).toBe(DHT_PROTOCOL)
    }
  })

  it('resolves on a far node a record registered on another', async () => {
    await rv(0).register(await createRecord(alice, { name: 'echo', addrs: ['/ip4/127.0.0.1/tcp/40001'], aid: AID }))
    const stored = holders('echo')
    expect(stored.length).toBeGreaterThan(1)
    // far: neither a neighbour of the registering node nor holding a copy, so the lookup has to travel
    const far = nodes.findIndex((_, i) => i !== 0 && !neighbours(0, i) && !stored.includes(i))
    expect(far).toBeGreaterThan(0)
    const got = await rv(far).resolve('echo')
    expect(got.publicKey.equals(alice.publicKey)).toBe(true)
    expect(got.addrs.map(String)).toEqual(['/ip4/127.0.0.1/tcp/40001'])
    expect(got.aid).toEqual(AID)
  })

  it('replaces an older record with a newer one, everywhere', async () => {
    await rv(1).register(await createRecord(alice, { name: 'moving', addrs: ['/ip4/127.0.0.1/tcp/40002'], aid: AID }))
    await rv(2).register(await createRecord(alice, { name: 'moving', addrs: ['/ip4/127.0.0.1/tcp/40003'], aid: AID }))
    for (const i of [5, 11, 17]) {
      expect((await rv(i).resolve('moving')).addrs.map(String)).toEqual(['/ip4/127.0.0.1/tcp/40003'])
    }
  })

  it('makes a name unresolvable with a tombstone', async () => {
    await rv(3).register(await createRecord(alice, { name: 'gone', addrs: ['/ip4/127.0.0.1/tcp/40004'], aid: AID }))
    await expect(rv(13).resolve('gone')).resolves.toMatchObject({ name: 'gone' })
    await rv(3).unregister(await createTombstone(alice, 'gone'))
    for (const i of [8, 13, 19]) await expect(rv(i).resolve('gone')).rejects.toMatchObject({ name: 'NameNotFoundError' })
  })

  it('refuses forged, misfiled and replayed values sent straight to DHT nodes', async () => {
    const old = await createRecord(alice, { name: 'guarded', addrs: ['/ip4/127.0.0.1/tcp/40005'], aid: AID })
    const live = await createRecord(alice, { name: 'guarded', addrs: ['/ip4/127.0.0.1/tcp/40006'], aid: AID })
    await rv(4).register(live)
    const now = Date.now()
    const forged = await forge(mallory, alice, { name: 'guarded', addrs: [], aid: AID, seq: now, expires: now + 60_000 })
    const misfiled = await createRecord(mallory, { name: 'elsewhere', addrs: ['/ip4/127.0.0.1/tcp/40007'], aid: AID })
    const attacker = await createNode({ privateKey: await generateKeyPair('Ed25519'), listen: [] })
    extra.push(attacker)
    const key = dhtKey('guarded')
    const targets = holders('guarded')
    expect(targets.length).toBeGreaterThan(1)
    for (const target of targets) {
      const before = dhtServiceOf(nodes[target]!).localValue('guarded')
      expect(await rawPut(attacker, nodes[target]!, key, encodeSignedRecord(forged))).toBe(false)
      expect(await rawPut(attacker, nodes[target]!, key, encodeSignedRecord(misfiled))).toBe(false)
      expect(await rawPut(attacker, nodes[target]!, key, encodeSignedRecord(old))).toBe(false)
      expect(await rawPut(attacker, nodes[target]!, new TextEncoder().encode('/pk/guarded'), encodeSignedRecord(live))).toBe(false)
      expect(dhtServiceOf(nodes[target]!).localValue('guarded')).toEqual(before)
    }
    // and the node's own raw API refuses them before anything is sent
    await expect(drain(dhtServiceOf(nodes[6]!).dht.put(key, encodeSignedRecord(forged)))).rejects.toMatchObject({ name: 'InvalidSignatureError' })
    expect((await rv(16).resolve('guarded')).addrs.map(String)).toEqual(['/ip4/127.0.0.1/tcp/40006'])
    // the control: a genuine newer record sent the same way is stored, and then served
    const newer = await createRecord(alice, { name: 'guarded', addrs: ['/ip4/127.0.0.1/tcp/40011'], aid: AID })
    for (const target of targets) expect(await rawPut(attacker, nodes[target]!, key, encodeSignedRecord(newer))).toBe(true)
    expect((await rv(16).resolve('guarded')).addrs.map(String)).toEqual(['/ip4/127.0.0.1/tcp/40011'])
  })

  it('serves a dial-only node as a DHT client', async () => {
    const client = await createNode({ privateKey: await generateKeyPair('Ed25519'), listen: [], services: factory.nodeServices })
    extra.push(client)
    expect(dhtServiceOf(client).mode()).toBe('client')
    await client.dial(nodes[9]!.getMultiaddrs())
    await dhtServiceOf(client).waitForPeers(1, { signal: AbortSignal.timeout(10_000) })
    await expect(factory({ node: client }).resolve('echo')).resolves.toMatchObject({ name: 'echo' })
    await factory({ node: client }).register(await createRecord(mallory, { name: 'from-client', addrs: ['/ip4/127.0.0.1/tcp/40008'], aid: AID }))
    expect(holders('from-client').length).toBeGreaterThan(0)
    await expect(rv(12).resolve('from-client')).resolves.toMatchObject({ name: 'from-client' })
  })
})

describe('DHT rendezvous without peers', () => {
  it('gives up on an unreachable bootstrap peer with RendezvousUnavailableError, and honours the caller\'s abort', async () => {
    const ghost = await createNode({ privateKey: await generateKeyPair('Ed25519'), listen: ['/ip4/127.0.0.1/tcp/0'] })
    const addr = ghost.getMultiaddrs()[0]!.toString()
    await ghost.stop() // nobody listens there any more
    const factory = dhtRendezvous({ bootstrap: [addr], allowPrivateAddresses: true, timeout: 500 })
    const node = await createNode({ privateKey: await generateKeyPair('Ed25519'), listen: ['/ip4/127.0.0.1/tcp/0'], services: factory.nodeServices })
    try {
      const started = Date.now()
      await expect(factory({ node }).resolve('nobody')).rejects.toMatchObject({ name: 'RendezvousUnavailableError' })
      expect(Date.now() - started).toBeLessThan(5_000)
      const controller = new AbortController()
      const pending = factory({ node }).register(await createRecord(await generateKeyPair('Ed25519'), { name: 'lonely', addrs: ['/ip4/127.0.0.1/tcp/40009'], aid: AID }), { signal: controller.signal })
      controller.abort(new Error('caller gave up'))
      await expect(pending).rejects.toThrow('caller gave up')
    } finally {
      await node.stop()
    }
  })

  it('keeps a record in a lone server\'s own store', async () => {
    const factory = dhtRendezvous({ allowPrivateAddresses: true })
    const node = await createNode({ privateKey: await generateKeyPair('Ed25519'), listen: ['/ip4/127.0.0.1/tcp/0'], services: factory.nodeServices })
    try {
      const key = await generateKeyPair('Ed25519')
      await factory({ node }).register(await createRecord(key, { name: 'alone', addrs: ['/ip4/127.0.0.1/tcp/40010'], aid: AID }))
      await expect(factory({ node }).resolve('alone')).resolves.toMatchObject({ name: 'alone' })
    } finally {
      await node.stop()
    }
  })

  it('reports a put no peer stored: StaleRecordError for a replay, RendezvousUnavailableError otherwise', async () => {
    const full = dhtRendezvous({ allowPrivateAddresses: true, maxRecords: 1 }) // DHT servers that hold one record
    const roomy = dhtRendezvous({ allowPrivateAddresses: true })
    const make = async (f: typeof full): Promise<Libp2p> => createNode({ privateKey: await generateKeyPair('Ed25519'), listen: ['/ip4/127.0.0.1/tcp/0'], services: f.nodeServices })
    const nodes = [await make(full), await make(full), await make(roomy)]
    const [s1, s2, e1] = nodes as [Libp2p, Libp2p, Libp2p]
    try {
      await Promise.all([e1.dial(s1.getMultiaddrs()), e1.dial(s2.getMultiaddrs())])
      await dhtServiceOf(e1).waitForPeers(2, { signal: AbortSignal.timeout(10_000) })
      const key = await generateKeyPair('Ed25519')
      const older = await createRecord(key, { name: 'fill', addrs: ['/ip4/127.0.0.1/tcp/40012'], aid: AID })
      const newer = await createRecord(key, { name: 'fill', addrs: ['/ip4/127.0.0.1/tcp/40013'], aid: AID })
      await roomy({ node: e1 }).register(newer)
      expect(dhtServiceOf(s1).localValue('fill')).toBeDefined()
      expect(dhtServiceOf(s2).localValue('fill')).toBeDefined()
      // both servers are full now: they refuse, and nothing tells the put why
      await expect(roomy({ node: e1 }).register(await createRecord(key, { name: 'other', addrs: ['/ip4/127.0.0.1/tcp/40014'], aid: AID })))
        .rejects.toMatchObject({ name: 'RendezvousUnavailableError' })
      // a node that joins now holds nothing, so its own store takes the replay; its peers refuse it, and the lookup shows why
      const e2 = await make(roomy)
      nodes.push(e2)
      await e2.dial(s1.getMultiaddrs())
      await dhtServiceOf(e2).waitForPeers(1, { signal: AbortSignal.timeout(10_000) })
      await expect(roomy({ node: e2 }).register(older)).rejects.toMatchObject({ name: 'StaleRecordError' })
      expect((await roomy({ node: e2 }).resolve('fill')).addrs.map(String)).toEqual(['/ip4/127.0.0.1/tcp/40013'])
    } finally {
      for (const n of nodes) await n.stop()
    }
  })

  it('refuses a node created without the DHT service', async () => {
    const node = await createNode({ privateKey: await generateKeyPair('Ed25519'), listen: [] })
    try {
      expect(() => dhtRendezvous()({ node })).toThrow(TypeError)
    } finally {
      await node.stop()
    }
  })
})

async function drain (source: AsyncIterable<unknown>): Promise<void> {
  for await (const _ of source) { /* consume */ }
}
