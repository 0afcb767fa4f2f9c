// The two sides of the birthday punch (src/internal/punch/schedule.ts), on
// loopback and without a NAT, so that each side is tested against packets the
// test sends it: what it answers, what it ignores, and how much it sends.
// What each side sends is recorded at its sockets' trySend (what the code
// asked for, whatever the network did); nothing waits on a sleep.
import { randomBytes } from 'node:crypto'
import UDX from 'udx-native'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { isProbe, makeProbe, probeKey } from '../src/internal/punch/probes.ts'
import { punchAsConsistent, punchAsRandom } from '../src/internal/punch/schedule.ts'
import { Resources, recordSends } from './punch-helpers.ts'
import type { Inbox, Sent } from './punch-helpers.ts'
import type { UdxSocket } from 'udx-native'

const res = new Resources()
afterEach(async () => {
  vi.useRealTimers()
  await res.closeAll()
})

const key = probeKey(randomBytes(32), randomBytes(32))
const otherKey = probeKey(randomBytes(32), randomBytes(32))
const LONG = 60_000
/** A port outside Linux's ephemeral range (32768-60999): a probe sent there hits no other test's socket. */
const UNUSED_PORT = 65_535

/** A UDX whose sockets are recorded (and closed after the test), each with what it sent. */
function recordingUdx (): { udx: UDX, sockets: UdxSocket[], sent: Map<UdxSocket, Sent[]> } {
  const udx = new UDX()
  const sockets: UdxSocket[] = []
  const sent = new Map<UdxSocket, Sent[]>()
  const create = udx.createSocket.bind(udx)
  udx.createSocket = (options) => {
    const s = create(options)
    sockets.push(s)
    sent.set(s, recordSends(s))
    res.add(async () => { await s.close().catch(() => {}) })
    return s
  }
  return { udx, sockets, sent }
}

/** The next packet from `from` that is a probe of `kind` under `key` (others are skipped). */
async function nextOfKind (inbox: Inbox, kind: 'open' | 'probe' | 'ack', from?: { host: string, port: number }): Promise<{ host: string, port: number }> {
  for (;;) {
    const p = await inbox.next(from)
    if (isProbe(key, kind, p.msg)) return p.from
  }
}

