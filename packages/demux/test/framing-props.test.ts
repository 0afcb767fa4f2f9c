// Property tests of the demux decoders: the Open/Reply/Resume/ResumeReply
// frames, the data-phase frames and the StreamReader's length-prefixed frames.
// Every input either decodes to a frame that obeys the field rules, or throws
// one of the typed errors; nothing else.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { rejectionIfAny, thrownIfAny } from '@fara/testkit'
import { ReplyCode, decodeOpen, decodeReply, decodeResume, decodeResumeReply, encodeOpen, encodeReply, encodeResume, encodeResumeReply } from '../src/index.ts'
import {
  AID_BYTES, MAX_OPEN_FRAME_BYTES, MAX_REASON_BYTES, MAX_REPLY_FRAME_BYTES, MAX_RESUME_FRAME_BYTES, MAX_RESUME_REPLY_FRAME_BYTES,
  RESUME_NONCE_BYTES, RESUME_PROOF_BYTES, RESUME_TOKEN_BYTES, ResumeCode
} from '../src/constants.ts'
import { FrameType, MAX_DATA_FRAME_BYTES, abortFrame, ackFrame, decodeDataPhaseFrame, finFrame, movedFrame, recordsFrame } from '../src/internal/data-frames.ts'
import { truncateUtf8 } from '../src/framing.ts'
import { StreamReader, lengthPrefixed } from '../src/internal/reader.ts'
import {
  budget, chunksOf, cutting, equalBytes, mutate, mutations, protobufSoup, refFrames, propsFile, runs, settles, varint
} from './arbitraries.ts'
import { pair, useStreams } from './fixtures.ts'
import type { OpenFrame, ReplyFrame, ResumeFrame, ResumeReplyFrame } from '../src/index.ts'

useStreams()
propsFile('demux/framing-props')

const FRAME_ERRORS = ['MalformedFrameError', 'FrameTooLargeError']
const bytesOf = (n: number): fc.Arbitrary<Uint8Array> => fc.uint8Array({ minLength: n, maxLength: n })
const reason = fc.string({ maxLength: 60 })

// ---- what a decoded frame must satisfy --------------------------------------

function checkOpen (f: OpenFrame): void {
  expect(Number.isSafeInteger(f.version) && f.version >= 0).toBe(true)
  if (f.version === 1 || f.version === 2) {
    expect(f.aid.byteLength).toBe(AID_BYTES)
    expect(f.initiatorAid.byteLength).toBe(AID_BYTES)
    expect(f.resumeNonce?.byteLength).toBe(f.version === 2 ? RESUME_NONCE_BYTES : undefined)
  }
}

function checkReply (f: ReplyFrame): void {
  expect(Object.values(ReplyCode)).toContain(f.code)
  if (f.code === ReplyCode.ACCEPTED) expect(f.responderAid.byteLength).toBe(AID_BYTES)
  if (f.resumeNonce != null) {
    expect(f.code).toBe(ReplyCode.ACCEPTED)
    expect(f.resumeNonce.byteLength).toBe(RESUME_NONCE_BYTES)
  }
  expect(Buffer.byteLength(f.message)).toBeLessThanOrEqual(MAX_REASON_BYTES)
}

function checkResume (f: ResumeFrame): void {
  expect(Number.isSafeInteger(f.version) && f.version >= 0).toBe(true)
  if (f.version === 1) {
    expect([f.token.byteLength, f.initiatorAid.byteLength, f.proof.byteLength]).toEqual([RESUME_TOKEN_BYTES, AID_BYTES, RESUME_PROOF_BYTES])
    expect(Number.isSafeInteger(f.received) && f.received >= 0).toBe(true)
  }
}

function checkResumeReply (f: ResumeReplyFrame): void {
  expect(Object.values(ResumeCode)).toContain(f.code)
  if (f.code === ResumeCode.ACCEPTED) expect([f.responderAid.byteLength, f.proof.byteLength]).toEqual([AID_BYTES, RESUME_PROOF_BYTES])
  expect(Number.isSafeInteger(f.received) && f.received >= 0).toBe(true)
  expect(Buffer.byteLength(f.message)).toBeLessThanOrEqual(MAX_REASON_BYTES)
}

