// The 18-byte endpoint of the punch protocols (src/internal/punch/addr.ts):
// 16 bytes of IPv6, IPv4 as ::ffff:a.b.c.d (RFC 4291 §2.5.5.2), a u16 BE port.
import { isIP } from 'node:net'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { thrownIfAny } from '@fara/testkit'
import { ENDPOINT_BYTES, decodeEndpoint, encodeEndpoint } from '../src/internal/punch/addr.ts'
import { equalBytes, runs } from '@fara/testkit/props'

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')
/** The canonical text of an IPv6 literal (WHATWG URL host serialisation: lower-case hex, longest zero run compressed, no dotted tail). */
const canonical = (host: string): string => new URL(`http://[${host}]/`).hostname.slice(1, -1)
/** 16 bytes as IPv6 text, in canonical form. */
const text6 = (bytes: Uint8Array): string => {
  const groups: string[] = []
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16))
  return canonical(groups.join(':'))
}

describe('encodeEndpoint', () => {
  it('writes IPv4 as an IPv4-mapped IPv6 address and the port big-endian', () => {
    expect(hex(encodeEndpoint({ host: '192.0.2.1', port: 0x1234 }))).toBe('00000000000000000000ffffc00002011234')
    expect(hex(encodeEndpoint({ host: '255.255.255.255', port: 65_535 }))).toBe('00000000000000000000ffffffffffffffff')
  })

  it('writes an IPv4-mapped IPv6 literal as the IPv4 address it maps', () => {
    expect(hex(encodeEndpoint({ host: '::ffff:192.0.2.1', port: 1 }))).toBe(hex(encodeEndpoint({ host: '192.0.2.1', port: 1 })))
    expect(hex(encodeEndpoint({ host: '::FFFF:192.0.2.1', port: 1 }))).toBe(hex(encodeEndpoint({ host: '192.0.2.1', port: 1 })))
  })

  it('writes IPv6 in full, however it is abbreviated', () => {
    expect(hex(encodeEndpoint({ host: '2001:db8::1', port: 443 }))).toBe('20010db800000000000000000000000101bb')
    expect(hex(encodeEndpoint({ host: '2001:DB8:0:0:0:0:0:1', port: 443 }))).toBe('20010db800000000000000000000000101bb')
    expect(hex(encodeEndpoint({ host: '::', port: 2 }))).toBe('000000000000000000000000000000000002')
    expect(hex(encodeEndpoint({ host: '::1', port: 2 }))).toBe('000000000000000000000000000000010002')
    expect(hex(encodeEndpoint({ host: 'fe80::', port: 2 }))).toBe('fe800000000000000000000000000000' + '0002')
  })

  it('writes an IPv6 address with a dotted IPv4 tail as its two last groups (RFC 4291 §2.2)', () => {
    expect(decodeEndpoint(encodeEndpoint({ host: '64:ff9b::192.0.2.1', port: 1 }))).toEqual({ host: '64:ff9b:0:0:0:0:c000:201', port: 1 })
    expect(decodeEndpoint(encodeEndpoint({ host: '::192.0.2.1', port: 1 }))).toEqual({ host: '0:0:0:0:0:0:c000:201', port: 1 })
    expect(decodeEndpoint(encodeEndpoint({ host: '0:0:0:0:0:ffff:192.0.2.1', port: 1 }))).toEqual({ host: '192.0.2.1', port: 1 })
    expect(decodeEndpoint(encodeEndpoint({ host: '::ffff:0:192.0.2.1', port: 1 }))).toEqual({ host: '0:0:0:0:ffff:0:c000:201', port: 1 })
  })

  it('refuses an IPv6 address with a zone id (it would be lost on the wire)', () => {
    expect(thrownIfAny(() => encodeEndpoint({ host: 'fe80::1%eth0', port: 1 }))).toBeInstanceOf(RangeError)
  })

  it('is always 18 bytes', () => {
    expect(encodeEndpoint({ host: '10.0.0.1', port: 9 })).toHaveLength(ENDPOINT_BYTES)
    expect(encodeEndpoint({ host: '2001:db8:1:2:3:4:5:6', port: 9 })).toHaveLength(ENDPOINT_BYTES)
    expect(ENDPOINT_BYTES).toBe(18)
  })

  it('refuses a port outside 1 to 65535 and a host that is not an IP literal, with a RangeError', () => {
    for (const port of [0, -1, 65_536, 1.5, Number.NaN]) {
      const err = thrownIfAny(() => encodeEndpoint({ host: '192.0.2.1', port }))
      expect(err).toBeInstanceOf(RangeError)
      expect(err?.message).toMatch(/port must be 1 to 65535/)
    }
    for (const host of ['example.com', '', '192.0.2', '192.0.2.256', '1::2::3', 'localhost', '[::1]']) {
      const err = thrownIfAny(() => encodeEndpoint({ host, port: 1 }))
      expect(err).toBeInstanceOf(RangeError)
      expect(err?.message).toMatch(/host must be an IPv4 or IPv6 literal/)
    }
  })
})

