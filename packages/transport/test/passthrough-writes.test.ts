// How the layer groups its bytes into writes (spec/unobservable.md#passthrough,
// #records): the raw connection writes each buffer it is handed with its own
// socket.write, and with TCP_NODELAY a buffer written to an idle socket is a
// segment of its own; so no buffer the layer hands it is shorter than
// JOINED_BYTES unless it is the whole write, and a masked length or a record
// header is always in one buffer with the first bytes of its body. Checked on
// the regrouping itself, on two WireConnections over an in-memory pair, and on
// real libp2p nodes over TCP (the socket's writes during a bulk stream transfer
// and records).
import { randomBytes } from 'node:crypto'
import { generateKeyPair } from '@libp2p/crypto/keys'
import fc from 'fast-check'
import { Uint8ArrayList } from 'uint8arraylist'
import { describe, expect, it } from 'vitest'
import { createNode, dialEntity, layerRecords } from '../src/index.ts'
import { WireConnection } from '../src/internal/wire/connection.ts'
import { JOINED_BYTES, joinWrites } from '../src/internal/wire/flights.ts'
import { RECORD_HEADER_BYTES } from '../src/internal/wire/frames.ts'
import { resources } from './resources.ts'
import { collect, handshake, turn, wirePair } from './wire-pair.ts'
import type { Connection, Stream } from '@libp2p/interface'
import type { Socket } from 'node:net'

const total = (parts: Uint8Array[]): number => parts.reduce((n, p) => n + p.byteLength, 0)

/** Every buffer of every write is at least JOINED_BYTES long, or the write is one buffer. */
function expectNoShortPiece (writes: Uint8Array[][]): void {
  for (const write of writes) {
    if (write.length === 1) continue
    expect(write.map(b => b.byteLength).filter(n => n < JOINED_BYTES)).toEqual([])
  }
}

describe('joinWrites', () => {
  it('keeps the bytes, leaves no buffer shorter than JOINED_BYTES but a whole write, and copies a bounded share', () => {
    const piece = fc.oneof(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 3 * JOINED_BYTES }), fc.integer({ min: 0, max: 70_000 }))
    fc.assert(fc.property(fc.array(piece, { maxLength: 12 }), (sizes) => {
      // each piece in its own ArrayBuffer, to tell the views from the copies
      const pieces = sizes.map(n => new Uint8Array(randomBytes(n)))
      const out = joinWrites(pieces)
      expect(Buffer.concat(out).equals(Buffer.concat(pieces))).toBe(true)
      const bytes = total(pieces)
      if (bytes === 0) expect(out).toEqual([])
      else if (out.length > 1) expect(Math.min(...out.map(b => b.byteLength))).toBeGreaterThanOrEqual(JOINED_BYTES)
      // copied: the short pieces, and at most 2 * JOINED_BYTES of each long one, once before and once after
      const buffers = new Set(pieces.map(p => p.buffer))
      const copied = total(out.filter(b => !buffers.has(b.buffer as ArrayBuffer)))
      const short = total(pieces.filter(p => p.byteLength < JOINED_BYTES))
      const long = pieces.filter(p => p.byteLength >= JOINED_BYTES).length
      expect(copied).toBeLessThanOrEqual(short + long * 4 * JOINED_BYTES)
    }), { numRuns: 500 })
  })

  it('puts a Noise message\'s length with the first KiB of its body, and its tag with its last, copying about 2 KiB of 64 KiB', () => {
    const body = [randomBytes(12), randomBytes(65_507 - 12), randomBytes(16)] // Yamux header, data, tag: as libp2p-noise hands them
    const out = joinWrites([Buffer.from([1, 2]), ...body])
    expect(out.map(b => b.byteLength)).toEqual([2 + 12 + JOINED_BYTES, 65_507 - 12 - 2 * JOINED_BYTES, JOINED_BYTES + 16])
    expect(out[1]!.buffer).toBe(body[1]!.buffer)
  })
})

// ---- two WireConnections over an in-memory pair


/**
 * A libp2p-noise transport message of `n` bytes as libp2p-noise hands it on:
 * its length, then (at 1200 bytes and over, encrypted by node:crypto from
 * Yamux's header and data) the header's ciphertext, the data's, the tag.
 */
function noisePieces (n: number): { pieces: Uint8Array[], body: Buffer } {
  const body = randomBytes(n)
  const length = Buffer.from([n >> 8, n & 0xff])
  if (n < 1200) return { pieces: [length, body], body }
  return { pieces: [length, body.subarray(0, 12), body.subarray(12, n - 16), body.subarray(n - 16)], body }
}

