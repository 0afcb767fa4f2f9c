// Property tests of TSIG verification (RFC 8945) of DNS responses: a signed
// response with any byte changed is refused, unless the change is one the RFC
// lets through (the message ID, rewritten by forwarders; the case of a name in
// the TSIG record, compared canonically); forged MACs (another secret), replays
// to another request and stale times are refused; only typed errors.
import { randomBytes } from 'node:crypto'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { RecordClass, RecordType, TsigErrorCode } from '../src/constants.ts'
import { decodeMessage, encodeMessage } from '../src/internal/message.ts'
import { encodeRdata } from '../src/internal/rdata.ts'
import { signMessage, verifyResponse } from '../src/internal/tsig.ts'
import { mutate, mutations, propsFile, runs } from './arbitraries.ts'
import type { KeyMaterial } from '../src/internal/tsig.ts'

propsFile('srv/tsig-props')

const NOW = 1_750_000_000
const key: KeyMaterial = { name: 'fara-key.example.test', secret: new Uint8Array(randomBytes(32)) }

/** A response to a signed request, signed over the request's MAC. */
function signedResponse (target: string, port: number, requestMac: Uint8Array, timeSigned = NOW): Uint8Array {
  const message = encodeMessage({
    id: 0x4242, qr: true, opcode: 0, aa: true, tc: false, rd: false, ra: false, rcode: 0,
    questions: [{ name: '_chat._tcp.example.test', type: RecordType.SRV, class: RecordClass.IN }],
    answers: [{ name: '_chat._tcp.example.test', type: RecordType.SRV, class: RecordClass.IN, ttl: 60, rdata: encodeRdata({ type: 'SRV', name: '_chat._tcp.example.test', ttl: 60, priority: 0, weight: 0, port, target }) }],
    authorities: [],
    additionals: []
  })
  return signMessage(message, key, { timeSigned, requestMac }).bytes
}

/** What a client does with a response: decode it, then verify its TSIG. */
function check (bytes: Uint8Array, requestMac: Uint8Array, k: KeyMaterial = key, now = NOW): string {
  let decoded
  try {
    decoded = decodeMessage(bytes)
  } catch (err) {
    return (err as Error).name
  }
  try {
    verifyResponse(bytes, decoded, k, requestMac, now)
    return 'verified'
  } catch (err) {
    return (err as Error).name
  }
}

const isLetter = (b: number): boolean => (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a)
const target = fc.stringMatching(/^[a-z][a-z0-9-]{0,15}\.example\.test$/)
const mac = fc.uint8Array({ minLength: 32, maxLength: 32 })

describe('TSIG verification of responses (properties)', () => {
  it('verifies the genuine response, and refuses any single changed byte but the ID and the case of a TSIG name', () => {
    fc.assert(fc.property(target, fc.integer({ min: 1, max: 65_535 }), mac, fc.nat(), fc.integer({ min: 1, max: 255 }), (t, port, requestMac, at, x) => {
      const genuine = signedResponse(t, port, requestMac)
      expect(check(genuine, requestMac)).toBe('verified')
      const i = at % genuine.byteLength
      const changed = new Uint8Array(genuine)
      changed[i]! ^= x
      const got = check(changed, requestMac)
      expect(['MalformedMessageError', 'TsigVerificationError', 'verified']).toContain(got)
      if (got === 'verified') {
        const tsigAt = decodeMessage(genuine).tsig!.offset
        const caseFlip = x === 0x20 && isLetter(genuine[i]!) && i >= tsigAt
        expect(i < 2 || caseFlip).toBe(true)
      }
    }), { numRuns: runs(3_000) })
  })

  it('refuses any mutated response with a typed error, never anything else', () => {
    fc.assert(fc.property(target, mac, mutations, (t, requestMac, changes) => {
      const got = check(mutate(signedResponse(t, 443, requestMac), changes), requestMac)
      expect(['MalformedMessageError', 'TsigVerificationError', 'verified']).toContain(got)
    }), { numRuns: runs(3_000) })
  })

  it('refuses a MAC under another secret, a response replayed to another request, and a time outside the fudge', () => {
    fc.assert(fc.property(target, mac, mac, fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.integer({ min: -100_000, max: 100_000 }), (t, requestMac, otherMac, otherSecret, skew) => {
      fc.pre(!Buffer.from(requestMac).equals(Buffer.from(otherMac)) && !Buffer.from(otherSecret).equals(Buffer.from(key.secret)))
      const genuine = signedResponse(t, 443, requestMac)
      expect(check(genuine, requestMac, { name: key.name, secret: otherSecret })).toBe('TsigVerificationError')
      expect(check(genuine, otherMac)).toBe('TsigVerificationError')
      expect(check(signedResponse(t, 443, requestMac, NOW + skew), requestMac)).toBe(Math.abs(skew) > 300 ? 'TsigVerificationError' : 'verified')
    }), { numRuns: runs(1_000) })
  })

  it('refuses an unsigned response to a signed request', () => {
    const message = decodeMessage(signedResponse('a.example.test', 1, new Uint8Array(32)))
    expect(message.tsig?.error).toBe(TsigErrorCode.NOERROR)
    const unsigned = encodeMessage({ ...message, additionals: [], answers: [], authorities: [] })
    expect(check(unsigned, new Uint8Array(32))).toBe('TsigVerificationError')
  })
})
