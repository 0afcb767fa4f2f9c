// The SRV rendezvous on a real BIND 9, beyond the compliance suite: what it
// publishes (and so reveals) in DNS, how RFC 2136 prerequisites stop a racing
// writer, what it does with TXT records it did not write, and two entities
// reaching each other by name through it.
import { createSocket } from 'node:dgram'
import { Resolver } from 'node:dns/promises'
import { createServer, connect } from 'node:net'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { selfCertifyingName } from '@fara/identity'
import { createRecord, createTombstone } from '@fara/rendezvous'
import { createEntity } from '@fara/sdk'
import { createSrvRendezvous, hostName, ownerName, parseTsigKey, resolveSrv, srvRendezvous } from '@fara/srv'
import { TXT_TAG_SLOT } from '@fara/srv/constants'
import { bindAvailable, startBind, tsigKeygen } from './helpers/bind.ts'
import type { Bind } from './helpers/bind.ts'
import type { Socket } from 'node:net'
import type { Rendezvous } from '@fara/rendezvous'
import type { TsigKey } from '@fara/srv'
import type { Ed25519PrivateKey } from '@libp2p/interface'

const run = bindAvailable('SRV rendezvous tests against BIND 9')
const aid = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8])
const fresh = (): string => `svc-${Math.random().toString(36).slice(2, 10)}`

/**
 * A gate in front of named: UDP passes at once; TCP connections (the
 * rendezvous sends its UPDATEs over TCP) are held until `release()`.
 */
async function startGate (upstream: number): Promise<{ server: string, held: () => number, release: () => void, close: () => Promise<void> }> {
  const waiting: Array<() => void> = []
  const sockets = new Set<Socket>()
  let holding = true
  const tcp = createServer((client) => {
    sockets.add(client)
    client.on('error', () => {})
    const pass = (): void => {
      const up = connect(upstream, '127.0.0.1')
      sockets.add(up)
      up.on('error', () => { client.destroy() })
      client.pipe(up)
      up.pipe(client)
    }
    if (holding) waiting.push(pass)
    else pass()
  })
  const port = await new Promise<number>(resolve => tcp.listen(0, '127.0.0.1', () => { resolve((tcp.address() as { port: number }).port) }))
  const udp = createSocket('udp4')
  await new Promise<void>((resolve, reject) => { udp.once('error', reject); udp.bind(port, '127.0.0.1', () => { resolve() }) })
  udp.on('message', (msg, rinfo) => {
    const out = createSocket('udp4')
    out.on('message', (answer) => { udp.send(answer, rinfo.port, rinfo.address); out.close() })
    out.send(msg, upstream, '127.0.0.1')
  })
  return {
    server: `127.0.0.1:${port}`,
    held: () => waiting.length,
    release: () => { holding = false; for (const pass of waiting.splice(0)) pass() },
    close: async () => {
      for (const s of sockets) s.destroy()
      await new Promise<void>(resolve => { udp.close(() => { resolve() }) })
      await new Promise<void>(resolve => { tcp.close(() => { resolve() }) })
    }
  }
}

