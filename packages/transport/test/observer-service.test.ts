// The NAT observer service (src/observer.ts) on real UDP sockets: it answers
// an authenticated, fresh, first-seen question within its source's rate with
// the endpoint the question came from, and sends nothing to anything else.
//
// Silence is shown without sleeping: after the packets that must go
// unanswered, the same socket asks a good question; the observer reads its
// socket in order, so the first packet back must be the good question's answer.
import { createSocket } from 'node:dgram'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { defaultLogger } from '@libp2p/logger'
import { afterEach, describe, expect, it } from 'vitest'
import { thrownIfAny } from '@fara/testkit'
import { natObserver } from '../src/index.ts'
import { QUESTION_PADDING, askObserver } from '../src/internal/punch/observe-wire.ts'
import { OBSERVER } from '../src/constants.ts'
import { Resources, strangerKey } from './punch-helpers.ts'
import type { Inbox, ObserverUnderTest, Packet } from './punch-helpers.ts'
import type { ObserverRefusal } from '../src/index.ts'
import type { Question } from '../src/internal/punch/observe-wire.ts'

const res = new Resources()
afterEach(async () => { await res.closeAll() })

/** The observer's refusals, in order, awaitable. */
class Refusals {
  readonly seen: Array<{ reason: ObserverRefusal, from: { host: string, port: number } }> = []
  #waiters: Array<{ n: number, resolve: () => void }> = []
  readonly onRefused = (reason: ObserverRefusal, from: { host: string, port: number }): void => {
    this.seen.push({ reason, from })
    this.#waiters = this.#waiters.filter(w => { if (this.seen.length >= w.n) w.resolve(); return this.seen.length < w.n })
  }

