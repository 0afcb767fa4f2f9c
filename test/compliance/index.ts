/**
 * The rendezvous compliance suite: every backend runs these same tests.
 * `setup` gets a controllable clock and must build the backend on it.
 */
import { readFileSync } from 'node:fs'
import { generateKeyPair, publicKeyToProtobuf } from '@libp2p/crypto/keys'
import protobuf from 'protobufjs'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { signDomain } from '@fara/identity'
import { createRecord, createTombstone } from '@fara/rendezvous'
import { MAX_RECORD_BYTES, RECORD_DOMAIN } from '@fara/rendezvous/constants'
import type { Rendezvous, SignedRecord } from '@fara/rendezvous'
import type { Ed25519PrivateKey } from '@libp2p/interface'

// an encoder built from the normative .proto, independent of the packages' generated code
const proto = protobuf.parse(readFileSync(new URL('../../spec/proto/rendezvous.proto', import.meta.url), 'utf8')).root
const RecordType = proto.lookupType('fara.rendezvous.v1.Record')

/** A clock the suite moves forward by hand. Starts at the real time so every end agrees within skew. */
export interface TestClock {
  now: () => number
  advance: (ms: number) => void
}

export interface ComplianceBackend {
  rendezvous: Rendezvous
  teardown: () => Promise<void>
  /** What the backend can promise by its nature; every capability defaults to true. */
  capabilities?: ComplianceCapabilities
}

export interface ComplianceCapabilities {
  /**
   * A live name belongs to the key that registered it (first come, first
   * served) until it expires or is withdrawn. A DHT cannot promise this: it
   * has no single point that remembers who came first, so its rule is that the
   * newest valid record wins, and a client that expects a key checks it.
   */
  pinsNames?: boolean
}

export function createTestClock (): TestClock {
  let offset = 0
  return { now: () => Date.now() + offset, advance: (ms) => { offset += ms } }
}

const ADDRS = ['/ip4/127.0.0.1/tcp/40001', '/ip6/::1/tcp/40002']

/** Sign arbitrary record fields, bypassing createRecord's checks: for forging bad records. */
export async function signRaw (key: Ed25519PrivateKey, fields: Record<string, unknown>, publicKeyOf = key): Promise<SignedRecord> {
  const record = RecordType.encode({ publicKey: publicKeyToProtobuf(publicKeyOf.publicKey), ...fields }).finish()
  return { record, signature: await signDomain(key, RECORD_DOMAIN, record) }
}

async function expectName (promise: Promise<unknown>, name: string): Promise<void> {
  await expect(promise).rejects.toMatchObject({ name })
}

