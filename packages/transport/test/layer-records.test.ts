// Records on a passthrough direction (spec/unobservable.md#records): the
// masker's escape through every split, its refusals, and the side channel of
// two WireConnections over an in-memory pair (queueing inside a Noise
// message, unknown channels, a malformed record aborting the connection).
import { randomBytes } from 'node:crypto'
import fc from 'fast-check'
import { Uint8ArrayList } from 'uint8arraylist'
import { describe, expect, it } from 'vitest'
import { LAYER_RECORDS } from '../src/constants.ts'
import { WireConnection } from '../src/internal/wire/connection.ts'
import { LengthMasker, RECORD_HEADER_BYTES } from '../src/internal/wire/frames.ts'
import { KeyStream } from '../src/internal/wire/keys.ts'
import { collect, handshake, turn, wirePair } from './wire-pair.ts'

const key = randomBytes(32)
const nonce = randomBytes(12)
const noiseMessage = (n: number): Buffer => Buffer.concat([Buffer.from([n >> 8, n & 0xff]), randomBytes(n)])

type Item = { kind: 'message', bytes: Buffer } | { kind: 'record', channel: number, body: Uint8Array }

/** The wire of `items` as a sender with records writes it. */
function send (items: Item[]): Buffer {
  const mask = new LengthMasker(new KeyStream(key, nonce), 'mask', {})
  const wire: Uint8Array[] = []
  for (const item of items) {
    if (item.kind === 'message') wire.push(...mask.transform(item.bytes))
    else wire.push(...mask.record(item.channel, item.body))
  }
  return Buffer.concat(wire)
}

/** What a receiver with records reads out of `wire` cut at `cuts`: the Noise stream and the records. */
function receive (wire: Uint8Array, cuts: number[]): { stream: Buffer, records: Array<{ channel: number, body: Buffer, chunks: number }> } {
  const records: Array<{ channel: number, body: Buffer, chunks: number }> = []
  const unmask = new LengthMasker(new KeyStream(key, nonce), 'unmask', {
    onRecord: (channel, record) => { records.push({ channel, body: Buffer.from(record.subarray()), chunks: [...record].length }) }
  })
  const stream: Uint8Array[] = []
  let at = 0
  for (const cut of [...cuts, wire.byteLength]) {
    const end = Math.min(wire.byteLength, Math.max(at, cut))
    stream.push(...unmask.transform(wire.subarray(at, end)))
    at = end
  }
  return { stream: Buffer.concat(stream), records }
}

/** The first `n` bytes of the length keystream, as both sides draw it. */
function lengthMask (n: number): Uint8Array {
  return new KeyStream(key, nonce).update(new Uint8Array(1024)).subarray(0, n)
}

