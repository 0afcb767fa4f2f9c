// The client against a scripted DNS server: how it checks the signed answer,
// maps RCODEs and TSIG errors, falls back to TCP and bounds every exchange.
import { afterEach, describe, expect, it } from 'vitest'
import { dnsClient } from '../src/index.ts'
import { Rcode, RecordClass, RecordType, TsigErrorCode } from '../src/constants.ts'
import { decodeMessage, encodeMessage } from '../src/internal/message.ts'
import { encodeRdata } from '../src/internal/rdata.ts'
import { parseServer } from '../src/internal/transport.ts'
import { signMessage } from '../src/internal/tsig.ts'
import { Writer } from '../src/internal/wire.ts'
import { fakeServer } from './fixtures.ts'
import type { FakeServer } from './fixtures.ts'
import type { DnsRecord, TsigKey } from '../src/index.ts'

const secret = new Uint8Array(32).fill(7)
const key: TsigKey = { name: 'test-key', algorithm: 'hmac-sha256', secret }
const zone = 'fara.test'
const srv: DnsRecord = { type: 'SRV', name: '_a._tcp.fara.test', ttl: 60, priority: 0, weight: 0, port: 1, target: 'h.fara.test' }
const now = (): number => Math.floor(Date.now() / 1000)

interface Reply {
  rcode?: number
  answers?: DnsRecord[]
  tc?: boolean
  /** How the answer is signed. */
  sign?: 'good' | 'none' | 'no-request-mac' | 'other-key' | 'wrong-secret' | 'truncated' | 'tampered' | 'stale'
  tsigError?: number
  otherData?: Uint8Array
  /** Answer with a different question. */
  question?: string
  id?: number
}

/** Build the answer to `request` as `reply` says. */
function answer (request: Uint8Array, reply: Reply = {}): Uint8Array {
  const req = decodeMessage(request)
  const body = encodeMessage({
    id: reply.id ?? req.id, qr: true, opcode: req.opcode, aa: true, tc: reply.tc ?? false, rd: false, ra: false, rcode: reply.rcode ?? Rcode.NOERROR,
    questions: reply.question == null ? req.questions : [{ name: reply.question, type: req.questions[0]!.type, class: RecordClass.IN }],
    answers: (reply.answers ?? []).map(r => ({ name: r.name, type: r.type === 'OTHER' ? r.code : RecordType[r.type], class: RecordClass.IN, ttl: r.ttl, rdata: encodeRdata(r) })),
    authorities: [],
    additionals: []
  })
  const sign = reply.sign ?? 'good'
  if (sign === 'none') return body
  if (sign === 'truncated') {
    // a TSIG RR with a 16-octet MAC, built by hand
    const rdata = new Writer().name('hmac-sha256').u48(now()).u16(300).u16(16).bytes(new Uint8Array(16)).u16(req.id).u16(0).u16(0).finish()
    const rr = new Writer().name(key.name).u16(RecordType.TSIG).u16(RecordClass.ANY).u32(0).u16(rdata.byteLength).bytes(rdata).finish()
    const out = new Uint8Array([...body, ...rr])
    out[11] = 1
    return out
  }
  const k = { name: sign === 'other-key' ? 'other-key' : key.name, secret: sign === 'wrong-secret' ? new Uint8Array(32).fill(8) : secret }
  const signed = signMessage(body, k, {
    timeSigned: sign === 'stale' ? now() - 301 : now(),
    ...(sign === 'no-request-mac' ? {} : { requestMac: req.tsig?.mac ?? new Uint8Array(0) }),
    ...(reply.tsigError == null ? {} : { error: reply.tsigError }),
    ...(reply.otherData == null ? {} : { otherData: reply.otherData })
  }).bytes
  if (sign === 'tampered') signed[3] = signed[3]! ^ 0x01 // flip a header bit after signing (AA/RCODE region)
  return signed
}

let server: FakeServer | undefined
afterEach(async () => { await server?.close(); server = undefined })

async function serve (reply: Reply | ((request: Uint8Array, transport: 'udp' | 'tcp') => Uint8Array | Uint8Array[] | undefined)): Promise<string> {
  server = await fakeServer(typeof reply === 'function' ? reply : (request) => answer(request, reply))
  return server.server
}

const failsWith = async (promise: Promise<unknown>, name: string, extra: Record<string, unknown> = {}): Promise<void> => {
  await expect(promise).rejects.toMatchObject({ name, ...extra })
}

