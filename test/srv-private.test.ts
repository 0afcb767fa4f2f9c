// Private names on the SRV rendezvous, against a real BIND 9: where a sealed
// record goes in the zone and how it is read back (bounded, verified as a
// rendezvous point verifies it), what happens to whatever else is found at its
// label, the SDK end to end with a private name, and the zone operator's view:
// a full zone transfer holds neither the name, the secret, the key nor the
// addresses, and a wrong secret gets the bytes an unregistered name gets.
import { createSocket } from 'node:dgram'
import { randomBytes } from 'node:crypto'
import { generateKeyPair, publicKeyToProtobuf } from '@libp2p/crypto/keys'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createRecord, verifyRecord } from '@fara/rendezvous'
import {
  createPrivateTombstone, encodeSignedPrivateRecord, openPrivateRecord, periodOf, privateLookupKeys, sealPrivateRecord, verifyPrivateEnvelope
} from '@fara/rendezvous/private'
import { createEntity } from '@fara/sdk'
import { createSrvRendezvous, dnsClient, ownerName, parseTsigKey, privateOwnerName, srvRendezvous } from '@fara/srv'
import { TXT_TAG_SEALED } from '@fara/srv/constants'
import { bindAvailable, startBind } from './helpers/bind.ts'
import type { Bind } from './helpers/bind.ts'
import type { PrivateRendezvous, SignedPrivateRecord } from '@fara/rendezvous'
import type { Association } from '@fara/sdk'
import type { DnsClient, TsigKey } from '@fara/srv'
import type { Ed25519PrivateKey } from '@libp2p/interface'

const run = bindAvailable('SRV private-name tests against BIND 9')
const aid = new Uint8Array([0xa1, 0xd5, 0x07, 0x3c, 0x99, 0x42, 0x18, 0xe6])
const fresh = (): string => `hidden-${randomBytes(4).toString('hex')}`
const DISTINCT_ADDRS = ['/ip4/198.51.100.77/tcp/40777', '/ip6/2001:db8::77/tcp/40778']

/** Seal a fresh record of `key` for `name` (the current period unless told). */
async function seal (key: Ed25519PrivateKey, name: string, opts: { secret?: string, period?: number, seq?: number, addrs?: string[], ttl?: number } = {}): Promise<SignedPrivateRecord> {
  const signed = await createRecord(key, { name, addrs: opts.addrs ?? DISTINCT_ADDRS, aid, ttl: opts.ttl ?? 60_000 })
  const record = await verifyRecord(signed)
  return sealPrivateRecord({
    entityKey: key, signed, name, period: opts.period ?? periodOf(Date.now()), expires: record.expires,
    ...(opts.secret == null ? {} : { secret: opts.secret }), ...(opts.seq == null ? {} : { seq: opts.seq })
  })
}

/** The slot's lookup key, decoded from the envelope the way a point sees it. */
const lookupKeyOf = (name: string, secret?: string): Uint8Array => privateLookupKeys(name, secret == null ? {} : { secret })[0]!.lookupKey

/** The TXT strings of a sealed record as the spec lays them out, written here independently of the package. */
function sealedStrings (sealed: SignedPrivateRecord): Uint8Array[] {
  const bytes = encodeSignedPrivateRecord(sealed)
  const out: Uint8Array[] = [new TextEncoder().encode(TXT_TAG_SEALED)]
  for (let i = 0; i < bytes.byteLength; i += 255) out.push(bytes.subarray(i, i + 255))
  return out
}

/** A DNS query in wire form: id, no flags (no recursion), one question, class IN. */
function rawQuery (name: string, type: number, id: number): Buffer {
  const labels = name.split('.').filter(l => l !== '').map(l => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)]))
  return Buffer.concat([Buffer.from([id >> 8, id & 0xff, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0]), ...labels, Buffer.from([0, type >> 8, type & 0xff, 0, 1])])
}

/** Send one UDP query to named and return its answer (the deadline only bounds a lost datagram). */
async function ask (port: number, query: Buffer): Promise<Buffer> {
  const socket = createSocket('udp4')
  try {
    return await new Promise<Buffer>((resolve, reject) => {
      const deadline = setTimeout(() => { reject(new Error('no answer from named within 5 s')) }, 5_000)
      socket.on('message', (msg) => { clearTimeout(deadline); resolve(msg) })
      socket.send(query, port, '127.0.0.1')
    })
  } finally {
    socket.close()
  }
}