describe('records in passthrough: the masker', () => {
  const sample: Item[] = [
    { kind: 'message', bytes: noiseMessage(16) },
    { kind: 'record', channel: 0xdeadbeef, body: randomBytes(5) },
    { kind: 'record', channel: 7, body: randomBytes(1) },
    { kind: 'message', bytes: noiseMessage(20) },
    { kind: 'record', channel: 7, body: randomBytes(12) },
    { kind: 'message', bytes: noiseMessage(300) }
  ]
  const wantStream = Buffer.concat(sample.flatMap(i => i.kind === 'message' ? [i.bytes] : []))
  const wantRecords = sample.flatMap(i => i.kind === 'record' ? [{ channel: i.channel, body: Buffer.from(i.body) }] : [])

  it('reads records between Noise messages through every split point (headers split at each byte, bodies split)', () => {
    const wire = send(sample)
    expect(wire.byteLength).toBe(wantStream.byteLength + 3 * RECORD_HEADER_BYTES + 5 + 1 + 12)
    for (let cut = 0; cut <= wire.byteLength; cut++) {
      const got = receive(wire, [cut])
      expect(got.stream.equals(wantStream)).toBe(true)
      expect(got.records.map(r => ({ channel: r.channel, body: r.body }))).toEqual(wantRecords)
    }
    // every pair of cuts: a header or a body in three pieces
    for (let a = 0; a <= wire.byteLength; a += 3) {
      for (let b = a; b <= wire.byteLength; b += 7) {
        const got = receive(wire, [a, b])
        expect(got.stream.equals(wantStream)).toBe(true)
        expect(got.records.map(r => ({ channel: r.channel, body: r.body }))).toEqual(wantRecords)
      }
    }
    // byte by byte: a record's body gathered as views, one per chunk
    const bytewise = receive(wire, Array.from({ length: wire.byteLength }, (_, i) => i))
    expect(bytewise.records.map(r => r.chunks)).toEqual([5, 1, 12])
  })

  it('round-trips any interleaving of messages and records through any split, and hides each header', () => {
    const item = fc.oneof(
      fc.integer({ min: 16, max: 3000 }).map((n): Item => ({ kind: 'message', bytes: noiseMessage(n) })),
      fc.record({ channel: fc.nat({ max: 2 ** 32 - 1 }), body: fc.uint8Array({ minLength: 1, maxLength: 5000 }) }).map((r): Item => ({ kind: 'record', ...r }))
    )
    fc.assert(fc.property(fc.array(item, { maxLength: 10 }), fc.array(fc.nat(20_000), { maxLength: 12 }), (items, cuts) => {
      const wire = send(items)
      const got = receive(wire, cuts.sort((a, b) => a - b))
      expect(got.stream.equals(Buffer.concat(items.flatMap(i => i.kind === 'message' ? [i.bytes] : [])))).toBe(true)
      expect(got.records.map(r => ({ channel: r.channel, body: r.body }))).toEqual(items.flatMap(i => i.kind === 'record' ? [{ channel: i.channel, body: Buffer.from(i.body) }] : []))
      // bodies pass as they are; headers do not (but by chance)
      let p = 0
      for (const i of items) {
        if (i.kind === 'message') { p += i.bytes.byteLength; continue }
        const header = wire.subarray(p, p + RECORD_HEADER_BYTES)
        expect(header.readUInt32BE(6) === i.body.byteLength && header.readUInt16BE(0) === 0).toBe(false)
        p += RECORD_HEADER_BYTES
        expect(wire.subarray(p, p + i.body.byteLength).equals(i.body)).toBe(true)
        p += i.body.byteLength
      }
    }), { numRuns: 200 })
  })

  it('queues a record sent inside a Noise message libp2p wrote in part, and puts it out, in order, where the message ends', () => {
    const mask = new LengthMasker(new KeyStream(key, nonce), 'mask', {})
    const m1 = noiseMessage(100)
    const m2 = noiseMessage(40)
    const r1 = randomBytes(33)
    const r2 = new Uint8ArrayList(randomBytes(3), randomBytes(4))
    const wire: Uint8Array[] = []
    wire.push(...mask.transform(m1.subarray(0, 1))) // inside the length
    expect(mask.atBoundary).toBe(false)
    expect(mask.record(1, r1)).toEqual([])
    wire.push(...mask.transform(m1.subarray(1, 50))) // inside the body
    expect(mask.record(2, r2)).toEqual([])
    wire.push(...mask.transform(Buffer.concat([m1.subarray(50), m2.subarray(0, 10)]))) // ends m1 and starts m2 in one write
    wire.push(...mask.transform(m2.subarray(10)))
    expect(mask.atBoundary).toBe(true)
    const got = receive(Buffer.concat(wire), [])
    expect(got.stream.equals(Buffer.concat([m1, m2]))).toBe(true)
    expect(got.records.map(r => ({ channel: r.channel, body: r.body }))).toEqual([{ channel: 1, body: r1 }, { channel: 2, body: Buffer.from(r2.subarray()) }])
  })

  it('refuses a masked length of 1 to 15, a record of 0 bytes and one over the maximum with LayerRecordsError, before gathering its body', () => {
    const masked = (plain: number[]): Buffer => Buffer.from(plain.map((b, i) => b ^ lengthMask(plain.length)[i]!))
    const header = (length: number): number[] => [0, 0, 0, 0, 0, 9, length >>> 24, (length >>> 16) & 0xff, (length >>> 8) & 0xff, length & 0xff]
    const cases = [
      ...Array.from({ length: 15 }, (_, i) => masked([0, i + 1])),
      masked(header(0)),
      masked(header(LAYER_RECORDS.maxRecordBytes + 1)),
      masked(header(0xffffffff))
    ]
    for (const wire of cases) {
      for (const cut of [0, 1, wire.byteLength - 1]) {
        let err: unknown
        try { receive(wire, [cut]) } catch (e) { err = e }
        expect(err).toMatchObject({ name: 'LayerRecordsError', reason: 'malformed' })
      }
    }
    // the largest record is fine
    const big = randomBytes(LAYER_RECORDS.maxRecordBytes)
    const got = receive(send([{ kind: 'record', channel: 3, body: big }]), [4096, 1 << 20])
    expect(got.records).toHaveLength(1)
    expect(got.records[0]!.body.equals(big)).toBe(true)
  })

  it('refuses, at the sender, a Noise message too short to tell from a record (FrameError)', () => {
    for (const n of [0, 1, 15]) {
      const mask = new LengthMasker(new KeyStream(key, nonce), 'mask', {})
      expect(() => mask.transform(noiseMessage(n))).toThrow(expect.objectContaining({ name: 'FrameError' }))
    }
  })
})