describe('decodeEndpoint', () => {
  it('reads an IPv4-mapped address as dotted IPv4', () => {
    expect(decodeEndpoint(Buffer.from('00000000000000000000ffffc00002011234', 'hex'))).toEqual({ host: '192.0.2.1', port: 0x1234 })
  })

  it('reads any other address as IPv6', () => {
    expect(decodeEndpoint(Buffer.from('20010db800000000000000000000000101bb', 'hex'))).toEqual({ host: '2001:db8:0:0:0:0:0:1', port: 443 })
    // ::ffff:0:0/96 only: a v4-compatible or 64:ff9b:: address stays IPv6
    expect(decodeEndpoint(Buffer.from('00000000000000000000fffec00002010001', 'hex'))?.host).toBe('0:0:0:0:0:fffe:c000:201')
    expect(decodeEndpoint(Buffer.from('0064ff9b0000000000000000c00002010001', 'hex'))?.host).toBe('64:ff9b:0:0:0:0:c000:201')
  })

  it('gives null for a length other than 18 or port 0', () => {
    const good = encodeEndpoint({ host: '192.0.2.1', port: 7 })
    expect(decodeEndpoint(good)).not.toBeNull()
    expect(decodeEndpoint(good.subarray(0, 17))).toBeNull()
    expect(decodeEndpoint(Buffer.concat([good, Buffer.alloc(1)]))).toBeNull()
    expect(decodeEndpoint(new Uint8Array(0))).toBeNull()
    const portZero = new Uint8Array(good)
    portZero[16] = 0
    portZero[17] = 0
    expect(decodeEndpoint(portZero)).toBeNull()
  })

  it('reads a view into a larger buffer from the view\'s own offset', () => {
    const big = new Uint8Array(40).fill(0xee)
    big.set(encodeEndpoint({ host: '198.51.100.7', port: 4242 }), 11)
    expect(decodeEndpoint(big.subarray(11, 29))).toEqual({ host: '198.51.100.7', port: 4242 })
  })
})

describe('the endpoint codec (properties)', () => {
  const port = fc.integer({ min: 1, max: 65_535 })

  it('round-trips every IPv4 endpoint', () => {
    fc.assert(fc.property(fc.ipV4(), port, (host, p) => {
      expect(decodeEndpoint(encodeEndpoint({ host, port: p }))).toEqual({ host, port: p })
    }), { numRuns: runs(300) })
  })

  it('round-trips every IPv6 address written in hex groups (compared in canonical form)', () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), port, (bytes, p) => {
      const encoded = encodeEndpoint({ host: text6(bytes), port: p })
      expect(hex(encoded.subarray(0, 16))).toBe(hex(bytes))
      const decoded = decodeEndpoint(encoded)!
      expect(decoded.port).toBe(p)
      if (hex(bytes.subarray(0, 12)) === '00000000000000000000ffff') expect(decoded.host).toBe(Array.from(bytes.subarray(12)).join('.'))
      else expect(canonical(decoded.host)).toBe(text6(bytes))
    }), { numRuns: runs(300) })
  })

  it('decodes any 18 bytes with a non-zero port to an endpoint that encodes to the same bytes, and anything else to null', () => {
    const bytes = fc.oneof(
      fc.uint8Array({ minLength: 18, maxLength: 18 }),
      fc.uint8Array({ minLength: 6, maxLength: 6 }).map(tail => Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, ...tail])),
      fc.uint8Array({ maxLength: 40 })
    )
    fc.assert(fc.property(bytes, (b) => {
      const decoded = decodeEndpoint(b)
      if (b.byteLength !== 18 || (b[16] === 0 && b[17] === 0)) {
        expect(decoded).toBeNull()
        return
      }
      expect(decoded).not.toBeNull()
      expect(isIP(decoded!.host)).not.toBe(0)
      expect(equalBytes(encodeEndpoint(decoded!), b)).toBe(true)
    }), { numRuns: runs(500) })
  })
})
