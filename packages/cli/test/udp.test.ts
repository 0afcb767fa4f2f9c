import { once } from 'node:events'
import { Duplex } from 'node:stream'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { thrownIfAny } from '@fara/testkit'
import { parseCommandLine } from '../src/internal/args.ts'
import { UDP_CONNECT_OPTIONS, UDP_SERVE_OPTIONS, udpConnectOf, udpServeOf } from '../src/internal/udp-forward.ts'
import { DatagramDecoder, Flow, FlowTable, MAX_DATAGRAM_BYTES, UDP_CLOSE_GRACE_MS, UDP_PREAMBLE, UDP_QUEUE_BYTES, encodeDatagram } from '../src/internal/udp.ts'

afterEach(() => { vi.useRealTimers() })

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text)
const text = (b: Uint8Array): string => new TextDecoder().decode(b)
const concat = (...parts: Uint8Array[]): Uint8Array => Uint8Array.from(parts.flatMap(p => [...p]))

/** Decode `stream` as one end would: every datagram in order. */
function decodeAll (stream: Uint8Array, pieces = 1): Uint8Array[] {
  const out: Uint8Array[] = []
  const decoder = new DatagramDecoder()
  for (let i = 0; i < stream.byteLength; i += pieces) decoder.push(stream.subarray(i, i + pieces), d => out.push(d))
  return out
}

/**
 * Two connected in-memory streams (what `association.toDuplex()` is at each
 * end). With `stuck`, writes into `a` are never taken (a stalled association).
 */
function duplexPair (options: { stuck?: boolean } = {}): [Duplex, Duplex] {
  const ends: Duplex[] = []
  const make = (other: () => Duplex): Duplex => new Duplex({
    allowHalfOpen: true,
    read () {},
    write (chunk: Uint8Array, _encoding, callback) {
      if (options.stuck === true && ends[0] === this) return
      other().push(chunk)
      callback()
    },
    final (callback) { other().push(null); callback() }
  })
  ends.push(make(() => ends[1]!), make(() => ends[0]!))
  return [ends[0]!, ends[1]!]
}

/** Write `chunk` into `from` and wait until `to` has emitted it (a flow reads in flowing mode, from the next tick on). */
async function deliver (from: Duplex, to: Duplex, chunk: Uint8Array): Promise<void> {
  const seen = once(to, 'data')
  from.write(chunk)
  await seen
}

/** What the far end of a flow's stream received, decoded; `received(n)` resolves once n datagrams are in. */
function farEnd (stream: Duplex): { datagrams: string[], received: (n: number) => Promise<string[]>, ended: Promise<void> } {
  const datagrams: string[] = []
  const waiters = new Set<() => void>()
  const decoder = new DatagramDecoder()
  stream.on('data', (chunk: Uint8Array) => {
    decoder.push(chunk, d => datagrams.push(text(d)))
    for (const w of waiters) w()
  })
  const received = async (n: number): Promise<string[]> => new Promise(resolve => {
    const check = (): void => { if (datagrams.length >= n) { waiters.delete(check); resolve(datagrams) } }
    waiters.add(check)
    check()
  })
  const ended = new Promise<void>(resolve => { stream.once('end', () => { resolve() }) })
  return { datagrams, received, ended }
}

