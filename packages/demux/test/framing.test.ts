import { describe, expect, it } from 'vitest'
import { thrown } from '@fara/testkit'
import { ReplyCode, decodeOpen, decodeReply, encodeOpen, encodeReply, randomAid } from '../src/index.ts'
import { FRAMING_VERSION, MAX_OPEN_FRAME_BYTES, MAX_REASON_BYTES, MAX_REPLY_FRAME_BYTES } from '../src/constants.ts'
import { OpenType, ReplyType } from '../src/internal/codec.ts'

describe('Open frame', () => {
  it('round-trips aid, initiatorAid and the current version', () => {
    const aid = randomAid()
    const initiatorAid = randomAid()
    const bytes = encodeOpen({ aid, initiatorAid })
    expect(bytes.byteLength).toBeLessThanOrEqual(MAX_OPEN_FRAME_BYTES)
    const frame = decodeOpen(bytes)
    expect(frame.version).toBe(FRAMING_VERSION)
    expect(Array.from(frame.aid)).toEqual(Array.from(aid))
    expect(Array.from(frame.initiatorAid)).toEqual(Array.from(initiatorAid))
  })

  it('carries `records` in version 2 only, within the bound, and the Reply answers it only with a nonce', () => {
    const nonce = new Uint8Array(32).fill(9)
    const bytes = encodeOpen({ aid: randomAid(), initiatorAid: randomAid(), resumeNonce: nonce, records: true })
    expect(bytes.byteLength).toBe(58)
    expect(decodeOpen(bytes).records).toBe(true)
    expect(decodeOpen(encodeOpen({ aid: randomAid(), initiatorAid: randomAid(), resumeNonce: nonce })).records).toBeUndefined()
    // version 1 ignores it: a raw byte stream has no frames to move
    expect(decodeOpen(OpenType.encode({ version: 1, aid: randomAid(), initiatorAid: randomAid(), records: true }).finish()).records).toBeUndefined()
    const reply = encodeReply({ code: ReplyCode.ACCEPTED, responderAid: randomAid(), message: '', resumeNonce: nonce, records: true })
    expect(reply.byteLength).toBe(46)
    expect(decodeReply(reply).records).toBe(true)
    expect(decodeReply(ReplyType.encode({ code: ReplyCode.ACCEPTED, responderAid: randomAid(), records: true }).finish()).records).toBeUndefined()
  })

  it('returns another version as sent, for the caller to refuse', () => {
    const frame = decodeOpen(encodeOpen({ version: 7, aid: randomAid(), initiatorAid: randomAid() }))
    expect(frame.version).toBe(7)
  })

  it('returns copies that do not alias the input buffer', () => {
    const bytes = encodeOpen({ aid: new Uint8Array(8).fill(1), initiatorAid: new Uint8Array(8).fill(2) })
    const frame = decodeOpen(bytes)
    bytes.fill(0)
    expect(Array.from(frame.aid)).toEqual(new Array(8).fill(1))
  })

  it.each([
    [new Uint8Array(7), new Uint8Array(8)],
    [new Uint8Array(8), new Uint8Array(9)],
    [undefined, new Uint8Array(8)]
  ])('refuses to encode AIds of the wrong size with a RangeError', (aid, initiatorAid) => {
    expect(() => encodeOpen({ aid: aid as Uint8Array, initiatorAid })).toThrow(RangeError)
  })

  it('throws FrameTooLargeError for a frame over 64 bytes, before decoding it', () => {
    expect(thrown(() => decodeOpen(new Uint8Array(MAX_OPEN_FRAME_BYTES + 1))).name).toBe('FrameTooLargeError')
    const big = OpenType.encode({ version: 1, aid: new Uint8Array(40), initiatorAid: new Uint8Array(40) }).finish()
    expect(thrown(() => decodeOpen(big)).name).toBe('FrameTooLargeError')
  })

  it.each([
    ['a truncated field', new Uint8Array([0x12, 0x08, 1, 2, 3])],
    ['an invalid wire type', new Uint8Array([0x0f, 0x01])],
    ['an unterminated varint', new Uint8Array([0x08, 0xff, 0xff])],
    ['random garbage', new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])]
  ])('throws MalformedFrameError for %s', (_what, bytes) => {
    expect(thrown(() => decodeOpen(bytes)).name).toBe('MalformedFrameError')
  })

  it.each([
    ['an empty frame', 0, 0],
    ['a short service AId', 7, 8],
    ['a long service AId', 9, 8],
    ['a short initiator AId', 8, 4],
    ['a missing initiator AId', 8, 0]
  ])('throws MalformedFrameError for %s', (_what, aidLen, initiatorLen) => {
    const bytes = OpenType.encode({ version: FRAMING_VERSION, aid: new Uint8Array(aidLen), initiatorAid: new Uint8Array(initiatorLen) }).finish()
    expect(thrown(() => decodeOpen(bytes)).name).toBe('MalformedFrameError')
  })
})

