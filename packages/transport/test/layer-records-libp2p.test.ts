// The record side channel on real libp2p connections over TCP under the
// unobservable layer (spec/unobservable.md#records): found from libp2p's
// Connection, records both ways interleaved with a Yamux stream's data, the
// largest record, and the closed connection.
import { createHash, randomBytes } from 'node:crypto'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { tcp } from '@libp2p/tcp'
import { createLibp2p } from 'libp2p'
import { afterEach, describe, expect, it } from 'vitest'
import { createNode, dialEntity, layerRecords } from '../src/index.ts'
import { LAYER_RECORDS } from '../src/constants.ts'
import type { LayerRecords, UnobservableInit } from '../src/index.ts'
import type { Connection, Libp2p, Stream } from '@libp2p/interface'

const PROTOCOL = '/fara-test/records/1'
const nodes: Libp2p[] = []
afterEach(async () => { await Promise.all(nodes.splice(0).map(async n => n.stop())) })

interface End { connection: Connection, stream: Stream, records: LayerRecords, received: Uint8Array[] }

/** A client connected to a server over TCP, a stream open between them, and what each reads of it. */
async function connected (unobservable?: UnobservableInit): Promise<{ client: End, server: End }> {
  const server = await createNode({ privateKey: await generateKeyPair('Ed25519'), listen: ['/ip4/127.0.0.1/tcp/0'], ...(unobservable == null ? {} : { unobservable }) })
  const client = await createNode({ privateKey: await generateKeyPair('Ed25519'), listen: [], ...(unobservable == null ? {} : { unobservable }) })
  nodes.push(server, client)
  const inbound = new Promise<Stream>((resolve) => { void server.handle(PROTOCOL, (stream) => { resolve(stream) }) })
  const connection = await dialEntity(client, server.peerId, server.getMultiaddrs())
  const stream = await connection.newStream(PROTOCOL)
  stream.send(new Uint8Array([1])) // the server's handler runs once the stream's first data arrives
  const remote = await inbound
  const end = (connection: Connection, stream: Stream): End => {
    const records = layerRecords(connection)
    if (records == null) throw new Error('no record side channel on a connection under the layer')
    const received: Uint8Array[] = []
    stream.addEventListener('message', (evt) => { received.push(evt.data.subarray()) })
    return { connection, stream, records, received }
  }
  return { client: end(connection, stream), server: end(server.getConnections(client.peerId)[0]!, remote) }
}

/** Small stream writes both ways until both sending directions are in passthrough, and until those writes arrived. */
async function untilPassthrough (client: End, server: End): Promise<number> {
  let writes = 0
  while (!(client.records.sending && server.records.sending)) {
    if (writes++ > 200) throw new Error('no passthrough after 200 writes each way')
    client.stream.send(new Uint8Array([2]))
    server.stream.send(new Uint8Array([3]))
    await new Promise(resolve => setTimeout(resolve, 1))
  }
  await expect.poll(() => [total(server.received), total(client.received)]).toEqual([1 + writes, writes])
  return writes
}

const digest = (parts: Uint8Array[]): string => parts.reduce((h, p) => h.update(p), createHash('sha256')).digest('hex')
const total = (parts: Uint8Array[]): number => parts.reduce((n, p) => n + p.byteLength, 0)

/** Send `records` on `channel` interleaved with stream writes, minding backpressure; returns the stream bytes written. */
async function sendInterleaved (from: End, channel: number, records: Uint8Array[]): Promise<Uint8Array[]> {
  const written: Uint8Array[] = []
  for (const [i, record] of records.entries()) {
    if (!from.records.send(channel, record)) await from.records.onDrain()
    const data = randomBytes(i % 3 === 0 ? 70_000 : 100)
    written.push(data)
    if (!from.stream.send(data)) await from.stream.onDrain()
  }
  return written
}

