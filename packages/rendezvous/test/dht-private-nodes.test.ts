// Private records across DHT nodes on loopback (spec/dht.md#private-records), and a DHT server's
// records kept in its data directory across a restart (spec/dht.md#persistence).
import { createHash } from 'node:crypto'
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { createNode } from '@fara/transport'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { rawPut } from './raw-dht.ts'
import { dhtTestnet } from './dht-testnet.ts'
import { createRecord } from '../src/index.ts'
import { DATA_DIR_MODE, DATA_FILE_MODE, DHT_RECORDS_DIR } from '../src/constants.ts'
import { dhtRendezvous, dhtServiceOf, privateDhtKey } from '../src/dht/index.ts'
import {
  createPrivateTombstone, derivePrivateKeys, encodeSignedPrivateRecord, openPrivateRecord, periodOf, sealPrivateRecord
} from '../src/private/index.ts'
import type { PrivateRendezvous, SignedPrivateRecord } from '../src/index.ts'
import type { Ed25519PrivateKey } from '@libp2p/interface'

const N = 8
const AID = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8])
const SECRET = 'invite-for-the-dht'

function lookupKeyOf (name: string, period: number, secret = SECRET): Uint8Array {
  const { lookupKey, encryptionKey } = derivePrivateKeys(name, period, secret)
  encryptionKey.fill(0)
  return lookupKey
}

async function seal (entity: Ed25519PrivateKey, name: string, addrs: string[], secret = SECRET): Promise<SignedPrivateRecord> {
  const now = Date.now()
  const signed = await createRecord(entity, { name, addrs, aid: AID, ttl: 600_000, now })
  return sealPrivateRecord({ entityKey: entity, signed, name, secret, period: periodOf(now), seq: now, expires: now + 600_000 })
}

const hexOf = (b: Uint8Array | undefined): string => Buffer.from(b ?? []).toString('hex')

