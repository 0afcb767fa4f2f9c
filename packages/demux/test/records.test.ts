// The record path of a resumable association (spec/resumption.md#records),
// over real libp2p stream pairs, with a record side channel that delivers
// each record synchronously as it is sent: the worst order a connection can
// give (records overtaking the stream bytes written before them). The real
// side channel, the unobservable layer's, is tested with real nodes in
// packages/transport/test and test/records.test.ts.
import { createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { Uint8ArrayList } from 'uint8arraylist'
import { readAll } from '@fara/testkit'
import { ReplyCode, createDemux, decodeOpen, decodeReply, encodeOpen, encodeReply, randomAid } from '../src/index.ts'
import { FrameType, appendDataFrame, decodeDataPhaseFrame, finFrame, movedFrame, recordsFrame } from '../src/internal/data-frames.ts'
import { StreamReader, lengthPrefixed } from '../src/internal/reader.ts'
import { PathRecords } from '../src/internal/records.ts'
import { MAX_OPEN_FRAME_BYTES, MAX_REPLY_FRAME_BYTES, RECORD_PLAINTEXT_BYTES, RESUME_NONCE_BYTES } from '../src/constants.ts'
import { resumeKey } from '../src/internal/resume-keys.ts'
import { echo, pair, peers, sendAll, useStreams } from './fixtures.ts'
import { cpuinfoHasAes } from '../src/internal/record-cipher.ts'
import type { Association, RecordCipher, RecordLink, RecordsOf } from '../src/index.ts'
import type { Stream } from '@libp2p/interface'

useStreams()

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex')

/** One end of an in-memory record side channel. */
class End implements RecordLink {
  sending: boolean
  peer!: End
  dead = false
  readonly listeners = new Map<number, (record: Uint8ArrayList) => void>()
  /** Bytes of records this end sent. */
  sent = 0
  /** Flip a bit in the next record this end sends. */
  tamper = false

  constructor (sending: boolean) { this.sending = sending }

  newChannel (): number {
    let c
    do c = randomBytes(4).readUInt32BE(0); while (this.listeners.has(c))
    return c
  }

  listen (channel: number, onRecord: (record: Uint8ArrayList) => void): () => void {
    if (this.listeners.has(channel)) throw new Error('channel taken')
    this.listeners.set(channel, onRecord)
    return () => { this.listeners.delete(channel) }
  }

  send (channel: number, record: Uint8Array | Uint8ArrayList): boolean {
    if (!this.sending || this.dead) throw new Error('cannot send records')
    const copy = new Uint8ArrayList(record instanceof Uint8Array ? record : record.subarray())
    this.sent += copy.byteLength
    if (this.tamper) {
      this.tamper = false
      const bytes = copy.subarray()
      bytes[0]! ^= 1
      this.peer.listeners.get(channel)?.(new Uint8ArrayList(bytes))
      return true
    }
    // delivered at once: ahead of stream bytes written before it, which go through the stream pair
    this.peer.listeners.get(channel)?.(copy)
    return true
  }

  async onDrain (): Promise<void> {
    if (this.dead) throw new Error('connection closed')
  }
}

function endsFor (sending = true): [End, End] {
  const a = new End(sending)
  const b = new End(sending)
  a.peer = b
  b.peer = a
  return [a, b]
}

interface Linked {
  association: Association
  accepted: Promise<Association>
  /** Record side channels of each path so far: [initiator end, responder end]. */
  links: Array<[End, End]>
  paths: () => number
  cut: () => void
}

/** An initiator and a responder on stream pairs, each pair with its record side channel (or none when `records` is false). */
async function linked (options: { sending?: boolean, records?: boolean, ciphers?: [RecordCipher, RecordCipher] } = {}): Promise<Linked> {
  const initiator = createDemux<string>(options.ciphers == null ? {} : { recordCipher: options.ciphers[0] })
  const responder = createDemux<string>(options.ciphers == null ? {} : { recordCipher: options.ciphers[1] })
  const serviceAid = responder.listen('echo')
  const links: Array<[End, End]> = []
  const byStream = new Map<Stream, End>()
  const recordsOf: RecordsOf = (stream) => options.records === false ? undefined : byStream.get(stream)
  let current: [Stream, Stream]
  const newPath = async (): Promise<[Stream, Stream]> => {
    const [o, i] = await pair()
    const ends = endsFor(options.sending ?? true)
    links.push(ends)
    byStream.set(o, ends[0])
    byStream.set(i, ends[1])
    current = [o, i]
    return current
  }
  const [out, inb] = await newPath()
  const accepted = responder.accept(inb, peers.alice, { records: recordsOf }).then(({ association }) => association)
  const association = initiator.open(out, serviceAid, peers.bob, {
    records: recordsOf,
    resume: {
      reconnect: async () => {
        const [o, i] = await newPath()
        responder.resume(i, peers.alice, { records: recordsOf }).catch(() => {})
        return o
      }
    }
  })
  return {
    association,
    accepted,
    links,
    paths: () => links.length,
    cut: () => {
      const ends = links.at(-1)!
      ends[0].dead = true
      ends[1].dead = true
      current[0].abort(new Error('connection lost'))
      current[1].abort(new Error('connection lost'))
    }
  }
}


const onRecords = (a: Association): boolean => (a as unknown as { onRecords: boolean }).onRecords

describe('the record path of a resumable association', () => {
  it('moves both directions onto records and echoes 8 MiB intact', async () => {
    const l = await linked()
    const payload = randomBytes(8 << 20)
    const server = await l.accepted
    let movedMidway = false
    const sending = sendAll(l.association, payload, 64 << 10, (sent) => { if (sent === 4 << 20) movedMidway = onRecords(l.association) && onRecords(server) }, true)
    const [, received] = await Promise.all([sending, readAll(l.association), echo(server)])
    expect(sha(received)).toBe(sha(payload))
    expect(movedMidway).toBe(true)
    // most bytes went as records, both ways: the stream carried the Open, the Reply, and what the
    // initiator sent before the responder's RECORDS frame reached it (its first flights, up to its window)
    const [ini, resp] = l.links[0]!
    expect(ini.sent).toBeGreaterThan(payload.byteLength * 0.8)
    expect(resp.sent).toBeGreaterThan(payload.byteLength * 0.8)
    await Promise.all([l.association.finished, server.finished])
  })

  it('keeps to the stream until its side of the connection can send records, then moves mid-transfer', async () => {
    const l = await linked({ sending: false })
    const payload = randomBytes(6 << 20)
    const sending = sendAll(l.association, payload, 64 << 10, (sent) => {
      if (sent === 2 << 20) { l.links[0]![0].sending = true; l.links[0]![1].sending = true }
    })
    const [, received] = await Promise.all([sending, readAll(l.association), l.accepted.then(echo)])
    expect(sha(received)).toBe(sha(payload))
    const [ini] = l.links[0]!
    expect(ini.sent).toBeGreaterThan(0)
    expect(ini.sent).toBeLessThan(payload.byteLength)
    await l.association.finished
  })

  it('resumes on new paths when the connection under the records is cut, and moves again: nothing lost, duplicated or reordered', async () => {
    const l = await linked()
    const payload = randomBytes(8 << 20)
    let cuts = 0
    const sending = sendAll(l.association, payload, 100_000, (sent) => {
      if (sent >= (cuts + 1) * (2 << 20) && cuts < 3 && l.paths() === cuts + 1) { cuts++; l.cut() }
    }, true)
    const [, received, server] = await Promise.all([sending, readAll(l.association), l.accepted.then(async a => { await echo(a); return a })])
    expect(cuts).toBe(3)
    expect(sha(received)).toBe(sha(payload))
    expect(l.association.resumptions).toBeGreaterThanOrEqual(3)
    // the resumed paths carried records too (each end moves once the other's RECORDS arrived on that path)
    for (const [ini, resp] of l.links.slice(1)) expect(ini.sent + resp.sent).toBeGreaterThan(0)
    await Promise.all([l.association.finished, server.finished])
  })

  it('treats a record that does not authenticate as a broken path: it resumes elsewhere, and the data is intact', async () => {
    const l = await linked()
    const payload = randomBytes(4 << 20)
    let tampered = false
    const sending = sendAll(l.association, payload, 64 << 10, (sent) => {
      if (!tampered && sent >= 1 << 20 && onRecords(l.association)) { tampered = true; l.links[0]![0].tamper = true }
    })
    const [, received] = await Promise.all([sending, readAll(l.association), l.accepted.then(echo)])
    expect(tampered).toBe(true)
    expect(sha(received)).toBe(sha(payload))
    expect(l.association.resumptions).toBeGreaterThanOrEqual(1)
    await l.association.finished
  })

  it('reads the records that came before a stream end seen before MOVED was read (their last frames, an ABORT among them)', async () => {
    const [out, inb] = await pair()
    const reader = new StreamReader(inb)
    // the peer moves, sends its last frames as records (delivered at once), and ends its stream
    out.send(movedFrame())
    await out.close()
    await expect.poll(() => inb.remoteWriteStatus).toBe('closed')
    expect(decodeDataPhaseFrame(await reader.readFrame(64, 'data')).type).toBe(FrameType.MOVED)
    const append = reader.follow()
    append(lengthPrefixed(Uint8Array.of(FrameType.ABORT, ...new TextEncoder().encode('bye'))))
    expect(decodeDataPhaseFrame(await reader.readFrame(64, 'data'))).toEqual({ type: FrameType.ABORT, reason: 'bye' })
    // once detached (the path is no longer the association's), what still comes is dropped
    reader.detach()
    append(lengthPrefixed(Uint8Array.of(FrameType.ABORT)))
    await expect(reader.readFrame(64, 'data')).rejects.toThrow()
  })

  it('stays on the stream where the connection has no record side channel', async () => {
    const l = await linked({ records: false })
    const payload = randomBytes(2 << 20)
    const [, received, server] = await Promise.all([sendAll(l.association, payload, 64 << 10), readAll(l.association), l.accepted.then(async a => { await echo(a); return a })])
    expect(sha(received)).toBe(sha(payload))
    expect(onRecords(l.association)).toBe(false)
    expect(onRecords(server)).toBe(false)
    expect(l.links[0]![0].sent + l.links[0]![1].sent).toBe(0)
  })

  it('offers no records to an initiator whose Open did not say it understands them', async () => {
    const responder = createDemux<string>()
    const serviceAid = responder.listen('echo')
    const [out, inb] = await pair()
    const [, resp] = endsFor()
    responder.accept(inb, peers.alice, { records: () => resp }).then(async ({ association }) => { await echo(association) }, () => {})
    // an initiator of before the record path: a version 2 Open without `records`
    const reader = new StreamReader(out)
    out.send(lengthPrefixed(encodeOpen({ aid: serviceAid, initiatorAid: randomAid(), resumeNonce: randomBytes(RESUME_NONCE_BYTES) })))
    const reply = decodeReply(await reader.readFrame(MAX_REPLY_FRAME_BYTES, 'Reply'))
    expect(reply.records).toBeUndefined()
    const data = new Uint8ArrayList()
    appendDataFrame(data, new TextEncoder().encode('hello'))
    out.send(data)
    out.send(finFrame(5))
    const types: number[] = []
    // the echo, its FIN and the ACKs: never a RECORDS frame
    while (!types.includes(FrameType.FIN)) {
      types.push(decodeDataPhaseFrame(await reader.readFrame(1 << 20, 'data')).type)
    }
    expect(types).toContain(FrameType.DATA)
    expect(types).not.toContain(FrameType.RECORDS)
    expect(resp.listeners.size).toBe(0)
  })

  describe('breaking its rules aborts the association with MalformedFrameError', () => {
    /** A hand-written initiator: Open (with or without `records`), then `frames`; resolves with the ABORT reason the responder sends. */
    async function rawOpen (records: boolean, link: End | undefined, then: (out: Stream, reader: StreamReader) => Promise<void>): Promise<string> {
      const responder = createDemux<string>()
      const serviceAid = responder.listen('echo')
      const [out, inb] = await pair()
      responder.accept(inb, peers.alice, { records: () => link }).then(async ({ association }) => { await readAll(association).catch(() => {}) }, () => {})
      const reader = new StreamReader(out)
      out.send(lengthPrefixed(encodeOpen({ aid: serviceAid, initiatorAid: randomAid(), resumeNonce: randomBytes(RESUME_NONCE_BYTES), ...(records ? { records: true } : {}) })))
      decodeReply(await reader.readFrame(MAX_REPLY_FRAME_BYTES, 'Reply'))
      await then(out, reader)
      while (true) {
        const frame = decodeDataPhaseFrame(await reader.readFrame(1 << 20, 'data'))
        if (frame.type === FrameType.ABORT) return frame.reason
      }
    }

    it('a RECORDS frame when the Open did not ask for records', async () => {
      const reason = await rawOpen(false, undefined, async (out) => { out.send(recordsFrame(7, randomBytes(16))) })
      expect(reason).toMatch(/did not agree on records/)
    })

    it('a MOVED frame to an end that offered no records', async () => {
      const reason = await rawOpen(true, undefined, async (out) => { out.send(movedFrame()) })
      expect(reason).toMatch(/offered no records/)
    })

    it('a byte on the stream after MOVED', async () => {
      const [ini, resp] = endsFor()
      void ini
      const reason = await rawOpen(true, resp, async (out, reader) => {
        // the responder's offer comes first; then move, and break the promise
        expect(decodeDataPhaseFrame(await reader.readFrame(64, 'data')).type).toBe(FrameType.RECORDS)
        const data = new Uint8ArrayList(movedFrame())
        appendDataFrame(data, Uint8Array.of(1, 2, 3))
        out.send(data)
      })
      expect(reason).toMatch(/after its MOVED frame/)
    })
  })

  it.each([
    ['chacha20-poly1305', 'fara/records/1'],
    ['aes-256-gcm', 'fara/records/aes-256-gcm/1']
  ] as Array<[RecordCipher, string]>)('seals %s records as spec/resumption.md#records says: HKDF(key, salt, "%s"), counter nonces, at most 1 MiB of frames per record', (cipher, info) => {
    const key = randomBytes(32)
    const salt = randomBytes(16)
    const sent: Array<{ channel: number, record: Uint8Array }> = []
    const onStream: Uint8Array[] = []
    const link: RecordLink = {
      sending: true,
      newChannel: () => 1,
      listen: () => () => {},
      send: (channel, record) => { sent.push({ channel, record: record instanceof Uint8Array ? record : record.subarray() }); return true },
      onDrain: async () => {}
    }
    const stream = { send: (data: Uint8Array) => { onStream.push(data); return true } } as unknown as Stream
    const records = new PathRecords(stream, link, key, cipher)
    records.accept(0xdeadbeef, salt)
    const frames = randomBytes(RECORD_PLAINTEXT_BYTES + 1000)
    records.send(frames)
    // MOVED went first, on the stream; then two records on the peer's channel
    expect(onStream.map(b => Buffer.from(b).toString('hex'))).toEqual([Buffer.from(lengthPrefixed(Uint8Array.of(FrameType.MOVED))).toString('hex')])
    expect(sent.map(s => [s.channel, s.record.byteLength])).toEqual([[0xdeadbeef, RECORD_PLAINTEXT_BYTES + 16], [0xdeadbeef, 1000 + 16]])
    // an independent reading of the spec's formula opens them
    const recordKey = Buffer.from(hkdfSync('sha256', key, salt, info, 32))
    const open = (record: Uint8Array, n: number): Buffer => {
      const nonce = Buffer.alloc(12)
      nonce.writeBigUInt64BE(BigInt(n), 4)
      const d = cipher === 'aes-256-gcm'
        ? createDecipheriv('aes-256-gcm', recordKey, nonce, { authTagLength: 16 })
        : createDecipheriv('chacha20-poly1305', recordKey, nonce, { authTagLength: 16 })
      d.setAuthTag(record.subarray(record.byteLength - 16))
      return Buffer.concat([d.update(record.subarray(0, record.byteLength - 16)), d.final()])
    }
    expect(Buffer.concat([open(sent[0]!.record, 0), open(sent[1]!.record, 1)]).equals(frames)).toBe(true)
  })

  describe('the cipher: AES-256-GCM when both ends would rather, ChaCha20-Poly1305 otherwise', () => {
    it.each([
      [true, 'aes-256-gcm', true],
      [true, 'chacha20-poly1305', undefined],
      [false, 'aes-256-gcm', undefined]
    ] as Array<[boolean, RecordCipher, true | undefined]>)('an Open with records_aes %s to a responder that would rather %s: Reply records_aes %s', async (openAes, responderCipher, replyAes) => {
      const responder = createDemux<string>({ recordCipher: responderCipher })
      const serviceAid = responder.listen('echo')
      const [out, inb] = await pair()
      responder.accept(inb, peers.alice, { records: () => undefined }).then(async ({ association }) => { await readAll(association).catch(() => {}) }, () => {})
      const reader = new StreamReader(out)
      out.send(lengthPrefixed(encodeOpen({ aid: serviceAid, initiatorAid: randomAid(), resumeNonce: randomBytes(RESUME_NONCE_BYTES), records: true, recordsAes: openAes })))
      const reply = decodeReply(await reader.readFrame(MAX_REPLY_FRAME_BYTES, 'Reply'))
      expect(reply.records).toBe(true)
      expect(reply.recordsAes).toBe(replyAes)
      out.abort(new Error('done'))
    })

    it.each([
      ['aes-256-gcm', 'aes-256-gcm'],
      ['aes-256-gcm', 'chacha20-poly1305'],
      ['chacha20-poly1305', 'aes-256-gcm']
    ] as Array<[RecordCipher, RecordCipher]>)('an initiator that would rather %s and a responder that would rather %s echo 4 MiB intact on records', async (initiatorCipher, responderCipher) => {
      const l = await linked({ ciphers: [initiatorCipher, responderCipher] })
      const payload = randomBytes(4 << 20)
      const server = await l.accepted
      const [, received] = await Promise.all([sendAll(l.association, payload, 64 << 10), readAll(l.association), echo(server)])
      expect(sha(received)).toBe(sha(payload))
      const [ini, resp] = l.links[0]!
      expect(ini.sent).toBeGreaterThan(payload.byteLength * 0.5)
      expect(resp.sent).toBeGreaterThan(payload.byteLength * 0.5)
    })

    it('an initiator that would rather ChaCha20-Poly1305 seals with it even if the Reply says records_aes', async () => {
      const initiator = createDemux<string>({ recordCipher: 'chacha20-poly1305' })
      const [out, inb] = await pair()
      const [ini] = endsFor()
      const sealed: Uint8Array[] = []
      ini.peer = Object.assign(new End(true), { listeners: new Map([[7, (record: Uint8ArrayList) => { sealed.push(record.subarray()) }]]) })
      const serviceAid = randomAid()
      const association = initiator.open(out, serviceAid, peers.bob, { records: () => ini, resume: { reconnect: async () => { throw new Error('no new path') } } })
      // a hand-written responder that grants records_aes although the Open did not ask for it
      const reader = new StreamReader(inb)
      const open = decodeOpen((await reader.readFrame(MAX_OPEN_FRAME_BYTES, 'Open')).subarray())
      expect(open.recordsAes).toBeUndefined()
      const responderAid = randomAid()
      const responderNonce = randomBytes(RESUME_NONCE_BYTES)
      inb.send(lengthPrefixed(encodeReply({ code: ReplyCode.ACCEPTED, responderAid, message: '', resumeNonce: responderNonce, records: true, recordsAes: true })))
      const salt = randomBytes(16)
      inb.send(recordsFrame(7, salt))
      await association.accepted
      // it moves once it has read the RECORDS frame: send until a record leaves
      while (sealed.length === 0) {
        association.send(new TextEncoder().encode('hello'))
        await new Promise(resolve => setImmediate(resolve))
      }
      // the record opens under the ChaCha20-Poly1305 key of spec/resumption.md#records
      const key = resumeKey(open.resumeNonce!, responderNonce, open.initiatorAid, responderAid)
      const recordKey = Buffer.from(hkdfSync('sha256', key, salt, 'fara/records/1', 32))
      const record = sealed[0]!
      const d = createDecipheriv('chacha20-poly1305', recordKey, Buffer.alloc(12), { authTagLength: 16 })
      d.setAuthTag(record.subarray(record.byteLength - 16))
      const plaintext = Buffer.concat([d.update(record.subarray(0, record.byteLength - 16)), d.final()])
      expect(decodeDataPhaseFrame(new Uint8Array(plaintext).subarray(1)).type).toBe(FrameType.DATA)
      association.abort(new Error('done'))
    })

    it('reads AES instructions from /proc/cpuinfo: the x86 flag, the ARM feature', () => {
      expect(cpuinfoHasAes('processor\t: 0\nflags\t\t: fpu vme sse2 aes avx2\n')).toBe(true)
      expect(cpuinfoHasAes('processor\t: 0\nFeatures\t: fp asimd evtstrm aes pmull sha1\n')).toBe(true)
      expect(cpuinfoHasAes('processor\t: 0\nflags\t\t: fpu vme sse2 avx2 vaes_like\n')).toBe(false)
      expect(cpuinfoHasAes('model name\t: aes-less cpu\nflags\t\t: fpu\n')).toBe(false)
    })

    it('refuses an unknown cipher with a RangeError', () => {
      expect(() => createDemux({ recordCipher: 'rc4' as RecordCipher })).toThrow(RangeError)
    })
  })
})
