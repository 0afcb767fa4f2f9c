// What the operator of a DHT node sees of a private name (spec/dht.md#what-a-dht-node-learns): three DHT nodes,
// each in its own process, one of them keeping its records on disk, and a service that serves a private name
// through them. The nodes' whole state, in memory and on disk, holds neither the name, nor the secret, nor the
// service's key or peer id, nor its addresses or AId, in any of the usual encodings; and a party that knows the
// name but not the secret gets, from every node, exactly the bytes it got before the name was registered.
import { randomBytes } from 'node:crypto'
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair, publicKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromString } from '@libp2p/peer-id'
import { Libp2pRecord } from '@libp2p/record'
import { lpStream } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import { LevelDatastore } from 'datastore-level'
import { base32 } from 'multiformats/bases/base32'
import { base58btc } from 'multiformats/bases/base58'
import protobuf from 'protobufjs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DHT_PROTOCOL, DHT_RECORDS_DIR } from '@fara/rendezvous/constants'
import { dhtKey, privateDhtKey } from '@fara/rendezvous/dht'
import { derivePrivateKeys, periodOf } from '@fara/rendezvous/private'
import { createNode } from '@fara/transport'
import { startFixture, stopAll } from './helpers/process.ts'
import type { Fixture } from './helpers/process.ts'
import type { Libp2p } from '@libp2p/interface'

// the DHT wire message (libp2p kad-dht dht.proto): what a DHT node answers is all a prober gets
const Message = new protobuf.Type('Message').add(new protobuf.Field('type', 1, 'int32')).add(new protobuf.Field('key', 2, 'bytes'))
const GET_VALUE = 1

/** One raw GET_VALUE to a DHT node: the response's bytes, in hex. */
async function rawGet (from: Libp2p, target: string[], key: Uint8Array): Promise<string> {
  const signal = AbortSignal.timeout(10_000)
  const stream = await from.dialProtocol(target.map(a => multiaddr(a)), DHT_PROTOCOL, { signal })
  const lp = lpStream(stream, { maxDataLength: 1 << 20 })
  await lp.write(Message.encode({ type: GET_VALUE, key }).finish(), { signal })
  const reply = (await lp.read({ signal })).subarray()
  await stream.close()
  return Buffer.from(reply).toString('hex')
}

function lookupKey (name: string, period: number, secret?: string): Uint8Array {
  const { lookupKey, encryptionKey } = derivePrivateKeys(name, period, secret)
  encryptionKey.fill(0)
  return lookupKey
}

/** The encodings a program might store a value in: the bytes, hex, base64, base64url, base58btc, base32. */
function forms (bytes: Uint8Array): Array<[string, Buffer]> {
  const b = Buffer.from(bytes)
  return [
    ['bytes', b],
    ['hex', Buffer.from(b.toString('hex'))],
    ['HEX', Buffer.from(b.toString('hex').toUpperCase())],
    ['base64', Buffer.from(b.toString('base64').replace(/=+$/, ''))],
    ['base64url', Buffer.from(b.toString('base64url'))],
    ['base58btc', Buffer.from(base58btc.baseEncode(b))],
    ['base32', Buffer.from(base32.baseEncode(b))]
  ]
}

/**
 * Everything in a DHT store's entries, as stored and decoded: the datastore keys, the DHT keys they
 * name (@libp2p/kad-dht files a record under base32 of its key), the stored bytes, and the record's key and value.
 */
function haystackOf (entries: Array<{ key: string, value: Uint8Array }>): Buffer {
  const parts: Buffer[] = []
  for (const { key, value } of entries) {
    parts.push(Buffer.from(key), Buffer.from(value))
    const filed = key.split('/').at(-1) ?? ''
    try { parts.push(Buffer.from(base32.baseDecode(filed))) } catch { /* not base32 */ }
    try {
      const record = Libp2pRecord.deserialize(value)
      parts.push(Buffer.from(record.key), Buffer.from(record.value))
    } catch { /* not a record */ }
  }
  return Buffer.concat(parts)
}

