// The /fara/punch/1 negotiation messages (spec/proto/punch.proto,
// src/internal/punch/negotiation.ts): length-prefixed protobuf Offer and
// Answer; every malformed message is a NegotiationError, nothing else.
import { randomBytes } from 'node:crypto'
import { streamPair } from '@libp2p/utils'
import { afterEach, describe, expect, it } from 'vitest'
import { rejectionIfAny, thrownIfAny } from '@fara/testkit'
import { PUNCH } from '../src/constants.ts'
import { encodeEndpoint } from '../src/internal/punch/addr.ts'
import { ANSWER_CODES, NONCE_BYTES, NegotiationError, decodeAnswer, decodeOffer, encodeAnswer, encodeOffer, readMessage } from '../src/internal/punch/negotiation.ts'
import { encodeFields } from '@fara/testkit/props'
import type { Side } from '../src/internal/punch/negotiation.ts'
import type { WireField } from '@fara/testkit/props'
import type { Stream } from '@libp2p/interface'

const side = (over: Partial<Side> = {}): Side => ({ kind: 'consistent', endpoint: { host: '198.51.100.7', port: 40_000 }, nonce: new Uint8Array(randomBytes(NONCE_BYTES)), streamId: 7, ...over })
/** The message inside a frame, checking the 2-byte BE length prefix on the way. */
const body = (framed: Uint8Array): Uint8Array => {
  expect((framed[0]! << 8) | framed[1]!).toBe(framed.byteLength - 2)
  return framed.subarray(2)
}
const v = (field: number, value: number | bigint): WireField => ({ field, wire: 0, value: BigInt.asUintN(64, BigInt(value)) })
const b = (field: number, value: Uint8Array): WireField => ({ field, wire: 2, value })
/** A valid Offer's fields (version 1), to break one at a time; an Answer shares fields 2 to 5, with field 1 its code. */
const offerFields = (): WireField[] => [v(1, 1), v(2, 1), b(3, encodeEndpoint({ host: '192.0.2.1', port: 5 })), b(4, randomBytes(NONCE_BYTES)), v(5, 9)]
const replace = (fields: WireField[], f: WireField): WireField[] => [...fields.filter(x => x.field !== f.field), f]
const without = (fields: WireField[], field: number): WireField[] => fields.filter(x => x.field !== field)

function negotiationError (f: () => unknown): NegotiationError {
  const err = thrownIfAny(f)
  expect(err?.name).toBe('NegotiationError')
  expect(err).toBeInstanceOf(NegotiationError)
  return err as NegotiationError
}