interface Decoder { name: string, decode: (b: Uint8Array) => unknown, check: (f: never) => void, max: number, fields: number, valid: fc.Arbitrary<Uint8Array> }

const validOpen = fc.oneof(
  fc.record({ aid: bytesOf(8), initiatorAid: bytesOf(8) }).map(f => encodeOpen(f)),
  fc.record({ aid: bytesOf(8), initiatorAid: bytesOf(8), resumeNonce: bytesOf(32) }).map(f => encodeOpen(f))
)
const validReply = fc.oneof(
  fc.record({ responderAid: bytesOf(8), resumeNonce: bytesOf(32) }).map(f => encodeReply({ code: ReplyCode.ACCEPTED, message: '', ...f })),
  fc.record({ code: fc.constantFrom(1, 2, 3, 4, 5) as fc.Arbitrary<ReplyCode>, message: reason }).map(f => encodeReply({ ...f, responderAid: new Uint8Array(0) }))
)
const validResume = fc.record({ token: bytesOf(16), initiatorAid: bytesOf(8), received: fc.nat(), proof: bytesOf(32) }).map(f => encodeResume(f))
const validResumeReply = fc.oneof(
  fc.record({ responderAid: bytesOf(8), received: fc.nat(), proof: bytesOf(32) }).map(f => encodeResumeReply({ code: ResumeCode.ACCEPTED, message: '', ...f })),
  fc.record({ code: fc.constantFrom(1, 2, 3) as fc.Arbitrary<ResumeCode>, message: reason }).map(f => encodeResumeReply({ ...f, responderAid: new Uint8Array(0), received: 0, proof: new Uint8Array(0) }))
)

const decoders: Decoder[] = [
  { name: 'decodeOpen', decode: decodeOpen, check: checkOpen as (f: never) => void, max: MAX_OPEN_FRAME_BYTES, fields: 4, valid: validOpen },
  { name: 'decodeReply', decode: decodeReply, check: checkReply as (f: never) => void, max: MAX_REPLY_FRAME_BYTES, fields: 4, valid: validReply },
  { name: 'decodeResume', decode: decodeResume, check: checkResume as (f: never) => void, max: MAX_RESUME_FRAME_BYTES, fields: 5, valid: validResume },
  { name: 'decodeResumeReply', decode: decodeResumeReply, check: checkResumeReply as (f: never) => void, max: MAX_RESUME_REPLY_FRAME_BYTES, fields: 5, valid: validResumeReply }
]

/** Decode `bytes`: a frame that passes `check`, or MalformedFrameError, or FrameTooLargeError exactly when over the bound. */
function decodesOrRefuses (d: Decoder, bytes: Uint8Array): void {
  let frame: unknown
  const err = thrownIfAny(() => { frame = d.decode(bytes) })
  if (err == null) {
    expect(bytes.byteLength).toBeLessThanOrEqual(d.max)
    d.check(frame as never)
  } else {
    expect(FRAME_ERRORS).toContain(err.name)
    expect(err.name === 'FrameTooLargeError').toBe(bytes.byteLength > d.max)
  }
}

