/**
 * The compliance suite of private operations (spec/private-names.md): every
 * backend with `registerPrivate`, `resolvePrivate` and `unregisterPrivate`
 * runs these same tests. `setup` gets a controllable clock and must build the
 * backend on it (every party that verifies: a point's store, each DHT node).
 * The public operations have their own suite (`index.ts`).
 */
import { randomBytes } from 'node:crypto'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createRecord, supportsPrivate } from '@fara/rendezvous'
import { MAX_CLOCK_SKEW_MS, MAX_PRIVATE_RECORD_BYTES, PRIVATE_BUCKETS, PRIVATE_PERIOD_MS, Status } from '@fara/rendezvous/constants'
import {
  createPrivateTombstone, derivePrivateKeys, deriveWriterKey, openPrivateRecord, periodOf, privateLookupKeys, sealPrivateRecord
} from '@fara/rendezvous/private'
import { bytesOf, createPrivateTestClock, fieldsOf, flip, forge, offsetOf, outcomeOf } from './private-envelopes.ts'
import type { Outcome, PrivateComplianceBackend, PrivateTestClock } from './private-envelopes.ts'
import type { PrivateRendezvous, Rendezvous, ServiceRecord, SignedPrivateRecord } from '@fara/rendezvous'
import type { Ed25519PrivateKey, PrivateKey } from '@libp2p/interface'

export { createPrivateTestClock } from './private-envelopes.ts'
export type { PrivateComplianceBackend, PrivateComplianceCapabilities, PrivateTestClock } from './private-envelopes.ts'

const ADDRS = ['/ip4/127.0.0.1/tcp/40001', '/ip6/::1/tcp/40002']

/** Lifetime of a record a test lets expire: long enough for a few DHT round trips in real time on a busy machine. */
const SHORT_TTL_MS = 10_000

/** Sixteen DNS addresses of about 250 bytes each: a public record near MAX_RECORD_BYTES, sealed in the largest bucket. */
const LONG_ADDRS = Array.from({ length: 16 }, (_, i) => `/dns4/${Array.from({ length: 4 }, (_, j) => `${String.fromCharCode(97 + i)}${j}`.padEnd(59, 'x')).join('.')}/tcp/${40_000 + i}`)

function privateOps (rv: Rendezvous, backendName: string): PrivateRendezvous {
  if (!supportsPrivate(rv)) {
    throw new Error(`${backendName} has no private operations (registerPrivate, resolvePrivate, unregisterPrivate)`)
  }
  return rv
}

/** The backend's `plant`, which a scope with `plants` promises. */
function plantOf (backend: PrivateComplianceBackend): NonNullable<PrivateComplianceBackend['plant']> {
  if (backend.plant == null) throw new Error('the scope says this backend plants, but it has no plant()')
  return backend.plant
}

/** Rejects with a typed error: its `name`, and its wire status where it has one. */
async function refused (call: Promise<unknown>, name: string, code?: Status): Promise<void> {
  await expect(call).rejects.toMatchObject(code == null ? { name } : { name, code })
}

/**
 * What decides which cases exist for a backend, known before it is set up: a
 * case that does not apply is not registered (the suite never skips).
 */
export interface PrivateComplianceScope {
  /** The backend's storage can be written around its checks (`plant`): a DNS zone, by any TSIG key holder. */
  plants?: boolean
  /** How far the backend's clock may be moved (`PrivateComplianceCapabilities.maxClockOffsetMs`); unbounded by default. */
  maxClockOffsetMs?: number
}