describe('framing', () => {
  it('frames a datagram as a 16-bit big-endian length and the bytes, from 0 to 65,507 bytes', () => {
    expect([...encodeDatagram(new Uint8Array(0))]).toEqual([0, 0])
    expect([...encodeDatagram(bytes('abc'))]).toEqual([0, 3, 97, 98, 99])
    const largest = encodeDatagram(new Uint8Array(MAX_DATAGRAM_BYTES).fill(7))
    expect([largest[0], largest[1]]).toEqual([0xff, 0xe3])
    expect(largest.byteLength).toBe(2 + 65_507)
  })

  it('refuses to frame a datagram over 65,507 bytes (RangeError) or a non-byte value (TypeError)', () => {
    expect(thrownIfAny(() => encodeDatagram(new Uint8Array(MAX_DATAGRAM_BYTES + 1)))?.name).toBe('RangeError')
    expect(thrownIfAny(() => encodeDatagram('abc' as unknown as Uint8Array))?.name).toBe('TypeError')
  })

  it('decodes the preamble and datagrams arriving in any split, down to one byte at a time, empty datagrams included', () => {
    const datagrams = [bytes('first'), new Uint8Array(0), new Uint8Array(MAX_DATAGRAM_BYTES).fill(9), bytes('last')]
    const stream = concat(UDP_PREAMBLE, ...datagrams.map(encodeDatagram))
    for (const pieces of [1, 3, 4096, stream.byteLength]) {
      const got = decodeAll(stream, pieces)
      expect(got.map(d => d.byteLength)).toEqual(datagrams.map(d => d.byteLength))
      expect(got.every((d, i) => Buffer.from(d).equals(datagrams[i]!))).toBe(true)
    }
  })

  it('refuses a stream without the preamble (a TCP client) at its first differing byte, with UdpFrameError', () => {
    const decoder = new DatagramDecoder()
    decoder.push(bytes('fara/'), () => {})
    const err = thrownIfAny(() => { decoder.push(bytes('tcp'), () => {}) })
    expect(err?.name).toBe('UdpFrameError')
    expect(err?.message).toContain('preamble')
    expect(thrownIfAny(() => { new DatagramDecoder().push(bytes('S'), () => {}) })?.name).toBe('UdpFrameError')
  })

  it('refuses a length over 65,507 as soon as the two length bytes are in, after delivering the datagrams before it', () => {
    const decoder = new DatagramDecoder()
    const got: string[] = []
    const err = thrownIfAny(() => { decoder.push(concat(UDP_PREAMBLE, encodeDatagram(bytes('ok')), Uint8Array.of(0xff, 0xe4)), d => got.push(text(d))) })
    expect(err?.name).toBe('UdpFrameError')
    expect(got).toEqual(['ok'])
    expect(decoder.buffered).toBe(0)
    // once failed, it stays failed
    expect(thrownIfAny(() => { decoder.push(encodeDatagram(bytes('more')), () => {}) })?.name).toBe('UdpFrameError')
  })

  it('holds at most one partial frame', () => {
    const decoder = new DatagramDecoder()
    const frame = encodeDatagram(new Uint8Array(MAX_DATAGRAM_BYTES))
    decoder.push(concat(UDP_PREAMBLE, frame.subarray(0, frame.byteLength - 1)), () => { throw new Error('not complete') })
    expect(decoder.buffered).toBe(2 + MAX_DATAGRAM_BYTES - 1)
    let delivered = 0
    decoder.push(frame.subarray(frame.byteLength - 1), () => { delivered++ })
    expect(delivered).toBe(1)
    expect(decoder.buffered).toBe(0)
  })
})

