// Property tests of the punch negotiation's decoders: any bytes either decode
// to a side that obeys the field rules or throw a NegotiationError; nothing
// else, and a valid message always round-trips.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { thrownIfAny } from '@fara/testkit'
import { ENDPOINT_BYTES, encodeEndpoint } from '../src/internal/punch/addr.ts'
import { ANSWER_CODES, NONCE_BYTES, decodeAnswer, decodeOffer, encodeAnswer, encodeOffer } from '../src/internal/punch/negotiation.ts'
import { mutate, mutations, propsFile, protobufSoup, runs } from '@fara/testkit/props'
import type { AnswerCode, Side } from '../src/internal/punch/negotiation.ts'

propsFile('transport/punch-negotiation-props')

const endpoint = fc.oneof(
  fc.record({ host: fc.ipV4(), port: fc.integer({ min: 1, max: 65_535 }) }),
  fc.record({ host: fc.uint8Array({ minLength: 16, maxLength: 16 }), port: fc.integer({ min: 1, max: 65_535 }) })
    .map(({ host, port }) => ({ host: Array.from({ length: 8 }, (_, i) => ((host[2 * i]! << 8) | host[2 * i + 1]!).toString(16)).join(':'), port }))
)
const side: fc.Arbitrary<Side> = fc.record({
  kind: fc.constantFrom('consistent', 'random', 'unknown'),
  endpoint: fc.option(endpoint, { nil: null }),
  nonce: fc.uint8Array({ minLength: NONCE_BYTES, maxLength: NONCE_BYTES }),
  streamId: fc.integer({ min: 1, max: 0xffffffff })
})
/** Bytes a peer might send: noise, protobuf-shaped soups of the five fields, and broken valid messages. */
const hostile = fc.oneof(
  fc.uint8Array({ maxLength: 300 }),
  protobufSoup(6, 8, 40),
  fc.tuple(side, mutations()).map(([s, m]) => mutate(encodeOffer(s).subarray(2), m)),
  fc.tuple(side, fc.constantFrom(...ANSWER_CODES), mutations()).map(([s, c, m]) => mutate(encodeAnswer(c, s).subarray(2), m))
)

function checkSide (s: Side): void {
  expect(['consistent', 'random', 'unknown']).toContain(s.kind)
  expect(s.nonce.byteLength).toBe(NONCE_BYTES)
  expect(Number.isInteger(s.streamId) && s.streamId >= 1 && s.streamId <= 0xffffffff).toBe(true)
  if (s.endpoint != null) expect(encodeEndpoint(s.endpoint)).toHaveLength(ENDPOINT_BYTES)
}

describe('decodeOffer and decodeAnswer', () => {
  it('round-trip every valid side', () => {
    fc.assert(fc.property(side, fc.constantFrom(...ANSWER_CODES), (s, code: AnswerCode) => {
      const offer = encodeOffer(s)
      const decoded = decodeOffer(offer.subarray(2))
      expect(decoded.version).toBe(1)
      expect(decoded.kind).toBe(s.kind)
      expect(decoded.streamId).toBe(s.streamId)
      expect(Buffer.from(decoded.nonce).equals(Buffer.from(s.nonce))).toBe(true)
      expect(decoded.endpoint == null ? null : Buffer.from(encodeEndpoint(decoded.endpoint))).toEqual(s.endpoint == null ? null : Buffer.from(encodeEndpoint(s.endpoint)))
      const answer = decodeAnswer(encodeAnswer(code, s).subarray(2))
      expect(answer.code).toBe(code)
      if (code === 'ok') expect(answer.streamId).toBe(s.streamId)
    }), { numRuns: runs(300) })
  })

  it('return a well-formed side or throw NegotiationError, whatever the bytes', () => {
    fc.assert(fc.property(hostile, (bytes) => {
      let offer: ReturnType<typeof decodeOffer> | undefined
      const offerErr = thrownIfAny(() => { offer = decodeOffer(bytes) })
      if (offerErr != null) expect(offerErr.name).toBe('NegotiationError')
      else {
        checkSide(offer!)
        expect(Number.isInteger(offer!.version) && offer!.version >= 0).toBe(true)
      }
      let answer: ReturnType<typeof decodeAnswer> | undefined
      const answerErr = thrownIfAny(() => { answer = decodeAnswer(bytes) })
      if (answerErr != null) expect(answerErr.name).toBe('NegotiationError')
      else {
        expect(ANSWER_CODES).toContain(answer!.code)
        if (answer!.code === 'ok') checkSide(answer!)
      }
    }), { numRuns: runs(2000) })
  })
})