describe('punchAsRandom', () => {
  const init = (peer: Inbox, udx: UDX, over: { sockets?: number, maxProbes?: number, intervalMs?: number, signal?: AbortSignal, sent?: { probes: number } } = {}): Parameters<typeof punchAsRandom>[0] => ({
    sent: { probes: 0 }, udx, peer: { host: peer.host, port: peer.port }, key, sockets: 8, lowTtl: 5, intervalMs: 5, maxProbes: LONG, signal: new AbortController().signal, ...over
  })

  it('answers a valid probe from the peer with acks from the socket it reached, and closes the other sockets', async () => {
    const peer = await res.inbox()
    const { udx, sockets, sent } = recordingUdx()
    const counted = { probes: 0 }
    const punching = punchAsRandom(init(peer, udx, { sent: counted }))
    expect(sockets).toHaveLength(8)
    const target = sockets[3]!
    const port = target.address().port
    const fromPeer = peer.socket.address()
    await peer.send(makeProbe(key, 'probe'), port)
    const won = await punching
    expect(won?.socket).toBe(target)
    expect(won?.remote).toEqual({ host: '127.0.0.1', port: fromPeer.port })
    expect(won?.stats.probes).toBeGreaterThanOrEqual(8)
    expect(counted.probes).toBe(won?.stats.probes)
    for (const s of sockets) expect(s.closing).toBe(s !== target)
    // the ack, then two more in case one is lost
    for (let i = 0; i < 3; i++) expect(await nextOfKind(peer, 'ack', { host: '127.0.0.1', port })).toEqual({ host: '127.0.0.1', port })
    expect([...sent.values()].flat().filter(s => isProbe(key, 'ack', s.bytes))).toHaveLength(3)
  })

  it('ignores a packet that is not a probe of this attempt, and a valid probe from another port of the peer\'s host', async () => {
    const peer = await res.inbox()
    const stranger = await res.inbox()
    const { udx, sockets, sent } = recordingUdx()
    const punching = punchAsRandom(init(peer, udx))
    const port = sockets[0]!.address().port
    await stranger.send(makeProbe(key, 'probe'), port)
    for (const bytes of [makeProbe(key, 'open'), makeProbe(key, 'ack'), makeProbe(otherKey, 'probe'), makeProbe(key, 'probe').subarray(0, 31), randomBytes(32)]) await peer.send(bytes, port)
    // the socket reads in order: by the time this one wins, the others were read and ignored
    await peer.send(makeProbe(key, 'probe'), port)
    const won = await punching
    expect(won?.remote).toEqual({ host: '127.0.0.1', port: peer.port })
    expect(won?.socket).toBe(sockets[0])
    const all = [...sent.values()].flat()
    expect(all.filter(s => s.port !== peer.port)).toEqual([])
    expect(all.filter(s => isProbe(key, 'ack', s.bytes)).length).toBeGreaterThanOrEqual(1)
  })

  it('sends every packet to the peer only: one opener per socket at the low TTL, then one every interval, the first round still low', async () => {
    const peer = await res.inbox()
    const { udx, sockets, sent } = recordingUdx()
    const counted = { probes: 0 }
    const result = await punchAsRandom(init(peer, udx, { sockets: 3, maxProbes: 4, intervalMs: 1, sent: counted }))
    expect(result).toBeNull()
    expect(counted.probes).toBe(7)
    const inOrder: Array<{ socket: number } & Sent> = []
    for (const [s, list] of sent) for (const x of list) inOrder.push({ socket: sockets.indexOf(s), ...x })
    // every socket's sends, in the order of the schedule: 3 openers, then round 0 (3) and round 1 (1)
    expect(inOrder.map(s => `${s.host!}:${s.port}`)).toEqual(Array(7).fill(`127.0.0.1:${peer.port}`))
    for (const s of inOrder) expect(isProbe(key, 'open', s.bytes)).toBe(true)
    expect(sent.get(sockets[0]!)!.map(s => s.ttl)).toEqual([5, 5, undefined])
    expect(sent.get(sockets[1]!)!.map(s => s.ttl)).toEqual([5, 5])
    expect(sent.get(sockets[2]!)!.map(s => s.ttl)).toEqual([5, 5])
    for (const s of sockets) expect(s.closing).toBe(true)
    // and they arrive, from the three sockets
    const ports = new Set<number>()
    for (let i = 0; i < 7; i++) ports.add((await nextOfKind(peer, 'open')).port)
    expect(ports).toEqual(new Set(sockets.map(s => s.address().port)))
  })

  it('gives up with null when the signal aborts, closing every socket', async () => {
    const peer = await res.inbox()
    const { udx, sockets } = recordingUdx()
    const controller = new AbortController()
    const punching = punchAsRandom(init(peer, udx, { signal: controller.signal }))
    await nextOfKind(peer, 'open')
    controller.abort()
    expect(await punching).toBeNull()
    for (const s of sockets) expect(s.closing).toBe(true)
  })

  it('sends nothing when the signal has already aborted', async () => {
    const peer = await res.inbox()
    const { udx, sockets, sent } = recordingUdx()
    expect(await punchAsRandom(init(peer, udx, { signal: AbortSignal.abort() }))).toBeNull()
    expect([...sent.values()].flat()).toEqual([])
    for (const s of sockets) expect(s.closing).toBe(true)
  })
})