describe('dnsClient: the signed answer', () => {
  it('accepts an update answer signed with the key over the request MAC', async () => {
    const dns = dnsClient({ server: await serve({}), zone, key })
    await dns.replace(srv.name, 'SRV', [srv])
    const req = decodeMessage(server!.requests[0]!.bytes)
    expect(server!.requests[0]!.transport).toBe('tcp')
    expect(req).toMatchObject({ opcode: 5, questions: [{ name: zone, type: RecordType.SOA, class: RecordClass.IN }] })
    expect(req.authorities.map(a => [a.type, a.class])).toEqual([[RecordType.SRV, RecordClass.ANY], [RecordType.SRV, RecordClass.IN]])
    expect(req.tsig).toMatchObject({ keyName: 'test-key', algorithm: 'hmac-sha256', fudge: 300, error: 0 })
    expect(req.tsig!.mac.byteLength).toBe(32)
  })

  for (const [sign, why] of [
    ['none', 'unsigned'], ['no-request-mac', 'signed without the request MAC'], ['other-key', 'signed with another key name'],
    ['wrong-secret', 'signed with another secret'], ['truncated', 'carrying a truncated MAC'], ['tampered', 'altered after signing'],
    ['stale', 'signed outside the fudge']
  ] as const) {
    it(`refuses a NOERROR answer ${why} with TsigVerificationError`, async () => {
      const dns = dnsClient({ server: await serve({ sign }), zone, key })
      await failsWith(dns.replace(srv.name, 'SRV', [srv]), 'TsigVerificationError')
    })
  }

  it('passes on an unsigned error answer as its error (a server that cannot verify a request answers unsigned)', async () => {
    const dns = dnsClient({ server: await serve({ sign: 'none', rcode: Rcode.REFUSED }), zone, key })
    await failsWith(dns.remove(srv.name, 'SRV'), 'UpdateRefusedError', { rcode: Rcode.REFUSED, rcodeName: 'REFUSED' })
  })

  it('verifies signed query answers too', async () => {
    const dns = dnsClient({ server: await serve({ answers: [srv] }), key })
    await expect(dns.query(srv.name, 'SRV')).resolves.toEqual([srv])
    server!.requests.length = 0
    await server!.close()
    const bad = dnsClient({ server: await serve({ answers: [srv], sign: 'wrong-secret' }), key })
    await failsWith(bad.query(srv.name, 'SRV'), 'TsigVerificationError')
  })
})

describe('dnsClient: RCODEs and TSIG errors', () => {
  const rcodes: Array<[number, string]> = [
    [Rcode.FORMERR, 'UpdateFailedError'], [Rcode.SERVFAIL, 'UpdateFailedError'], [Rcode.NOTIMP, 'UpdateFailedError'],
    [Rcode.REFUSED, 'UpdateRefusedError'], [Rcode.NOTAUTH, 'NotAuthoritativeError'], [Rcode.NOTZONE, 'NotAuthoritativeError'],
    [Rcode.YXDOMAIN, 'PrerequisiteFailedError'], [Rcode.YXRRSET, 'PrerequisiteFailedError'], [Rcode.NXDOMAIN, 'PrerequisiteFailedError'],
    [Rcode.NXRRSET, 'PrerequisiteFailedError']
  ]
  for (const [rcode, name] of rcodes) {
    it(`maps a signed update answer with RCODE ${rcode} to ${name}`, async () => {
      const dns = dnsClient({ server: await serve({ rcode }), zone, key })
      await failsWith(dns.remove(srv.name, 'SRV'), name, { rcode })
    })
  }

  it('maps NOTAUTH with an unsigned BADKEY or BADSIG TSIG to TsigBadKeyError / TsigBadSignatureError', async () => {
    const withError = (tsigError: number) => (request: Uint8Array): Uint8Array => {
      // RFC 8945 §5.3.2: the server cannot sign, so the MAC is empty; built by hand
      const req = decodeMessage(request)
      const body = encodeMessage({ id: req.id, qr: true, opcode: 5, aa: false, tc: false, rd: false, ra: false, rcode: Rcode.NOTAUTH, questions: req.questions, answers: [], authorities: [], additionals: [] })
      const rdata = new Writer().name('hmac-sha256').u48(now()).u16(300).u16(0).u16(req.id).u16(tsigError).u16(0).finish()
      const rr = new Writer().name(key.name).u16(RecordType.TSIG).u16(RecordClass.ANY).u32(0).u16(rdata.byteLength).bytes(rdata).finish()
      const out = new Uint8Array([...body, ...rr])
      out[11] = 1
      return out
    }
    await failsWith(dnsClient({ server: await serve(withError(TsigErrorCode.BADKEY)), zone, key }).remove(srv.name, 'SRV'), 'TsigBadKeyError')
    await server!.close()
    await failsWith(dnsClient({ server: await serve(withError(TsigErrorCode.BADSIG)), zone, key }).remove(srv.name, 'SRV'), 'TsigBadSignatureError')
  })

  it('maps a signed BADTIME answer to TsigBadTimeError carrying the server time from Other Data', async () => {
    const serverTime = now() + 1000
    const otherData = new Writer().u48(serverTime).finish()
    const dns = dnsClient({ server: await serve({ rcode: Rcode.NOTAUTH, tsigError: TsigErrorCode.BADTIME, otherData }), zone, key })
    await failsWith(dns.remove(srv.name, 'SRV'), 'TsigBadTimeError', { serverTime: serverTime * 1000 })
  })
})