describe.skipIf(!run)('SRV rendezvous: private names against BIND 9', () => {
  let bind: Bind
  let key: TsigKey
  let rv: PrivateRendezvous
  let dns: DnsClient
  let alice: Ed25519PrivateKey
  let mallory: Ed25519PrivateKey

  beforeAll(async () => {
    bind = await startBind({ allowTransfer: true })
    key = parseTsigKey(bind.key.text)
    rv = createSrvRendezvous({ zone: bind.zone, server: bind.server, key })
    dns = dnsClient({ server: bind.server, zone: bind.zone, key })
    alice = await generateKeyPair('Ed25519')
    mallory = await generateKeyPair('Ed25519')
  })

  afterAll(async () => {
    await bind?.stop()
  })

  it('stores one TXT record at <base32 lookup key>._fara-p.<zone>, cached no longer than it lives, and reads it back over TCP', async () => {
    const name = fresh()
    const sealed = await seal(alice, name, { secret: 'invite', ttl: 20_000 })
    await rv.registerPrivate(sealed)
    const owner = privateOwnerName(lookupKeyOf(name, 'invite'), bind.zone)
    expect(owner).toMatch(new RegExp(`^[a-z2-7]{52}\\._fara-p\\.${bind.zone.replace('.', '\\.')}$`))
    const txt = bind.dig('+noall', '+answer', owner, 'TXT').trim().split('\n')
    expect(txt).toHaveLength(1)
    expect(txt[0]).toContain(`"${TXT_TAG_SEALED}"`)
    expect(Number(txt[0]!.split(/\s+/)[1])).toBeLessThanOrEqual(20) // the sealed record lives at most 20 s
    // too large for a 512-octet UDP answer: the server sets TC, and the client asks again over TCP
    expect(bind.dig('+noedns', '+ignore', owner, 'TXT')).toMatch(/flags:[^;]*\btc\b/)
    const back = await rv.resolvePrivate(lookupKeyOf(name, 'invite'))
    expect(Buffer.from(back.record).equals(sealed.record)).toBe(true)
    expect(Buffer.from(back.signature).equals(sealed.signature)).toBe(true)
    expect(await openPrivateRecord(back, { name, secret: 'invite' })).toMatchObject({ name })
  })

  it('applies the rules of every backend: updates by the slot\'s writer only, newer seq only', async () => {
    const name = fresh()
    await rv.registerPrivate(await seal(alice, name, { seq: Date.now() - 10_000 }))
    const newer = await seal(alice, name)
    await rv.registerPrivate(newer)
    expect(Buffer.from((await rv.resolvePrivate(lookupKeyOf(name))).record).equals(newer.record)).toBe(true)
    await expect(rv.registerPrivate(await seal(alice, name, { seq: Date.now() - 5_000 }))).rejects.toMatchObject({ name: 'StaleRecordError' })
    // another entity that knows the name derives another writer key: the slot is taken
    await expect(rv.registerPrivate(await seal(mallory, name))).rejects.toMatchObject({ name: 'NameTakenError' })
    await expect(rv.unregisterPrivate(await createPrivateTombstone({ entityKey: mallory, name, period: periodOf(Date.now()) }))).rejects.toMatchObject({ name: 'NameTakenError' })
    expect(Buffer.from((await rv.resolvePrivate(lookupKeyOf(name))).record).equals(newer.record)).toBe(true)
  })

  it('withdraws with the writer\'s tombstone by deleting the RRset: the label no longer exists', async () => {
    const name = fresh()
    const owner = privateOwnerName(lookupKeyOf(name), bind.zone)
    await rv.registerPrivate(await seal(alice, name))
    expect(bind.dig(owner, 'TXT')).toContain('status: NOERROR')
    await rv.unregisterPrivate(await createPrivateTombstone({ entityKey: alice, name, period: periodOf(Date.now()) }))
    expect(bind.dig(owner, 'TXT')).toContain('status: NXDOMAIN')
    await expect(rv.resolvePrivate(lookupKeyOf(name))).rejects.toMatchObject({ name: 'NameNotFoundError' })
    await expect(rv.unregisterPrivate(await createPrivateTombstone({ entityKey: alice, name, period: periodOf(Date.now()) }))).rejects.toMatchObject({ name: 'NameNotFoundError' })
    // the slot is free again, for anyone
    await rv.registerPrivate(await seal(mallory, name))
    await expect(rv.resolvePrivate(lookupKeyOf(name))).resolves.toBeDefined()
  })

  it('lets exactly one of several concurrent writers take a slot', async () => {
    const name = fresh()
    const keys = await Promise.all(Array.from({ length: 4 }, async () => generateKeyPair('Ed25519')))
    const results = await Promise.allSettled(keys.map(async k => rv.registerPrivate(await seal(k, name))))
    expect(results.filter(r => r.status === 'fulfilled')).toHaveLength(1)
    expect(results.filter(r => r.status === 'rejected').map(r => (r as PromiseRejectedResult).reason.name)).toEqual(new Array(3).fill('NameTakenError'))
    expect(bind.dig('+short', privateOwnerName(lookupKeyOf(name), bind.zone), 'TXT').trim().split('\n')).toHaveLength(1)
  })

  it('treats anything that does not verify for the slot as not found: foreign, junk, forged, copied, expired', async () => {
    const name = fresh()
    const lookupKey = lookupKeyOf(name)
    const owner = privateOwnerName(lookupKey, bind.zone)
    const notFound = async (what: string, r = rv): Promise<void> => {
      await expect(r.resolvePrivate(lookupKey), what).rejects.toMatchObject({ name: 'NameNotFoundError' })
    }
    await notFound('nothing there')
    expect(bind.nsupdate(`update add ${owner} 60 TXT "v=spf1 -all"\nupdate add ${owner} 60 TXT "${TXT_TAG_SEALED}" "junk"`).status).toBe(0)
    await notFound('foreign and junk TXT records')
    // a valid envelope of another slot, copied under this label
    const other = fresh()
    await dns.replace(owner, 'TXT', [{ type: 'TXT', name: owner, ttl: 60, strings: sealedStrings(await seal(alice, other)) }])
    await notFound('a record of another slot')
    // one flipped byte inside the signed record
    const sealed = await seal(alice, name)
    const forged = { record: new Uint8Array(sealed.record), signature: sealed.signature }
    forged.record[forged.record.byteLength - 100]! ^= 1
    await dns.replace(owner, 'TXT', [{ type: 'TXT', name: owner, ttl: 60, strings: sealedStrings(forged) }])
    await notFound('a forged record')
    // the writer replaces whatever is there; a reader whose clock is past the expiry finds nothing
    await rv.registerPrivate(sealed)
    await expect(rv.resolvePrivate(lookupKey)).resolves.toBeDefined()
    await notFound('an expired record', createSrvRendezvous({ zone: bind.zone, server: bind.server, now: () => Date.now() + 3 * 86_400_000 }))
  })

  it('returns the newest valid record when the RRset holds several', async () => {
    const name = fresh()
    const owner = privateOwnerName(lookupKeyOf(name), bind.zone)
    const first = await seal(alice, name)
    await rv.registerPrivate(first)
    // written around the rendezvous by other holders of the zone key
    const second = await seal(alice, name, { seq: Date.now() + 1_000 })
    const third = await seal(mallory, name, { seq: Date.now() + 2_000 })
    await dns.add([second, third].map(s => ({ type: 'TXT' as const, name: owner, ttl: 60, strings: sealedStrings(s) })))
    expect(bind.dig('+short', owner, 'TXT').trim().split('\n')).toHaveLength(3)
    expect(Buffer.from((await rv.resolvePrivate(lookupKeyOf(name))).record).equals(third.record)).toBe(true)
    // the newest decides the writer's round too: it belongs to another key
    await expect(rv.registerPrivate(await seal(alice, name, { seq: Date.now() + 3_000 }))).rejects.toMatchObject({ name: 'NameTakenError' })
  })

  it('refuses bad input before the server sees it, and writes nothing without a key', async () => {
    const name = fresh()
    const sealed = await seal(alice, name)
    await expect(rv.registerPrivate({ record: sealed.record, signature: new Uint8Array(64) })).rejects.toMatchObject({ name: 'InvalidSignatureError' })
    await expect(rv.registerPrivate({ record: new Uint8Array(13_000), signature: sealed.signature })).rejects.toMatchObject({ name: 'RecordTooLargeError' })
    await expect(rv.unregisterPrivate(sealed)).rejects.toMatchObject({ name: 'InvalidRecordError' }) // a live record is no tombstone
    await expect(rv.resolvePrivate(new Uint8Array(31))).rejects.toThrow(RangeError)
    await expect(rv.resolvePrivate('x' as unknown as Uint8Array)).rejects.toThrow(TypeError)
    const readOnly = createSrvRendezvous({ zone: bind.zone, server: bind.server })
    await expect(readOnly.registerPrivate(sealed)).rejects.toMatchObject({ name: 'RendezvousUnavailableError' })
    expect(bind.dig(privateOwnerName(lookupKeyOf(name), bind.zone), 'TXT')).toContain('status: NXDOMAIN')
    await rv.registerPrivate(sealed)
    await expect(readOnly.resolvePrivate(lookupKeyOf(name))).resolves.toBeDefined()
  })

  describe('the SDK end to end, and what the zone operator sees', () => {
    const name = fresh()
    const secret = `invite-${randomBytes(8).toString('hex')}`
    let server: Awaited<ReturnType<typeof createEntity>>
    let client: Awaited<ReturnType<typeof createEntity>>
    let direct: SignedPrivateRecord

    beforeAll(async () => {
      const rendezvous = srvRendezvous({ zone: bind.zone, server: bind.server, key })
      server = await createEntity({ app: 'srv-hidden', rendezvous, listen: ['/ip4/127.0.0.1/tcp/0'] })
      await server.serve(name, async (a: Association) => {
        for await (const chunk of a) if (!a.send(chunk)) await a.onDrain()
        await a.close()
      }, { private: { secret } })
      // readers need no key: a client's rendezvous only reads
      client = await createEntity({ app: 'srv-friend', rendezvous: srvRendezvous({ zone: bind.zone, server: bind.server }), listen: [] })
      // and the same service's entity key sealing distinctive addresses directly, for the search below
      direct = await seal(server.identity.privateKey as Ed25519PrivateKey, `${name}-direct`, { secret })
      await rv.registerPrivate(direct)
    })

    afterAll(async () => {
      await client?.close()
      await server?.close()
    })

    it('serves and connects a private name through the zone', async () => {
      const a = await client.connect(name, { private: { secret } })
      a.send(Buffer.from('sealed in DNS'))
      await a.close()
      const chunks: Uint8Array[] = []
      for await (const c of a) chunks.push(c)
      expect(Buffer.concat(chunks).toString()).toBe('sealed in DNS')
      expect(a.remotePeer.equals(server.peerId)).toBe(true)
      // two slots (this period and the next), nothing under the public owner name
      for (const { lookupKey } of privateLookupKeys(name, { secret }).slice(0, 2)) {
        expect(bind.dig(privateOwnerName(lookupKey, bind.zone), 'TXT')).toContain('status: NOERROR')
      }
      expect(bind.dig(ownerName(name, bind.zone), 'ANY')).toContain('status: NXDOMAIN')
    })

    it('leaves no trace of the name, the secret, the key or the addresses in a zone transfer', async () => {
      const axfr = bind.dig('AXFR', bind.zone)
      const lines = axfr.split('\n').filter(l => l !== '' && !l.startsWith(';'))
      const labels = lines.filter(l => /^[a-z2-7]{52}\._fara-p\./.test(l))
      expect(labels.length).toBeGreaterThanOrEqual(3) // the transfer does hold the sealed records
      // the raw TXT octets of every sealed record, for the binary forms
      const raw = Buffer.concat(await Promise.all(labels.map(async l => {
        const records = await dns.query(l.split(/\s+/)[0]!, 'TXT')
        return Buffer.concat(records.flatMap(r => r.type === 'TXT' ? r.strings.map(s => Buffer.from(s)) : []))
      })))
      expect(raw.byteLength).toBeGreaterThan(3 * 1000)
      // the search can find things: what the operator may see, the slot's writer key, is there
      expect(raw.includes(Buffer.from(publicKeyToProtobuf((await verifyPrivateEnvelope(direct)).writerPublicKey)))).toBe(true)
      const pk = server.publicKey
      const binary: Array<[string, Uint8Array]> = [
        ['public key (raw)', pk.raw],
        ['public key (protobuf)', publicKeyToProtobuf(pk)],
        ['peer id (multihash)', server.peerId.toMultihash().bytes],
        ['aid', aid],
        ...[...server.multiaddrs, ...DISTINCT_ADDRS].map((ma): [string, Uint8Array] => [`address ${ma.toString()}`, typeof ma === 'string' ? Buffer.from(ma) : ma.bytes])
      ]
      const textual: string[] = [
        name, secret, `${name}._fara._tcp`, server.peerId.toString(), server.peerId.toCID().toString(),
        '198.51.100.77', '198-51-100-77', '2001:db8::77', '20010db8000000000000000000000077',
        ...server.multiaddrs.map(String), ...DISTINCT_ADDRS,
        ...binary.flatMap(([, b]) => {
          const buf = Buffer.from(b)
          return [buf.toString('hex'), buf.toString('base64'), buf.toString('base64url'), base32(buf)]
        })
      ]
      for (const needle of textual) expect(axfr.toLowerCase().includes(needle.toLowerCase()), `${needle} in the zone transfer`).toBe(false)
      for (const [what, needle] of binary) expect(raw.includes(Buffer.from(needle)), `${what} in the sealed TXT octets`).toBe(false)
      // the ports, as they would appear in SRV records or text
      const ports = [...server.multiaddrs.map(ma => Number(ma.toString().split('/')[4])), 40777, 40778]
      for (const port of ports) expect(new RegExp(`(^|[\\s:/])${port}(\\s|$)`, 'm').test(axfr), `port ${port} in the zone transfer`).toBe(false)
      expect(lines.some(l => /\sSRV\s/.test(l))).toBe(false)
    })

    it('answers a reader with the name but not the secret exactly as it answers an unregistered name', async () => {
      await expect(client.resolve(name, { private: { secret: 'wrong' } })).rejects.toMatchObject({ name: 'NameNotFoundError' })
      await expect(client.resolve(name, { private: true })).rejects.toMatchObject({ name: 'NameNotFoundError' })
      const unregistered = fresh() // the same length as `name`
      await expect(client.resolve(unregistered, { private: { secret } })).rejects.toMatchObject({ name: 'NameNotFoundError' })
      // on the wire: NXDOMAIN, identical octets but for the question's name (same length: both 52 base32 characters)
      const pairs = [
        ...privateLookupKeys(name, { secret: 'wrong' }).map((w, i) => [w.lookupKey, privateLookupKeys(unregistered, { secret })[i]!.lookupKey] as const),
        ...privateLookupKeys(name).map((w, i) => [w.lookupKey, privateLookupKeys(unregistered)[i]!.lookupKey] as const)
      ]
      const sameAnswer = async (a: string, b: string, type: number): Promise<void> => {
        const [answerA, answerB] = [await ask(bind.port, rawQuery(a, type, 0x4242)), await ask(bind.port, rawQuery(b, type, 0x4242))]
        expect(answerA[3]! & 0x0f, a).toBe(3) // NXDOMAIN
        const qname = (n: string): Buffer => rawQuery(n, type, 0).subarray(12, 12 + n.length + 2)
        expect(answerA.subarray(12, 12 + qname(a).byteLength).equals(qname(a))).toBe(true)
        qname(b).copy(answerA, 12)
        expect(answerA.toString('hex')).toBe(answerB.toString('hex'))
      }
      for (const [wrong, none] of pairs) await sameAnswer(privateOwnerName(wrong, bind.zone), privateOwnerName(none, bind.zone), 16)
      // and the public owner name of the private one answers as that of any unregistered name
      await sameAnswer(ownerName(name, bind.zone), ownerName(unregistered, bind.zone), 255)
    })

    it('withdraws both slots when the service closes: the labels are gone', async () => {
      await server.close()
      for (const { lookupKey } of privateLookupKeys(name, { secret }).slice(0, 2)) {
        expect(bind.dig(privateOwnerName(lookupKey, bind.zone), 'TXT')).toContain('status: NXDOMAIN')
      }
      await expect(client.resolve(name, { private: { secret } })).rejects.toMatchObject({ name: 'NameNotFoundError' })
    })
  })
})

/** RFC 4648 base32 (lower case, no padding), for the search of the zone transfer. */
function base32 (bytes: Uint8Array): string {
  const bits = Array.from(bytes, b => b.toString(2).padStart(8, '0')).join('')
  const padded = bits.padEnd(Math.ceil(bits.length / 5) * 5, '0')
  return Array.from({ length: padded.length / 5 }, (_, i) => 'abcdefghijklmnopqrstuvwxyz234567'[parseInt(padded.slice(5 * i, 5 * i + 5), 2)]).join('')
}