async function dumpOf (f: Fixture): Promise<Array<{ key: string, value: Uint8Array }>> {
  const before = f.lines.length
  f.send({ cmd: 'dump' })
  const dump = await f.next(l => l.event === 'dump' && f.lines.indexOf(l) >= before)
  return (dump.entries as Array<{ key: string, value: string }>).map(e => ({ key: e.key, value: Buffer.from(e.value, 'hex') }))
}

describe('a DHT node\'s view of a private name', () => {
  const suffix = randomBytes(4).toString('hex')
  const name = `opview-${suffix}`
  const secret = `invite-${randomBytes(16).toString('hex')}`
  const publicName = `opview-public-${suffix}`
  let dir: string
  let probe: Libp2p
  let nodes: Fixture[]
  let addrs: string[][]
  let service: Record<string, unknown>
  let control: Record<string, unknown>
  /** Probed keys: what a party that knows the name but not the secret can ask for, and (control) the real slots. */
  let blind: Array<[string, Uint8Array]>
  let real: Array<[string, Uint8Array]>
  let before: Map<string, string>

  const probeAll = async (keys: Array<[string, Uint8Array]>): Promise<Map<string, string>> => {
    const out = new Map<string, string>()
    for (const [i, target] of addrs.entries()) {
      for (const [what, key] of keys) out.set(`node ${i}, ${what}`, await rawGet(probe, target, key))
    }
    return out
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fara-dht-opview-'))
    probe = await createNode({ privateKey: await generateKeyPair('Ed25519'), listen: [] })
    // each node holds the other two in its routing table before anything is probed, so the closer peers it
    // names in an answer do not change while the test runs
    const a = startFixture('dht-node', { dataDir: join(dir, 'a'), waitPeers: 2, commands: true }, { stdin: true })
    const aAddrs = (await a.next(l => l.event === 'ready')).multiaddrs as string[]
    const b = startFixture('dht-node', { bootstrap: aAddrs, waitPeers: 2, commands: true }, { stdin: true })
    const bAddrs = (await b.next(l => l.event === 'ready')).multiaddrs as string[]
    const c = startFixture('dht-node', { bootstrap: [...aAddrs, ...bAddrs], waitPeers: 2, commands: true }, { stdin: true })
    nodes = [a, b, c]
    addrs = [aAddrs, bAddrs, (await c.next(l => l.event === 'ready')).multiaddrs as string[]]
    for (const n of nodes) expect(await n.next(l => l.event === 'peers' || l.event === 'error')).toMatchObject({ event: 'peers', count: 2 })

    const period = periodOf(Date.now())
    const periods = [period, period + 1, period - 1]
    blind = [
      ['the name as a public name', dhtKey(name)],
      ...periods.map((p): [string, Uint8Array] => [`the name without a secret, period ${p}`, privateDhtKey(lookupKey(name, p))]),
      ...periods.map((p): [string, Uint8Array] => [`the name with a guessed secret, period ${p}`, privateDhtKey(lookupKey(name, p, 'guessed-secret'))])
    ]
    real = [period, period + 1].map((p): [string, Uint8Array] => [`the real slot, period ${p}`, privateDhtKey(lookupKey(name, p, secret))])
    before = await probeAll([...blind, ...real])

    // the service under test, and a public one whose traces must be found (the control of the search itself);
    // their own nodes are DHT clients, which never enter a routing table
    const s = startFixture('service', { dht: aAddrs, dhtClient: true, name, secret })
    const p = startFixture('service', { dht: aAddrs, dhtClient: true, name: publicName })
    service = await s.next(l => l.event === 'ready', 60_000)
    control = await p.next(l => l.event === 'ready', 60_000)
    expect(s.lines.filter(l => l.event === 'registered')).toHaveLength(2)
  })

  afterAll(async () => {
    await probe?.stop()
    await stopAll()
    if (dir != null) await rm(dir, { recursive: true, force: true })
  })

  it('answers one who knows the name but not the secret byte for byte as before the name was registered', async () => {
    const after = await probeAll([...blind, ...real])
    for (const [what] of blind) {
      for (const i of nodes.keys()) expect(after.get(`node ${i}, ${what}`), `node ${i}, ${what}`).toBe(before.get(`node ${i}, ${what}`))
    }
    // the control: the real slots did change, on every node (each holds every slot: k > 3)
    for (const [what] of real) {
      for (const i of nodes.keys()) expect(after.get(`node ${i}, ${what}`), `node ${i}, ${what}`).not.toBe(before.get(`node ${i}, ${what}`))
    }
  })

  it('holds no trace of the name, the secret, the key, the peer id, the addresses or the AId, in memory or on disk', async () => {
    const peerId = peerIdFromString(service.peerId as string)
    const needles: Array<[string, Uint8Array]> = [
      ['name', Buffer.from(name)],
      ['secret', Buffer.from(secret)],
      ['public key (raw)', peerId.publicKey!.raw],
      ['public key (protobuf)', publicKeyToProtobuf(peerId.publicKey!)],
      ['peer id (multihash)', peerId.toMultihash().bytes],
      ['peer id (text)', Buffer.from(peerId.toString())],
      ['AId', Buffer.from(service.aid as string, 'hex')],
      ...(service.multiaddrs as string[]).flatMap((a): Array<[string, Uint8Array]> => [[`address ${a}`, multiaddr(a).bytes], [`address text ${a}`, Buffer.from(a)]])
    ]
    const controlKey = peerIdFromString(control.peerId as string).publicKey!
    const controls: Array<[string, Uint8Array]> = [['public name', Buffer.from(publicName)], ['its key (protobuf)', publicKeyToProtobuf(controlKey)]]
    const search = (where: string, haystack: Buffer, control: boolean): void => {
      for (const [what, needle] of control ? controls : []) expect(haystack.includes(Buffer.from(needle)), `${what} of the control service missing in ${where}`).toBe(true)
      for (const [what, needle] of needles) {
        for (const [form, bytes] of forms(needle)) expect(haystack.includes(bytes), `${what} (${form}) found in ${where}`).toBe(false)
      }
    }

    const dumps = await Promise.all(nodes.map(dumpOf))
    const slots = real.map(([, key]) => Buffer.from(key).toString())
    for (const [i, entries] of dumps.entries()) {
      // every node holds both private slots; node 0, the services' bootstrap node, the public record too
      // (@libp2p/kad-dht's own put, which public records take, may stop its lookup there: spec/dht.md#put)
      const held = entries.map(e => Buffer.from(Libp2pRecord.deserialize(e.value).key).toString())
      expect(held, `node ${i}`).toEqual(expect.arrayContaining(slots))
      if (i === 0) expect(held).toContain(Buffer.from(dhtKey(publicName)).toString())
      search(`node ${i}'s memory`, haystackOf(entries), i === 0)
    }

    // on disk: the files as they are after a crash, then the datastore as LevelDB reads them back
    nodes[0]!.child.kill('SIGKILL')
    await nodes[0]!.exited
    const records = join(dir, 'a', DHT_RECORDS_DIR)
    const files = await readdir(records)
    search('node 0\'s files', Buffer.concat(await Promise.all(files.map(async f => readFile(join(records, f))))), true)
    const level = new LevelDatastore(records)
    await level.open()
    const stored: Array<{ key: string, value: Uint8Array }> = []
    try {
      for await (const { key, value } of level.query({})) stored.push({ key: key.toString(), value })
    } finally {
      await level.close()
    }
    expect(stored).toHaveLength(3)
    search('node 0\'s datastore on disk', haystackOf(stored), true)
  })
})