export function rendezvousCompliance (backendName: string, setup: (clock: TestClock) => Promise<ComplianceBackend>): void {
  describe(`rendezvous compliance: ${backendName}`, () => {
    let clock: TestClock
    let backend: ComplianceBackend
    let rv: Rendezvous
    let alice: Ed25519PrivateKey
    let mallory: Ed25519PrivateKey
    let name: string
    const aid = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8])

    beforeEach(async () => {
      clock = createTestClock()
      backend = await setup(clock)
      rv = backend.rendezvous
      alice = await generateKeyPair('Ed25519')
      mallory = await generateKeyPair('Ed25519')
      name = `svc-${Math.random().toString(36).slice(2, 10)}`
    })

    afterEach(async () => {
      await backend.teardown()
    })

    const record = async (key = alice, extra: { ttl?: number, now?: number, addrs?: string[] } = {}): Promise<SignedRecord> =>
      createRecord(key, { name, addrs: extra.addrs ?? ADDRS, aid, ttl: extra.ttl ?? 60_000, now: extra.now ?? clock.now() })

    it('resolves a registered record with its key, addresses and AId', async () => {
      await rv.register(await record())
      const got = await rv.resolve(name)
      expect(got.name).toBe(name)
      expect(got.publicKey.equals(alice.publicKey)).toBe(true)
      expect(got.addrs.map(String)).toEqual(ADDRS)
      expect(got.aid).toEqual(aid)
    })

    it('rejects an unknown name with NameNotFoundError', async () => {
      await expectName(rv.resolve(name), 'NameNotFoundError')
    })

    it('refuses a record signed by another key than the one it names', async () => {
      const forged = await signRaw(mallory, { name, addrs: [], aid, seq: clock.now(), expires: clock.now() + 60_000 }, alice)
      await expectName(rv.register(forged), 'InvalidSignatureError')
      await expectName(rv.resolve(name), 'NameNotFoundError')
    })

    it('refuses a record whose bytes were altered after signing', async () => {
      const signed = await record()
      const altered = new Uint8Array(signed.record)
      altered[altered.length - 1] = altered[altered.length - 1]! ^ 1
      await expectName(rv.register({ record: altered, signature: signed.signature }), 'InvalidSignatureError')
    })

    it('refuses an expired record', async () => {
      await expectName(rv.register(await record(alice, { now: clock.now() - 10_000, ttl: 5_000 })), 'ExpiredRecordError')
    })

    it('stops serving a record once its TTL has passed', async () => {
      await rv.register(await record(alice, { ttl: 2_000 }))
      await expect(rv.resolve(name)).resolves.toMatchObject({ name })
      clock.advance(2_001)
      await expectName(rv.resolve(name), 'NameNotFoundError')
    })

    it('refuses a replayed record that is not newer than the stored one', async () => {
      const first = await record()
      await rv.register(first)
      await expectName(rv.register(first), 'StaleRecordError')
      const older = await record(alice, { now: clock.now() - 1_000 })
      await expectName(rv.register(older), 'StaleRecordError')
    })

    it('replaces a record with a newer one from the same key', async () => {
      await rv.register(await record())
      clock.advance(10)
      await rv.register(await record(alice, { addrs: ['/ip4/127.0.0.1/tcp/40003'] }))
      expect((await rv.resolve(name)).addrs.map(String)).toEqual(['/ip4/127.0.0.1/tcp/40003'])
    })

    it('refuses a live name to another key, and frees it when the record expires', async () => {
      if (backend.capabilities?.pinsNames === false) {
        // the backend's own rule: the newest valid record wins, and the name is only as safe as the key a client expects
        await rv.register(await record(alice, { ttl: 2_000 }))
        clock.advance(10)
        await rv.register(await record(mallory))
        const got = await rv.resolve(name)
        expect(got.publicKey.equals(mallory.publicKey)).toBe(true)
        expect(got.publicKey.equals(alice.publicKey)).toBe(false) // a client expecting alice's key sees the change
        clock.advance(10)
        await rv.register(await record(alice))
        expect((await rv.resolve(name)).publicKey.equals(alice.publicKey)).toBe(true)
        return
      }
      await rv.register(await record(alice, { ttl: 2_000 }))
      await expectName(rv.register(await record(mallory)), 'NameTakenError')
      expect((await rv.resolve(name)).publicKey.equals(alice.publicKey)).toBe(true)
      clock.advance(2_001)
      await rv.register(await record(mallory))
      expect((await rv.resolve(name)).publicKey.equals(mallory.publicKey)).toBe(true)
    })

    it('withdraws a name with a tombstone signed by its key', async () => {
      await rv.register(await record())
      clock.advance(10)
      await rv.unregister(await createTombstone(alice, name, clock.now()))
      await expectName(rv.resolve(name), 'NameNotFoundError')
    })

    it('refuses a record replayed after its name was withdrawn', async () => {
      const live = await record()
      await rv.register(live)
      clock.advance(10)
      await rv.unregister(await createTombstone(alice, name, clock.now()))
      await expectName(rv.register(live), 'StaleRecordError')
      await expectName(rv.resolve(name), 'NameNotFoundError')
      // a record signed after the withdrawal is welcome
      clock.advance(10)
      await rv.register(await record())
      await expect(rv.resolve(name)).resolves.toMatchObject({ name })
    })

    it('rejects a malformed name at the API boundary', async () => {
      await expect(rv.resolve('Not A Name!')).rejects.toThrow(RangeError)
    })

    it('refuses a tombstone from another key and keeps the record', async () => {
      if (backend.capabilities?.pinsNames === false) {
        // newest valid record wins, tombstones included: another key's newer tombstone hides the name
        // (no more than that key could do by publishing a newer live record); the owner's next record restores it
        await rv.register(await record())
        clock.advance(10)
        await rv.unregister(await createTombstone(mallory, name, clock.now()))
        await expectName(rv.resolve(name), 'NameNotFoundError')
        clock.advance(10)
        await rv.register(await record())
        expect((await rv.resolve(name)).publicKey.equals(alice.publicKey)).toBe(true)
        return
      }
      await rv.register(await record())
      clock.advance(10)
      await expectName(rv.unregister(await createTombstone(mallory, name, clock.now())), 'NameTakenError')
      await expect(rv.resolve(name)).resolves.toMatchObject({ name })
    })

    it('refuses a record that breaks a field rule', async () => {
      const badAid = await signRaw(alice, { name, addrs: [], aid: new Uint8Array(3), seq: clock.now(), expires: clock.now() + 60_000 })
      await expectName(rv.register(badAid), 'InvalidRecordError')
      const tooLong = await signRaw(alice, { name, addrs: [], aid, seq: clock.now(), expires: clock.now() + 2 * 86_400_000 })
      await expectName(rv.register(tooLong), 'InvalidRecordError')
    })

    it('refuses an oversized record with RecordTooLargeError', async () => {
      const addrs = Array.from({ length: 40 }, () => new Uint8Array(200).fill(4))
      const huge = await signRaw(alice, { name, addrs, aid, seq: clock.now(), expires: clock.now() + 60_000 })
      expect(huge.record.byteLength).toBeGreaterThan(MAX_RECORD_BYTES)
      await expectName(rv.register(huge), 'RecordTooLargeError')
      await expectName(rv.resolve(name), 'NameNotFoundError')
    })

    it('honours an aborted signal', async () => {
      const controller = new AbortController()
      controller.abort()
      await expectName(rv.resolve(name, { signal: controller.signal }), 'AbortError')
      await expectName(rv.register(await record(), { signal: controller.signal }), 'AbortError')
    })
  })
}
