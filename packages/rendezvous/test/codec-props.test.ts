// Property tests of the rendezvous wire decoders (spec/rendezvous.md): every
// Request and Response, and the standalone SignedRecord and SignedPrivateRecord
// messages. Any bytes decode to a value of the right shape or throw the one
// typed error of that decoder; sizes are refused exactly at their bound.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { thrownIfAny } from '@fara/testkit'
import { decodeSignedRecord, encodeSignedRecord } from '../src/index.ts'
import { MAX_POINT_MESSAGE_BYTES, MAX_RECORD_BYTES, MAX_SIGNED_PRIVATE_RECORD_BYTES, SIGNATURE_BYTES } from '../src/constants.ts'
import { decodeSignedPrivateRecord, encodeSignedPrivateRecord } from '../src/private/index.ts'
import { decodeRequest, decodeResponse, encodeRequest, encodeResponse } from '../src/internal/messages.ts'
import { encodeFields, equalBytes, mutate, mutations, protobufSoup, propsFile, runs, wireField } from './arbitraries.ts'
import type { Request, Response } from '../src/internal/messages.ts'

propsFile('rendezvous/codec-props')

const signed = fc.record({ record: fc.uint8Array({ maxLength: 120 }), signature: fc.uint8Array({ maxLength: 70 }) })

/** A message whose message-typed fields hold soups too: wrong types all the way down. */
function nestedSoup (messageFields: number[], maxField: number): fc.Arbitrary<Uint8Array> {
  const nested = fc.tuple(fc.constantFrom(...messageFields), protobufSoup(3, 5, 30)).map(([field, value]) => ({ field, wire: 2, value }))
  return fc.array(fc.oneof(wireField(maxField, 40), nested), { maxLength: 8 }).map(encodeFields)
}

/** Unknown fields opening groups inside groups: deep recursion in a skip, within the size bound. */
const deepGroups = fc.integer({ min: 1, max: MAX_POINT_MESSAGE_BYTES }).map(n => new Uint8Array(n).fill((15 << 3) | 3))

const validRequest: fc.Arbitrary<Request> = fc.record({
  type: fc.integer({ min: 0, max: 6 }),
  name: fc.string({ maxLength: 40 }),
  record: signed,
  privateRecord: signed,
  lookupKey: fc.uint8Array({ minLength: 1, maxLength: 32 }),
  revocation: fc.uint8Array({ minLength: 1, maxLength: 100 })
}, { requiredKeys: ['type', 'name'] })

const validResponse: fc.Arbitrary<Response> = fc.record({
  status: fc.integer({ min: 0, max: 13 }),
  message: fc.string({ maxLength: 60 }),
  record: signed,
  privateRecord: signed,
  retryAfterMs: fc.integer({ min: 1, max: 2 ** 32 - 1 })
}, { requiredKeys: ['status', 'message'] })

function checkSigned (s: unknown): void {
  if (s === undefined) return
  const { record, signature } = s as { record: unknown, signature: unknown }
  expect(record).toBeInstanceOf(Uint8Array)
  expect(signature).toBeInstanceOf(Uint8Array)
}

describe('decodeRequest (properties)', () => {
  const input = fc.oneof(
    fc.uint8Array({ maxLength: 300 }),
    nestedSoup([2, 4], 7),
    validRequest.chain(r => mutations().map(m => mutate(encodeRequest(r), m))),
    deepGroups,
    fc.integer({ min: MAX_POINT_MESSAGE_BYTES - 2, max: MAX_POINT_MESSAGE_BYTES + 2 }).map(n => new Uint8Array(n))
  )

  it('returns a request of the right shape or throws InvalidRequestError; RecordTooLargeError exactly above MAX_POINT_MESSAGE_BYTES', () => {
    fc.assert(fc.property(input, bytes => {
      let req: Request | undefined
      const err = thrownIfAny(() => { req = decodeRequest(bytes) })
      if (bytes.byteLength > MAX_POINT_MESSAGE_BYTES) {
        expect(err?.name).toBe('RecordTooLargeError')
      } else if (err != null) {
        expect(err.name).toBe('InvalidRequestError')
      } else {
        expect(Number.isInteger(req!.type)).toBe(true)
        expect(typeof req!.name).toBe('string')
        checkSigned(req!.record)
        checkSigned(req!.privateRecord)
        if (req!.lookupKey !== undefined) expect(req!.lookupKey.byteLength).toBeGreaterThan(0)
        if (req!.revocation !== undefined) expect(req!.revocation.byteLength).toBeGreaterThan(0)
      }
    }), { numRuns: runs(3_000) })
  })

  it('round-trips every well-formed request', () => {
    fc.assert(fc.property(validRequest, r => {
      expect(decodeRequest(encodeRequest(r))).toEqual(r)
    }), { numRuns: runs(1_000) })
  })
})