describe.skipIf(!run)('SRV rendezvous against BIND 9', () => {
  let bind: Bind
  let key: TsigKey
  let rv: Rendezvous
  let alice: Ed25519PrivateKey
  let mallory: Ed25519PrivateKey
  let resolver: Resolver

  beforeAll(async () => {
    bind = await startBind()
    key = parseTsigKey(bind.key.text)
    rv = createSrvRendezvous({ zone: bind.zone, server: bind.server, key })
    alice = await generateKeyPair('Ed25519')
    mallory = await generateKeyPair('Ed25519')
    resolver = new Resolver({ timeout: 2_000, tries: 1 })
    resolver.setServers([bind.server])
  })

  afterAll(async () => {
    await bind?.stop()
  })

  const record = async (name: string, key = alice, addrs = ['/ip4/127.0.0.1/tcp/40001', '/ip6/::1/tcp/40002'], ttl = 60_000) =>
    createRecord(key, { name, addrs, aid, ttl })

  it('publishes SRV to a host name whose A record is the first TCP address, for anyone to read with plain DNS', async () => {
    const name = fresh()
    await rv.register(await record(name, alice, ['/ip4/127.0.0.1/tcp/40001/p2p/12D3KooWHzJq5Qx2aNt7ZQqQxXk6u5H5p4h7Zbm5yQ3x8Q1cK7e2', '/ip4/127.0.0.1/tcp/40009'], 20_000))
    const owner = ownerName(name, bind.zone)
    const target = hostName(4, '127.0.0.1', bind.zone)
    expect(owner).toBe(`${name}._fara._tcp.${bind.zone}`)
    expect(target).toBe(`127-0-0-1.fara-ip4.${bind.zone}`)
    expect(await resolveSrv(owner, { servers: [bind.server] })).toEqual([{ name: target, port: 40001, priority: 0, weight: 0 }])
    expect(await resolver.resolve4(target)).toEqual(['127.0.0.1'])
    const txt = bind.dig('+noall', '+answer', owner, 'TXT')
    expect(txt).toContain(`"${TXT_TAG_SLOT}"`)
    // the DNS TTL is capped by the record's own lifetime (20 s)
    expect(Number(txt.trim().split(/\s+/)[1])).toBeLessThanOrEqual(20)
  })

  it('publishes AAAA when the first TCP address is IPv6, and no SRV for a record without a direct TCP address', async () => {
    const v6 = fresh()
    await rv.register(await record(v6, alice, ['/ip6/2001:db8::7/tcp/40003']))
    const target = hostName(6, '2001:db8::7', bind.zone)
    expect(await resolveSrv(ownerName(v6, bind.zone), { servers: [bind.server] })).toEqual([{ name: target, port: 40003, priority: 0, weight: 0 }])
    expect(await resolver.resolve6(target)).toEqual(['2001:db8::7'])
    const relayed = fresh()
    await rv.register(await record(relayed, alice, ['/ip4/203.0.113.5/tcp/4001/p2p/12D3KooWHzJq5Qx2aNt7ZQqQxXk6u5H5p4h7Zbm5yQ3x8Q1cK7e2/p2p-circuit']))
    await expect(rv.resolve(relayed)).resolves.toMatchObject({ name: relayed })
    await expect(resolveSrv(ownerName(relayed, bind.zone), { servers: [bind.server] })).rejects.toMatchObject({ name: 'ServiceNotFoundError', reason: 'NODATA' })
  })

  it('withdraws the SRV record with the name and keeps the tombstone in TXT', async () => {
    const name = fresh()
    await rv.register(await record(name))
    await rv.unregister(await createTombstone(alice, name))
    const owner = ownerName(name, bind.zone)
    await expect(resolveSrv(owner, { servers: [bind.server] })).rejects.toMatchObject({ name: 'ServiceNotFoundError', reason: 'NODATA' })
    expect(bind.dig('+short', owner, 'TXT')).toContain('"fara1 withdrawn"')
    await expect(rv.resolve(name)).rejects.toMatchObject({ name: 'NameNotFoundError' })
  })

  it('maps every kind of Fara name: self-certifying, and names with an empty label', async () => {
    for (const name of [selfCertifyingName('chat', alice.publicKey), 'a..b', `${fresh()}.`]) {
      await rv.register(await record(name))
      await expect(rv.resolve(name)).resolves.toMatchObject({ name })
      expect(bind.dig('+short', ownerName(name, bind.zone), 'SRV').trim()).toBe(`0 0 40001 ${hostName(4, '127.0.0.1', bind.zone)}.`)
    }
  })

  it('stops a racing writer: a write between its read and its update fails the prerequisite, and the re-read finds the name taken', async () => {
    const gate = await startGate(bind.port)
    try {
      const name = fresh()
      const slow = createSrvRendezvous({ zone: bind.zone, server: gate.server, key })
      const pending = slow.register(await record(name, alice))
      pending.catch(() => {})
      await expect.poll(() => gate.held(), { timeout: 10_000 }).toBe(1) // alice read "no TXT" and her UPDATE waits at the gate
      await rv.register(await record(name, mallory)) // mallory writes in between
      gate.release()
      await expect(pending).rejects.toMatchObject({ name: 'NameTakenError' })
      expect((await rv.resolve(name)).publicKey.equals(mallory.publicKey)).toBe(true)
    } finally {
      await gate.close()
    }
  })

  it('lets exactly one of several concurrent writers take a name', async () => {
    const name = fresh()
    const keys = await Promise.all(Array.from({ length: 5 }, async () => generateKeyPair('Ed25519')))
    const results = await Promise.allSettled(keys.map(async k => rv.register(await record(name, k))))
    expect(results.filter(r => r.status === 'fulfilled')).toHaveLength(1)
    expect(results.filter(r => r.status === 'rejected').map(r => (r as PromiseRejectedResult).reason.name)).toEqual(new Array(4).fill('NameTakenError'))
    const winner = keys[results.findIndex(r => r.status === 'fulfilled')]!
    expect((await rv.resolve(name)).publicKey.equals(winner.publicKey)).toBe(true)
  })

  it('refuses what it did not sign for: a foreign TXT, a record copied to another name, a forged signature', async () => {
    const name = fresh()
    const owner = ownerName(name, bind.zone)
    // someone with the zone key writes a TXT by hand
    expect(bind.nsupdate(`update add ${owner} 60 TXT "${TXT_TAG_SLOT}" "AAAA"`).status).toBe(0)
    await expect(rv.resolve(name)).rejects.toMatchObject({ name: 'NameNotFoundError' })
    // a valid record of another name copied under this owner
    const other = fresh()
    await rv.register(await record(other))
    const copied = bind.dig('+short', ownerName(other, bind.zone), 'TXT').trim()
    expect(bind.nsupdate(`update delete ${owner} TXT\nupdate add ${owner} 60 TXT ${copied}`).status).toBe(0)
    await expect(rv.resolve(name)).rejects.toMatchObject({ name: 'NameNotFoundError' })
    // a flipped character in the signed bytes
    const forged = copied.replace(/"([A-Za-z0-9+/]{20})([A-Za-z])/, (_m, a: string, c: string) => `"${a}${c === 'A' ? 'B' : 'A'}`)
    expect(forged).not.toBe(copied)
    expect(bind.nsupdate(`update delete ${owner} TXT\nupdate add ${owner} 60 TXT ${forged}`).status).toBe(0)
    await expect(rv.resolve(name)).rejects.toMatchObject({ name: 'NameNotFoundError' })
    // the name is free: a register replaces what is there
    await rv.register(await record(name))
    await expect(rv.resolve(name)).resolves.toMatchObject({ name })
  })

  it('without the zone key: resolves nothing new with a wrong key, and cannot register without one', async () => {
    const name = fresh()
    const wrong = createSrvRendezvous({ zone: bind.zone, server: bind.server, key: { ...key, secret: tsigKeygen(key.name).secret } })
    const err = await wrong.register(await record(name)).catch((e: unknown) => e)
    expect(err).toMatchObject({ name: 'RendezvousUnavailableError', cause: { name: 'TsigBadSignatureError' } })
    const readOnly = createSrvRendezvous({ zone: bind.zone, server: bind.server })
    await expect(readOnly.register(await record(name))).rejects.toMatchObject({ name: 'RendezvousUnavailableError' })
    await rv.register(await record(name))
    await expect(readOnly.resolve(name)).resolves.toMatchObject({ name })
  })

  it('reports an unreachable server as RendezvousUnavailableError', async () => {
    const down = createSrvRendezvous({ zone: bind.zone, server: '127.0.0.1:9', key, timeout: 500 })
    await expect(down.resolve(fresh())).rejects.toMatchObject({ name: 'RendezvousUnavailableError' })
  })

  it('rejects a bad zone, server or ttl at the boundary', () => {
    expect(() => createSrvRendezvous({ zone: 'a..b', server: bind.server })).toThrow(RangeError)
    expect(() => createSrvRendezvous({ zone: bind.zone, server: 'dns.example' })).toThrow(RangeError)
    expect(() => createSrvRendezvous({ zone: bind.zone, server: bind.server, ttl: -1 })).toThrow(RangeError)
  })

  it('carries two entities to each other by name, and the SRV record shows the service\'s real port to anyone', async () => {
    const rendezvous = srvRendezvous({ zone: bind.zone, server: bind.server, key })
    const server = await createEntity({ app: 'srv-echo', rendezvous, listen: ['/ip4/127.0.0.1/tcp/0'] })
    const client = await createEntity({ app: 'srv-client', rendezvous, listen: [] })
    try {
      const name = fresh()
      await server.serve(name, async (association) => {
        for await (const chunk of association) association.send(chunk)
        await association.close()
      })
      const association = await client.connect(name)
      association.send(new TextEncoder().encode('over DNS'))
      await association.close()
      const chunks: Uint8Array[] = []
      for await (const chunk of association) chunks.push(chunk)
      expect(new TextDecoder().decode(Buffer.concat(chunks))).toBe('over DNS')
      // what a public SRV record reveals: the entity's random port, to any DNS client
      const port = Number(server.multiaddrs.map(String).find(a => a.startsWith('/ip4/127.0.0.1/tcp/'))!.split('/')[4])
      const [srv] = await resolveSrv(ownerName(name, bind.zone), { servers: [bind.server] })
      expect(srv).toMatchObject({ name: hostName(4, '127.0.0.1', bind.zone), port })
    } finally {
      await client.close()
      await server.close()
    }
  })
})
