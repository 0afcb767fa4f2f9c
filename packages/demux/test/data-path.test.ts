import { createHash, randomBytes } from 'node:crypto'
import { Uint8ArrayList } from 'uint8arraylist'
import { describe, expect, it } from 'vitest'
import { MAX_DATA_PAYLOAD_BYTES, createDemux } from '../src/index.ts'
import { FrameType } from '../src/internal/data-frames.ts'
import { StreamReader, lengthPrefixed, takeChunk } from '../src/internal/reader.ts'
import { pair, peers, readAll, useStreams } from './fixtures.ts'
import type { Association } from '../src/index.ts'
import type { Stream } from '@libp2p/interface'

useStreams()

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex')

/** A resumable association over a stream pair whose initiator-side `send` calls are recorded. */
async function resumablePair (): Promise<{ client: Association, server: Association, writes: number[] }> {
  const responder = createDemux<string>()
  const serviceAid = responder.listen('echo')
  const [out, inb] = await pair()
  const writes: number[] = []
  const send = out.send.bind(out)
  out.send = (data) => { writes.push(data.byteLength); return send(data) }
  const client = createDemux<string>().open(out, serviceAid, peers.bob, { resume: { reconnect: async () => { throw new Error('no second path') } } })
  const { association: server } = await responder.accept(inb, peers.alice)
  await client.accepted
  return { client, server, writes }
}

/** A stand-in for a libp2p stream that only delivers the messages a test pushes. */
function fakeStream (): { stream: Stream, push: (data: Uint8Array | Uint8ArrayList) => void } {
  const target = new EventTarget()
  const stream = Object.assign(target, { status: 'open', remoteWriteStatus: 'writable', pause () {}, resume () {} }) as unknown as Stream
  return {
    stream,
    push: (data) => { target.dispatchEvent(Object.assign(new Event('message'), { data })) }
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
