import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { decodeOpen, decodeReply, encodeOpen, encodeReply, ReplyCode } from '../src/index.ts'

const vectors = JSON.parse(readFileSync(new URL('../../../spec/vectors/wire.json', import.meta.url), 'utf8'))
const bytes = (hex: string): Uint8Array => new Uint8Array(Buffer.from(hex, 'hex'))
/** The vectors carry the varint prefix; every frame here is under 128 bytes, so it is one byte. */
const body = (hex: string): Uint8Array => bytes(hex).subarray(1)

describe('spec/vectors/wire.json (association frames)', () => {
  it('encodes the Open vector byte for byte and decodes it back', () => {
    const v = vectors.association.open
    expect(bytes(v.framed)[0]).toBe(body(v.framed).byteLength)
    expect(Buffer.from(encodeOpen({ aid: bytes(v.aid), initiatorAid: bytes(v.initiatorAid) })).toString('hex')).toBe(v.framed.slice(2))
    expect(decodeOpen(body(v.framed))).toEqual({ version: 1, aid: bytes(v.aid), initiatorAid: bytes(v.initiatorAid) })
  })

  it('encodes the accepting and refusing Reply vectors byte for byte', () => {
    const a = vectors.association.accept
    expect(Buffer.from(encodeReply({ code: ReplyCode.ACCEPTED, responderAid: bytes(a.responderAid), message: '' })).toString('hex')).toBe(a.framed.slice(2))
    expect(decodeReply(body(a.framed)).responderAid).toEqual(bytes(a.responderAid))
    const r = vectors.association.reject
    expect(Buffer.from(encodeReply({ code: ReplyCode.UNKNOWN_AID, responderAid: new Uint8Array(0), message: r.message })).toString('hex')).toBe(r.framed.slice(2))
    expect(decodeReply(body(r.framed))).toMatchObject({ code: ReplyCode.UNKNOWN_AID, message: r.message })
  })

  it('encodes the version 2 Open and Reply vectors, records and AES-256-GCM records asked for and granted, byte for byte', () => {
    const o = vectors.association.openResumable
    const open = { version: 2, aid: bytes(o.aid), initiatorAid: bytes(o.initiatorAid), resumeNonce: bytes(o.resumeNonce), records: true, recordsAes: true }
    expect(Buffer.from(encodeOpen(open)).toString('hex')).toBe(o.framed.slice(2))
    expect(decodeOpen(body(o.framed))).toEqual(open)
    const a = vectors.association.acceptResumable
    const reply = { code: ReplyCode.ACCEPTED, responderAid: bytes(a.responderAid), message: '', resumeNonce: bytes(a.resumeNonce), records: true, recordsAes: true }
    expect(Buffer.from(encodeReply(reply)).toString('hex')).toBe(a.framed.slice(2))
    expect(decodeReply(body(a.framed))).toEqual(reply)
  })
})