describe('association frame decoders (properties)', () => {
  for (const d of decoders) {
    describe(d.name, () => {
      it('decodes arbitrary bytes to a frame that obeys the field rules, or throws a typed frame error', () => {
        fc.assert(fc.property(fc.uint8Array({ maxLength: d.max + 16 }), bytes => { decodesOrRefuses(d, bytes) }), { numRuns: runs(2_000) })
      })

      it('handles protobuf-shaped input (wrong wire types, duplicates, unknown fields, huge varints) the same way', () => {
        fc.assert(fc.property(protobufSoup(d.fields + 1, 7, 40), bytes => { decodesOrRefuses(d, bytes) }), { numRuns: runs(2_000) })
      })

      it('handles mutated and truncated valid frames the same way', () => {
        fc.assert(fc.property(d.valid, mutations(), (valid, changes) => { decodesOrRefuses(d, mutate(valid, changes)) }), { numRuns: runs(2_000) })
      })
    })
  }

  it('round-trips every valid Open, Reply, Resume and ResumeReply', () => {
    fc.assert(fc.property(fc.oneof(...decoders.map(d => d.valid.map(bytes => ({ d, bytes })))), ({ d, bytes }) => {
      expect(bytes.byteLength).toBeLessThanOrEqual(d.max)
      d.check(d.decode(bytes) as never)
    }), { numRuns: runs(1_000) })
    fc.assert(fc.property(fc.record({ aid: bytesOf(8), initiatorAid: bytesOf(8), resumeNonce: bytesOf(32) }, { requiredKeys: ['aid', 'initiatorAid'] }), f => {
      const frame = decodeOpen(encodeOpen(f))
      expect(equalBytes(frame.aid, f.aid) && equalBytes(frame.initiatorAid, f.initiatorAid)).toBe(true)
      expect(frame.resumeNonce == null ? undefined : Buffer.from(frame.resumeNonce).toString('hex')).toBe(f.resumeNonce == null ? undefined : Buffer.from(f.resumeNonce).toString('hex'))
    }), { numRuns: runs(300) })
  })
})

// ---- data-phase frames ------------------------------------------------------

/** The reference reading of an unsigned varint of at most 8 bytes below 2^53 (spec/resumption.md#data-frames). */
function refVarint (body: Uint8Array, offset: number): [number, number] | undefined {
  let value = 0n
  for (let i = 0; i < 8 && offset + i < body.byteLength; i++) {
    value |= BigInt(body[offset + i]! & 0x7f) << BigInt(7 * i)
    if ((body[offset + i]! & 0x80) === 0) return value <= BigInt(Number.MAX_SAFE_INTEGER) ? [Number(value), offset + i + 1] : undefined
  }
  return undefined
}

/** What decodeDataPhaseFrame must return for `body`, or 'malformed'. */
function refDataFrame (body: Uint8Array): ReturnType<typeof decodeDataPhaseFrame> | 'malformed' {
  switch (body[0]) {
    case FrameType.DATA: return body.byteLength >= 2 ? { type: FrameType.DATA, payload: body.subarray(1) } : 'malformed'
    case FrameType.ACK: {
      const v = refVarint(body, 1)
      if (v == null || body.byteLength !== v[1] + 1 || body[v[1]]! > 1) return 'malformed'
      return { type: FrameType.ACK, received: v[0], fin: body[v[1]] === 1 }
    }
    case FrameType.FIN: {
      const v = refVarint(body, 1)
      return v == null || v[1] !== body.byteLength ? 'malformed' : { type: FrameType.FIN, total: v[0] }
    }
    case FrameType.ABORT:
      return body.byteLength - 1 > MAX_REASON_BYTES ? 'malformed' : { type: FrameType.ABORT, reason: new TextDecoder().decode(body.subarray(1)) }
    case FrameType.RECORDS:
      return body.byteLength !== 21 ? 'malformed' : { type: FrameType.RECORDS, channel: ((body[1]! << 24) >>> 0) + (body[2]! << 16) + (body[3]! << 8) + body[4]!, salt: body.slice(5) }
    case FrameType.MOVED:
      return body.byteLength !== 1 ? 'malformed' : { type: FrameType.MOVED }
    default: return 'malformed'
  }
}

