import { createHash, randomBytes } from 'node:crypto'
import { Uint8ArrayList } from 'uint8arraylist'
import { describe, expect, it } from 'vitest'
import { readAll } from '@fara/testkit'
import { createDemux } from '../src/index.ts'
import { ACK_EVERY_BYTES, MAX_DATA_PAYLOAD_BYTES } from '../src/constants.ts'
import { FrameType, decodeDataPhaseFrame } from '../src/internal/data-frames.ts'
import { StreamReader, lengthPrefixed, takeChunk } from '../src/internal/reader.ts'
import { pair, peers, useStreams } from './fixtures.ts'
import type { Association, DemuxInit } from '../src/index.ts'
import type { Stream } from '@libp2p/interface'

useStreams()

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex')

/**
 * A resumable association over a stream pair whose initiator-side `send`
 * calls are recorded (their sizes), and the ACK frames the responder writes.
 */
async function resumablePair (init: DemuxInit = {}): Promise<{ client: Association, server: Association, writes: number[], acks: number[] }> {
  const responder = createDemux<string>(init)
  const serviceAid = responder.listen('echo')
  const [out, inb] = await pair()
  const writes: number[] = []
  const send = out.send.bind(out)
  out.send = (data) => { writes.push(data.byteLength); return send(data) }
  const acks: number[] = []
  const reply = inb.send.bind(inb)
  inb.send = (data) => {
    // an ACK frame is written alone: a one-byte length, then the frame
    if (data instanceof Uint8Array && data[1] === FrameType.ACK) {
      const frame = decodeDataPhaseFrame(data.subarray(1))
      if (frame.type === FrameType.ACK) acks.push(frame.received)
    }
    return reply(data)
  }
  const client = createDemux<string>(init).open(out, serviceAid, peers.bob, { resume: { reconnect: async () => { throw new Error('no second path') } } })
  const { association: server } = await responder.accept(inb, peers.alice)
  await client.accepted
  return { client, server, writes, acks }
}

/** Read from `reader` until `bytes` in all were consumed; returns the count. */
async function consume (reader: AsyncIterator<Uint8Array>, bytes: number, from = 0): Promise<number> {
  let consumed = from
  while (consumed < bytes) {
    const next = await reader.next()
    if (next.done === true) throw new Error('ended early')
    consumed += next.value.byteLength
  }
  return consumed
}

/**
 * A stand-in for a libp2p stream that delivers the messages a test pushes;
 * as a libp2p stream, it holds them back while paused and delivers them on resume.
 */
function fakeStream (): { stream: Stream, push: (data: Uint8Array | Uint8ArrayList) => void, paused: () => boolean } {
  const target = new EventTarget()
  const held: Array<Uint8Array | Uint8ArrayList> = []
  let paused = false
  const deliver = (data: Uint8Array | Uint8ArrayList): void => { target.dispatchEvent(Object.assign(new Event('message'), { data })) }
  const stream = Object.assign(target, {
    status: 'open',
    remoteWriteStatus: 'writable',
    pause () { paused = true },
    resume () {
      paused = false
      while (!paused && held.length > 0) deliver(held.shift()!)
    }
  }) as unknown as Stream
  return {
    stream,
    push: (data) => { if (paused) held.push(data); else deliver(data) },
    paused: () => paused
  }
}

describe('resumable data path', () => {
  it('writes the sends of one turn to the path in one stream write, and the receiver gets every byte in order', async () => {
    const { client, server, writes } = await resumablePair()
    writes.length = 0
    const payload = randomBytes(300_000)
    // ten sends in one turn of the event loop
    for (let i = 0; i < payload.byteLength; i += 30_000) expect(client.send(payload.subarray(i, i + 30_000))).toBe(true)
    const closing = client.close()
    expect(writes).toEqual([])
    const received = readAll(server)
    await closing
    // one write: two DATA frames (at most 256 KiB of payload each) and the FIN, framed
    expect(writes).toHaveLength(1)
    expect(writes[0]).toBeGreaterThan(payload.byteLength)
    expect(writes[0]).toBeLessThan(payload.byteLength + 32)
    expect(sha(await received)).toBe(sha(payload))
  })

  it('writes the sends of separate callbacks of one event-loop phase in one write, as a proxy gets socket reads', async () => {
    const { client, server, writes } = await resumablePair()
    writes.length = 0
    const payload = randomBytes(120_000)
    // four callbacks of one check phase, each one send: Node runs the microtasks between them, as it
    // does between the reads of a socket that libuv makes in one poll phase
    await new Promise<void>((resolve) => {
      for (let i = 0; i < 4; i++) {
        setImmediate(() => {
          expect(client.send(payload.subarray(i * 30_000, (i + 1) * 30_000))).toBe(true)
          if (i === 3) resolve()
        })
      }
    })
    const received = readAll(server)
    await client.close()
    // one write: the four sends' DATA frame and the FIN
    expect(writes).toHaveLength(1)
    expect(writes[0]).toBeGreaterThan(payload.byteLength)
    expect(writes[0]).toBeLessThan(payload.byteLength + 32)
    expect(sha(await received)).toBe(sha(payload))
  })

  it('writes at once, without waiting for the turn to end, once a megabyte is pending', async () => {
    const { client, writes } = await resumablePair()
    writes.length = 0
    const chunk = new Uint8Array(64 << 10)
    for (let i = 0; i < 16; i++) client.send(chunk)
    expect(writes).toHaveLength(1)
    expect(writes[0]).toBeGreaterThanOrEqual(1 << 20)
  })

  it('hands large received DATA payloads to the application as views of the received chunks, not copies', async () => {
    const { client, server } = await resumablePair()
    // three DATA frames (256 KiB, 256 KiB, the rest) in one write, so in one received chunk here
    const payload = randomBytes(600_000)
    client.send(payload)
    await client.close()
    const chunks: Uint8Array[] = []
    for await (const chunk of server) chunks.push(chunk)
    expect(sha(Buffer.concat(chunks))).toBe(sha(payload))
    // one chunk per frame, each a view of the one buffer the write arrived in: no copy, no concatenation
    expect(chunks.map(c => c.byteLength)).toEqual([MAX_DATA_PAYLOAD_BYTES, MAX_DATA_PAYLOAD_BYTES, payload.byteLength - 2 * MAX_DATA_PAYLOAD_BYTES])
    expect(chunks.every(c => c.buffer === chunks[0]!.buffer && c.byteOffset > 0)).toBe(true)
  })
})