describe(`private names on the DHT: ${N} nodes on loopback`, () => {
  // k = 3: a slot lives on the three nodes closest to its key, so most nodes must look it up hop by hop
  const factory = dhtRendezvous({ allowPrivateAddresses: true, kBucketSize: 3, timeout: 15_000 })
  // a ring: each node dials the next, and is dialled by the one before
  const { nodes, extra } = dhtTestnet(factory, N, { offsets: [1], minPeers: 2 })
  let alice: Ed25519PrivateKey
  let mallory: Ed25519PrivateKey
  const rv = (i: number): PrivateRendezvous => factory({ node: nodes[i]! })
  const holders = (lookupKey: Uint8Array): number[] => nodes.flatMap((n, i) => dhtServiceOf(n).localPrivateValue(lookupKey) == null ? [] : [i])

  /** A dial-only node joined through node `via`: a DHT client, as the SDK's throwaway registering node. */
  async function client (via: number): Promise<PrivateRendezvous> {
    const node = await createNode({ privateKey: await generateKeyPair('Ed25519'), listen: [], services: factory.nodeServices })
    extra.push(node)
    await node.dial(nodes[via]!.getMultiaddrs())
    await dhtServiceOf(node).waitForPeers(1, { signal: AbortSignal.timeout(10_000) })
    return factory({ node })
  }

  beforeAll(async () => {
    alice = await generateKeyPair('Ed25519')
    mallory = await generateKeyPair('Ed25519')
  })

  it('stores a sealed record from a client node on the nodes closest to its lookup key; another node resolves and opens it', async () => {
    const name = 'room-one'
    const sealed = await seal(alice, name, ['/ip4/127.0.0.1/tcp/41001'])
    await (await client(0)).registerPrivate(sealed)
    const lookupKey = lookupKeyOf(name, periodOf(Date.now()))
    expect(holders(lookupKey).length).toBeGreaterThan(0)
    for (const i of [2, 5, 7]) {
      const got = await rv(i).resolvePrivate(lookupKey)
      expect(hexOf(encodeSignedPrivateRecord(got))).toBe(hexOf(encodeSignedPrivateRecord(sealed)))
      const record = await openPrivateRecord(got, { name, secret: SECRET })
      expect(record.publicKey.equals(alice.publicKey)).toBe(true)
      expect(record.addrs.map(String)).toEqual(['/ip4/127.0.0.1/tcp/41001'])
    }
    // a wrong secret gives another lookup key: nothing there
    await expect(rv(3).resolvePrivate(lookupKeyOf(name, periodOf(Date.now()), 'wrong'))).rejects.toMatchObject({ name: 'NameNotFoundError' })
    await expect(rv(3).resolvePrivate(new Uint8Array(31))).rejects.toThrow(RangeError)
  })

  it('keeps a slot for its writer key: another writer gets NameTakenError, and the slot still opens to the first', async () => {
    const name = 'room-two'
    const lookupKey = lookupKeyOf(name, periodOf(Date.now()))
    await rv(1).registerPrivate(await seal(alice, name, ['/ip4/127.0.0.1/tcp/41002']))
    await expect((await client(4)).registerPrivate(await seal(mallory, name, ['/ip4/127.0.0.1/tcp/41666']))).rejects.toMatchObject({ name: 'NameTakenError' })
    const tombstone = await createPrivateTombstone({ entityKey: mallory, name, secret: SECRET, period: periodOf(Date.now()) })
    await expect(rv(6).unregisterPrivate(tombstone)).rejects.toMatchObject({ name: 'NameTakenError' })
    const record = await openPrivateRecord(await rv(6).resolvePrivate(lookupKey), { name, secret: SECRET })
    expect(record.publicKey.equals(alice.publicKey)).toBe(true)
    // the writer updates its slot: a newer record of the same writer key
    await rv(3).registerPrivate(await seal(alice, name, ['/ip4/127.0.0.1/tcp/41003']))
    expect((await openPrivateRecord(await rv(7).resolvePrivate(lookupKey), { name, secret: SECRET })).addrs.map(String)).toEqual(['/ip4/127.0.0.1/tcp/41003'])
  })

  it('refuses a second writer whose walk meets the first writer\'s record on one node only, though the other closest nodes never saw it', async () => {
    const name = 'room-late'
    const lookupKey = lookupKeyOf(name, periodOf(Date.now()))
    const key = privateDhtKey(lookupKey)
    // the node closest to the slot's key (Kademlia's XOR metric on SHA-256) alone holds alice's record,
    // as when the others joined the closest set after her put
    const target = createHash('sha256').update(key).digest()
    const distance = (i: number): Buffer => {
      const id = createHash('sha256').update(nodes[i]!.peerId.toMultihash().bytes).digest()
      return Buffer.from(id.map((b, j) => b ^ target[j]!))
    }
    const [closest] = nodes.map((_, i) => i).sort((a, b) => Buffer.compare(distance(a), distance(b)))
    const writer = await createNode({ privateKey: await generateKeyPair('Ed25519'), listen: [] })
    extra.push(writer)
    expect(await rawPut(writer, nodes[closest!]!, key, encodeSignedPrivateRecord(await seal(alice, name, ['/ip4/127.0.0.1/tcp/41020'])))).toBe(true)
    expect(holders(lookupKey)).toEqual([closest])
    // the other closest nodes would take mallory's record: her walk saw alice's and does not ask them
    await expect((await client(closest === 0 ? 1 : 0)).registerPrivate(await seal(mallory, name, ['/ip4/127.0.0.1/tcp/41666']))).rejects.toMatchObject({ name: 'NameTakenError' })
    expect(holders(lookupKey)).toEqual([closest])
  })

  it('withdraws a slot with its writer\'s tombstone; a replay of the record is refused; withdrawing again is NameNotFoundError', async () => {
    const name = 'room-three'
    const period = periodOf(Date.now())
    const lookupKey = lookupKeyOf(name, period)
    const sealed = await seal(alice, name, ['/ip4/127.0.0.1/tcp/41004'])
    await rv(2).registerPrivate(sealed)
    await expect(rv(5).resolvePrivate(lookupKey)).resolves.toBeDefined()
    await (await client(6)).unregisterPrivate(await createPrivateTombstone({ entityKey: alice, name, secret: SECRET, period }))
    for (const i of [0, 4, 7]) await expect(rv(i).resolvePrivate(lookupKey)).rejects.toMatchObject({ name: 'NameNotFoundError' })
    await expect(rv(1).registerPrivate(sealed)).rejects.toMatchObject({ name: 'StaleRecordError' })
    await expect(rv(1).unregisterPrivate(await createPrivateTombstone({ entityKey: alice, name, secret: SECRET, period }))).rejects.toMatchObject({ name: 'NameNotFoundError' })
    await expect(rv(1).unregisterPrivate(sealed)).rejects.toMatchObject({ name: 'InvalidRecordError' })
    await expect(rv(1).registerPrivate(await createPrivateTombstone({ entityKey: alice, name, secret: SECRET, period }))).rejects.toMatchObject({ name: 'InvalidRecordError' })
  })

  it('refuses forged, misfiled and replayed private values sent straight to the nodes that hold the slot', async () => {
    const name = 'room-four'
    const period = periodOf(Date.now())
    const lookupKey = lookupKeyOf(name, period)
    const old = await seal(alice, name, ['/ip4/127.0.0.1/tcp/41005'])
    const current = await seal(alice, name, ['/ip4/127.0.0.1/tcp/41006'])
    await rv(0).registerPrivate(current)
    const attacker = await createNode({ privateKey: await generateKeyPair('Ed25519'), listen: [] })
    extra.push(attacker)
    const key = privateDhtKey(lookupKey)
    const value = encodeSignedPrivateRecord(current)
    const forged = new Uint8Array(value)
    forged[forged.length - 1]! ^= 1
    const targets = holders(lookupKey)
    expect(targets.length).toBeGreaterThan(0)
    for (const target of targets) {
      const before = dhtServiceOf(nodes[target]!).localPrivateValue(lookupKey)
      expect(await rawPut(attacker, nodes[target]!, key, forged)).toBe(false)
      expect(await rawPut(attacker, nodes[target]!, privateDhtKey(lookupKeyOf(name, period, 'elsewhere')), value)).toBe(false)
      expect(await rawPut(attacker, nodes[target]!, key, encodeSignedPrivateRecord(old))).toBe(false)
      expect(await rawPut(attacker, nodes[target]!, key, encodeSignedPrivateRecord(await seal(mallory, name, ['/ip4/127.0.0.1/tcp/41666'])))).toBe(false)
      expect(hexOf(dhtServiceOf(nodes[target]!).localPrivateValue(lookupKey))).toBe(hexOf(before))
    }
    // the control: the writer's newer record sent the same way is stored
    const newer = encodeSignedPrivateRecord(await seal(alice, name, ['/ip4/127.0.0.1/tcp/41007']))
    for (const target of targets) expect(await rawPut(attacker, nodes[target]!, key, newer)).toBe(true)
  })
})