describe('dnsClient: transports and bounds', () => {
  it('retries over TCP when the UDP answer is truncated (TC)', async () => {
    const dns = dnsClient({ server: await serve((request, transport) => answer(request, transport === 'udp' ? { tc: true } : { answers: [srv] })), key })
    await expect(dns.query(srv.name, 'SRV')).resolves.toEqual([srv])
    expect(server!.requests.map(r => r.transport)).toEqual(['udp', 'tcp'])
  })

  it('ignores a UDP datagram with another id and takes the real answer', async () => {
    const spoof = { ...srv, port: 6666 }
    const dns = dnsClient({ server: await serve((request) => [answer(request, { id: (decodeMessage(request).id + 1) & 0xffff, answers: [spoof] }), answer(request, { answers: [srv] })]) })
    await expect(dns.query(srv.name, 'SRV')).resolves.toEqual([srv])
  })

  it('refuses an answer to another question', async () => {
    const dns = dnsClient({ server: await serve({ question: 'other.fara.test' }) })
    await failsWith(dns.query(srv.name, 'SRV'), 'MalformedMessageError')
  })

  it('gives DnsUnavailableError when the server stays silent, within the deadline', async () => {
    const dns = dnsClient({ server: await serve(() => undefined), zone, key, timeout: 300 })
    const started = Date.now()
    await failsWith(dns.query(srv.name, 'SRV'), 'DnsUnavailableError')
    await failsWith(dns.remove(srv.name, 'SRV'), 'DnsUnavailableError')
    expect(Date.now() - started).toBeLessThan(5_000)
  })

  it('gives DnsUnavailableError when nothing listens', async () => {
    const port = parseServer(await serve({})).port
    await server!.close()
    server = undefined
    await failsWith(dnsClient({ server: `127.0.0.1:${port}`, zone, key }).remove(srv.name, 'SRV'), 'DnsUnavailableError')
  })

  it('honours an abort signal, before and during an exchange', async () => {
    const dns = dnsClient({ server: await serve(() => undefined), zone, key, timeout: 10_000 })
    await failsWith(dns.query(srv.name, 'SRV', { signal: AbortSignal.abort() }), 'AbortError')
    const controller = new AbortController()
    const pending = dns.remove(srv.name, 'SRV', { signal: controller.signal })
    await expect.poll(() => server!.requests.length).toBe(1) // the request is on the wire
    controller.abort()
    await failsWith(pending, 'AbortError')
  })

  it('returns [] for NXDOMAIN and DnsUnavailableError for REFUSED to a query', async () => {
    await expect(dnsClient({ server: await serve({ rcode: Rcode.NXDOMAIN }) }).query('x.fara.test', 'TXT')).resolves.toEqual([])
    await server!.close()
    await failsWith(dnsClient({ server: await serve({ rcode: Rcode.REFUSED }) }).query('x.fara.test', 'TXT'), 'DnsUnavailableError')
  })
})

describe('dnsClient: the API boundary', () => {
  it('rejects bad servers, zones, keys and names with TypeError/RangeError naming them', () => {
    expect(() => dnsClient({ server: 'localhost:53' })).toThrow(/server/)
    expect(() => dnsClient({ server: '127.0.0.1:70000' })).toThrow(/port/)
    expect(() => dnsClient({ server: 53 as never })).toThrow(TypeError)
    expect(() => dnsClient({ server: '127.0.0.1', zone: 'a..b' })).toThrow(RangeError)
    expect(() => dnsClient({ server: '127.0.0.1', key: { ...key, algorithm: 'hmac-md5' as never } })).toThrow(/algorithm/)
    expect(() => dnsClient({ server: '127.0.0.1', key: { ...key, secret: new Uint8Array(8) } })).toThrow(/secret/)
    expect(() => dnsClient({ server: '127.0.0.1', key: { ...key, secret: 'not base64!' } })).toThrow(/secret/)
    expect(() => dnsClient({ server: '127.0.0.1', timeout: 0 })).toThrow(/timeout/)
    expect(parseServer('[::1]:5353')).toEqual({ host: '::1', port: 5353, family: 6 })
    expect(parseServer('::1')).toEqual({ host: '::1', port: 53, family: 6 })
    expect(parseServer('192.0.2.1')).toEqual({ host: '192.0.2.1', port: 53, family: 4 })
  })

  it('refuses names outside the zone and mixed equals prerequisites before sending anything', async () => {
    const dns = dnsClient({ server: await serve({}), zone, key })
    await expect(dns.remove('x.other.test', 'SRV')).rejects.toThrow(/not in zone/)
    await expect(dns.update({ prerequisites: [{ require: 'equals', records: [srv, { ...srv, type: 'A', address: '1.2.3.4' } as never] }], changes: [] })).rejects.toThrow(RangeError)
    await expect(dns.update({ prerequisites: [{ require: 'equals', records: [] }], changes: [] })).rejects.toThrow(RangeError)
    await expect(dns.replace(srv.name, 'TXT', [srv])).rejects.toThrow(RangeError)
    await expect(dnsClient({ server: server!.server }).remove(srv.name, 'SRV')).rejects.toThrow(/zone/)
    expect(server!.requests).toHaveLength(0)
  })
})
