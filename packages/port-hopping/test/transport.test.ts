// Two real libp2p nodes (TCP, Noise, Yamux) on 127.0.0.1: a server that
// listens with hoppingTcp and a client that dials by schedule. The clock is
// injected and moved by hand where possible; one test lets the real timers hop.
import { createServer } from 'node:net'
import { defaultLogger } from '@libp2p/logger'
import { multiaddr } from '@multiformats/multiaddr'
import { afterEach, describe, expect, it } from 'vitest'
import { until } from '@fara/testkit'
import { createSchedule, hopAddr, hopSchedules, hoppingTcp } from '../src/index.ts'
import { echo, freeRange, listeningPorts, portOf, sorted, startNode } from './helpers.ts'
import type { HopEvent, HopParams, Schedule } from '../src/index.ts'
import type { TestNode } from './helpers.ts'
import type { Connection, Upgrader } from '@libp2p/interface'
import type { Server } from 'node:net'

const KEY = new Uint8Array(32).map((_, i) => 0x40 + i)
const INTERVAL = 1000
const nodes: TestNode[] = []
const servers: Server[] = []

afterEach(async () => {
  await Promise.all(nodes.splice(0).map(async n => n.node.stop()))
  await Promise.all(servers.splice(0).map(async s => new Promise(resolve => { s.close(resolve) })))
})

async function node (...args: Parameters<typeof startNode>): Promise<TestNode> {
  const n = await startNode(...args)
  nodes.push(n)
  return n
}

/** A plain TCP server holding `port` on 127.0.0.1, so the hopping listener cannot have it. */
async function occupy (port: number): Promise<Server> {
  const server = createServer(socket => { socket.destroy() })
  servers.push(server)
  await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(port, '127.0.0.1', resolve) })
  return server
}

/**
 * A time (ms) at the start of the first slot from 10000 on whose slots
 * `from..to` (relative) all map to different ports, so that every port this
 * test expects to open or close is unambiguous. Deterministic: fixed key.
 */
function distinctSlots (schedule: Schedule, from: number, to: number): number {
  for (let s = 10_000; ; s++) {
    const ports = new Set<number>()
    for (let d = from; d <= to; d++) ports.add(schedule.portOf(s + d))
    if (ports.size === to - from + 1) return schedule.params.epoch + s * INTERVAL
  }
}

async function closed (node: TestNode, connection: Connection): Promise<void> {
  if (connection.status === 'closed') return
  await new Promise<void>(resolve => {
    node.node.addEventListener('connection:close', function onClose (evt) {
      if (evt.detail.id === connection.id) {
        node.node.removeEventListener('connection:close', onClose)
        resolve()
      }
    })
  })
}