describe('acknowledgements', () => {
  it('acknowledges at once when a quarter of the send window was consumed, not before', async () => {
    const window = 64 << 10
    const { client, server, acks } = await resumablePair({ sendWindow: window })
    const reader = server[Symbol.asyncIterator]()
    client.send(new Uint8Array(4096))
    let consumed = await consume(reader, 4096)
    expect(acks).toEqual([]) // a small consumption waits (ACK_DELAY_MS) for more
    client.send(new Uint8Array(window - 4096))
    consumed = await consume(reader, window / 4, consumed)
    expect(acks).toEqual([consumed])
  })

  it('with the default 4 MiB window, acknowledges every ACK_EVERY_BYTES (1 MiB) consumed', async () => {
    const { client, server, acks } = await resumablePair()
    const reader = server[Symbol.asyncIterator]()
    client.send(new Uint8Array(3 << 20))
    let consumed = await consume(reader, 512 << 10)
    expect(acks).toEqual([])
    consumed = await consume(reader, ACK_EVERY_BYTES, consumed)
    expect(acks).toEqual([consumed])
    consumed = await consume(reader, acks[0]! + ACK_EVERY_BYTES, consumed)
    expect(acks).toEqual([acks[0], consumed])
  })
})

describe('StreamReader', () => {
  it('returns a frame that spans several chunks as views of those chunks', async () => {
    const { stream, push } = fakeStream()
    const reader = new StreamReader(stream)
    const body = randomBytes(1000)
    const framed = lengthPrefixed(Uint8Array.from([FrameType.DATA, ...body]))
    const a = framed.slice(0, 400)
    const b = framed.slice(400)
    const reading = reader.readFrameList(2000, 'data')
    push(a)
    push(b)
    const list = await reading
    expect(Buffer.from(list.subarray())).toEqual(Buffer.from([FrameType.DATA, ...body]))
    const views = [...list]
    expect(views.map(v => v.buffer)).toEqual([a.buffer, b.buffer])
  })

  it('resumes a paused stream when the queue holds only part of a frame, however large that part', async () => {
    const { stream, push, paused } = fakeStream()
    const reader = new StreamReader(stream)
    const max = 1 + MAX_DATA_PAYLOAD_BYTES
    const frame = (fill: number): Uint8Array => lengthPrefixed(new Uint8Array(max).fill(fill))
    // one message over the pause threshold (1 MiB): four whole frames, then all but one byte of a fifth
    const fifth = frame(5)
    push(Buffer.concat([frame(1), frame(2), frame(3), frame(4), fifth.subarray(0, fifth.byteLength - 1)]))
    expect(paused()).toBe(true)
    for (let i = 1; i <= 4; i++) expect((await reader.readFrameList(max, 'data')).get(0)).toBe(i)
    // what is left (a frame less one byte) is above the resume threshold (256 KiB), yet the reader needs more
    const reading = reader.readFrameList(max, 'data')
    push(fifth.subarray(fifth.byteLength - 1))
    const last = await reading
    expect(last.byteLength).toBe(max)
    expect(paused()).toBe(false)
  })

  it('refuses a frame longer than the bound from its length prefix alone', async () => {
    const { stream, push } = fakeStream()
    const reader = new StreamReader(stream)
    const reading = reader.readFrameList(100, 'data')
    push(Uint8Array.from([0xc8, 0x01])) // 200
    await expect(reading).rejects.toMatchObject({ name: 'FrameTooLargeError' })
  })
})

describe('takeChunk', () => {
  it('hands on a large first buffer as it is', () => {
    const big = new Uint8Array(64 << 10).fill(1)
    const list = new Uint8ArrayList(big, new Uint8Array(10))
    expect(takeChunk(list)).toBe(big)
    expect(list.byteLength).toBe(10)
  })

  it('gathers small buffers into one chunk, stopping before a large one', () => {
    const big = new Uint8Array(64 << 10)
    const list = new Uint8ArrayList(Uint8Array.from([1, 2]), Uint8Array.from([3]), new Uint8Array(0), Uint8Array.from([4, 5]), big)
    expect([...takeChunk(list)]).toEqual([1, 2, 3, 4, 5])
    const rest = takeChunk(list)
    expect(rest.buffer).toBe(big.buffer)
    expect(rest.byteLength).toBe(big.byteLength)
    expect(list.byteLength).toBe(0)
  })

  it('skips empty buffers in front of the next chunk', () => {
    const big = new Uint8Array(64 << 10)
    const list = new Uint8ArrayList(new Uint8Array(0), big)
    expect(takeChunk(list)).toBe(big)
    expect(list.byteLength).toBe(0)
  })
})
