// Property tests of the DHT record decoders (spec/dht.md): keys and values
// read from other DHT nodes. The key parser, the peek at stored values, the
// validator and the selector take any bytes without an untyped error, and
// every node picks the same value from the same set, in any order.
import { generateKeyPair } from '@libp2p/crypto/keys'
import fc from 'fast-check'
import { beforeAll, describe, expect, it } from 'vitest'
import { rejectionIfAny, thrownIfAny } from '@fara/testkit'
import { createRecord, createTombstone, encodeSignedRecord } from '../src/index.ts'
import { compareEntries, dhtKey, nameOfKey, peekValue, selectBest, verifyDhtValue } from '../src/dht/records.ts'
import { budget, mutate, mutations, propsFile, protobufSoup, runs, serviceName } from './arbitraries.ts'
import type { PrivateKey } from '@libp2p/interface'

propsFile('rendezvous/dht-props')

const T = 1_750_000_000_000
const ERRORS = ['InvalidRecordError', 'InvalidSignatureError', 'RecordTooLargeError', 'ExpiredRecordError']
const keys = {} as { a: PrivateKey, b: PrivateKey }

beforeAll(async () => {
  keys.a = await generateKeyPair('Ed25519')
  keys.b = await generateKeyPair('Ed25519')
})

/** A value as a DHT node might be handed one: genuine live records and tombstones of any seq, for this name or another, mutated, or junk. */
const value = (name: string): fc.Arbitrary<Promise<Uint8Array>> => fc.oneof(
  fc.record({ key: fc.constantFrom('a', 'b'), seq: fc.integer({ min: T - 60_000, max: T }), ttl: fc.constantFrom(1_000, 60_000, 600_000), tombstone: fc.boolean(), other: fc.boolean() })
    .map(async v => encodeSignedRecord(v.tombstone
      ? await createTombstone(keys[v.key as 'a' | 'b'], v.other ? `${name}x` : name, v.seq)
      : await createRecord(keys[v.key as 'a' | 'b'], { name: v.other ? `${name}x` : name, addrs: ['/ip4/127.0.0.1/tcp/4001'], aid: new Uint8Array(8), ttl: v.ttl, now: v.seq }))),
  fc.tuple(fc.integer({ min: T - 60_000, max: T }), mutations()).map(async ([seq, m]) =>
    mutate(encodeSignedRecord(await createRecord(keys.a, { name, addrs: ['/ip4/127.0.0.1/tcp/4001'], aid: new Uint8Array(8), now: seq })), m)),
  fc.oneof(fc.uint8Array({ maxLength: 200 }), protobufSoup(3, 5, 60)).map(async b => b)
)

describe('DHT keys and values (properties)', () => {
  it('nameOfKey gives back the name of any dhtKey, and refuses every other byte string with InvalidRecordError', () => {
    fc.assert(fc.property(serviceName, name => { expect(nameOfKey(dhtKey(name))).toBe(name) }), { numRuns: runs(1_000) })
    fc.assert(fc.property(fc.oneof(fc.uint8Array({ maxLength: 80 }), fc.string({ maxLength: 80 }).map(s => new TextEncoder().encode(`/fara/${s}`))), key => {
      let name: string | undefined
      const err = thrownIfAny(() => { name = nameOfKey(key) })
      if (err != null) expect(err.name).toBe('InvalidRecordError')
      else expect(new TextDecoder().decode(key)).toBe(`/fara/${name!}`)
    }), { numRuns: runs(2_000) })
  })

  it('peekValue never throws: the fields of a value that decodes, else undefined', () => {
    fc.assert(fc.property(fc.oneof(fc.uint8Array({ maxLength: 300 }), protobufSoup(3, 6, 80), fc.uint8Array({ minLength: 4_200, maxLength: 4_300 })), bytes => {
      const peeked = peekValue(bytes)
      if (peeked != null) expect(typeof peeked.name === 'string' && typeof peeked.tombstone === 'boolean').toBe(true)
    }), { numRuns: runs(2_000) })
  })

  it('verifyDhtValue accepts only the canonical value of a record for the key, else a typed error', async () => {
    await fc.assert(fc.asyncProperty(serviceName.chain(name => fc.tuple(fc.constant(name), value(name), fc.boolean())), async ([name, making, ownKey]) => {
      const bytes = await making
      const key = ownKey ? dhtKey(name) : dhtKey(`${name}y`)
      let entry: Awaited<ReturnType<typeof verifyDhtValue>> | undefined
      const err = await rejectionIfAny(verifyDhtValue(key, bytes, T).then(e => { entry = e }))
      if (err != null) expect(ERRORS).toContain(err.name)
      else {
        expect(entry!.record.name).toBe(nameOfKey(key))
        expect(Buffer.from(entry!.value).equals(Buffer.from(bytes))).toBe(true)
      }
    }), { numRuns: runs(500) })
  }, budget(30_000))

  it('selectBest picks the same value from the same set in any order, never one that fails the validator', async () => {
    await fc.assert(fc.asyncProperty(
      serviceName.chain(name => fc.tuple(fc.constant(name), fc.array(value(name), { maxLength: 6 }))), fc.nat(),
      async ([name, makings], shuffle) => {
        const values = await Promise.all(makings)
        const key = dhtKey(name)
        const best = await selectBest(key, values, T)
        // another node, the same values in another order (a rotation and a reversal)
        const k = values.length === 0 ? 0 : shuffle % values.length
        const other = [...values.slice(k), ...values.slice(0, k)].reverse()
        const again = await selectBest(key, other, T)
        expect(best == null).toBe(again == null)
        if (best != null) {
          expect(Buffer.from(values[best.index]!).equals(Buffer.from(other[again!.index]!))).toBe(true)
          await expect(verifyDhtValue(key, values[best.index]!, T)).resolves.toBeDefined()
          for (const v of values) {
            const e = await verifyDhtValue(key, v, T).catch(() => undefined)
            if (e != null) expect(compareEntries(best.entry, e)).toBeGreaterThanOrEqual(0)
          }
        } else {
          for (const v of values) expect(await rejectionIfAny(verifyDhtValue(key, v, T))).toBeDefined()
        }
      }), { numRuns: runs(200) })
  }, budget(30_000))
})