describe('punchAsConsistent', () => {
  const init = (socket: UdxSocket, over: { maxProbes?: number, intervalMs?: number, minPort?: number, signal?: AbortSignal, sent?: { probes: number } } = {}): Parameters<typeof punchAsConsistent>[0] => ({
    sent: { probes: 0 }, socket, peerHost: '127.0.0.1', key, intervalMs: LONG, maxProbes: 100, minPort: UNUSED_PORT, signal: new AbortController().signal, ...over
  })

  it('resolves with the source of the peer\'s ack, ignoring every other packet', async () => {
    const socket = res.udxSocket()
    const sent = recordSends(socket)
    const peer = await res.inbox()
    const otherHost = await res.inbox('127.0.0.2')
    const port = socket.address().port
    const punching = punchAsConsistent(init(socket))
    await otherHost.send(makeProbe(key, 'ack'), port)
    await otherHost.send(makeProbe(key, 'open'), port)
    for (const bytes of [makeProbe(otherKey, 'ack'), makeProbe(key, 'probe'), makeProbe(otherKey, 'open'), randomBytes(32), makeProbe(key, 'ack').subarray(1)]) await peer.send(bytes, port)
    await peer.send(makeProbe(key, 'ack'), port)
    const won = await punching
    expect(won?.remote).toEqual({ host: '127.0.0.1', port: peer.port })
    // nothing but the first probe, to a random port at or above minPort: no ignored packet drew a probe
    expect(won?.stats.probes).toBe(1)
    expect(sent).toHaveLength(1)
    expect(sent.map(s => `${s.host!}:${s.port}`)).toEqual([`127.0.0.1:${UNUSED_PORT}`])
  })

  it('probes at once the port a mapping opener came from, and only on the peer\'s host', async () => {
    const socket = res.udxSocket()
    const sent = recordSends(socket)
    const peer = await res.inbox()
    const otherHost = await res.inbox('127.0.0.2')
    const port = socket.address().port
    const controller = new AbortController()
    const punching = punchAsConsistent(init(socket, { signal: controller.signal }))
    await otherHost.send(makeProbe(key, 'open'), port)
    await peer.send(makeProbe(key, 'open'), port)
    const from = await nextOfKind(peer, 'probe')
    expect(from).toEqual({ host: '127.0.0.1', port })
    expect(sent.map(s => `${s.host!}:${s.port}`)).toEqual([`127.0.0.1:${UNUSED_PORT}`, `127.0.0.1:${peer.port}`])
    controller.abort()
    expect(await punching).toBeNull()
  })

  it('gives up with null after exactly maxProbes probes, each to a random port of the peer\'s host at or above minPort', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
    const socket = res.udxSocket()
    const sent = recordSends(socket, false)
    const counted = { probes: 0 }
    let result: unknown = 'pending'
    const punching = punchAsConsistent(init(socket, { maxProbes: 50, intervalMs: 20, minPort: 40_000, sent: counted })).then(r => { result = r })
    await vi.advanceTimersByTimeAsync(20 * 49)
    expect(sent).toHaveLength(50)
    expect(result).toBe('pending')
    await vi.advanceTimersByTimeAsync(20)
    await punching
    expect(result).toBeNull()
    await vi.advanceTimersByTimeAsync(20 * 100)
    expect(sent).toHaveLength(50)
    expect(counted.probes).toBe(50)
    expect(vi.getTimerCount()).toBe(0)
    for (const s of sent) {
      expect(s.host).toBe('127.0.0.1')
      expect(s.port).toBeGreaterThanOrEqual(40_000)
      expect(s.port).toBeLessThanOrEqual(65_535)
      expect(isProbe(key, 'probe', s.bytes)).toBe(true)
    }
    expect(new Set(sent.map(s => s.port)).size).toBeGreaterThan(40)
    expect(new Set(sent.map(s => Buffer.from(s.bytes).toString('hex'))).size).toBe(50)
  })

  it('gives up with null when the signal aborts, and sends nothing after', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
    const socket = res.udxSocket()
    const sent = recordSends(socket, false)
    const controller = new AbortController()
    const punching = punchAsConsistent(init(socket, { maxProbes: 1_000, intervalMs: 20, signal: controller.signal }))
    await vi.advanceTimersByTimeAsync(20 * 4)
    expect(sent).toHaveLength(5)
    controller.abort()
    expect(await punching).toBeNull()
    await vi.advanceTimersByTimeAsync(20 * 100)
    expect(sent).toHaveLength(5)
    expect(vi.getTimerCount()).toBe(0)
  })

  it('sends nothing when the signal has already aborted', async () => {
    const socket = res.udxSocket()
    const sent = recordSends(socket, false)
    expect(await punchAsConsistent(init(socket, { signal: AbortSignal.abort() }))).toBeNull()
    expect(sent).toEqual([])
  })
})
