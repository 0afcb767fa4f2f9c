import { generateKeyPair } from '@libp2p/crypto/keys'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { selfCertifyingName, isServiceName } from '@fara/identity'
import { multiaddr } from '@multiformats/multiaddr'
import { hostName, ownerName, srvAddress } from '../src/index.ts'
import { canonicalName, encodeName, nameToLabels } from '../src/internal/wire.ts'

const zone = 'fara.example.com'

describe('ownerName: Fara name → DNS owner name', () => {
  it('keeps a dot-separated name readable under _fara._tcp', () => {
    expect(ownerName('chat', zone)).toBe('chat._fara._tcp.fara.example.com')
    expect(ownerName('chat.v2', zone)).toBe('chat.v2._fara._tcp.fara.example.com')
    expect(ownerName('a_b-c', `${zone}.`)).toBe('a_b-c._fara._tcp.fara.example.com')
  })

  it('maps a self-certifying name to its two labels', async () => {
    const name = selfCertifyingName('chat', (await generateKeyPair('Ed25519')).publicKey)
    const labels = nameToLabels(ownerName(name, zone))
    expect(labels).toHaveLength(7)
    expect(Buffer.from(labels[1]!).toString()).toHaveLength(56)
  })

  it('encodes a name with an empty label (a..b, a.) in hex behind the _x label', () => {
    expect(ownerName('a..b', zone)).toBe(`_x.${Buffer.from('a..b').toString('hex')}._fara._tcp.${zone}`)
    expect(ownerName('a.', zone)).toBe(`_x.${Buffer.from('a.').toString('hex')}._fara._tcp.${zone}`)
    const long = `${'a'.repeat(40)}..${'b'.repeat(21)}`
    expect(nameToLabels(ownerName(long, zone)).map(l => l.length).slice(0, 3)).toEqual([2, 63, 63])
  })

  it('is injective and DNS-legal over valid Fara names, DNS case-insensitivity included (property)', () => {
    const name = fc.stringMatching(/^[a-z0-9][a-z0-9._-]{0,62}$/).filter(isServiceName)
    fc.assert(fc.property(name, name, (a, b) => {
      const oa = ownerName(a, zone)
      const ob = ownerName(b, zone)
      expect(encodeName(oa).byteLength).toBeLessThanOrEqual(255)
      expect(canonicalName(oa) === canonicalName(ob)).toBe(a === b)
    }), { numRuns: 5_000 })
  })

  it('tells apart names that differ only in where their dots fall', () => {
    const names = ['ab.c', 'a.bc', 'abc', 'a.b.c', 'a..bc', 'ab..c', 'a.b.c.', 'a._x', '_x']
    const owners = names.filter(isServiceName).map(n => canonicalName(ownerName(n, zone)))
    expect(new Set(owners).size).toBe(owners.length)
  })

  it('rejects an invalid name and a zone too long for the longest name, with RangeError', () => {
    expect(() => ownerName('Not A Name', zone)).toThrow(RangeError)
    expect(() => ownerName('chat', 'x'.repeat(60) + '.' + 'y'.repeat(60))).toThrow(/zone/)
    expect(() => ownerName('chat', '')).toThrow(RangeError)
    expect(() => ownerName('chat', 3 as never)).toThrow(TypeError)
  })
})

describe('hostName and srvAddress: what the SRV record points to', () => {
  it('derives a legal host name from the address alone', () => {
    expect(hostName(4, '192.0.2.7', zone)).toBe('192-0-2-7.fara-ip4.fara.example.com')
    expect(hostName(6, '2001:db8::1', zone)).toBe('20010db8000000000000000000000001.fara-ip6.fara.example.com')
    for (const h of [hostName(4, '10.0.0.1', zone), hostName(6, '::ffff:10.0.0.1', zone)]) expect(h).toMatch(/^[a-z0-9-.]+$/)
    expect(() => hostName(4, '::1', zone)).toThrow(RangeError)
  })

  it('takes the first direct TCP address, skipping relayed, UDP and DNS addresses', () => {
    const addrs = ['/ip4/198.51.100.1/udp/4001/quic-v1', '/dns4/example.com/tcp/443', '/ip4/203.0.113.5/tcp/4001/p2p/12D3KooWHzJq5Qx2aNt7ZQqQxXk6u5H5p4h7Zbm5yQ3x8Q1cK7e2/p2p-circuit',
      '/ip6/2001:db8::2/tcp/4002/p2p/12D3KooWHzJq5Qx2aNt7ZQqQxXk6u5H5p4h7Zbm5yQ3x8Q1cK7e2', '/ip4/192.0.2.9/tcp/9'].map(a => multiaddr(a))
    expect(srvAddress(addrs)).toEqual({ family: 6, address: '2001:db8::2', port: 4002 })
    expect(srvAddress(addrs.slice(0, 3))).toBeUndefined()
  })
})