describe('layer records on a real libp2p connection', () => {
  it('is found from libp2p\'s Connection, refuses records before passthrough, and carries records both ways, interleaved with stream data, whole and in order (default padding)', async () => {
    const { client, server } = await connected()
    // libp2p's Connection keeps the raw connection under the layer in `maConn`: a libp2p upgrade
    // that changes this makes layerRecords() return undefined, and this test fail
    expect((client.connection as unknown as { maConn?: unknown }).maConn).toBeDefined()
    expect(client.records.sending).toBe(false) // 16 padded writes first
    expect(() => client.records.send(1, new Uint8Array(10))).toThrow(expect.objectContaining({ name: 'LayerRecordsError', reason: 'not-passthrough' }))
    const writes = await untilPassthrough(client, server)
    expect(writes).toBeGreaterThan(3)

    const toServer = server.records.newChannel()
    const toClient = client.records.newChannel()
    const other = server.records.newChannel()
    const got = { server: [] as Uint8Array[], client: [] as Uint8Array[], other: [] as Uint8Array[] }
    server.records.listen(toServer, (r) => { got.server.push(r.subarray()) })
    server.records.listen(other, (r) => { got.other.push(r.subarray()) })
    client.records.listen(toClient, (r) => { got.client.push(r.subarray()) })
    const sizes = [1, 15, 16, 17, 1000, 65_535, 65_536, 65_537, 1 << 20, LAYER_RECORDS.maxRecordBytes, 3, 300_000]
    const up = sizes.map(n => randomBytes(n))
    const down = sizes.slice().reverse().map(n => randomBytes(n))
    const upOther = [randomBytes(5000), randomBytes(7)]
    const streamBefore = { server: total(server.received), client: total(client.received) }
    const [streamUp, streamDown] = await Promise.all([
      sendInterleaved(client, toServer, up).then(async (written) => { for (const r of upOther) client.records.send(other, r); return written }),
      sendInterleaved(server, toClient, down)
    ])
    await expect.poll(() => got.server.length + got.client.length + got.other.length, { timeout: 20_000 }).toBe(2 * sizes.length + upOther.length)
    expect(got.server.map(r => r.byteLength)).toEqual(sizes)
    expect(digest(got.server)).toBe(digest(up))
    expect(digest(got.client)).toBe(digest(down))
    expect(digest(got.other)).toBe(digest(upOther))
    // the stream's bytes all arrived too, unchanged
    await expect.poll(() => total(server.received) - streamBefore.server, { timeout: 20_000 }).toBe(total(streamUp))
    await expect.poll(() => total(client.received) - streamBefore.client, { timeout: 20_000 }).toBe(total(streamDown))
    expect(Buffer.concat(server.received).subarray(-total(streamUp)).equals(Buffer.concat(streamUp))).toBe(true)
    expect(Buffer.concat(client.received).subarray(-total(streamDown)).equals(Buffer.concat(streamDown))).toBe(true)
    expect(server.records.dropped + client.records.dropped).toBe(0)
    expect(client.connection.status).toBe('open')
  })

  it('passes a 1 MiB record intact after one padded write, and drops and counts records nobody listens to', async () => {
    const { client, server } = await connected({ padding: { writes: 1 } })
    await untilPassthrough(client, server)
    const channel = server.records.newChannel()
    const got: Uint8Array[] = []
    const chunks: number[] = []
    server.records.listen(channel, (r) => { chunks.push([...r].length); got.push(r.subarray()) })
    const record = randomBytes(1 << 20)
    client.records.send(channel + 1 === 2 ** 32 ? 0 : channel + 1, randomBytes(100)) // nobody listens
    client.records.send(channel, record)
    await expect.poll(() => got.length, { timeout: 10_000 }).toBe(1)
    expect(Buffer.from(got[0]!).equals(record)).toBe(true)
    expect(server.records.dropped).toBe(1)
    expect(chunks[0]).toBeGreaterThan(1) // views of the socket's reads, not one copy
  })

  it('refuses to send after the connection closed, and rejects a pending onDrain when it closes', async () => {
    const { client, server } = await connected({ padding: { writes: 1 } })
    await untilPassthrough(client, server)
    // the remote reads in this process, so that records sent in one turn fill the kernel's buffers
    const record = randomBytes(LAYER_RECORDS.maxRecordBytes)
    let sent = 0
    while (client.records.send(1, record)) {
      if (++sent > 100) throw new Error('the socket never asked to wait')
    }
    const drained = client.records.onDrain()
    const aborted = new AbortController()
    const abortable = client.records.onDrain({ signal: aborted.signal })
    aborted.abort(new Error('gave up'))
    await expect(abortable).rejects.toThrow('gave up')
    client.connection.abort(new Error('gone'))
    await expect(drained).rejects.toMatchObject({ name: 'LayerRecordsError', reason: 'closed' })
    expect(client.records.sending).toBe(false)
    expect(() => client.records.send(1, new Uint8Array(10))).toThrow(expect.objectContaining({ name: 'LayerRecordsError', reason: 'closed' }))
    await expect(client.records.onDrain()).rejects.toMatchObject({ name: 'LayerRecordsError', reason: 'closed' })
    // and after a graceful close, on the other side
    await expect.poll(() => server.connection.status, { timeout: 10_000 }).not.toBe('open')
    expect(() => server.records.send(1, new Uint8Array(10))).toThrow(expect.objectContaining({ name: 'LayerRecordsError', reason: 'closed' }))
  })

  it('closes gracefully: send throws and onDrain rejects afterwards', async () => {
    const { client, server } = await connected({ padding: { writes: 1 } })
    await untilPassthrough(client, server)
    await client.connection.close()
    expect(() => client.records.send(1, new Uint8Array(10))).toThrow(expect.objectContaining({ name: 'LayerRecordsError', reason: 'closed' }))
    await expect(client.records.onDrain()).rejects.toMatchObject({ name: 'LayerRecordsError', reason: 'closed' })
  })

  it('is undefined for a connection without the layer', async () => {
    const make = async (listen: string[]): Promise<Libp2p> => createLibp2p({ privateKey: await generateKeyPair('Ed25519'), addresses: { listen }, transports: [tcp()], connectionEncrypters: [noise()], streamMuxers: [yamux()] })
    const a = await make(['/ip4/127.0.0.1/tcp/0'])
    const b = await make([])
    nodes.push(a, b)
    const connection = await b.dial(a.getMultiaddrs()[0]!)
    expect((connection as unknown as { maConn?: unknown }).maConn).toBeDefined()
    expect(layerRecords(connection)).toBeUndefined()
    expect(layerRecords({} as unknown as Connection)).toBeUndefined()
  })
})
