// The listener's lifecycle against a recording stand-in for @libp2p/tcp: the
// order of opens and closes, moves that race close(), and the slot timer
// (driven by vitest's fake timers, so no real time passes).
import { TypedEventEmitter } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { createSchedule } from '../src/index.ts'
import { HoppingListener } from '../src/internal/listener.ts'
import type { HopEvent, Schedule } from '../src/index.ts'
import type { Listener, ListenerEvents, Transport, Upgrader } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

const INTERVAL = 1000
const RANGE = { start: 20_000, end: 20_063 }
const KEY = new Uint8Array(32).fill(9)

/** What the stand-in saw, in order: `open <port>` / `close <port>`. */
type Log = string[]

function fakeTcp (log: Log, gate?: () => Promise<void>): Transport {
  const portOf = (ma: Multiaddr): number => Number(ma.getComponents()[1]?.value)
  return {
    createListener: () => {
      let port = 0
      const listener = new TypedEventEmitter<ListenerEvents>() as TypedEventEmitter<ListenerEvents> & Listener
      Object.assign(listener, {
        listen: async (ma: Multiaddr) => { await gate?.(); port = portOf(ma); log.push(`open ${port}`) },
        close: async () => { if (port !== 0) log.push(`close ${port}`) },
        getAddrs: () => [],
        updateAnnounceAddrs: () => {}
      })
      return listener
    }
  } as unknown as Transport
}

function distinct (schedule: Schedule, from: number, to: number): number {
  for (let s = 100; ; s++) {
    const ports = new Set<number>()
    for (let d = from; d <= to; d++) ports.add(schedule.portOf(s + d))
    if (ports.size === to - from + 1) return s
  }
}

afterEach(() => { vi.useRealTimers() })