describe('Offer and Answer', () => {
  it('round-trip every kind, with and without an endpoint, IPv4 and IPv6', () => {
    for (const kind of ['consistent', 'random', 'unknown'] as const) {
      for (const endpoint of [null, { host: '203.0.113.9', port: 1 }, { host: '2001:db8:0:0:0:0:0:5', port: 65_535 }]) {
        const s = side({ kind, endpoint, streamId: 0xffffffff })
        expect(decodeOffer(body(encodeOffer(s)))).toEqual({ version: 1, ...s })
        expect(decodeAnswer(body(encodeAnswer('ok', s)))).toEqual({ code: 'ok', ...s })
      }
    }
  })

  it('carries a refusal code with no side', () => {
    for (const code of ANSWER_CODES.filter(c => c !== 'ok')) {
      const a = decodeAnswer(body(encodeAnswer(code, side({ kind: 'random' }))))
      expect(a).toEqual({ code, kind: 'random', endpoint: null, nonce: new Uint8Array(0), streamId: 0 })
    }
  })

  it('fits the largest message in PUNCH.maxMessageBytes', () => {
    const largest = side({ endpoint: { host: 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', port: 65_535 }, streamId: 0xffffffff, kind: 'random' })
    expect(encodeOffer(largest).byteLength - 2).toBeLessThanOrEqual(PUNCH.maxMessageBytes)
    expect(encodeAnswer('unsupported', largest).byteLength - 2).toBeLessThanOrEqual(PUNCH.maxMessageBytes)
  })

  it('decodes the fields as the .proto numbers them', () => {
    const fields = offerFields()
    const offer = decodeOffer(encodeFields(fields))
    expect(offer).toEqual({ version: 1, kind: 'consistent', endpoint: { host: '192.0.2.1', port: 5 }, nonce: new Uint8Array((fields[3]!.value as Uint8Array)), streamId: 9 })
    expect(decodeOffer(encodeFields(replace(fields, v(2, 2)))).kind).toBe('random')
    expect(decodeAnswer(encodeFields(replace(fields, v(1, 0)))).code).toBe('ok')
    expect(decodeAnswer(encodeFields(replace(fields, v(1, 2)))).code).toBe('busy')
  })

  it('leaves the version to the caller and skips unknown fields', () => {
    expect(decodeOffer(encodeFields(replace(offerFields(), v(1, 2)))).version).toBe(2)
    expect(decodeOffer(encodeFields([...offerFields(), b(99, randomBytes(20)), v(6, 1)])).streamId).toBe(9)
  })

  it('copies the nonce out of the buffer it was decoded from', () => {
    const bytes = encodeFields(offerFields())
    const offer = decodeOffer(bytes)
    const before = Buffer.from(offer.nonce)
    bytes.fill(0)
    expect(Buffer.from(offer.nonce).equals(before)).toBe(true)
  })
})

describe('a malformed Offer or Answer', () => {
  it('is a NegotiationError when it is not protobuf', () => {
    negotiationError(() => decodeOffer(Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])))
    negotiationError(() => decodeAnswer(Uint8Array.from([0x0f])))
    negotiationError(() => decodeOffer(Uint8Array.from([0x22, 0x05, 1, 2])))
  })

  it('is a NegotiationError at every truncation of a valid one', () => {
    const offer = body(encodeOffer(side()))
    const answer = body(encodeAnswer('ok', side()))
    for (let n = 0; n < offer.byteLength; n++) negotiationError(() => decodeOffer(offer.subarray(0, n)))
    for (let n = 0; n < answer.byteLength; n++) negotiationError(() => decodeAnswer(answer.subarray(0, n)))
  })

  it('is a NegotiationError when the nonce is not 32 bytes', () => {
    for (const n of [0, 1, 31, 33, 200]) {
      expect(negotiationError(() => decodeOffer(encodeFields(replace(offerFields(), b(4, randomBytes(n)))))).message).toMatch(/nonce must be 32 bytes/)
      negotiationError(() => decodeAnswer(encodeFields(replace(replace(offerFields(), v(1, 0)), b(4, randomBytes(n))))))
    }
    negotiationError(() => decodeOffer(encodeFields(without(offerFields(), 4))))
  })

  it('is a NegotiationError when the stream id is 0 or missing', () => {
    expect(negotiationError(() => decodeOffer(encodeFields(replace(offerFields(), v(5, 0))))).message).toMatch(/stream id/)
    negotiationError(() => decodeOffer(encodeFields(without(offerFields(), 5))))
    negotiationError(() => decodeAnswer(encodeFields(without(replace(offerFields(), v(1, 0)), 5))))
  })

  it('is a NegotiationError for an unknown NAT kind or answer code', () => {
    for (const kind of [3, 100, -1, 2 ** 31 - 1]) negotiationError(() => decodeOffer(encodeFields(replace(offerFields(), v(2, kind)))))
    for (const code of [4, 1000, -1]) negotiationError(() => decodeAnswer(encodeFields(replace(offerFields(), v(1, code)))))
  })

  it('is a NegotiationError when the endpoint is not 18 bytes or names port 0', () => {
    for (const n of [1, 4, 16, 17, 19]) negotiationError(() => decodeOffer(encodeFields(replace(offerFields(), b(3, randomBytes(n))))))
    const portZero = encodeEndpoint({ host: '192.0.2.1', port: 1 })
    portZero[17] = 0
    expect(negotiationError(() => decodeOffer(encodeFields(replace(offerFields(), b(3, portZero))))).message).toMatch(/malformed endpoint/)
  })

  it('has no endpoint when the field is empty or absent', () => {
    expect(decodeOffer(encodeFields(replace(offerFields(), b(3, new Uint8Array(0))))).endpoint).toBeNull()
    expect(decodeOffer(encodeFields(without(offerFields(), 3))).endpoint).toBeNull()
  })
})

describe('readMessage', () => {
  const open: Stream[] = []
  afterEach(() => {
    for (const s of open.splice(0)) if (s.status === 'open') s.abort(new Error('test over'))
  })
  const pair = async (): Promise<[Stream, Stream]> => {
    const p = await streamPair()
    open.push(...p)
    return p
  }

  it('reads one length-prefixed message, however it is split', async () => {
    const [out, inb] = await pair()
    const framed = encodeOffer(side())
    for (const byte of framed) out.send(Uint8Array.of(byte))
    const message = await readMessage(inb)
    expect(Buffer.from(message).equals(Buffer.from(framed.subarray(2)))).toBe(true)
  })

  it('reads a message of exactly PUNCH.maxMessageBytes', async () => {
    const [out, inb] = await pair()
    const payload = randomBytes(PUNCH.maxMessageBytes)
    out.send(Uint8Array.from([PUNCH.maxMessageBytes >> 8, PUNCH.maxMessageBytes & 0xff, ...payload]))
    expect((await readMessage(inb)).byteLength).toBe(PUNCH.maxMessageBytes)
  })

  it('refuses a longer message from its length alone, before it arrives', async () => {
    const [out, inb] = await pair()
    const length = PUNCH.maxMessageBytes + 1
    out.send(Uint8Array.of(length >> 8, length & 0xff))
    const err = await rejectionIfAny(readMessage(inb))
    expect(err?.name).toBe('NegotiationError')
    expect(err?.message).toMatch(/at most 256/)
  })

  it('is a NegotiationError when the stream ends before a whole message', async () => {
    const [out, inb] = await pair()
    out.send(encodeOffer(side()).subarray(0, 10))
    await out.close()
    expect((await rejectionIfAny(readMessage(inb)))?.name).toBe('NegotiationError')
  })

  it('aborts the stream with a NegotiationError when the signal fires', async () => {
    const [out, inb] = await pair()
    out.send(Uint8Array.of(0))
    const controller = new AbortController()
    const reading = rejectionIfAny(readMessage(inb, { signal: controller.signal }))
    controller.abort()
    expect((await reading)?.name).toBe('NegotiationError')
    expect(inb.status).toBe('aborted')
  })
})
