import { multiaddr } from '@multiformats/multiaddr'
import { describe, expect, it } from 'vitest'
import { thrown } from '@fara/testkit'
import { createHopParams, createSchedule, hopAddr, hopDialAddrs, hopSchedules } from '../src/index.ts'
import { MAX_SCHEDULES } from '../src/constants.ts'

const PEER = '12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA'
const params = (start: number, end = start + 63): ReturnType<typeof createHopParams> => createHopParams({ intervalMs: 1000, range: { start, end } })

describe('hopSchedules', () => {
  it('finds the schedule of a host for any port of its range, and none outside it or for another host', () => {
    const book = hopSchedules()
    const p = params(20_000)
    book.set('192.0.2.1', p)
    expect(book.get('192.0.2.1', 20_000)?.params.key).toEqual(p.key)
    expect(book.get('192.0.2.1', 20_063)).toBeDefined()
    expect(book.get('192.0.2.1', 20_064)).toBeUndefined()
    expect(book.get('192.0.2.2', 20_000)).toBeUndefined()
    expect(book.find(multiaddr('/ip4/192.0.2.1/tcp/20010/p2p/' + PEER))).toBeDefined()
    expect(book.find(multiaddr('/ip4/192.0.2.1/udp/20010'))).toBeUndefined()
    expect(book.find(multiaddr('/ip4/192.0.2.1/tcp/80'))).toBeUndefined()
  })

  it('matches IPv6 hosts however they are spelled, and DNS names in any case', () => {
    const book = hopSchedules()
    book.set('[0:0:0:0:0:0:0:1]', params(20_000))
    book.set('Service.Example', params(21_000))
    expect(book.find(multiaddr('/ip6/::1/tcp/20001'))).toBeDefined()
    expect(book.get('::1', 20_001)).toBeDefined()
    expect(book.find(multiaddr('/dns4/service.example/tcp/21001'))).toBeDefined()
    expect(book.find(multiaddr('/dns/SERVICE.example/tcp/21001'))).toBeDefined()
  })

  it('replaces an entry of the same host whose range overlaps, and keeps disjoint ones', () => {
    const book = hopSchedules()
    const a = params(20_000)
    const b = params(20_050)
    const c = params(30_000)
    book.set('192.0.2.1', a)
    book.set('192.0.2.1', c)
    expect(book.size).toBe(2)
    book.set('192.0.2.1', b)
    expect(book.size).toBe(2)
    expect(book.get('192.0.2.1', 20_060)?.params.key).toEqual(b.key)
    expect(book.get('192.0.2.1', 20_000)).toBeUndefined()
    expect(book.get('192.0.2.1', 30_000)?.params.key).toEqual(c.key)
    book.set('192.0.2.1', b)
    expect(book.size).toBe(2)
    expect(book.delete('192.0.2.1')).toBe(true)
    expect(book.delete('192.0.2.1')).toBe(false)
    expect(book.size).toBe(0)
  })

  it('refuses a malformed host with a RangeError and a bad type with a TypeError', () => {
    const book = hopSchedules()
    expect(thrown(() => { book.set('not a host!', params(20_000)) })).toBeInstanceOf(RangeError)
    expect(thrown(() => { book.set(42 as never, params(20_000)) })).toBeInstanceOf(TypeError)
    expect(thrown(() => { book.set('192.0.2.1', { ...params(20_000), intervalMs: 10 }) }).message).toContain('intervalMs')
  })

  it(`holds at most MAX_SCHEDULES (${MAX_SCHEDULES}) entries`, () => {
    const book = hopSchedules()
    const p = params(20_000)
    for (let i = 0; i < MAX_SCHEDULES; i++) book.set(`h${i}.example`, p)
    expect(thrown(() => { book.set('one-more.example', p) })).toBeInstanceOf(RangeError)
    // replacing an entry does not grow the book
    book.set('h0.example', params(20_010))
    expect(book.size).toBe(MAX_SCHEDULES)
    book.clear()
    expect(book.size).toBe(0)
  })
})

describe('hopAddr / hopDialAddrs', () => {
  const p = params(20_000)

  it('names a service by its host and the start of its range, not by a live port', () => {
    expect(hopAddr('192.0.2.1', p).toString()).toBe('/ip4/192.0.2.1/tcp/20000')
    expect(hopAddr('::1', p, PEER).toString()).toBe(`/ip6/::1/tcp/20000/p2p/${PEER}`)
    expect(hopAddr('Service.Example', p).toString()).toBe('/dns/service.example/tcp/20000')
    expect(thrown(() => hopAddr('192.0.2.1', p, 'not-a-peer'))).toBeInstanceOf(RangeError)
  })

  it('lists the dial order of the schedule at the given time as multiaddrs, for a plain TCP dialer', () => {
    const t = 1_700_000_000_700
    const addrs = hopDialAddrs('192.0.2.1', p, { now: t, peerId: PEER })
    const ports = createSchedule(p).dialPorts(t)
    expect(addrs.map(String)).toEqual(ports.map(port => `/ip4/192.0.2.1/tcp/${port}/p2p/${PEER}`))
  })
})