describe('HoppingListener', () => {
  it('opens the port entering the window before it closes the one leaving it', async () => {
    let t = 0
    const schedule = createSchedule({ key: KEY, intervalMs: INTERVAL, range: RANGE, now: () => t })
    const s = distinct(schedule, -1, 2)
    t = s * INTERVAL
    const log: Log = []
    const listener = new HoppingListener({ inner: fakeTcp(log), upgrader: {} as Upgrader, schedule, autoHop: false })
    await listener.listen(multiaddr('/ip4/127.0.0.1/tcp/0'))
    log.length = 0
    t += INTERVAL
    await listener.sync()
    expect(log).toEqual([`open ${schedule.portOf(s + 2)}`, `close ${schedule.portOf(s - 1)}`])
    await listener.close()
  })

  it('leaves a port open across the boundary when the next slots map to it again', async () => {
    let t = 0
    const small = createSchedule({ key: KEY, intervalMs: INTERVAL, range: { start: 40_000, end: 40_015 }, now: () => t })
    // a slot s whose leaving port (s - 1) comes back as the entering one (s + 2)
    let s = 100
    while (small.portOf(s - 1) !== small.portOf(s + 2) || new Set([s - 1, s, s + 1].map(x => small.portOf(x))).size !== 3) s++
    t = s * INTERVAL
    const log: Log = []
    const listener = new HoppingListener({ inner: fakeTcp(log), upgrader: {} as Upgrader, schedule: small, autoHop: false })
    await listener.listen(multiaddr('/ip4/127.0.0.1/tcp/0'))
    log.length = 0
    t += INTERVAL
    const hop = await listener.sync()
    expect(log).toEqual([])
    expect(hop).toMatchObject({ opened: [], closed: [] })
    await listener.close()
  })

  it('closes a port whose opening finishes after close() was called, and dispatches close once', async () => {
    let t = 0
    const schedule = createSchedule({ key: KEY, intervalMs: INTERVAL, range: RANGE, now: () => t })
    const s = distinct(schedule, -1, 2)
    t = s * INTERVAL
    const log: Log = []
    let release: (() => void) | undefined
    let gated = false
    const gate = async (): Promise<void> => { if (gated) await new Promise<void>(resolve => { release = resolve }) }
    const listener = new HoppingListener({ inner: fakeTcp(log, gate), upgrader: {} as Upgrader, schedule, autoHop: false })
    await listener.listen(multiaddr('/ip4/127.0.0.1/tcp/0'))
    let closes = 0
    listener.addEventListener('close', () => { closes++ })
    // a move that is still opening the entering port when close() comes
    gated = true
    t += INTERVAL
    const moving = listener.sync()
    await vi.waitFor(() => { expect(release).toBeTypeOf('function') })
    const closing = listener.close()
    release?.()
    await Promise.all([moving, closing])
    expect(listener.openPorts()).toEqual([])
    const opens = log.filter(l => l.startsWith('open')).map(l => l.slice(5)).sort()
    const closed = log.filter(l => l.startsWith('close')).map(l => l.slice(6)).sort()
    expect(opens).toContain(String(schedule.portOf(s + 2)))
    expect(closed).toEqual(opens)
    expect(closes).toBe(1)
    await listener.close()
    expect(closes).toBe(1)
  })

  it('moves the window on each slot boundary by itself, with a timer that stops on close', async () => {
    vi.useFakeTimers({ now: 7_000_250 })
    const schedule = createSchedule({ key: KEY, intervalMs: INTERVAL, range: RANGE })
    const log: Log = []
    const listener = new HoppingListener({ inner: fakeTcp(log), upgrader: {} as Upgrader, schedule, autoHop: true })
    const hops: HopEvent[] = []
    listener.addEventListener('hop', evt => { hops.push(evt.detail) })
    await listener.listen(multiaddr('/ip4/127.0.0.1/tcp/0'))
    expect(hops.map(h => h.slot)).toEqual([7000])
    await vi.advanceTimersByTimeAsync(749)
    expect(hops).toHaveLength(1)
    await vi.advanceTimersByTimeAsync(1)
    expect(hops.map(h => h.slot)).toEqual([7000, 7001])
    await vi.advanceTimersByTimeAsync(3 * INTERVAL)
    expect(hops.map(h => h.slot)).toEqual([7000, 7001, 7002, 7003, 7004])
    expect(listener.openPorts()).toEqual([...schedule.ports(7004 * INTERVAL)].sort((a, b) => a - b))
    await listener.close()
    expect(vi.getTimerCount()).toBe(0)
    await vi.advanceTimersByTimeAsync(5 * INTERVAL)
    expect(hops).toHaveLength(5)
  })

  it('follows a move that straddled a boundary with the next one at once, not a slot later', async () => {
    vi.useFakeTimers({ now: 7_000_999 })
    const schedule = createSchedule({ key: KEY, intervalMs: INTERVAL, range: RANGE })
    const log: Log = []
    // opening a port takes 2 ms of wall clock: the first move computes slot 7000 and ends in slot 7001
    const slow = async (): Promise<void> => { vi.setSystemTime(Date.now() + 2) }
    const listener = new HoppingListener({ inner: fakeTcp(log, slow), upgrader: {} as Upgrader, schedule, autoHop: true })
    const hops: HopEvent[] = []
    listener.addEventListener('hop', evt => { hops.push(evt.detail) })
    await listener.listen(multiaddr('/ip4/127.0.0.1/tcp/0'))
    expect(hops.map(h => h.slot)).toEqual([7000])
    await vi.advanceTimersByTimeAsync(5)
    expect(hops.map(h => h.slot)).toEqual([7000, 7001])
    await listener.close()
  })

  it('only re-arms when the timer fires before the wall clock reaches the boundary', async () => {
    vi.useFakeTimers({ now: 7_000_500 })
    const schedule = createSchedule({ key: KEY, intervalMs: INTERVAL, range: RANGE })
    const listener = new HoppingListener({ inner: fakeTcp([]), upgrader: {} as Upgrader, schedule, autoHop: true })
    const hops: HopEvent[] = []
    listener.addEventListener('hop', evt => { hops.push(evt.detail) })
    await listener.listen(multiaddr('/ip4/127.0.0.1/tcp/0'))
    // the wall clock falls 5 ms behind the timers (as Node.js timers and Date.now() do drift apart)
    vi.setSystemTime(Date.now() - 5)
    await vi.advanceTimersByTimeAsync(500)
    expect(hops.map(h => h.slot)).toEqual([7000])
    await vi.advanceTimersByTimeAsync(5)
    expect(hops.map(h => h.slot)).toEqual([7000, 7001])
    await listener.close()
  })

  it('is a plain listener for a pinned port, announcing that address', async () => {
    const schedule = createSchedule({ key: KEY, intervalMs: INTERVAL, range: RANGE })
    const log: Log = []
    const listener = new HoppingListener({ inner: fakeTcp(log), upgrader: {} as Upgrader, schedule, autoHop: false })
    await listener.listen(multiaddr('/ip4/127.0.0.1/tcp/4001'))
    expect(log).toEqual(['open 4001'])
    expect(listener.schedule).toBeUndefined()
    expect(listener.openPorts()).toEqual([])
    await listener.close()
    expect(log).toEqual(['open 4001', 'close 4001'])
  })
})

describe('HoppingListener.sync', () => {
  it('honours an aborted signal without making a move, and a plain listener reports no slot', async () => {
    const schedule = createSchedule({ key: KEY, intervalMs: INTERVAL, range: RANGE, now: () => 9_000_000 })
    const log: Log = []
    const listener = new HoppingListener({ inner: fakeTcp(log), upgrader: {} as Upgrader, schedule, autoHop: false })
    await listener.listen(multiaddr('/ip4/127.0.0.1/tcp/0'))
    const hops: HopEvent[] = []
    listener.addEventListener('hop', evt => { hops.push(evt.detail) })
    const controller = new AbortController()
    controller.abort(new Error('stop'))
    await expect(listener.sync({ signal: controller.signal })).rejects.toThrow('stop')
    expect(hops).toEqual([])
    expect((await listener.sync({ signal: new AbortController().signal })).slot).toBe(9000)
    await listener.close()
    expect((await listener.sync()).slot).toBeNaN()
  })
})