describe('decodeResponse (properties)', () => {
  const input = fc.oneof(
    fc.uint8Array({ maxLength: 300 }),
    nestedSoup([3, 4], 6),
    validResponse.chain(r => mutations().map(m => mutate(encodeResponse(r), m))),
    deepGroups
  )

  it('returns a response of the right shape or throws RendezvousInternalError, whatever a point sends', () => {
    fc.assert(fc.property(input, bytes => {
      let res: Response | undefined
      const err = thrownIfAny(() => { res = decodeResponse(bytes) })
      if (err != null) {
        expect(err.name).toBe('RendezvousInternalError')
      } else {
        expect(Number.isInteger(res!.status)).toBe(true)
        expect(typeof res!.message).toBe('string')
        checkSigned(res!.record)
        checkSigned(res!.privateRecord)
        if (res!.retryAfterMs !== undefined) expect(Number.isSafeInteger(res!.retryAfterMs) && res!.retryAfterMs > 0).toBe(true)
      }
    }), { numRuns: runs(3_000) })
  })

  it('round-trips every well-formed response', () => {
    fc.assert(fc.property(validResponse, r => {
      expect(decodeResponse(encodeResponse(r))).toEqual(r)
    }), { numRuns: runs(1_000) })
  })
})

describe('standalone SignedRecord and SignedPrivateRecord (properties)', () => {
  const bounds: Array<[string, (b: Uint8Array) => unknown, (s: { record: Uint8Array, signature: Uint8Array }) => Uint8Array, number]> = [
    ['SignedRecord', decodeSignedRecord, encodeSignedRecord, MAX_RECORD_BYTES + SIGNATURE_BYTES + 16],
    ['SignedPrivateRecord', decodeSignedPrivateRecord, encodeSignedPrivateRecord, MAX_SIGNED_PRIVATE_RECORD_BYTES]
  ]
  for (const [what, decode, encode, max] of bounds) {
    it(`${what}: any bytes give two byte strings or InvalidRecordError; RecordTooLargeError exactly above ${max} bytes`, () => {
      const input = fc.oneof(
        fc.uint8Array({ maxLength: 300 }),
        protobufSoup(3, 6, 60),
        signed.chain(s => mutations().map(m => mutate(encode(s), m))),
        fc.integer({ min: max - 2, max: max + 2 }).map(n => new Uint8Array(n)),
        deepGroups
      )
      fc.assert(fc.property(input, bytes => {
        let out: { record: Uint8Array, signature: Uint8Array } | undefined
        const err = thrownIfAny(() => { out = decode(bytes) as typeof out })
        if (bytes.byteLength > max) expect(err?.name).toBe('RecordTooLargeError')
        else if (err != null) expect(err.name).toBe('InvalidRecordError')
        else checkSigned(out)
      }), { numRuns: runs(2_000) })
    })

    it(`${what}: round-trips byte for byte`, () => {
      fc.assert(fc.property(signed, s => {
        const out = decode(encode(s)) as { record: Uint8Array, signature: Uint8Array }
        expect(equalBytes(out.record, s.record) && equalBytes(out.signature, s.signature)).toBe(true)
      }), { numRuns: runs(500) })
    })
  }
})