const u53 = fc.oneof(fc.nat(), fc.constantFrom(0, 1, 127, 128, 2 ** 32, Number.MAX_SAFE_INTEGER - 1, Number.MAX_SAFE_INTEGER))
/** Bodies of data-phase frames: well-formed ones, near misses (huge varints, bad flags, trailing bytes, unknown types) and noise. */
const dataBody = fc.oneof(
  fc.uint8Array({ maxLength: 24 }),
  fc.tuple(fc.integer({ min: 0, max: 7 }), fc.uint8Array({ maxLength: 22 })).map(([t, rest]) => Uint8Array.from([t, ...rest])),
  fc.tuple(fc.constantFrom(FrameType.RECORDS, FrameType.MOVED), fc.integer({ min: 0, max: 21 })).map(([t, n]) => Uint8Array.from([t, ...new Array<number>(n).fill(0xa5)])),
  fc.tuple(u53, fc.integer({ min: 0, max: 3 })).map(([n, flags]) => Uint8Array.from([FrameType.ACK, ...varint(n), flags])),
  u53.map(n => Uint8Array.from([FrameType.FIN, ...varint(n)])),
  fc.bigInt({ min: 2n ** 53n - 2n, max: 2n ** 70n }).map(n => Uint8Array.from([FrameType.FIN, ...varint(n)])),
  fc.tuple(fc.integer({ min: 1, max: 12 }), fc.boolean()).map(([k, ack]) => Uint8Array.from([ack ? FrameType.ACK : FrameType.FIN, ...new Array<number>(k).fill(0x80), 0, ...(ack ? [0] : [])])),
  fc.uint8Array({ maxLength: MAX_REASON_BYTES + 4 }).map(r => Uint8Array.from([FrameType.ABORT, ...r]))
)

describe('decodeDataPhaseFrame (properties)', () => {
  it('agrees with a reference decoder on every body: the same frame, or MalformedFrameError', () => {
    fc.assert(fc.property(dataBody, body => {
      const want = refDataFrame(body)
      let got: ReturnType<typeof decodeDataPhaseFrame> | undefined
      const err = thrownIfAny(() => { got = decodeDataPhaseFrame(body) })
      if (want === 'malformed') {
        expect(err?.name).toBe('MalformedFrameError')
      } else {
        expect(err).toBeUndefined()
        expect(got).toEqual(want)
      }
    }), { numRuns: runs(5_000) })
  })

  it('reads back every ACK, FIN and ABORT it writes', () => {
    /** The body of a length-prefixed frame, checking the prefix. */
    const body = (frame: Uint8Array): Uint8Array => {
      const prefix = frame[0]! < 0x80 ? 1 : 2
      expect(frame.byteLength - prefix).toBe(prefix === 1 ? frame[0] : (frame[0]! & 0x7f) + frame[1]! * 128)
      return frame.subarray(prefix)
    }
    fc.assert(fc.property(u53, fc.boolean(), fc.string({ unit: 'grapheme', maxLength: 100 }), (n, fin, text) => {
      expect(decodeDataPhaseFrame(body(ackFrame(n, fin)))).toEqual({ type: FrameType.ACK, received: n, fin })
      expect(decodeDataPhaseFrame(body(finFrame(n)))).toEqual({ type: FrameType.FIN, total: n })
      expect(decodeDataPhaseFrame(body(abortFrame(text)))).toEqual({ type: FrameType.ABORT, reason: truncateUtf8(text, MAX_REASON_BYTES) })
    }), { numRuns: runs(1_000) })
    fc.assert(fc.property(fc.nat({ max: 2 ** 32 - 1 }), fc.uint8Array({ minLength: 16, maxLength: 16 }), (channel, salt) => {
      expect(decodeDataPhaseFrame(body(recordsFrame(channel, salt)))).toEqual({ type: FrameType.RECORDS, channel, salt })
    }), { numRuns: runs(1_000) })
    expect(decodeDataPhaseFrame(body(movedFrame()))).toEqual({ type: FrameType.MOVED })
  })
})

// ---- the StreamReader -------------------------------------------------------

/** One piece of a byte stream fed to readFrame. */
const segment = (max: number): fc.Arbitrary<Uint8Array> => fc.oneof(
  { weight: 4, arbitrary: fc.uint8Array({ minLength: 1, maxLength: Math.min(max, 300) }).map(lengthPrefixed) },
  { weight: 1, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 8 }) },
  { weight: 1, arbitrary: fc.integer({ min: max + 1, max: 2 ** 40 }).map(n => Uint8Array.from(varint(n))) },
  { weight: 1, arbitrary: fc.constant(Uint8Array.of(0)) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 9 }).map(k => Uint8Array.from([...new Array<number>(k).fill(0x81), 0x00])) }
)