/** Two ends through their handshake, the initiator's raw writes recorded; both directions switch at their next write. */
async function pair (): Promise<{ initiator: WireConnection, listener: WireConnection, writes: Uint8Array[][] }> {
  const writes: Uint8Array[][] = []
  const { initiator, listener } = await wirePair(0, (data) => {
    writes.push((data instanceof Uint8Array ? [data] : [...data]).map(c => Buffer.from(c)))
  })
  await handshake(initiator, listener)
  return { initiator, listener, writes }
}

/**
 * Each body's masked length (or record header, `head` bytes) is in the same
 * buffer as the first min(its size, JOINED_BYTES) bytes of the body: found on
 * the wire by their bytes, which pass as they are.
 */
function expectHeadsWithBodies (writes: Uint8Array[][], bodies: Array<{ body: Uint8Array, head: number }>): void {
  const buffers = writes.flat()
  const wire = Buffer.concat(buffers)
  const starts: number[] = []
  let at = 0
  for (const b of buffers) { starts.push(at); at += b.byteLength }
  const bufferAt = (offset: number): number => {
    let lo = 0
    let hi = starts.length - 1
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1
      if (starts[mid]! <= offset) lo = mid
      else hi = mid - 1
    }
    return lo
  }
  for (const { body, head } of bodies) {
    // records and libp2p's writes are not ordered against each other (a record may pass stream bytes the layer's own write buffer holds)
    const o = wire.indexOf(body.subarray(0, Math.min(body.byteLength, 64)))
    expect(o).toBeGreaterThanOrEqual(head)
    expect(wire.subarray(o, o + body.byteLength).equals(body)).toBe(true)
    expect(bufferAt(o - head)).toBe(bufferAt(o + Math.min(body.byteLength, JOINED_BYTES) - 1))
  }
}

describe('the connection\'s writes in passthrough', () => {
  it('hands the raw connection no short buffer but a whole write: Noise messages in libp2p-noise\'s pieces, records whole, in the demux\'s three parts, and small', async () => {
    const { initiator, listener, writes } = await pair()
    writes.length = 0
    const channel = listener.records.newChannel()
    const records: Buffer[] = []
    listener.records.listen(channel, (r) => { records.push(Buffer.from(r.subarray())) })
    const sent: Array<{ body: Uint8Array, head: number }> = []
    const stream: Buffer[] = []
    const sendMessages = (sizes: number[]): void => {
      const all = sizes.map(noisePieces)
      for (const m of all) {
        sent.push({ body: m.body, head: 2 })
        stream.push(Buffer.from(m.pieces[0]!), m.body)
      }
      initiator.send(new Uint8ArrayList(...all.flatMap(m => m.pieces)))
    }
    const sendRecord = (body: Buffer, parts: 'whole' | 'demux' | 'split'): void => {
      sent.push({ body, head: RECORD_HEADER_BYTES })
      const n = body.byteLength
      const record = parts === 'whole'
        ? body
        : parts === 'demux' // the demux's: the first KiB, the middle as a view, the last KiB and the tag copied together
          ? new Uint8ArrayList(body.subarray(0, 1024), body.subarray(1024, n - 1040), Buffer.from(body.subarray(n - 1040)))
          : new Uint8ArrayList(body.subarray(0, 3), body.subarray(3, n - 5), body.subarray(n - 5))
      initiator.records.send(channel, record)
    }
    const expected = 28 + 34 + 202 // the handshake's bytes, held for the first reader
    sendMessages([65_535, 65_535, 65_535]) // the first of these writes switches: SWITCH frame, masked length, body
    expect(initiator.passthrough.sending).toBe(true)
    sendMessages([40_000, 30])
    sendRecord(randomBytes(200_000), 'whole')
    sendRecord(randomBytes(100_000), 'demux')
    sendRecord(randomBytes(20_000), 'split')
    sendMessages([65_535])
    sendRecord(randomBytes(40), 'whole') // an ACK: a whole write shorter than JOINED_BYTES
    sendMessages([16]) // the shortest Noise message
    await turn()
    sendMessages([1500, 65_535, 17])
    sendRecord(randomBytes(3000), 'whole')
    const want = Buffer.concat(stream)
    const got = await collect(listener, expected + want.byteLength)
    expect(got.subarray(expected).equals(want)).toBe(true)
    await expect.poll(() => records.length).toBe(5)

    expectNoShortPiece(writes)
    expectHeadsWithBodies(writes, sent)
    // the only short buffers are whole writes: the ACK record, and the 16-byte message unless it
    // waited behind backpressure in the layer's write buffer, with what libp2p wrote after it
    const short = writes.filter(w => total(w) < JOINED_BYTES)
    expect(short.every(w => w.length === 1)).toBe(true)
    expect(short.map(total).filter(n => n !== 2 + 16)).toEqual([RECORD_HEADER_BYTES + 40])
    for (const c of [initiator, listener]) c.abort(new Error('done'))
  })
})

