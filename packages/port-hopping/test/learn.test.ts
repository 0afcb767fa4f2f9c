import { multiaddr } from '@multiformats/multiaddr'
import { describe, expect, it } from 'vitest'
import { InvalidHopParamsError, UnsupportedHopVersionError, createHopParams, encodeHopParams, hopAddr, hopSchedules, sameHopParams } from '../src/index.ts'
import { HOP_PARAMS_BYTES } from '../src/constants.ts'
import type { Multiaddr } from '@multiformats/multiaddr'

const PEER = '12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA'
const RELAY = '12D3KooWQpdMLb6Aq3t8rnYsFAkdTGbGFwMZ5ugdaW6rEVqsJCRj'
const params = createHopParams({ intervalMs: 1000, range: { start: 20_000, end: 20_063 } })

describe('schedules.learn', () => {
  it('learns the schedule of each host of a record\'s hop addresses, from the record\'s hop bytes', () => {
    const book = hopSchedules()
    const addrs = [hopAddr('192.0.2.1', params, PEER), hopAddr('2001:db8::1', params, PEER), hopAddr('Service.Example', params)]
    const learned = book.learn(addrs, encodeHopParams(params))
    expect(learned).toEqual(addrs)
    expect(book.size).toBe(3)
    expect(sameHopParams(book.find(multiaddr('/ip4/192.0.2.1/tcp/20031'))!.params, params)).toBe(true)
    expect(book.get('2001:db8::1', 20_063)).toBeDefined()
    expect(book.get('service.example', 20_000)).toBeDefined()
  })

  it('takes decoded parameters too, and learning the same record again adds nothing', () => {
    const book = hopSchedules()
    const addrs = [hopAddr('192.0.2.1', params)]
    expect(book.learn(addrs, params)).toEqual(addrs)
    expect(book.learn(addrs, encodeHopParams(params))).toEqual(addrs)
    expect(book.size).toBe(1)
  })

  it('ignores addresses that are not hop addresses: another port, another transport, through a relay', () => {
    const book = hopSchedules()
    const others: Multiaddr[] = [
      multiaddr('/ip4/192.0.2.2/tcp/80'), // a port outside the range
      multiaddr('/ip4/192.0.2.3/udp/20000/quic-v1'), // not TCP
      multiaddr(`/ip4/192.0.2.4/tcp/20000/p2p/${RELAY}/p2p-circuit/p2p/${PEER}`) // the relay's port happens to lie in the range
    ]
    const hop = hopAddr('192.0.2.5', params, PEER)
    expect(book.learn([...others, hop], encodeHopParams(params))).toEqual([hop])
    expect(book.size).toBe(1)
    expect(book.get('192.0.2.2', 20_000)).toBeUndefined()
    expect(book.get('192.0.2.4', 20_000)).toBeUndefined()
    expect(book.learn([], params)).toEqual([])
  })

  it('rejects hop bytes that do not decode with the typed errors, even with no hop address to learn', () => {
    const book = hopSchedules()
    const addrs = [hopAddr('192.0.2.1', params)]
    const bytes = encodeHopParams(params)
    expect(() => book.learn(addrs, bytes.subarray(0, HOP_PARAMS_BYTES - 1))).toThrow(InvalidHopParamsError)
    expect(() => book.learn(addrs, new Uint8Array(0))).toThrow(InvalidHopParamsError)
    const future = new Uint8Array(bytes)
    future[0] = 2
    expect(() => book.learn(addrs, future)).toThrow(UnsupportedHopVersionError)
    expect(() => book.learn([multiaddr('/ip4/192.0.2.2/tcp/80')], future)).toThrow(UnsupportedHopVersionError)
    expect(book.size).toBe(0)
  })

  it('rejects decoded parameters and addresses of the wrong type or range', () => {
    const book = hopSchedules()
    const addrs = [hopAddr('192.0.2.1', params)]
    expect(() => book.learn(addrs, { ...params, intervalMs: 10 })).toThrow(RangeError)
    expect(() => book.learn(addrs, { ...params, key: 'k' as unknown as Uint8Array })).toThrow(TypeError)
    expect(() => book.learn('/ip4/192.0.2.1/tcp/20000' as unknown as Multiaddr[], params)).toThrow(/addrs must be an array/)
    expect(() => book.learn(['/ip4/192.0.2.1/tcp/20000' as unknown as Multiaddr], params)).toThrow(/addrs\[0\] must be a multiaddr/)
    expect(book.size).toBe(0)
  })
})