export function privateRendezvousCompliance (backendName: string, setup: (clock: PrivateTestClock) => Promise<PrivateComplianceBackend>, scope: PrivateComplianceScope = {}): void {
  describe(`private rendezvous compliance: ${backendName}`, () => {
    let clock: PrivateTestClock
    let backend: PrivateComplianceBackend
    /** The service's view of the backend. */
    let rv: PrivateRendezvous
    /** Another party's view: clients resolve, attackers replay, tamper and squat, through it. */
    let peer: PrivateRendezvous
    let pins: boolean
    let alice: Ed25519PrivateKey
    let mallory: Ed25519PrivateKey
    let name: string
    let secret: string
    const aid = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8])

    let teardown: (() => Promise<void>) | undefined

    beforeEach(async () => {
      teardown = undefined
      clock = createPrivateTestClock()
      backend = await setup(clock)
      teardown = backend.teardown
      rv = privateOps(backend.rendezvous, backendName)
      peer = privateOps(backend.peer, backendName)
      pins = backend.capabilities?.pinsSlots !== false
      alice = await generateKeyPair('Ed25519')
      mallory = await generateKeyPair('Ed25519')
      name = `hidden-${randomBytes(5).toString('hex')}`
      secret = `invite-${randomBytes(16).toString('hex')}`
    })

    afterEach(async () => {
      await teardown?.()
    })

    const current = (): number => periodOf(clock.now())
    /** The lookup key of `name` for a period (and a secret): the slot. */
    const slot = (period = current(), s: string = secret, n: string = name): Uint8Array => {
      const { lookupKey, encryptionKey } = derivePrivateKeys(n, period, s)
      encryptionKey.fill(0)
      return lookupKey
    }
    /** `key`'s public record for `name`, signed at `seq`, sealed for a period (default: the current one). */
    const seal = async (o: { key?: PrivateKey, period?: number, seq?: number, ttl?: number, addrs?: string[] } = {}): Promise<SignedPrivateRecord> => {
      const key = o.key ?? alice
      const seq = o.seq ?? clock.now()
      const ttl = o.ttl ?? 60_000
      const signed = await createRecord(key, { name, addrs: o.addrs ?? ADDRS, aid, ttl, now: seq })
      return sealPrivateRecord({ entityKey: key, signed, name, secret, period: o.period ?? current(), seq, expires: seq + ttl })
    }
    const tombstone = async (o: { key?: PrivateKey, period?: number } = {}): Promise<SignedPrivateRecord> =>
      createPrivateTombstone({ entityKey: o.key ?? alice, name, secret, period: o.period ?? current(), seq: clock.now() })
    const writerOf = async (key: PrivateKey = alice, period = current()): Promise<PrivateKey> => deriveWriterKey(key, slot(period))
    const open = async (signed: SignedPrivateRecord): Promise<ServiceRecord> => openPrivateRecord(signed, { name, secret, now: clock.now() })
    /** The slot serves exactly these bytes (to another party, by default). */
    const serves = async (lookupKey: Uint8Array, sealed: SignedPrivateRecord, via = peer): Promise<void> => {
      expect(bytesOf(await via.resolvePrivate(lookupKey))).toBe(bytesOf(sealed))
    }
    const vacant = async (lookupKey: Uint8Array, via = peer): Promise<void> => {
      await refused(via.resolvePrivate(lookupKey), 'NameNotFoundError', Status.NOT_FOUND)
    }

    describe('register, resolve, unregister', () => {
      it('serves a sealed record under its lookup key byte for byte, and it opens to the entity\'s record', async () => {
        const sealed = await seal()
        await rv.registerPrivate(sealed)
        await serves(slot(), sealed, rv)
        const got = await peer.resolvePrivate(slot())
        expect(bytesOf(got)).toBe(bytesOf(sealed))
        const record = await open(got)
        expect(record.name).toBe(name)
        expect(record.publicKey.equals(alice.publicKey)).toBe(true)
        expect(record.addrs.map(String)).toEqual(ADDRS)
        expect(record.aid).toEqual(aid)
      })

      it('keeps the current and the next period in slots of their own, and publishes no public name', async () => {
        const p = current()
        const [now, next] = await Promise.all([seal({ period: p }), seal({ period: p + 1 })])
        await rv.registerPrivate(now)
        await rv.registerPrivate(next)
        await serves(slot(p), now)
        await serves(slot(p + 1), next)
        expect((await open(await peer.resolvePrivate(slot(p + 1)))).publicKey.equals(alice.publicKey)).toBe(true)
        await refused(backend.peer.resolve(name), 'NameNotFoundError', Status.NOT_FOUND)
      })

      it('replaces a slot\'s record with a newer one from the same writer', async () => {
        await rv.registerPrivate(await seal())
        await clock.advance(10)
        const newer = await seal({ addrs: ['/ip4/127.0.0.1/tcp/40003'] })
        await rv.registerPrivate(newer)
        await serves(slot(), newer)
        expect((await open(newer)).addrs.map(String)).toEqual(['/ip4/127.0.0.1/tcp/40003'])
      })

      it('stores and serves a record in the largest bucket', async () => {
        const sealed = await seal({ addrs: LONG_ADDRS })
        expect(fieldsOf(sealed).ciphertext.byteLength).toBe(Math.max(...PRIVATE_BUCKETS))
        await rv.registerPrivate(sealed)
        await serves(slot(), sealed)
        expect((await open(await peer.resolvePrivate(slot()))).addrs.map(String)).toEqual(LONG_ADDRS)
      })

      it('withdraws a slot with a tombstone from its writer key', async () => {
        await rv.registerPrivate(await seal())
        await clock.advance(10)
        await rv.unregisterPrivate(await tombstone())
        await vacant(slot())
        await vacant(slot(), rv)
        if (!pins) return // nothing knows the slot is vacant everywhere: another tombstone is one more newest entry
        await clock.advance(10)
        await refused(rv.unregisterPrivate(await tombstone()), 'NameNotFoundError', Status.NOT_FOUND)
      })

      it('refuses a tombstone as a record and a record as a tombstone', async () => {
        await refused(rv.registerPrivate(await tombstone()), 'InvalidRecordError', Status.INVALID_RECORD)
        await vacant(slot())
        const sealed = await seal()
        await rv.registerPrivate(sealed)
        await clock.advance(10)
        await refused(rv.unregisterPrivate(await seal()), 'InvalidRecordError', Status.INVALID_RECORD)
        // a tombstone that carries a ciphertext is neither
        const t = fieldsOf(await tombstone())
        await refused(rv.unregisterPrivate(await forge(await writerOf(), { ...t, ciphertext: randomBytes(PRIVATE_BUCKETS[0]) })), 'InvalidRecordError', Status.INVALID_RECORD)
        await serves(slot(), sealed)
      })

      it('checks a lookup key at the API boundary', async () => {
        for (const via of [rv, peer]) {
          await expect(via.resolvePrivate(new Uint8Array(31))).rejects.toThrow(RangeError)
          await expect(via.resolvePrivate('lookup' as unknown as Uint8Array)).rejects.toThrow(TypeError)
        }
      })

      it('honours an aborted signal', async () => {
        const controller = new AbortController()
        controller.abort()
        const signal = controller.signal
        await refused(rv.registerPrivate(await seal(), { signal }), 'AbortError')
        await refused(rv.resolvePrivate(slot(), { signal }), 'AbortError')
        await refused(rv.unregisterPrivate(await tombstone(), { signal }), 'AbortError')
        await vacant(slot())
      })
    })

    describe('replays (by another party, of what the service sent)', () => {
      it('refuses an older or replayed record for a slot and keeps serving the newer one', async () => {
        const older = await seal()
        await clock.advance(10)
        const newer = await seal()
        await rv.registerPrivate(older)
        await rv.registerPrivate(newer)
        await refused(peer.registerPrivate(older), 'StaleRecordError', Status.STALE)
        await refused(peer.registerPrivate(newer), 'StaleRecordError', Status.STALE)
        await serves(slot(), newer)
        await serves(slot(), newer, rv)
      })

      it('refuses a replayed tombstone, which leaves a newer record in place', async () => {
        const first = await seal()
        await rv.registerPrivate(first)
        await clock.advance(10)
        const withdrawal = await tombstone()
        await rv.unregisterPrivate(withdrawal)
        if (backend.capabilities?.remembersWithdrawals === false) {
          // nothing is left of the slot to refuse it with: the withdrawn record is taken again, and is served
          await peer.registerPrivate(first)
          await serves(slot(), first)
        } else {
          // the record the tombstone withdrew does not come back
          await refused(peer.registerPrivate(first), 'StaleRecordError', Status.STALE)
          await vacant(slot())
        }
        await clock.advance(10)
        const again = await seal()
        await rv.registerPrivate(again)
        await refused(peer.unregisterPrivate(withdrawal), 'StaleRecordError', Status.STALE)
        await serves(slot(), again)
      })
    })

    describe('a wrong secret', () => {
      it('gets exactly the answers a slot nobody registered gets', async () => {
        // what a client asks: the lookup keys of the current, the next and the previous period
        const keysOf = (s: string, n = name): Uint8Array[] => privateLookupKeys(n, { now: clock.now(), secret: s }).map(k => k.lookupKey)
        const ask = async (keys: Uint8Array[]): Promise<Outcome[]> => {
          const answers: Outcome[] = []
          for (const key of keys) answers.push(await outcomeOf(peer.resolvePrivate(key)))
          return answers
        }
        const wrong = keysOf(`${secret}-wrong`)
        const unregistered = await ask(keysOf(secret))
        const wrongBefore = await ask(wrong)
        const p = current()
        await rv.registerPrivate(await seal({ period: p }))
        await rv.registerPrivate(await seal({ period: p + 1 }))
        const right = await ask(keysOf(secret))
        expect(right.slice(0, 2).map(o => o.ok)).toEqual([true, true])
        const wrongAfter = await ask(wrong)
        expect(unregistered[0]).toMatchObject({ ok: false, error: { fields: { name: 'NameNotFoundError', code: Status.NOT_FOUND } } })
        // class, name, code, message and every other field: the same as before the name was registered,
        // as for the right secret before, as for no secret, another name, or a random key
        expect(wrongAfter).toEqual(wrongBefore)
        expect(wrongAfter).toEqual(unregistered)
        expect(await ask(keysOf(''))).toEqual(unregistered)
        expect(await ask(keysOf(secret, `never-${randomBytes(5).toString('hex')}`))).toEqual(unregistered)
        expect(await ask([randomBytes(32), randomBytes(32), randomBytes(32)])).toEqual(unregistered)
      })
    })

    describe('tampering', () => {
      it('refuses a flipped bit in the lookup key, the ciphertext, the times or the signature, and stores nothing', async () => {
        const sealed = await seal()
        const f = fieldsOf(sealed)
        const at = offsetOf(sealed.record, f.lookupKey)
        const ct = offsetOf(sealed.record, f.ciphertext)
        // the varints of period, seq and expires lie between the writer key and the ciphertext
        const times = offsetOf(sealed.record, f.writerPublicKey) + f.writerPublicKey.byteLength + 1
        for (const index of [at, at + 31, times, ct, ct + 500, sealed.record.byteLength - 1]) {
          await refused(peer.registerPrivate({ record: flip(sealed.record, index), signature: sealed.signature }), 'InvalidSignatureError', Status.INVALID_SIGNATURE)
        }
        for (const index of [0, 31, 63]) {
          await refused(peer.registerPrivate({ record: sealed.record, signature: flip(sealed.signature, index) }), 'InvalidSignatureError', Status.INVALID_SIGNATURE)
        }
        await vacant(slot())
        await vacant(flip(slot(), 0))
        // the untouched record is taken: the bit was the reason
        await rv.registerPrivate(sealed)
        await serves(slot(), sealed)
      })

      it('refuses a record that names another writer key than the one that signed it', async () => {
        const f = fieldsOf(await seal())
        const mallorys = fieldsOf(await seal({ key: mallory })).writerPublicKey
        await refused(peer.registerPrivate(await forge(await writerOf(), { ...f, writerPublicKey: mallorys })), 'InvalidSignatureError', Status.INVALID_SIGNATURE)
        await vacant(slot())
      })

      it('refuses a ciphertext that is not a bucket size, and stores nothing', async () => {
        const writer = await writerOf()
        const f = fieldsOf(await seal())
        for (const size of [0, 1, PRIVATE_BUCKETS[0] - 1, PRIVATE_BUCKETS[0] + 1, 3_000, Math.max(...PRIVATE_BUCKETS) - 1]) {
          await refused(peer.registerPrivate(await forge(writer, { ...f, ciphertext: new Uint8Array(size) })), 'InvalidRecordError', Status.INVALID_RECORD)
        }
        await vacant(slot())
        // the same envelope with a bucket-sized ciphertext is taken: the size was the reason
        const sized = await forge(writer, { ...f, ciphertext: randomBytes(PRIVATE_BUCKETS[1]) })
        await peer.registerPrivate(sized)
        await serves(slot(), sized)
      })

      it('refuses malformed envelopes with typed errors', async () => {
        const writer = await writerOf()
        const f = fieldsOf(await seal())
        const invalid: Array<Promise<SignedPrivateRecord>> = [
          forge(writer, { ...f, lookupKey: f.lookupKey.subarray(0, 31) }),
          forge(writer, { ...f, lookupKey: new Uint8Array([...f.lookupKey, 0]) }),
          forge(writer, { ...f, writerPublicKey: f.writerPublicKey.subarray(0, 35) }),
          forge(writer, { ...f, writerPublicKey: randomBytes(36) }),
          forge(writer, { ...f, seq: 2 ** 60 }),
          forge(writer, { ...f, expires: f.seq }), // a live record must outlive its seq
          Promise.resolve({ record: new Uint8Array(64).fill(0xff), signature: new Uint8Array(64) }), // does not decode
          Promise.resolve({ record: new Uint8Array(0), signature: new Uint8Array(64) })
        ]
        for (const signed of invalid) await refused(peer.registerPrivate(await signed), 'InvalidRecordError', Status.INVALID_RECORD)
        const sealed = await seal()
        for (const bytes of [0, 63, 65]) {
          await refused(peer.registerPrivate({ record: sealed.record, signature: new Uint8Array(bytes) }), 'InvalidSignatureError', Status.INVALID_SIGNATURE)
        }
        await vacant(slot())
      })
    })

    if (scope.plants === true) {
      describe('storage written around the backend', () => {
        it('never serves an envelope that reached its storage around the write checks', async () => {
          const plant = plantOf(backend)
          const unregistered = await outcomeOf(peer.resolvePrivate(slot()))
          const p = current()
          const sealed = await seal({ period: p })
          const planted: SignedPrivateRecord[] = [
            { record: flip(sealed.record, sealed.record.byteLength - 1), signature: sealed.signature },
            { record: sealed.record, signature: flip(sealed.signature, 0) },
            await forge(await writerOf(), { ...fieldsOf(sealed), ciphertext: new Uint8Array(PRIVATE_BUCKETS[0] - 1) }),
            await seal({ period: p, seq: clock.now() - 10_000, ttl: 5_000 }), // expired
            await seal({ period: p + 1 }), // another slot's record, copied here
            await tombstone({ period: p })
          ]
          for (const signed of planted) await plant(slot(p), signed)
          expect(await outcomeOf(peer.resolvePrivate(slot(p)))).toEqual(unregistered)
          // nor do they stand in the way of a record that verifies
          await rv.registerPrivate(sealed)
          await serves(slot(p), sealed)
        })

        it('serves a planted record only until it expires', async () => {
          const plant = plantOf(backend)
          const unregistered = await outcomeOf(peer.resolvePrivate(slot()))
          const sealed = await seal({ ttl: SHORT_TTL_MS })
          await plant(slot(), sealed)
          await serves(slot(), sealed)
          await clock.advance(SHORT_TTL_MS + 1)
          expect(await outcomeOf(peer.resolvePrivate(slot()))).toEqual(unregistered)
        })
      })
    }

    describe('bounded decoding', () => {
      it('refuses an envelope over MAX_PRIVATE_RECORD_BYTES with RecordTooLargeError, before decoding it', async () => {
        const f = fieldsOf(await seal())
        const big = await forge(await writerOf(), { ...f, ciphertext: new Uint8Array(MAX_PRIVATE_RECORD_BYTES) })
        expect(big.record.byteLength).toBeGreaterThan(MAX_PRIVATE_RECORD_BYTES)
        await refused(peer.registerPrivate(big), 'RecordTooLargeError', Status.TOO_LARGE)
        // garbage of that size is refused for its size, not for its content
        const garbage = { record: new Uint8Array(MAX_PRIVATE_RECORD_BYTES + 1).fill(0xff), signature: new Uint8Array(64) }
        await refused(peer.registerPrivate(garbage), 'RecordTooLargeError', Status.TOO_LARGE)
        await refused(peer.unregisterPrivate(garbage), 'RecordTooLargeError', Status.TOO_LARGE)
        await vacant(slot())
        // and the backend goes on serving
        const sealed = await seal()
        await rv.registerPrivate(sealed)
        await serves(slot(), sealed)
      })

      it('refuses a record far over every bound with RecordTooLargeError, and goes on serving', async () => {
        // 1 MiB: more than any backend reads in one message (a point's MAX_POINT_MESSAGE_BYTES, a DNS message, a DHT value)
        const huge = { record: new Uint8Array(1 << 20).fill(0xff), signature: new Uint8Array(64) }
        await refused(peer.registerPrivate(huge), 'RecordTooLargeError', Status.TOO_LARGE)
        await refused(peer.unregisterPrivate(huge), 'RecordTooLargeError', Status.TOO_LARGE)
        const sealed = await seal()
        await rv.registerPrivate(sealed)
        await serves(slot(), sealed)
      })
    })

    describe('expiry', () => {
      it('refuses a record that has already expired', async () => {
        await refused(rv.registerPrivate(await seal({ seq: clock.now() - 10_000, ttl: 5_000 })), 'ExpiredRecordError', Status.EXPIRED)
        await vacant(slot())
      })

      it('stops serving a record when it expires', async () => {
        await rv.registerPrivate(await seal({ ttl: SHORT_TTL_MS }))
        expect((await open(await peer.resolvePrivate(slot()))).name).toBe(name)
        await clock.advance(SHORT_TTL_MS + 1)
        await vacant(slot())
        await vacant(slot(), rv)
      })

      it('refuses a seq beyond the clock\'s skew, and takes the record once the clock has caught up', async () => {
        const early = await seal({ seq: clock.now() + MAX_CLOCK_SKEW_MS + 60_000 })
        await refused(rv.registerPrivate(early), 'InvalidRecordError', Status.INVALID_RECORD)
        await vacant(slot())
        await clock.advance(61_000)
        await rv.registerPrivate(early)
        await serves(slot(), early)
      })
    })

    describe('slot occupation (spec/private-names.md#honest-limits, squatting)', () => {
      it('holds a live slot for its first writer until the record expires', async () => {
        const first = await seal({ ttl: SHORT_TTL_MS })
        await rv.registerPrivate(first)
        await clock.advance(10)
        const squat = await seal({ key: mallory })
        if (!pins) {
          // no single place decides who came first: the squat may be refused where the slot is held, or win as
          // the newest entry (a client that expects alice's key sees the change); clients see what was answered
          const taken = await peer.registerPrivate(squat).then(() => true, (err: Error) => {
            expect(err).toMatchObject({ name: 'NameTakenError', code: Status.NAME_TAKEN })
            return false
          })
          await serves(slot(), taken ? squat : first)
          return
        }
        await refused(peer.registerPrivate(squat), 'NameTakenError', Status.NAME_TAKEN)
        // refused means served to nobody, the squatter's own node included
        await serves(slot(), first)
        await serves(slot(), first, rv)
        await refused(peer.unregisterPrivate(await tombstone({ key: mallory })), 'NameTakenError', Status.NAME_TAKEN)
        await serves(slot(), first)
        await clock.advance(SHORT_TTL_MS + 1)
        const later = await seal({ key: mallory })
        await peer.registerPrivate(later)
        expect((await open(await peer.resolvePrivate(slot()))).publicKey.equals(mallory.publicKey)).toBe(true)
      })

      it('frees a withdrawn slot for another writer', async () => {
        await rv.registerPrivate(await seal())
        await clock.advance(10)
        await rv.unregisterPrivate(await tombstone())
        await clock.advance(10)
        const other = await seal({ key: mallory })
        await peer.registerPrivate(other)
        await serves(slot(), other)
        await serves(slot(), other, rv)
      })

      it('refuses a slot for a period beyond the next', async () => {
        const p = current()
        await refused(peer.registerPrivate(await seal({ period: p + 2 })), 'InvalidRecordError', Status.INVALID_RECORD)
        await vacant(slot(p + 2))
        const next = await seal({ period: p + 1 })
        await rv.registerPrivate(next)
        await serves(slot(p + 1), next)
      })

      // a backend whose clock cannot be moved a whole period (TSIG signs with it) has no such case
      if ((scope.maxClockOffsetMs ?? Infinity) >= PRIVATE_PERIOD_MS) {
        it('opens the period after next once its clock has reached the next period', async () => {
          const p = current()
          await refused(peer.registerPrivate(await seal({ period: p + 2 })), 'InvalidRecordError', Status.INVALID_RECORD)
          await clock.advance(PRIVATE_PERIOD_MS)
          const ahead = await seal({ period: p + 2 })
          await rv.registerPrivate(ahead)
          await serves(slot(p + 2), ahead)
        })
      }

      it('refuses to hold a slot past the end of the period after its own', async () => {
        const p = current()
        const writer = await writerOf()
        const f = fieldsOf(await seal({ period: p }))
        const end = (p + 2) * PRIVATE_PERIOD_MS + MAX_CLOCK_SKEW_MS
        await refused(peer.registerPrivate(await forge(writer, { ...f, expires: end + 1 })), 'InvalidRecordError', Status.INVALID_RECORD)
        await vacant(slot(p))
        const longest = await forge(writer, { ...f, expires: end })
        await rv.registerPrivate(longest)
        await serves(slot(p), longest)
      })
    })
  })
}
