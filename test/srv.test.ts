// @fara/srv against a real BIND 9: RFC 2136 updates signed with TSIG, what
// BIND answers to a wrong key, an unknown key, an unsigned update and a skewed
// clock, RFC 2782 lookups through node:dns, and agreement with dig and nsupdate.
import { spawn } from 'node:child_process'
import { createSocket } from 'node:dgram'
import { Resolver } from 'node:dns/promises'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { dnsClient, parseTsigKey, resolveSrv } from '@fara/srv'
import { Rcode, TsigErrorCode } from '@fara/srv/constants'
import { decodeMessage } from '../packages/srv/src/internal/message.ts'
import { verifyResponse } from '../packages/srv/src/internal/tsig.ts'
import { bindAvailable, startBind, tsigKeygen } from './helpers/bind.ts'
import type { Bind } from './helpers/bind.ts'
import type { DnsClient, DnsRecord, SrvRecord, TsigKey } from '@fara/srv'

const run = bindAvailable('DNS SRV / RFC 2136 tests against BIND 9')
const unique = (): string => Math.random().toString(36).slice(2, 10)

describe.skipIf(!run)('@fara/srv against BIND 9 (named)', () => {
  let bind: Bind
  let key: TsigKey
  let dns: DnsClient

  beforeAll(async () => {
    bind = await startBind()
    key = parseTsigKey(bind.key.text)
    dns = dnsClient({ server: bind.server, zone: bind.zone, key })
  })

  afterAll(async () => {
    await bind?.stop()
  })

  const srv = (name: string, port: number, extra: Partial<SrvRecord> = {}): SrvRecord =>
    ({ type: 'SRV', name, ttl: 60, priority: 10, weight: 5, port, target: `ns.${bind.zone}`, ...extra })

  it('adds an SRV record with a signed update: NOERROR, and dig and node:dns both see it', async () => {
    const name = `_svc-${unique()}._tcp.${bind.zone}`
    await dns.add([srv(name, 4242)])
    expect(bind.dig('+short', name, 'SRV').trim()).toBe(`10 5 4242 ns.${bind.zone}.`)
    expect(await resolveSrv(name, { servers: [bind.server] })).toEqual([{ name: `ns.${bind.zone}`, port: 4242, priority: 10, weight: 5 }])
    // named keeps its journal in the test's directory, not in /var
    expect(existsSync(join(bind.dir, `${bind.zone}.db.jnl`))).toBe(true)
  })

  it('replaces an RRset in one update and deletes it again', async () => {
    const name = `_svc-${unique()}._tcp.${bind.zone}`
    await dns.add([srv(name, 1), srv(name, 2)])
    await dns.replace(name, 'SRV', [srv(name, 3)])
    expect(bind.dig('+short', name, 'SRV').trim()).toBe(`10 5 3 ns.${bind.zone}.`)
    await dns.removeRecord(srv(name, 3))
    expect(bind.dig('+short', name, 'SRV').trim()).toBe('')
    await dns.add([srv(name, 4)])
    await dns.remove(name, 'SRV')
    await expect(resolveSrv(name, { servers: [bind.server] })).rejects.toMatchObject({ name: 'ServiceNotFoundError', reason: 'NXDOMAIN' })
  })

  it('adds, replaces and deletes TXT records, binary strings included', async () => {
    const name = `t-${unique()}.${bind.zone}`
    const txt = (...strings: Array<string | Uint8Array>): DnsRecord => ({ type: 'TXT', name, ttl: 60, strings })
    await dns.add([txt('one', new Uint8Array([0, 255, 34]))])
    expect(bind.dig('+short', name, 'TXT').trim()).toBe('"one" "\\000\\255\\""')
    await dns.replace(name, 'TXT', [txt('two')])
    expect(await dns.query(name, 'TXT')).toEqual([{ type: 'TXT', name, ttl: 60, strings: [new TextEncoder().encode('two')] }])
    await dns.remove(name, 'TXT')
    expect(await dns.query(name, 'TXT')).toEqual([])
  })

  it('applies nothing when a prerequisite fails: YXRRSET for "absent", NXRRSET for "equals"', async () => {
    const name = `t-${unique()}.${bind.zone}`
    const one: DnsRecord = { type: 'TXT', name, ttl: 60, strings: ['one'] }
    const two: DnsRecord = { type: 'TXT', name, ttl: 60, strings: ['two'] }
    await dns.update({ prerequisites: [{ require: 'absent', name, type: 'TXT' }], changes: [{ op: 'add', record: one }] })
    await expect(dns.update({ prerequisites: [{ require: 'absent', name, type: 'TXT' }], changes: [{ op: 'add', record: two }] }))
      .rejects.toMatchObject({ name: 'PrerequisiteFailedError', rcode: Rcode.YXRRSET })
    await expect(dns.update({ prerequisites: [{ require: 'equals', records: [two] }], changes: [{ op: 'deleteRRset', name, type: 'TXT' }] }))
      .rejects.toMatchObject({ name: 'PrerequisiteFailedError', rcode: Rcode.NXRRSET })
    await expect(dns.update({ prerequisites: [{ require: 'nameNotInUse', name }], changes: [] })).rejects.toMatchObject({ rcode: Rcode.YXDOMAIN })
    expect(bind.dig('+short', name, 'TXT').trim()).toBe('"one"')
    await dns.update({ prerequisites: [{ require: 'equals', records: [one] }, { require: 'exists', name, type: 'TXT' }, { require: 'nameInUse', name }], changes: [{ op: 'deleteName', name }] })
    expect(bind.dig('+short', name, 'TXT').trim()).toBe('')
  })

  it('is refused with a wrong secret: BIND answers NOTAUTH with TSIG error BADSIG, unsigned', async () => {
    const name = `_svc-${unique()}._tcp.${bind.zone}`
    const wrong = dnsClient({ server: bind.server, zone: bind.zone, key: { ...key, secret: tsigKeygen(key.name).secret } })
    await expect(wrong.add([srv(name, 1)])).rejects.toMatchObject({ name: 'TsigBadSignatureError', rcode: TsigErrorCode.BADSIG })
    expect(bind.dig('+short', name, 'SRV').trim()).toBe('')
  })

  it('is refused with a key BIND does not know: NOTAUTH with TSIG error BADKEY', async () => {
    const name = `_svc-${unique()}._tcp.${bind.zone}`
    const stranger = dnsClient({ server: bind.server, zone: bind.zone, key: { ...tsigKeygen('stranger-key'), algorithm: 'hmac-sha256' } })
    await expect(stranger.add([srv(name, 1)])).rejects.toMatchObject({ name: 'TsigBadKeyError', rcode: TsigErrorCode.BADKEY })
  })

  it('is refused unsigned: BIND answers REFUSED', async () => {
    const name = `_svc-${unique()}._tcp.${bind.zone}`
    await expect(dnsClient({ server: bind.server, zone: bind.zone }).add([srv(name, 1)])).rejects.toMatchObject({ name: 'UpdateRefusedError', rcode: Rcode.REFUSED })
    expect(bind.dig('+short', name, 'SRV').trim()).toBe('')
  })

  it('is refused with a clock 301 s off: BIND answers a signed NOTAUTH/BADTIME with its own time', async () => {
    const name = `_svc-${unique()}._tcp.${bind.zone}`
    const skewed = dnsClient({ server: bind.server, zone: bind.zone, key, now: () => Date.now() - 301_000 })
    const err = await skewed.add([srv(name, 1)]).catch((e: unknown) => e)
    expect(err).toMatchObject({ name: 'TsigBadTimeError', rcode: TsigErrorCode.BADTIME })
    expect(Math.abs((err as { serverTime: number }).serverTime - Date.now())).toBeLessThan(10_000)
    // 299 s off is inside the 300 s fudge
    await dnsClient({ server: bind.server, zone: bind.zone, key, now: () => Date.now() - 299_000 }).add([srv(name, 1)])
  })

  it('is refused for a zone BIND does not serve: NOTAUTH', async () => {
    const other = dnsClient({ server: bind.server, zone: 'other.test', key })
    await expect(other.add([srv('_a._tcp.other.test', 1)])).rejects.toMatchObject({ name: 'NotAuthoritativeError', rcode: Rcode.NOTAUTH })
  })

  it('agrees with nsupdate: each sees what the other wrote, and nsupdate\'s value prerequisite matches our TXT bytes', async () => {
    const name = `_svc-${unique()}._tcp.${bind.zone}`
    const ns = bind.nsupdate(`update add ${name} 60 SRV 1 2 3 ns.${bind.zone}.`)
    expect(ns.status).toBe(0)
    expect(await dns.query(name, 'SRV')).toEqual([srv(name, 3, { priority: 1, weight: 2 })])
    const t = `t-${unique()}.${bind.zone}`
    await dns.add([{ type: 'TXT', name: t, ttl: 60, strings: ['fara1 slot', 'QUJD'] }])
    expect(bind.nsupdate(`prereq yxrrset ${t} TXT "fara1 slot" "QUJD"\nupdate delete ${t} TXT`).status).toBe(0)
    expect(await dns.query(t, 'TXT')).toEqual([])
    // and nsupdate with a wrong key is refused like we are
    expect(bind.nsupdate(`update add ${name} 60 SRV 1 2 4 ns.${bind.zone}.`, tsigKeygen(key.name)).status).not.toBe(0)
  })

  it('verifies a query signed by dig with our TSIG code (an independent signer)', async () => {
    const socket = createSocket('udp4')
    await new Promise<void>(resolve => socket.bind(0, '127.0.0.1', () => { resolve() }))
    const port = socket.address().port
    const got = new Promise<Buffer>(resolve => socket.once('message', resolve))
    const dig = spawn('dig', ['@127.0.0.1', '-p', String(port), '-y', `hmac-sha256:${bind.key.name}:${bind.key.secret}`, '+time=1', '+tries=1', `x.${bind.zone}`, 'SRV'], { stdio: 'ignore' })
    try {
      const bytes = new Uint8Array(await got)
      const message = decodeMessage(bytes)
      expect(message.tsig).toMatchObject({ keyName: bind.key.name, algorithm: 'hmac-sha256' })
      const material = { name: bind.key.name, secret: new Uint8Array(Buffer.from(bind.key.secret, 'base64')) }
      expect(() => { verifyResponse(bytes, message, material, undefined, Math.floor(Date.now() / 1000)) }).not.toThrow()
      const tampered = bytes.slice()
      tampered[2] = tampered[2]! ^ 0x01 // the RD bit
      expect(() => { verifyResponse(tampered, decodeMessage(tampered), material, undefined, Math.floor(Date.now() / 1000)) }).toThrow(expect.objectContaining({ name: 'TsigVerificationError' }))
    } finally {
      dig.kill()
      socket.close()
    }
  })

  it('reads a TXT RRset larger than 512 octets: BIND truncates the UDP answer (TC) and the client retries over TCP', async () => {
    const name = `big-${unique()}.${bind.zone}`
    const strings = Array.from({ length: 12 }, (_, i) => String.fromCharCode(97 + i).repeat(200))
    await dns.add([{ type: 'TXT', name, ttl: 60, strings }])
    expect(bind.dig('+notcp', '+ignore', name, 'TXT')).toMatch(/flags:[^;]*\btc\b/)
    const [record] = await dns.query(name, 'TXT')
    expect((record as { strings: Uint8Array[] }).strings.map(s => new TextDecoder().decode(s))).toEqual(strings)
    // node:dns (c-ares) retries over TCP by itself
    const resolver = new Resolver({ timeout: 2_000, tries: 1 })
    resolver.setServers([bind.server])
    expect(await resolver.resolveTxt(name)).toEqual([strings])
  })

  it('is refused by BIND\'s check-names for an A record at an owner with underscores (hence the fara-ip4 host names)', async () => {
    await expect(dns.add([{ type: 'A', name: `h${unique()}._fara._tcp.${bind.zone}`, ttl: 60, address: '127.0.0.1' }]))
      .rejects.toMatchObject({ name: 'UpdateRefusedError' })
    await expect(dns.add([srv(`_s${unique()}._tcp.${bind.zone}`, 1, { target: `x._fara._tcp.${bind.zone}` })])).rejects.toMatchObject({ name: 'UpdateRefusedError' })
    await dns.add([{ type: 'A', name: `h${unique()}.fara-ip4.${bind.zone}`, ttl: 60, address: '127.0.0.1' }])
  })

  it('resolves SRV in RFC 2782 order through node:dns: priorities ascending, every target once', async () => {
    const name = `_svc-${unique()}._tcp.${bind.zone}`
    await dns.add([srv(name, 1, { priority: 20, weight: 0 }), srv(name, 2, { priority: 10, weight: 60 }), srv(name, 3, { priority: 10, weight: 40 }), srv(name, 4, { priority: 30 })])
    const out = await resolveSrv(name, { servers: [bind.server] })
    expect(out.map(r => r.priority)).toEqual([10, 10, 20, 30])
    expect(out.map(r => r.port).slice(0, 2).sort()).toEqual([2, 3])
  })

  it('reports a lone "." target as ServiceNotAvailableError (node:dns returns the name "")', async () => {
    const name = `_svc-${unique()}._tcp.${bind.zone}`
    await dns.add([srv(name, 0, { target: '.', priority: 0, weight: 0 })])
    expect(bind.dig('+short', name, 'SRV').trim()).toBe('0 0 0 .')
    const resolver = new Resolver({ timeout: 2_000, tries: 1 })
    resolver.setServers([bind.server])
    expect((await resolver.resolveSrv(name)).map(r => r.name)).toEqual([''])
    await expect(resolveSrv(name, { servers: [bind.server] })).rejects.toMatchObject({ name: 'ServiceNotAvailableError' })
  })

  it('tells NXDOMAIN from NODATA, and a server that refuses from both', async () => {
    await expect(resolveSrv(`_none-${unique()}._tcp.${bind.zone}`, { servers: [bind.server] })).rejects.toMatchObject({ name: 'ServiceNotFoundError', reason: 'NXDOMAIN' })
    await expect(resolveSrv(`ns.${bind.zone}`, { servers: [bind.server] })).rejects.toMatchObject({ name: 'ServiceNotFoundError', reason: 'NODATA' })
    // named is not authoritative for other.test and does not recurse: REFUSED
    await expect(resolveSrv('_a._tcp.other.test', { servers: [bind.server] })).rejects.toMatchObject({ name: 'DnsUnavailableError' })
  })

  it('honours an aborted signal in resolveSrv', async () => {
    await expect(resolveSrv(`_a._tcp.${bind.zone}`, { servers: [bind.server], signal: AbortSignal.abort() })).rejects.toMatchObject({ name: 'AbortError' })
  })
})
