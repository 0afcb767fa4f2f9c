// NAT classification from the punching socket (src/internal/punch/classify.ts),
// on loopback: all of 127/8 is local, so observers on 127.0.0.1 and 127.0.0.2
// are two IPs. Without a NAT every observer sees the same endpoint; what a NAT
// with a new port per destination would make an observer see is played by a
// fake observer that holds the real observer's key (the test made that key).
import { createSocket } from 'node:dgram'
import { afterEach, describe, expect, it } from 'vitest'
import { classify } from '../src/internal/punch/classify.ts'
import { openQuestion } from '../src/internal/punch/observe-wire.ts'
import { Resources, recordSends, strangerKey } from './punch-helpers.ts'
import type { Endpoint } from '../src/internal/punch/addr.ts'
import type { Classification, ObserverTarget } from '../src/internal/punch/types.ts'
import type { Inbox, ObserverUnderTest } from './punch-helpers.ts'
import type { UdxAddress, UdxSocket } from 'udx-native'

const res = new Resources()
afterEach(async () => { await res.closeAll() })

const LONG = 60_000
const target = (at: Endpoint, key: Uint8Array): ObserverTarget => ({ host: at.host, port: at.port, key })
const local = (socket: UdxSocket): Endpoint => ({ host: '127.0.0.1', port: socket.address().port })

/**
 * Classify, and end the wait (through the signal) as soon as `done` holds for
 * the packets the socket received from the targets: the result then does not
 * depend on how fast the machine is. classify() registers its own listener
 * before this one, so every packet counted here has been seen by it.
 */
async function classifyUntil (socket: UdxSocket, targets: ObserverTarget[], done: (received: UdxAddress[]) => boolean, options = { tries: 1, timeoutMs: LONG }): Promise<Classification> {
  const controller = new AbortController()
  const received: UdxAddress[] = []
  const made = classify(socket, targets, { ...options, signal: controller.signal })
  const onMessage = (_msg: Buffer, from: UdxAddress): void => {
    received.push(from)
    if (done(received)) controller.abort()
  }
  socket.on('message', onMessage)
  try {
    return await made
  } finally {
    socket.off('message', onMessage)
  }
}

/** A fake observer on `host` under the real observer's key, answering a question with `seen(real endpoint)`, from `reply` (default: its own socket); `skip` questions are ignored first. */
async function fakeObserver (o: ObserverUnderTest, host: string, seen: (from: Endpoint) => Endpoint, init: { reply?: Inbox, skip?: number } = {}): Promise<{ at: Endpoint, questions: () => number }> {
  const inbox = await res.inbox(host)
  let questions = 0
  inbox.socket.on('message', (msg, from) => {
    if (++questions <= (init.skip ?? 0)) return
    const opened = openQuestion(o.secret, o.publicKey, msg)
    if (typeof opened === 'string') return
    const answer = opened.answer(seen({ host: from.address, port: from.port }))
    ;(init.reply ?? inbox).socket.send(answer, from.port, from.address)
  })
  return { at: { host, port: inbox.port }, questions: () => questions }
}