  async count (n: number): Promise<ObserverRefusal[]> {
    if (this.seen.length < n) await new Promise<void>(resolve => { this.#waiters.push({ n, resolve }) })
    return this.seen.map(s => s.reason)
  }
}

async function setup (init: { perSource?: { burst: number, perSecond: number } } = {}): Promise<{ o: ObserverUnderTest, refusals: Refusals, inbox: Inbox, at: { host: string, port: number } }> {
  const refusals = new Refusals()
  const o = await res.observer({ listen: ['127.0.0.1:0', '127.0.0.2:0'], onRefused: refusals.onRefused, ...init })
  const inbox = await res.inbox()
  return { o, refusals, inbox, at: o.observer.addresses[0]! }
}

/** Ask `q` and check the next packet from `at` is its answer, naming the inbox. */
async function answered (inbox: Inbox, at: { host: string, port: number }, q: Question): Promise<Packet> {
  await inbox.send(q.bytes, at.port, at.host)
  const p = await inbox.next(at)
  expect(q.open(p.msg)).toEqual({ host: inbox.host, port: inbox.port })
  return p
}

describe('natObserver', () => {
  it('binds every listen address and reports the ports it got', async () => {
    const { o } = await setup()
    expect(o.observer.addresses).toHaveLength(2)
    expect(o.observer.addresses.map(a => a.host)).toEqual(['127.0.0.1', '127.0.0.2'])
    for (const a of o.observer.addresses) expect(a.port).toBeGreaterThan(0)
  })

  it('answers an authenticated question, on each of its addresses, with the endpoint it came from', async () => {
    const { o, inbox, refusals } = await setup()
    for (const at of o.observer.addresses) {
      const q = askObserver(o.key)!
      const p = await answered(inbox, at, q)
      expect(p.msg.byteLength).toBeLessThan(q.bytes.byteLength)
    }
    expect(await inbox.drain(o.observer.addresses)).toEqual([])
    expect(refusals.seen).toEqual([])
  })

  it('answers nothing to a question made for another node\'s key', async () => {
    const { o, inbox, refusals, at } = await setup()
    await inbox.send(askObserver(await strangerKey())!.bytes, at.port, at.host)
    await answered(inbox, at, askObserver(o.key)!)
    expect(await inbox.drain(o.observer.addresses)).toEqual([])
    expect(await refusals.count(1)).toEqual(['mac'])
    expect(refusals.seen[0]!.from).toEqual({ host: '127.0.0.1', port: inbox.port })
  })

  it('answers nothing to garbage, or to a truncated, extended or tampered question', async () => {
    const { o, inbox, refusals, at } = await setup()
    // padding in the middle of its range, so that one byte less or more is still a question's size (refused for its MAC)
    const q = askObserver(o.key, Date.now(), (QUESTION_PADDING.min + QUESTION_PADDING.max) >> 1)!
    const tampered = new Uint8Array(q.bytes)
    tampered[40]! ^= 1
    for (const bytes of [new Uint8Array(0), new Uint8Array(100), Buffer.alloc(100, 0xab), q.bytes.subarray(0, q.bytes.byteLength - 1), Buffer.concat([q.bytes, Buffer.alloc(1)]), tampered]) {
      await inbox.send(bytes, at.port, at.host)
    }
    await answered(inbox, at, askObserver(o.key)!)
    expect(await inbox.drain(o.observer.addresses)).toEqual([])
    expect(await refusals.count(6)).toEqual(['size', 'low-order', 'mac', 'mac', 'mac', 'mac'])
  })

  it('answers nothing to a replayed question, on the same or another of its addresses', async () => {
    const { o, inbox, refusals, at } = await setup()
    const q = askObserver(o.key)!
    await answered(inbox, at, q)
    await inbox.send(q.bytes, at.port, at.host)
    const other = o.observer.addresses[1]!
    await inbox.send(q.bytes, other.port, other.host)
    await answered(inbox, other, askObserver(o.key)!)
    expect(await inbox.drain(o.observer.addresses)).toEqual([])
    expect(await refusals.count(2)).toEqual(['replay', 'replay'])
  })

  it('answers nothing to a question from outside its time window, or from before it started', async () => {
    const before = Date.now() - 1
    const { o, inbox, refusals, at } = await setup()
    for (const time of [Date.now() - OBSERVER.replayWindow - 5_000, Date.now() + OBSERVER.replayWindow + 5_000, before, 0]) {
      await inbox.send(askObserver(o.key, time)!.bytes, at.port, at.host)
    }
    await answered(inbox, at, askObserver(o.key)!)
    expect(await inbox.drain(o.observer.addresses)).toEqual([])
    expect(await refusals.count(4)).toEqual(['stale', 'stale', 'stale', 'stale'])
  })

  it('answers a burst of questions per source address, then nothing to that address, while others are still answered', async () => {
    const { o, inbox, refusals, at } = await setup({ perSource: { burst: 2, perSecond: 0.001 } })
    await answered(inbox, at, askObserver(o.key)!)
    await answered(inbox, at, askObserver(o.key)!)
    await inbox.send(askObserver(o.key)!.bytes, at.port, at.host)
    // the rate is per address, not per port or per observer address
    const samePlace = await res.inbox('127.0.0.1')
    const other = o.observer.addresses[1]!
    await samePlace.send(askObserver(o.key)!.bytes, other.port, other.host)
    expect(await refusals.count(2)).toEqual(['rate', 'rate'])
    // elsewhere: answered
    const elsewhere = await res.inbox('127.0.0.3')
    await answered(elsewhere, at, askObserver(o.key)!)
    expect(await inbox.drain(o.observer.addresses)).toEqual([])
    expect(await samePlace.drain(o.observer.addresses)).toEqual([])
  })

  it('frees its ports when it stops', async () => {
    const o = await res.observer({ listen: ['127.0.0.1:0'] })
    const { port } = o.observer.addresses[0]!
    await o.observer.stop()
    const socket = createSocket('udp4')
    await new Promise<void>((resolve, reject) => { socket.once('error', reject); socket.bind(port, '127.0.0.1', resolve) })
    await new Promise<void>(resolve => { socket.close(() => { resolve() }) })
  })

  it('checks its options and its key at the API boundary', async () => {
    const components = { privateKey: await generateKeyPair('Ed25519'), logger: defaultLogger() }
    const make = (init: unknown, c: unknown = components): Error | undefined => thrownIfAny(() => natObserver(init as never)(c as never))
    expect(make({ listen: [] })).toBeInstanceOf(TypeError)
    expect(make({})).toBeInstanceOf(TypeError)
    expect(make({ listen: ['localhost:1'] })?.message).toMatch(/listen\[0\] must be an IP literal/)
    expect(make({ listen: ['127.0.0.1:1', '127.0.0.1:70000'] })?.message).toMatch(/listen\[1\]/)
    expect(make({ listen: ['127.0.0.1:0'], perSource: { burst: 0, perSecond: 1 } })).toBeInstanceOf(RangeError)
    expect(make({ listen: ['127.0.0.1:0'], perSource: { burst: 1, perSecond: 0 } })).toBeInstanceOf(RangeError)
    expect(make({ listen: ['127.0.0.1:0'] }, { ...components, privateKey: await generateKeyPair('secp256k1') })).toBeInstanceOf(TypeError)
    expect(make({ listen: ['127.0.0.1:0', '[::1]:0'] })).toBeUndefined()
  })
})