describe('hoppingTcp between two libp2p nodes', () => {
  it('dials the current port by schedule, closes the old port after two hops (and the connection accepted on it), and a new dial lands on the new port', async () => {
    const range = await freeRange()
    const params: HopParams = { key: KEY, epoch: 0, intervalMs: INTERVAL, range }
    const schedule = createSchedule(params)
    let t = distinctSlots(schedule, -1, 3) + 100
    const s = schedule.slotAt(t)
    const port = (d: number): number => schedule.portOf(s + d)
    const now = (): number => t

    const server = await node({ listen: params, now, autoHop: false })
    const listener = server.listener()
    expect(listener.openPorts()).toEqual(sorted([port(-1), port(0), port(1)]))
    expect(await listeningPorts(range)).toEqual(sorted([port(-1), port(0), port(1)]))
    // the listener announces nothing: no live port leaks through identify or getMultiaddrs
    expect(server.node.getMultiaddrs()).toEqual([])

    const schedules = hopSchedules()
    schedules.set('127.0.0.1', params)
    const client = await node({ schedules, now }, [])
    const first = await client.node.dial(hopAddr('127.0.0.1', params))
    expect(portOf(first)).toBe(port(0))
    expect(await echo(first, 'before the hops')).toBe('before the hops')
    const firstClosed = closed(client, first)

    t += INTERVAL
    const hop1 = await listener.sync()
    expect(hop1).toMatchObject({ slot: s + 1, opened: [port(2)], closed: [port(-1)], failed: [] })
    expect(await listeningPorts(range)).toEqual(sorted([port(0), port(1), port(2)]))
    expect(first.status).toBe('open') // its port is still in the window

    t += INTERVAL
    const hop2 = await listener.sync()
    expect(hop2).toMatchObject({ slot: s + 2, opened: [port(3)], closed: [port(0)], failed: [] })
    expect(await listeningPorts(range)).toEqual(sorted([port(1), port(2), port(3)]))
    await firstClosed // port(0) left the window: the connection accepted on it went with it

    const second = await client.node.dial(hopAddr('127.0.0.1', params))
    expect(portOf(second)).toBe(port(2))
    expect(await echo(second, 'after the hops')).toBe('after the hops')
  })

  it('hops by itself on each slot boundary with the real clock (1 s slots)', async () => {
    const range = await freeRange()
    const params: HopParams = { key: KEY, epoch: 0, intervalMs: INTERVAL, range }
    const schedule = createSchedule(params)
    const server = await node({ listen: params })
    const hops: HopEvent[] = []
    server.listener().addEventListener('hop', evt => { hops.push(evt.detail) })
    await until(() => hops.length >= 2, 'two hops', { timeoutMs: 5_000 })
    const [a, b] = hops as [HopEvent, HopEvent]
    expect(b.slot).toBe(a.slot + 1)
    for (const hop of [a, b]) {
      expect(hop.ports).toEqual(sorted(schedule.ports(hop.slot * INTERVAL)))
      expect(hop.failed).toEqual([])
    }
    // the observer sees only ports of the windows around now (a hop may fall between the two readings)
    const before = schedule.slotAt(Date.now())
    const seen = await listeningPorts(range)
    const after = schedule.slotAt(Date.now())
    const allowed = new Set([...schedule.ports(before * INTERVAL), ...schedule.ports(after * INTERVAL)])
    expect(seen.length).toBeGreaterThan(0)
    for (const p of seen) expect(allowed.has(p), `port ${p} is live`).toBe(true)

    const schedules = hopSchedules()
    schedules.set('127.0.0.1', params)
    const client = await node({ schedules }, [])
    const connection = await client.node.dial(hopAddr('127.0.0.1', params))
    expect(await echo(connection, 'on time')).toBe('on time')
  })

  it('reaches the server through a neighbour when the clocks are two slots apart, and fails typed at four', async () => {
    const range = await freeRange()
    const params: HopParams = { key: KEY, epoch: 0, intervalMs: INTERVAL, range }
    const schedule = createSchedule(params)
    const serverTime = distinctSlots(schedule, -5, 1) + 300
    const s = schedule.slotAt(serverTime)
    await node({ listen: params, now: () => serverTime, autoHop: false })
    const schedules = hopSchedules()
    schedules.set('127.0.0.1', params)

    // the client's clock is 2 slots behind: its own port is closed, its next one is the server's s - 1
    const behind = await node({ schedules, now: () => serverTime - 2 * INTERVAL }, [])
    const connection = await behind.node.dial(hopAddr('127.0.0.1', params))
    expect(portOf(connection)).toBe(schedule.portOf(s - 1))
    expect(await echo(connection, 'skewed')).toBe('skewed')

    const far = await node({ schedules, now: () => serverTime - 4 * INTERVAL }, [])
    const err = await far.node.dial(hopAddr('127.0.0.1', params)).then(() => undefined, (e: Error) => e)
    expect(err?.name).toBe('HopDialError')
    expect((err as Error & { errors: Error[] }).errors).toHaveLength(3)
  })

  it('keeps the rest of the window open when another socket holds one of its ports, and takes the port on a later move', async () => {
    const range = await freeRange()
    const params: HopParams = { key: KEY, epoch: 0, intervalMs: INTERVAL, range }
    const schedule = createSchedule(params)
    const t = distinctSlots(schedule, -1, 1)
    const s = schedule.slotAt(t)
    const blocker = await occupy(schedule.portOf(s))
    const server = await node({ listen: params, now: () => t, autoHop: false })
    expect(server.listener().openPorts()).toEqual(sorted([schedule.portOf(s - 1), schedule.portOf(s + 1)]))

    await new Promise(resolve => { blocker.close(resolve) })
    const retry = await server.listener().sync()
    expect(retry.opened).toEqual([schedule.portOf(s)])
    expect(retry.ports).toEqual(sorted(schedule.ports(t)))
  })

  it('closes every port of the window when the node stops', async () => {
    const range = await freeRange()
    const params: HopParams = { key: KEY, epoch: 0, intervalMs: INTERVAL, range }
    const server = await node({ listen: params, autoHop: false })
    expect((await listeningPorts(range)).length).toBeGreaterThan(0)
    await server.node.stop()
    expect(server.listener().openPorts()).toEqual([])
    expect(await listeningPorts(range)).toEqual([])
  })

  it('listens and dials plainly where no schedule applies (no listen schedule, a pinned port, a host not in the book)', async () => {
    const plain = await node({})
    const addr = plain.node.getMultiaddrs()[0]
    expect(addr).toBeDefined()
    const client = await node({ schedules: hopSchedules() }, [])
    expect(await echo(await client.node.dial(addr!), 'plain')).toBe('plain')

    const range = await freeRange()
    const pinned = range.start + 5
    const params: HopParams = { key: KEY, epoch: 0, intervalMs: INTERVAL, range }
    const both = await node({ listen: params, autoHop: false }, ['/ip4/127.0.0.1/tcp/0', `/ip4/127.0.0.1/tcp/${pinned}`])
    expect(both.node.getMultiaddrs().map(a => a.toString())).toEqual([`/ip4/127.0.0.1/tcp/${pinned}/p2p/${both.node.peerId.toString()}`])
  })
})