describe('classify', () => {
  it('finds a consistent mapping when observers on two IPs see one endpoint', async () => {
    const o = await res.observer({ listen: ['127.0.0.1:0', '127.0.0.2:0'] })
    const socket = res.udxSocket()
    const c = await classify(socket, o.observer.addresses.map(a => target(a, o.key)), { tries: 1, timeoutMs: 1_000 })
    expect(c).toMatchObject({ kind: 'consistent', seen: local(socket), answers: 2, asked: 2 })
    expect(Math.abs(c.at - Date.now())).toBeLessThan(5_000)
  })

  it('finds a consistent mapping with two observers of different nodes', async () => {
    const a = await res.observer({ listen: ['127.0.0.1:0'] })
    const b = await res.observer({ listen: ['127.0.0.2:0'] })
    const socket = res.udxSocket()
    const c = await classifyUntil(socket, [target(a.observer.addresses[0]!, a.key), target(b.observer.addresses[0]!, b.key)], r => r.length === 2)
    expect(c).toMatchObject({ kind: 'consistent', seen: local(socket), answers: 2, asked: 2 })
  })

  it('finds a random mapping when the observers see the same address with different ports', async () => {
    const o = await res.observer({ listen: ['127.0.0.1:0'] })
    const fake = await fakeObserver(o, '127.0.0.2', from => ({ host: from.host, port: from.port === 65_535 ? 1 : from.port + 1 }))
    const socket = res.udxSocket()
    const c = await classifyUntil(socket, [target(o.observer.addresses[0]!, o.key), target(fake.at, o.key)], r => r.length === 2)
    expect(c).toMatchObject({ kind: 'random', answers: 2, asked: 2 })
    expect(c.seen?.host).toBe('127.0.0.1')
  })

  it('gives unknown when the observers see different addresses', async () => {
    const o = await res.observer({ listen: ['127.0.0.1:0'] })
    const fake = await fakeObserver(o, '127.0.0.2', from => ({ host: '198.51.100.1', port: from.port }))
    const socket = res.udxSocket()
    const c = await classifyUntil(socket, [target(o.observer.addresses[0]!, o.key), target(fake.at, o.key)], r => r.length === 2)
    expect(c).toMatchObject({ kind: 'unknown', answers: 2, asked: 2 })
  })

  it('gives unknown, with the one endpoint seen, when only one observer answers', async () => {
    const o = await res.observer({ listen: ['127.0.0.1:0'] })
    const down = await res.inbox('127.0.0.2')
    const socket = res.udxSocket()
    const made = classifyUntil(socket, [target(o.observer.addresses[0]!, o.key), target({ host: '127.0.0.2', port: down.port }, o.key)], r => r.length === 1)
    // the silent one was asked, from the classified socket
    expect((await down.next(local(socket))).msg.byteLength).toBeGreaterThan(0)
    expect(await made).toMatchObject({ kind: 'unknown', seen: local(socket), answers: 1, asked: 2 })
  })

  it('gives unknown when the target names the wrong key: the observer stays silent', async () => {
    const refused: string[] = []
    const o = await res.observer({ listen: ['127.0.0.1:0', '127.0.0.2:0'], onRefused: (reason) => { refused.push(reason) } })
    const socket = res.udxSocket()
    const [a, b] = o.observer.addresses as [Endpoint, Endpoint]
    const wrong = await strangerKey()
    const c = await classify(socket, [target(a, o.key), target(b, wrong)], { tries: 1, timeoutMs: 1_000 })
    expect(c).toMatchObject({ kind: 'unknown', seen: local(socket), answers: 1, asked: 2 })
    expect(refused).toEqual(['mac'])
  })

  it('gives unknown with nothing seen when no observer answers, after asking each one `tries` times', async () => {
    const silent = [await res.inbox('127.0.0.1'), await res.inbox('127.0.0.2')]
    const socket = res.udxSocket()
    const sent = recordSends(socket)
    const c = await classify(socket, silent.map(s => target({ host: s.host, port: s.port }, new Uint8Array(32).fill(9))), { tries: 3, timeoutMs: 20 })
    expect(c).toMatchObject({ kind: 'unknown', answers: 0, asked: 2 })
    expect(c.seen).toBeUndefined()
    expect(sent.map(s => `${s.host!}:${s.port}`).sort()).toEqual(silent.flatMap(s => Array(3).fill(`${s.host}:${s.port}`)).sort())
    for (const s of silent) {
      expect(await s.drain([local(socket)])).toHaveLength(3)
    }
  })

  it('asks again an observer that has not answered, and stops asking one that has', async () => {
    const refused: string[] = []
    const o = await res.observer({ listen: ['127.0.0.1:0'], onRefused: (reason) => { refused.push(reason) } })
    const late = await fakeObserver(o, '127.0.0.2', from => from, { skip: 1 })
    const socket = res.udxSocket()
    const sent = recordSends(socket)
    const real = o.observer.addresses[0]!
    const c = await classifyUntil(socket, [target(real, o.key), target(late.at, o.key)], r => r.length === 2, { tries: 3, timeoutMs: 300 })
    expect(c).toMatchObject({ kind: 'consistent', seen: local(socket), answers: 2, asked: 2 })
    expect(late.questions()).toBe(2)
    expect(sent.filter(s => s.port === real.port)).toHaveLength(1)
    expect(sent.filter(s => s.port === late.at.port)).toHaveLength(2)
    // the real observer was asked once: a second copy would have been refused as a replay
    expect(refused).toEqual([])
  })

  it('ignores a valid answer that comes from another endpoint than the observer it asked', async () => {
    const o = await res.observer({ listen: ['127.0.0.1:0'] })
    const elsewhere = await res.inbox('127.0.0.2')
    const misdirected = await fakeObserver(o, '127.0.0.2', from => from, { reply: elsewhere })
    const socket = res.udxSocket()
    const c = await classifyUntil(socket, [target(o.observer.addresses[0]!, o.key), target(misdirected.at, o.key)], r => r.length === 2)
    expect(misdirected.questions()).toBe(1)
    expect(c).toMatchObject({ kind: 'unknown', answers: 1, asked: 2 })
  })

  it('returns when the signal aborts, with what it has', async () => {
    const silent = await res.inbox('127.0.0.2')
    const socket = res.udxSocket()
    const sent = recordSends(socket)
    const controller = new AbortController()
    const made = classify(socket, [target({ host: '127.0.0.2', port: silent.port }, await strangerKey())], { tries: 100, timeoutMs: LONG, signal: controller.signal })
    await silent.next(local(socket))
    controller.abort()
    expect(await made).toMatchObject({ kind: 'unknown', answers: 0, asked: 1 })
    expect(sent).toHaveLength(1)
  })

  it('sends nothing when the signal has already aborted', async () => {
    const silent = await res.inbox('127.0.0.2')
    const socket = res.udxSocket()
    const sent = recordSends(socket)
    const c = await classify(socket, [target({ host: '127.0.0.2', port: silent.port }, await strangerKey())], { tries: 3, timeoutMs: LONG, signal: AbortSignal.abort() })
    expect(c).toMatchObject({ kind: 'unknown', answers: 0, asked: 1 })
    expect(sent).toEqual([])
  })

  it('asks with a fresh question when an answer was lost: the observer answers it (a repeated one would be refused as a replay)', async () => {
    const refusals: string[] = []
    const o = await res.observer({ listen: ['127.0.0.1:0'], onRefused: (reason) => { refusals.push(reason) } })
    const observerAt = o.observer.addresses[0]!
    // a path on 127.0.0.2 that forwards questions to the observer and loses its first answer
    const proxy = createSocket('udp4')
    await new Promise<void>(resolve => { proxy.bind(0, '127.0.0.2', resolve) })
    res.add(async () => { await new Promise<void>(resolve => { proxy.close(() => { resolve() }) }) })
    let asker: { address: string, port: number } | undefined
    let answers = 0
    proxy.on('message', (msg, from) => {
      if (from.port === observerAt.port) {
        if (answers++ > 0) proxy.send(msg, asker!.port, asker!.address)
      } else {
        asker = from
        proxy.send(msg, observerAt.port, observerAt.host)
      }
    })
    const socket = res.udxSocket()
    const result = await classify(socket, [target({ host: '127.0.0.2', port: proxy.address().port }, o.key)], { tries: 3, timeoutMs: 1_000 })
    expect(result.answers).toBe(1)
    expect(result.seen).toEqual({ host: '127.0.0.2', port: proxy.address().port })
    expect(refusals).toEqual([])
  })
})