describe('Flow', () => {
  it('carries datagrams both ways; datagrams sent while the association opens go first, after the preamble', async () => {
    const [near, far] = duplexPair()
    const delivered: string[] = []
    const flow = new Flow({ idleMs: 60_000, deliver: (d) => { delivered.push(text(d)); return true } })
    const remote = farEnd(far)
    expect(flow.state).toBe('opening')
    flow.send(bytes('early'))
    flow.attach(near)
    expect(flow.state).toBe('open')
    flow.send(bytes('late'))
    expect(await remote.received(2)).toEqual(['early', 'late'])
    await deliver(far, near, concat(UDP_PREAMBLE, encodeDatagram(bytes('reply-1')), encodeDatagram(bytes('reply-2'))))
    expect(delivered).toEqual(['reply-1', 'reply-2'])
    expect(flow.stats).toMatchObject({ datagramsIn: 2, bytesIn: 9, datagramsOut: 2, bytesOut: 14, dropped: 0 })
    flow.close()
  })

  it('bounds its queue when the association takes nothing: drops, counts, reports the first drop once', () => {
    const [near] = duplexPair({ stuck: true })
    const onDrop = vi.fn()
    const flow = new Flow({ idleMs: 60_000, deliver: () => true, onDrop })
    flow.attach(near)
    const datagram = new Uint8Array(1000)
    let accepted = 0
    for (let i = 0; i < 1000; i++) if (flow.send(datagram)) accepted++
    // the stuck write holds the preamble (the first write); the rest queue up to the bound
    expect(accepted).toBeLessThanOrEqual(Math.floor(UDP_QUEUE_BYTES / 1002) + 1)
    expect(accepted).toBeGreaterThan(200)
    expect(near.writableLength).toBeLessThanOrEqual(UDP_QUEUE_BYTES + UDP_PREAMBLE.byteLength)
    expect(flow.stats.dropped).toBe(1000 - accepted)
    expect(onDrop).toHaveBeenCalledTimes(1)
    flow.close('error', new Error('test over'))
  })

  it('bounds what waits while the association opens, and drops a datagram over 65,507 bytes', () => {
    const flow = new Flow({ idleMs: 60_000, deliver: () => true, queueBytes: 10 })
    expect(flow.send(bytes('12345678'))).toBe(true) // 2 + 8 bytes: exactly the bound
    expect(flow.send(bytes('x'))).toBe(false)
    expect(flow.send(new Uint8Array(MAX_DATAGRAM_BYTES + 1))).toBe(false)
    expect(flow.stats.dropped).toBe(2)
    flow.close()
  })

  it('counts a datagram the UDP side could not take as dropped', async () => {
    const [near, far] = duplexPair()
    const flow = new Flow({ idleMs: 60_000, deliver: () => false })
    flow.attach(near)
    await deliver(far, near, concat(UDP_PREAMBLE, encodeDatagram(bytes('lost'))))
    expect(flow.stats).toMatchObject({ datagramsOut: 0, dropped: 1 })
    flow.close()
  })

  it('a malformed frame from the association closes the flow with UdpFrameError and aborts the stream', async () => {
    const [near, far] = duplexPair()
    const flow = new Flow({ idleMs: 60_000, deliver: () => true })
    flow.attach(near)
    far.write(bytes('SSH-2.0-OpenSSH_9.2\r\n'))
    const end = await flow.closed
    expect(end.reason).toBe('error')
    expect(end.error?.name).toBe('UdpFrameError')
    expect(near.destroyed).toBe(true)
    expect(flow.send(bytes('after'))).toBe(false)
  })

  it('closes when the other end closes its half, and closes this half too', async () => {
    const [near, far] = duplexPair()
    const flow = new Flow({ idleMs: 60_000, deliver: () => true })
    const remote = farEnd(far)
    flow.attach(near)
    far.end(UDP_PREAMBLE)
    expect((await flow.closed).reason).toBe('remote')
    await remote.ended
  })

  it('closes after the idle timeout with no datagram either way; each datagram restarts it', async () => {
    vi.useFakeTimers()
    const [near, far] = duplexPair()
    const flow = new Flow({ idleMs: 60_000, deliver: () => true })
    const remote = farEnd(far)
    flow.attach(near)
    vi.advanceTimersByTime(40_000)
    flow.send(bytes('keepalive')) // out
    vi.advanceTimersByTime(40_000)
    await deliver(far, near, concat(UDP_PREAMBLE, encodeDatagram(bytes('reply')))) // in
    vi.advanceTimersByTime(59_999)
    expect(flow.state).toBe('open')
    vi.advanceTimersByTime(1)
    expect(flow.state).toBe('closed')
    expect(await flow.closed).toEqual({ reason: 'idle' })
    // closed gracefully: the other end sees the end of the stream
    await vi.waitFor(async () => { await remote.ended })
    expect(near.writableEnded).toBe(true)
  })

  it('aborts the association if the other end does not close within the grace time', async () => {
    vi.useFakeTimers()
    const [near] = duplexPair()
    const flow = new Flow({ idleMs: 1_000, deliver: () => true })
    flow.attach(near)
    vi.advanceTimersByTime(1_000)
    expect((await flow.closed).reason).toBe('idle')
    expect(near.destroyed).toBe(false)
    vi.advanceTimersByTime(UDP_CLOSE_GRACE_MS)
    expect(near.destroyed).toBe(true)
  })

  it('closed while its association opens: the signal aborts the open, and a late association is aborted', async () => {
    vi.useFakeTimers()
    const flow = new Flow({ idleMs: 1_000, deliver: () => true })
    flow.send(bytes('waiting'))
    vi.advanceTimersByTime(1_000)
    expect((await flow.closed).reason).toBe('idle')
    expect(flow.signal.aborted).toBe(true)
    const [near] = duplexPair()
    flow.attach(near)
    expect(near.destroyed).toBe(true)
  })

  it('refuses a non-positive idle timeout', () => {
    expect(thrownIfAny(() => new Flow({ idleMs: 0, deliver: () => true }))?.name).toBe('RangeError')
  })
})