describe('hoppingTcp on its own', () => {
  const transport = (init: Parameters<typeof hoppingTcp>[0]): ReturnType<ReturnType<typeof hoppingTcp>> => hoppingTcp(init)({ logger: defaultLogger() })

  it('fails to listen with HopListenError when no port of the window can be opened', async () => {
    const range = await freeRange()
    const params: HopParams = { key: KEY, epoch: 0, intervalMs: INTERVAL, range }
    const schedule = createSchedule(params)
    const t = 5_000_000
    for (const p of schedule.ports(t)) await occupy(p)
    const listener = transport({ listen: params, now: () => t, autoHop: false }).createListener({ upgrader: {} as Upgrader })
    const err = await listener.listen(multiaddr('/ip4/127.0.0.1/tcp/0')).then(() => undefined, (e: Error) => e)
    expect(err?.name).toBe('HopListenError')
    expect(listener.openPorts()).toEqual([])
  })

  it('takes TCP addresses for dialing and listening and leaves every other kind to other transports', () => {
    const t = transport({})
    const tcpAddrs = [multiaddr('/ip4/127.0.0.1/tcp/0'), multiaddr('/ip6/::1/tcp/4001'), multiaddr('/dns4/example.com/tcp/20000')]
    const others = [multiaddr('/ip4/127.0.0.1/udp/4001/quic-v1'), multiaddr('/ip4/127.0.0.1/tcp/4001/ws'), multiaddr('/ip4/127.0.0.1/tcp/1/p2p/12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA/p2p-circuit')]
    expect(t.listenFilter([...tcpAddrs, ...others])).toEqual(tcpAddrs)
    expect(t.dialFilter([...tcpAddrs, ...others]).map(String)).toEqual(tcpAddrs.map(String))
    expect(t[Symbol.toStringTag]).not.toBe('@libp2p/tcp')
  })

  it('refuses bad options at the boundary, naming them', () => {
    expect(() => hoppingTcp({ listen: { key: new Uint8Array(3), epoch: 0, intervalMs: 1000, range: { start: 20_000, end: 20_063 } } })).toThrow('init.listen.key')
    expect(() => hoppingTcp({ now: 'soon' as never })).toThrow(TypeError)
    expect(() => hoppingTcp({ schedules: {} as never })).toThrow('init.schedules')
    expect(() => hoppingTcp({ dialAttemptTimeoutMs: 0 })).toThrow(RangeError)
  })
})