// ---- real libp2p nodes over TCP

const PROTOCOL = '/fara-test/passthrough-writes/1'

interface Watched { sends: Uint8Array[][], socketWrites: number[] }

/** Record what the layer hands `connection`'s raw TCP connection (its `send`) and what that writes on its socket. */
function watch (connection: Connection): Watched {
  const raw = (connection as unknown as { maConn: { send: (data: Uint8Array | Uint8ArrayList) => boolean, socket: Socket } }).maConn
  const watched: Watched = { sends: [], socketWrites: [] }
  const send = raw.send.bind(raw)
  raw.send = (data) => {
    watched.sends.push(data instanceof Uint8Array ? [data] : [...data])
    return send(data)
  }
  const socket = raw.socket
  const write = socket.write.bind(socket) as (...args: unknown[]) => boolean
  socket.write = ((...args: unknown[]) => {
    watched.socketWrites.push((args[0] as Uint8Array).byteLength)
    return write(...args)
  }) as typeof socket.write
  return watched
}

/** The socket's writes shorter than JOINED_BYTES are each a whole write of the layer's. */
function expectShortSocketWritesWhole (watched: Watched): void {
  const whole = watched.sends.filter(w => w.length === 1).map(w => w[0]!.byteLength).filter(n => n < JOINED_BYTES)
  const short = watched.socketWrites.filter(n => n < JOINED_BYTES)
  const left = new Map<number, number>()
  for (const n of whole) left.set(n, (left.get(n) ?? 0) + 1)
  for (const n of short) {
    expect(left.get(n) ?? 0, `a socket write of ${n} bytes that is not a whole write of the layer's`).toBeGreaterThan(0)
    left.set(n, left.get(n)! - 1)
  }
}

describe('passthrough writes on real libp2p nodes over TCP', () => {
  const r = resources()

  it('writes no short buffer on the socket but a whole small write, during a multi-MiB stream transfer and records', async () => {
    const unobservable = { padding: { writes: 1 } }
    const server = await createNode({ privateKey: await generateKeyPair('Ed25519'), listen: ['/ip4/127.0.0.1/tcp/0'], unobservable })
    const client = await createNode({ privateKey: await generateKeyPair('Ed25519'), listen: [], unobservable })
    r.nodes.push(server, client)
    let received = 0
    const inbound = new Promise<Stream>((resolve) => {
      void server.handle(PROTOCOL, (stream) => {
        stream.addEventListener('message', (evt) => { received += evt.data.byteLength })
        resolve(stream)
      })
    })
    const connection = await dialEntity(client, server.peerId, server.getMultiaddrs())
    const watched = watch(connection)
    const stream = await connection.newStream(PROTOCOL)
    stream.send(new Uint8Array([1]))
    await inbound
    const records = layerRecords(connection)!
    const serverRecords = layerRecords(server.getConnections(client.peerId)[0]!)!
    await expect.poll(() => records.sending).toBe(true)

    // the stream: 8 MiB in writes of 256 KiB, minding backpressure
    const MiB = 1 << 20
    for (let i = 0; i < 32; i++) {
      if (!stream.send(randomBytes(256 * 1024))) await stream.onDrain()
    }
    await expect.poll(() => received, { timeout: 20_000 }).toBe(1 + 8 * MiB)

    // records: whole, in the demux's three parts, and a small one (an ACK), between stream writes
    const channel = serverRecords.newChannel()
    let got = 0
    serverRecords.listen(channel, (record) => { got += record.byteLength })
    let bytes = 0
    for (let i = 0; i < 24; i++) {
      const n = [MiB, 100_000, 40, 65_536][i % 4]!
      const body = randomBytes(n)
      const record = i % 4 === 1 ? new Uint8ArrayList(body.subarray(0, 1024), body.subarray(1024, n - 1040), Buffer.from(body.subarray(n - 1040))) : body
      bytes += n
      if (!records.send(channel, record)) await records.onDrain()
      if (i % 5 === 0 && !stream.send(randomBytes(70_000))) await stream.onDrain()
    }
    await expect.poll(() => got, { timeout: 20_000 }).toBe(bytes)

    const passthrough = watched.sends.filter(w => w.length > 1)
    expect(passthrough.length).toBeGreaterThan(20)
    expectNoShortPiece(watched.sends)
    expectShortSocketWritesWhole(watched)
    expect(Math.max(...watched.socketWrites)).toBeGreaterThan(32 * 1024)
  })
})