describe('a DHT server with a data directory', () => {
  const dirs: string[] = []
  afterAll(async () => { await Promise.all(dirs.map(async d => rm(d, { recursive: true, force: true }))) })

  it('serves its public and private records again after a restart, from <dataDir>/dht-records (0700, files 0600)', async () => {
    const dataDir = join(await mkdtemp(join(tmpdir(), 'fara-dht-data-')), 'state')
    dirs.push(dataDir)
    const factory = dhtRendezvous({ allowPrivateAddresses: true, dataDir, timeout: 5_000 })
    const name = 'kept-room'
    const lookupKey = lookupKeyOf(name, periodOf(Date.now()))
    const key = await generateKeyPair('Ed25519')
    const first = await createNode({ privateKey: key, listen: ['/ip4/127.0.0.1/tcp/0'], services: factory.nodeServices })
    try {
      expect(dhtServiceOf(first).loaded).toBe(0)
      await factory({ node: first }).register(await createRecord(key, { name: 'kept-public', addrs: ['/ip4/127.0.0.1/tcp/41010'], aid: AID }))
      await factory({ node: first }).registerPrivate(await seal(key, name, ['/ip4/127.0.0.1/tcp/41011']))
    } finally {
      await first.stop()
    }
    const modes: Record<string, number> = { '.': (await stat(dataDir)).mode & 0o777 }
    for (const entry of await readdir(dataDir, { recursive: true })) modes[entry] = (await stat(join(dataDir, entry))).mode & 0o777
    expect(Object.keys(modes)).toContain(DHT_RECORDS_DIR)
    for (const [path, mode] of Object.entries(modes)) expect(mode, path).toBe(path === '.' || path === DHT_RECORDS_DIR ? DATA_DIR_MODE : DATA_FILE_MODE)

    const again = await createNode({ privateKey: key, listen: ['/ip4/127.0.0.1/tcp/0'], services: factory.nodeServices })
    const peer = await createNode({ privateKey: await generateKeyPair('Ed25519'), listen: ['/ip4/127.0.0.1/tcp/0'], services: dhtRendezvous({ allowPrivateAddresses: true }).nodeServices })
    try {
      const service = dhtServiceOf(again)
      expect(service.loaded).toBe(2)
      await expect(factory({ node: again }).resolve('kept-public')).resolves.toMatchObject({ name: 'kept-public' })
      const record = await openPrivateRecord(await factory({ node: again }).resolvePrivate(lookupKey), { name, secret: SECRET })
      expect(record.addrs.map(String)).toEqual(['/ip4/127.0.0.1/tcp/41011'])
      // once it has a peer, it puts what it loaded to the peers closest to each key: the peer that joined holds both
      expect(dhtServiceOf(peer).localValue('kept-public')).toBeUndefined()
      await peer.dial(again.getMultiaddrs())
      expect(await service.republished()).toBe(2)
      expect(dhtServiceOf(peer).localValue('kept-public')).toBeDefined()
      expect(dhtServiceOf(peer).localPrivateValue(lookupKey)).toBeDefined()
    } finally {
      await peer.stop()
      await again.stop()
    }
  })

  it('is used by a DHT server only: a client node keeps nothing; a bad path is a TypeError', async () => {
    const dataDir = join(await mkdtemp(join(tmpdir(), 'fara-dht-client-')), 'state')
    dirs.push(dataDir)
    const node = await createNode({ privateKey: await generateKeyPair('Ed25519'), listen: [], services: dhtRendezvous({ dataDir }).nodeServices })
    try {
      expect(dhtServiceOf(node).mode()).toBe('client')
      await expect(stat(dataDir)).rejects.toMatchObject({ code: 'ENOENT' })
    } finally {
      await node.stop()
    }
    expect(() => dhtRendezvous({ dataDir: '' })).toThrow(TypeError)
    expect(() => dhtRendezvous({ dataDir: 7 as unknown as string })).toThrow(TypeError)
  })
})
