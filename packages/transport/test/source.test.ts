// Sources of per-source limits (spec/security.md#sources): an address is an IPv4 address or an IPv6 /64,
// a prefix an IPv4 /24 or an IPv6 /56 unless configured; refusals are reported at most once per interval.
import { multiaddr } from '@multiformats/multiaddr'
import { describe, expect, it } from 'vitest'
import { RefusalReports, checkSourcePrefixes, sourceOf } from '../src/index.ts'
import { SOURCE_PREFIXES } from '../src/constants.ts'

const of = (addr: string, prefixes?: { ip4?: number, ip6?: number }): unknown => sourceOf(multiaddr(addr), prefixes)

describe('sourceOf', () => {
  it('groups an IPv4 address by itself and by its /24', () => {
    expect(of('/ip4/203.0.113.7/tcp/4001')).toEqual({ address: '203.0.113.7', prefix: '203.0.113.0/24' })
    expect(of('/ip4/203.0.113.250/tcp/1/p2p/12D3KooWECrYcrnCk4AMUYbN6UxVX3MpCZS5tUs3bvd3c4fBddJJ')).toEqual({ address: '203.0.113.250', prefix: '203.0.113.0/24' })
  })

  it('groups an IPv6 address by its /64 and its /56, however it is written', () => {
    const expected = { address: '2001:db8:0:1ff::/64', prefix: '2001:db8:0:100::/56' }
    expect(of('/ip6/2001:db8:0:1ff::7/tcp/1')).toEqual(expected)
    expect(of('/ip6/2001:0DB8:0000:01ff:aaaa:bbbb:cccc:dddd/tcp/1')).toEqual(expected)
    expect(of('/ip6/::1/tcp/1')).toEqual({ address: '0:0:0:0::/64', prefix: '0:0:0:0::/56' })
  })

  it('counts an IPv4-mapped IPv6 address as the IPv4 address', () => {
    expect(of('/ip6/::ffff:198.51.100.9/tcp/1')).toEqual({ address: '198.51.100.9', prefix: '198.51.100.0/24' })
  })

  it('takes configured prefix lengths', () => {
    expect(of('/ip4/10.1.2.3/tcp/1', { ip4: 16 })).toEqual({ address: '10.1.2.3', prefix: '10.1.0.0/16' })
    expect(of('/ip4/10.1.2.3/tcp/1', { ip4: 32 })).toEqual({ address: '10.1.2.3', prefix: '10.1.2.3/32' })
    expect(of('/ip4/10.1.2.255/tcp/1', { ip4: 25 })).toEqual({ address: '10.1.2.255', prefix: '10.1.2.128/25' })
    expect(of('/ip6/2001:db8:abcd:12ff::1/tcp/1', { ip6: 48 })).toEqual({ address: '2001:db8:abcd:12ff::/64', prefix: '2001:db8:abcd::/48' })
  })

  it('has no source for a relayed address or one without an IP', () => {
    expect(of('/ip4/127.0.0.1/tcp/1/p2p/12D3KooWECrYcrnCk4AMUYbN6UxVX3MpCZS5tUs3bvd3c4fBddJJ/p2p-circuit/p2p/12D3KooWJeNGkykN1jeMVKjrQ7hckv8sJnBNghFKf67iCGViUyVW')).toBeUndefined()
    expect(of('/dns4/example.com/tcp/1')).toBeUndefined()
  })

  it('checks prefix lengths at the API boundary', () => {
    expect(checkSourcePrefixes(undefined)).toEqual({ ip4: SOURCE_PREFIXES.prefix4, ip6: SOURCE_PREFIXES.prefix6 })
    expect(checkSourcePrefixes({ ip6: 48 })).toEqual({ ip4: 24, ip6: 48 })
    expect(() => checkSourcePrefixes({ ip4: 33 })).toThrow(RangeError)
    expect(() => checkSourcePrefixes({ ip6: 65 })).toThrow(/sourcePrefixes.ip6 must be 1 to 64, got 65/)
    expect(() => checkSourcePrefixes({ ip4: 0 })).toThrow(RangeError)
    expect(() => checkSourcePrefixes({ ip4: 2.5 })).toThrow(TypeError)
    expect(() => checkSourcePrefixes('24')).toThrow(TypeError)
  })
})

describe('RefusalReports', () => {
  it('reports a key\'s first refusal, then once per interval with the count since the last report', () => {
    let now = 0
    const reports = new RefusalReports(10_000, 100, () => now)
    expect(reports.refused('a')).toBe(1)
    expect([reports.refused('a'), reports.refused('a'), reports.refused('b')]).toEqual([0, 0, 1])
    now = 9_999
    expect(reports.refused('a')).toBe(0)
    now = 10_000
    expect(reports.refused('a')).toBe(4)
    expect(reports.refused('a')).toBe(0)
  })

  it('remembers a bounded number of keys, forgetting the least recently reported', () => {
    let now = 0
    const reports = new RefusalReports(10_000, 2, () => now)
    expect([reports.refused('a'), reports.refused('b'), reports.refused('c')]).toEqual([1, 1, 1])
    // 'a' was forgotten: reported again at once; 'c' is still remembered
    expect([reports.refused('a'), reports.refused('c')]).toEqual([1, 0])
    now = 1
    expect(() => new RefusalReports(-1)).toThrow(RangeError)
  })
})
