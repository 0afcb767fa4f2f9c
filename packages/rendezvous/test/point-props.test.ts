// Property test of a real rendezvous point (libp2p, TCP on 127.0.0.1) fed
// arbitrary, mutated and hostile requests: every request is answered with a
// wire status, none makes the point fail internally (stats.failed stays 0,
// which counts errors that were not typed), and it keeps serving.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { lpStream } from '@libp2p/utils'
import { createKeystore, encodeSignedRevocation } from '@fara/identity'
import { createNode, openStream } from '@fara/transport'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  RENDEZVOUS_PROTOCOL, Status, createPrivateTombstone, createRecord, createRendezvousPoint, createTombstone, periodOf, rendezvousPoint,
  sealPrivateRecord
} from '../src/index.ts'
import { ResponseType, TO_OBJECT } from '../src/internal/codec.ts'
import { encodeRequest } from '../src/internal/messages.ts'
import { budget, mutate, mutations, protobufSoup, propsFile, runs } from './arbitraries.ts'
import type { RendezvousPointHandle, SignedRecord } from '../src/index.ts'
import type { Request } from '../src/internal/messages.ts'
import type { Libp2p, PrivateKey } from '@libp2p/interface'

propsFile('rendezvous/point-props')

const STATUSES = new Set<number>(Object.values(Status))
let dir: string
let point: RendezvousPointHandle
let node: Libp2p
let key: PrivateKey
const genuine = {} as { record: SignedRecord, tombstone: SignedRecord, privateRecord: SignedRecord, privateTombstone: SignedRecord, lookupKey: Uint8Array, revocation: Uint8Array }

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fara-point-props-'))
  point = await createRendezvousPoint({ listen: ['/ip4/127.0.0.1/tcp/0'], peerRate: 1e6, peerBurst: 1e6 })
  node = await createNode({ privateKey: await generateKeyPair('Ed25519'), listen: [] })
  key = await generateKeyPair('Ed25519')
  const now = Date.now()
  genuine.record = await createRecord(key, { name: 'fuzzed', addrs: ['/ip4/127.0.0.1/tcp/4001'], aid: new Uint8Array(8), now })
  genuine.tombstone = await createTombstone(key, 'fuzzed', now + 1)
  const inner = await createRecord(key, { name: 'hidden', addrs: ['/ip4/127.0.0.1/tcp/4001'], aid: new Uint8Array(8), now })
  genuine.privateRecord = await sealPrivateRecord({ entityKey: key, signed: inner, name: 'hidden', period: periodOf(now), seq: now, expires: now + 60_000 })
  genuine.privateTombstone = await createPrivateTombstone({ entityKey: key, name: 'hidden', period: periodOf(now), seq: now + 1 })
  genuine.lookupKey = new Uint8Array(32).fill(1)
  // a genuine revocation of some device's application
  const ks = await createKeystore(join(dir, 'ks'), { passphrase: 'pw', kdf: { N: 2 ** 10, r: 8, p: 1 } })
  await ks.rotate('svc')
  genuine.revocation = encodeSignedRevocation(await ks.revoke('svc', 1))
}, 30_000)

afterAll(async () => {
  await node?.stop()
  await point?.close()
  await rm(dir, { recursive: true, force: true })
})

/** Send one raw request and read the raw response. */
async function ask (bytes: Uint8Array): Promise<{ status: number, message: string }> {
  const stream = await openStream(node, point.node.peerId, point.multiaddrs, RENDEZVOUS_PROTOCOL)
  const lp = lpStream(stream, { maxDataLength: 1 << 20 })
  await lp.write(bytes, { signal: AbortSignal.timeout(5_000) })
  const res = ResponseType.toObject(ResponseType.decode((await lp.read({ signal: AbortSignal.timeout(5_000) })).subarray()), TO_OBJECT)
  await stream.close().catch(() => {})
  return res as { status: number, message: string }
}

const signedPart = (pick: () => SignedRecord): fc.Arbitrary<SignedRecord> => fc.oneof(
  fc.constant(null).map(() => pick()),
  fc.tuple(mutations(), fc.boolean()).map(([m, sig]) => {
    const s = pick()
    return sig ? { record: s.record, signature: mutate(s.signature, m) } : { record: mutate(s.record, m), signature: s.signature }
  }),
  fc.record({ record: fc.uint8Array({ maxLength: 100 }), signature: fc.uint8Array({ maxLength: 70 }) })
)

const requestFields = {
  type: fc.oneof({ weight: 8, arbitrary: fc.integer({ min: 0, max: 6 }) }, { weight: 1, arbitrary: fc.integer({ min: 7, max: 2 ** 31 - 1 }) }),
  name: fc.oneof(fc.constantFrom('fuzzed', 'hidden', ''), fc.string({ maxLength: 70 })),
  record: fc.oneof(signedPart(() => genuine.record), signedPart(() => genuine.tombstone), signedPart(() => genuine.privateRecord)),
  privateRecord: fc.oneof(signedPart(() => genuine.privateRecord), signedPart(() => genuine.privateTombstone), signedPart(() => genuine.record)),
  lookupKey: fc.oneof(fc.constant(null).map(() => genuine.lookupKey), fc.uint8Array({ minLength: 1, maxLength: 40 })),
  revocation: fc.oneof(fc.constant(null).map(() => genuine.revocation), mutations().map(m => mutate(genuine.revocation, m)), fc.uint8Array({ minLength: 1, maxLength: 100 }))
}
/** Requests of every type, with the fields it needs (right, damaged or another kind's) and sometimes without. */
const request: fc.Arbitrary<Request> = fc.oneof(
  { weight: 4, arbitrary: fc.record(requestFields) },
  { weight: 1, arbitrary: fc.record(requestFields, { requiredKeys: ['type', 'name'] }) }
)

describe('a rendezvous point fed arbitrary requests (property, real libp2p point)', () => {
  it('answers every request with a wire status and never fails internally', async () => {
    const wire = fc.oneof(
      { weight: 6, arbitrary: request.map(encodeRequest) },
      { weight: 1, arbitrary: fc.tuple(request, mutations()).map(([r, m]) => mutate(encodeRequest(r), m)) },
      { weight: 1, arbitrary: protobufSoup(7, 8, 60) },
      { weight: 1, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 200 }) }
    )
    await fc.assert(fc.asyncProperty(wire, async bytes => {
      const failed = point.server.stats.failed
      const res = await ask(bytes)
      expect(STATUSES.has(res.status)).toBe(true)
      expect(res.status).not.toBe(Status.INTERNAL)
      expect(point.server.stats.failed).toBe(failed)
    }), { numRuns: runs(300) })
    // and it still serves a well-behaved client
    const client = rendezvousPoint(point.multiaddrs)({ node })
    const fresh = await createRecord(key, { name: 'after-the-storm', addrs: ['/ip4/127.0.0.1/tcp/4001'], aid: new Uint8Array(8) })
    await client.register(fresh)
    expect((await client.resolve('after-the-storm')).name).toBe('after-the-storm')
  }, budget(30_000))
})