describe('Reply frame', () => {
  it('round-trips an acceptance', () => {
    const responderAid = randomAid()
    const frame = decodeReply(encodeReply({ code: ReplyCode.ACCEPTED, responderAid, message: '' }))
    expect(frame.code).toBe(ReplyCode.ACCEPTED)
    expect(Array.from(frame.responderAid)).toEqual(Array.from(responderAid))
    expect(frame.message).toBe('')
  })

  it.each([ReplyCode.UNKNOWN_AID, ReplyCode.UNSUPPORTED_VERSION, ReplyCode.MALFORMED, ReplyCode.BUSY, ReplyCode.REFUSED])(
    'round-trips refusal code %i with its reason', (code) => {
      const frame = decodeReply(encodeReply({ code, responderAid: new Uint8Array(0), message: 'nope ✗' }))
      expect(frame.code).toBe(code)
      expect(frame.responderAid.byteLength).toBe(0)
      expect(frame.message).toBe('nope ✗')
    })

  it('cuts a long reason to 128 bytes so the frame stays within its bound', () => {
    const bytes = encodeReply({ code: ReplyCode.MALFORMED, responderAid: new Uint8Array(0), message: 'x'.repeat(1000) })
    expect(bytes.byteLength).toBeLessThanOrEqual(MAX_REPLY_FRAME_BYTES)
    expect(decodeReply(bytes).message).toBe('x'.repeat(MAX_REASON_BYTES))
  })

  it('refuses to encode an acceptance without an 8-byte responder AId', () => {
    expect(() => encodeReply({ code: ReplyCode.ACCEPTED, responderAid: new Uint8Array(0), message: '' })).toThrow(RangeError)
  })

  it.each([6, 99, 2 ** 31 - 1])('throws MalformedFrameError for unknown code %i', (code) => {
    const bytes = ReplyType.encode({ code, responderAid: new Uint8Array(0), message: '' }).finish()
    expect(thrown(() => decodeReply(bytes)).name).toBe('MalformedFrameError')
  })

  it('throws MalformedFrameError for an acceptance with a responder AId of the wrong size', () => {
    for (const len of [0, 7, 9]) {
      const bytes = ReplyType.encode({ code: ReplyCode.ACCEPTED, responderAid: new Uint8Array(len), message: '' }).finish()
      expect(thrown(() => decodeReply(bytes)).name).toBe('MalformedFrameError')
    }
  })

  it('throws MalformedFrameError for a reason over 128 bytes', () => {
    const bytes = ReplyType.encode({ code: ReplyCode.BUSY, responderAid: new Uint8Array(0), message: 'y'.repeat(MAX_REASON_BYTES + 1) }).finish()
    expect(thrown(() => decodeReply(bytes)).name).toBe('MalformedFrameError')
  })

  it('throws FrameTooLargeError for a frame over 256 bytes', () => {
    expect(thrown(() => decodeReply(new Uint8Array(MAX_REPLY_FRAME_BYTES + 1))).name).toBe('FrameTooLargeError')
  })

  it('throws MalformedFrameError for garbage bytes', () => {
    expect(thrown(() => decodeReply(new Uint8Array([0x1a, 0x20, 0x41]))).name).toBe('MalformedFrameError')
  })
})

describe('reply reasons', () => {
  it('cuts a long multi-byte reason on a character boundary, within the bound, and it decodes', () => {
    const reason = 'é'.repeat(100) // 200 bytes of UTF-8
    const frame = decodeReply(encodeReply({ code: ReplyCode.BUSY, responderAid: new Uint8Array(0), message: reason }))
    expect(Buffer.byteLength(frame.message)).toBeLessThanOrEqual(MAX_REASON_BYTES)
    expect(frame.message).toBe('é'.repeat(64))
  })
})