describe('FlowTable', () => {
  it('holds at most max flows: new sources beyond are refused and reported once per episode', () => {
    const onFull = vi.fn()
    const table = new FlowTable<string>({ max: 2, onFull })
    expect(table.add('a', () => 'flow-a')).toBe('flow-a')
    expect(table.add('b', () => 'flow-b')).toBe('flow-b')
    const make = vi.fn(() => 'flow-c')
    expect(table.add('c', make)).toBe(undefined)
    expect(table.add('d', make)).toBe(undefined)
    expect(make).not.toHaveBeenCalled()
    expect(onFull.mock.calls).toEqual([['c', 1]])
    expect(table.get('a')).toBe('flow-a')
    // a flow leaves: a new source gets its slot; full again is a new episode, reported again
    table.delete('a', 'flow-a')
    expect(table.add('c', make)).toBe('flow-c')
    expect(table.add('e', make)).toBe(undefined)
    expect(onFull.mock.calls).toEqual([['c', 1], ['e', 3]])
    expect(table.size).toBe(2)
    expect(table.refused).toBe(3)
  })

  it('forgets a flow only if it is still the one held for its source', () => {
    const table = new FlowTable<string>({ max: 1 })
    table.add('a', () => 'old')
    table.delete('a', 'other')
    expect(table.get('a')).toBe('old')
  })

  it('refuses a max that is not a positive integer', () => {
    expect(thrownIfAny(() => new FlowTable({ max: 0 }))?.name).toBe('RangeError')
  })
})

describe('UDP options', () => {
  const serveArgs = (argv: string[]) => parseCommandLine('serve', argv, { forward: { type: 'string', help: '' }, ...UDP_SERVE_OPTIONS })
  const connectArgs = (argv: string[]) => parseCommandLine('connect', argv, { listen: { type: 'string', help: '' }, 'max-connections': { type: 'string', help: '' }, ...UDP_CONNECT_OPTIONS })

  it('reads --forward-udp and --udp-idle (seconds)', () => {
    expect(udpServeOf('serve', serveArgs(['--forward-udp', '127.0.0.1:53', '--udp-idle', '30']))).toEqual({ target: { host: '127.0.0.1', port: 53 }, idleMs: 30_000 })
    expect(udpServeOf('serve', serveArgs(['--forward', '127.0.0.1:80']))).toBe(undefined)
    expect(udpConnectOf('connect', connectArgs(['--listen-udp', '127.0.0.1:0']))).toEqual({ local: { host: '127.0.0.1', port: 0 }, idleMs: 60_000, maxFlows: 256 })
  })

  const usage: Array<[string, () => unknown, string]> = [
    ['--forward with --forward-udp', () => udpServeOf('serve', serveArgs(['--forward', '1', '--forward-udp', '2'])), 'not both'],
    ['--udp-idle without --forward-udp', () => udpServeOf('serve', serveArgs(['--forward', '1', '--udp-idle', '5'])), '--udp-idle needs --forward-udp'],
    ['a bad --forward-udp', () => udpServeOf('serve', serveArgs(['--forward-udp', 'nope'])), '--forward-udp must be host:port'],
    ['--forward-udp port 0', () => udpServeOf('serve', serveArgs(['--forward-udp', '127.0.0.1:0'])), 'port must be 1 to 65535'],
    ['--udp-idle 0', () => udpServeOf('serve', serveArgs(['--forward-udp', '53', '--udp-idle', '0'])), '--udp-idle must be an integer from 1'],
    ['--listen with --listen-udp', () => udpConnectOf('connect', connectArgs(['--listen', '1', '--listen-udp', '2'])), 'not both'],
    ['--max-flows without --listen-udp', () => udpConnectOf('connect', connectArgs(['--max-flows', '3'])), '--max-flows needs --listen-udp'],
    ['--max-connections with --listen-udp', () => udpConnectOf('connect', connectArgs(['--listen-udp', '0', '--max-connections', '3'])), 'use --max-flows'],
    ['--max-flows 0', () => udpConnectOf('connect', connectArgs(['--listen-udp', '0', '--max-flows', '0'])), '--max-flows must be an integer from 1']
  ]
  for (const [what, call, message] of usage) {
    it(`refuses ${what} with a UsageError`, () => {
      const err = thrownIfAny(call)
      expect(err?.name).toBe('UsageError')
      expect(err?.message).toContain(message)
    })
  }
})