// ---- two WireConnections over an in-memory pair


/** Changes a write on the initiator's raw connection: returns true once it has. */
interface Tamper { next?: ((chunks: Uint8Array[]) => boolean) | undefined }

/** Two ends through their handshake: afterwards both directions switch at their next write. */
async function pair (): Promise<{ initiator: WireConnection, listener: WireConnection, wire: Uint8Array[], tamper: Tamper }> {
  // what the initiator writes on its raw connection
  const wire: Uint8Array[] = []
  const tamper: Tamper = {}
  const { initiator, listener } = await wirePair(0, (data) => {
    const chunks = data instanceof Uint8Array ? [data] : [...data]
    if (tamper.next?.(chunks) === true) tamper.next = undefined
    for (const c of chunks) wire.push(Buffer.from(c))
  })
  await handshake(initiator, listener)
  return { initiator, listener, wire, tamper }
}

describe('records in passthrough: the connection', () => {
  it('sends records only once its sending direction is in passthrough, both ways, each in order on its channel, and unknown channels dropped and counted', async () => {
    const { initiator, listener, wire } = await pair()
    const ch = listener.records.newChannel()
    const back = initiator.records.newChannel()
    const atListener: Buffer[] = []
    const atInitiator: Buffer[] = []
    listener.records.listen(ch, (r) => { atListener.push(Buffer.from(r.subarray())) })
    const stopBack = initiator.records.listen(back, (r) => { atInitiator.push(Buffer.from(r.subarray())) })
    expect(() => listener.records.listen(ch, () => {})).toThrow(expect.objectContaining({ name: 'LayerRecordsError', reason: 'channel-in-use' }))
    // the listener has not written since its handshake message: it switches at its next write
    expect(listener.records.sending).toBe(false)
    expect(() => listener.records.send(back, randomBytes(10))).toThrow(expect.objectContaining({ name: 'LayerRecordsError', reason: 'not-passthrough' }))
    expect(initiator.records.sending).toBe(false)
    const messages = [noiseMessage(1000), noiseMessage(1000), noiseMessage(1000)]
    const before = 28 + 34 + 202 // the handshake's bytes, held for the first reader
    const streamToListener = collect(listener, before + 3 * 1002)
    initiator.send(messages[0]!)
    expect(initiator.records.sending).toBe(true)
    const sent: Buffer[] = []
    for (let i = 0; i < 20; i++) {
      const r = randomBytes(1 + i * 997)
      sent.push(r)
      initiator.records.send(ch, i % 2 === 0 ? r : new Uint8ArrayList(r.subarray(0, 1), r.subarray(1)))
      if (i === 5) initiator.send(messages[1]!)
      if (i === 9) initiator.records.send(12345, randomBytes(77)) // nobody listens
      if (i === 12) { initiator.send(messages[2]!); await turn() }
    }
    listener.send(noiseMessage(64))
    const sentBack = [randomBytes(3000), randomBytes(17)]
    for (const r of sentBack) listener.records.send(back, r)
    await expect.poll(() => atListener.length).toBe(20)
    await expect.poll(() => atInitiator.length).toBe(2)
    expect(atListener).toEqual(sent)
    expect(atInitiator).toEqual(sentBack)
    expect(listener.records.dropped).toBe(1)
    const stream = await streamToListener
    expect(stream.subarray(before).equals(Buffer.concat(messages))).toBe(true)
    // a channel stopped is unknown again
    stopBack()
    listener.records.send(back, randomBytes(5))
    await expect.poll(() => initiator.records.dropped).toBe(1)
    // what went on the wire: each record's body as it is, its header nowhere in clear
    const onWire = Buffer.concat(wire)
    for (const [i, r] of sent.entries()) {
      const plain = Buffer.alloc(8)
      plain.writeUInt32BE(ch, 0)
      plain.writeUInt32BE(r.byteLength, 4)
      expect(onWire.includes(plain)).toBe(false)
      if (i > 3) expect(onWire.includes(r)).toBe(true)
    }
    for (const c of [initiator, listener]) c.abort(new Error('done'))
  })

  it('checks what it is given: a channel outside u32, an empty or oversized record', async () => {
    const { initiator, listener } = await pair()
    initiator.send(noiseMessage(20))
    expect(initiator.records.sending).toBe(true)
    expect(() => initiator.records.send(-1, randomBytes(1))).toThrow(RangeError)
    expect(() => initiator.records.send(2 ** 32, randomBytes(1))).toThrow(RangeError)
    expect(() => initiator.records.send(1.5, randomBytes(1))).toThrow(RangeError)
    expect(() => initiator.records.send(1, new Uint8Array(0))).toThrow(RangeError)
    expect(() => initiator.records.send(1, new Uint8Array(LAYER_RECORDS.maxRecordBytes + 1))).toThrow(RangeError)
    expect(() => initiator.records.send(1, 'text' as unknown as Uint8Array)).toThrow(TypeError)
    expect(() => initiator.records.listen(2 ** 32, () => {})).toThrow(RangeError)
    const c = initiator.records.newChannel()
    expect(Number.isInteger(c) && c >= 0 && c < 2 ** 32).toBe(true)
    for (const conn of [initiator, listener]) conn.abort(new Error('done'))
    expect(initiator.records.sending).toBe(false)
    expect(() => initiator.records.send(1, randomBytes(1))).toThrow(expect.objectContaining({ name: 'LayerRecordsError', reason: 'closed' }))
    await expect(initiator.records.onDrain()).rejects.toMatchObject({ name: 'LayerRecordsError', reason: 'closed' })
  })

  it('aborts the connection with LayerRecordsError when the remote sends a malformed record header', async () => {
    const size = 20_000 // over the flights' gathering size: the record goes at once, ending a write
    // the header is masked by XOR: flipping bits of the wire flips the same bits of the plain header
    const edits: Array<{ at: number, xor: number[] }> = [
      { at: 6, xor: [0, 0, size >> 8, size & 0xff] }, // length 0
      { at: 6, xor: [0, (size ^ (LAYER_RECORDS.maxRecordBytes + 1)) >> 16, ((size ^ (LAYER_RECORDS.maxRecordBytes + 1)) >> 8) & 0xff, (size ^ (LAYER_RECORDS.maxRecordBytes + 1)) & 0xff] }, // over the maximum
      { at: 0, xor: [0, 5] } // not the escape: a length of 5
    ]
    for (const edit of edits) {
      const { initiator, listener, tamper } = await pair()
      initiator.send(noiseMessage(20))
      const closed = new Promise<unknown>(resolve => { listener.addEventListener('close', (evt) => { resolve((evt as unknown as { error?: Error }).error) }, { once: true }) })
      tamper.next = (chunks) => {
        // the record ends the write (what the first flights gathered goes before it, in the same write)
        const bytes = chunks.reduce((n, c) => n + c.byteLength, 0)
        if (bytes < RECORD_HEADER_BYTES + size) return false
        edit.xor.forEach((x, i) => {
          let at = bytes - size - RECORD_HEADER_BYTES + edit.at + i
          let c = 0
          while (at >= chunks[c]!.byteLength) at -= chunks[c++]!.byteLength
          chunks[c]![at]! ^= x
        })
        return true
      }
      listener.records.listen(1, () => { throw new Error('no record is delivered') })
      initiator.records.send(1, randomBytes(size))
      expect(await closed).toMatchObject({ name: 'LayerRecordsError', reason: 'malformed' })
      initiator.abort(new Error('done'))
    }
  })
})