describe('StreamReader.readFrame (properties, real libp2p stream pairs)', () => {
  it('delivers the same frames and the same final typed error however the bytes are cut, one byte at a time included', async () => {
    const max = fc.constantFrom(MAX_OPEN_FRAME_BYTES, MAX_REPLY_FRAME_BYTES, MAX_DATA_FRAME_BYTES, 1, 127, 128, 16_383, 16_384)
    await fc.assert(fc.asyncProperty(max.chain(m => fc.tuple(fc.constant(m), fc.array(segment(m), { maxLength: 6 }))), cutting, async ([m, segments], cuts) => {
      const input = Uint8Array.from(segments.flatMap(s => [...s]))
      const want = refFrames(input, m)
      const [out, inb] = await pair()
      const reader = new StreamReader(inb)
      for (const chunk of chunksOf(input, cuts)) out.send(chunk)
      await out.close()
      const got: Uint8Array[] = []
      const end = await settles((async () => {
        while (true) got.push(await reader.readFrame(m, 'test'))
      })().catch((err: Error) => err), 5_000, 'readFrame')
      expect(got.map(f => Buffer.from(f).toString('hex'))).toEqual(want.frames.map(f => Buffer.from(f).toString('hex')))
      expect(end.name).toBe(want.end)
    }), { numRuns: runs(200) })
  }, budget(30_000))

  it('takeFrameList hands over, without waiting, exactly the frames already buffered whole, then what readFrame would read next', async () => {
    await fc.assert(fc.asyncProperty(fc.array(fc.uint8Array({ minLength: 1, maxLength: 300 }), { minLength: 1, maxLength: 6 }), fc.nat(), async (bodies, cut) => {
      const input = Uint8Array.from(bodies.flatMap(b => [...lengthPrefixed(b)]))
      const at = cut % (input.byteLength + 1)
      const [out, inb] = await pair()
      const reader = new StreamReader(inb)
      out.send(input.subarray(0, at))
      // the bytes are in once a frame of them can be read: wait for the last whole one before the cut (if any)
      const whole = refFrames(input.subarray(0, at), MAX_DATA_FRAME_BYTES).frames
      const taken: string[] = []
      if (whole.length > 0) taken.push(Buffer.from(await reader.readFrame(MAX_DATA_FRAME_BYTES, 'test')).toString('hex'))
      for (let body = reader.takeFrameList(MAX_DATA_FRAME_BYTES, 'test'); body != null; body = reader.takeFrameList(MAX_DATA_FRAME_BYTES, 'test')) {
        taken.push(Buffer.from(body.subarray()).toString('hex'))
      }
      expect(taken).toEqual(whole.map(f => Buffer.from(f).toString('hex')))
      // the rest arrives: reading goes on where taking stopped
      out.send(input.subarray(at))
      await out.close()
      const rest: string[] = []
      for (let i = whole.length; i < bodies.length; i++) rest.push(Buffer.from(await reader.readFrame(MAX_DATA_FRAME_BYTES, 'test')).toString('hex'))
      expect([...taken, ...rest]).toEqual(bodies.map(b => Buffer.from(b).toString('hex')))
    }), { numRuns: runs(100) })
  }, budget(30_000))

  it('refuses an oversized length prefix as soon as it arrives, without waiting for a body or the end of the stream', async () => {
    await fc.assert(fc.asyncProperty(
      fc.constantFrom(MAX_OPEN_FRAME_BYTES, MAX_REPLY_FRAME_BYTES, MAX_RESUME_FRAME_BYTES, MAX_DATA_FRAME_BYTES),
      fc.bigInt({ min: 0n, max: 2n ** 64n }), fc.boolean(),
      async (m, extra, single) => {
        const prefix = Uint8Array.from(varint(BigInt(m) + 1n + extra))
        const [out, inb] = await pair()
        const reader = new StreamReader(inb)
        for (const chunk of chunksOf(prefix, single ? 'single' : [])) out.send(chunk)
        // the stream stays open: only the prefix can end this read
        const err = await settles(rejectionIfAny(reader.readFrame(m, 'test', AbortSignal.timeout(10_000))), 11_000, 'readFrame')
        expect(err?.name).toBe('FrameTooLargeError')
      }), { numRuns: runs(100) })
  }, budget(30_000))
})
