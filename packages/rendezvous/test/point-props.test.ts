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
import { createRecord, createRendezvousPoint, createTombstone, rendezvousPoint } from '../src/index.ts'
import { RENDEZVOUS_PROTOCOL, Status } from '../src/constants.ts'
import { createPrivateTombstone, periodOf, sealPrivateRecord } from '../src/private/index.ts'
import { ResponseType, tryDecode } from '../src/internal/codec.ts'
import { FrameReader, frame } from '../src/internal/frames.ts'
import { decodeRequest, encodeRequest } from '../src/internal/messages.ts'
import { RENDEZVOUS_SESSION_PROTOCOL } from '../src/constants.ts'
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
  point = await createRendezvousPoint({ listen: ['/ip4/127.0.0.1/tcp/0'], peerRate: 1e6, peerBurst: 1e6, addressRate: 1e6, addressBurst: 1e6, prefixRate: 1e6, prefixBurst: 1e6 })
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
  const res = tryDecode<{ status: number, message: string }>(ResponseType, (await lp.read({ signal: AbortSignal.timeout(5_000) })).subarray())
  await stream.close().catch(() => {})
  return res!
}

/** Send raw requests all at once on one session and read their responses, in order. */
async function askSession (requests: Uint8Array[]): Promise<Array<{ status: number, message: string }>> {
  const stream = await openStream(node, point.node.peerId, point.multiaddrs, RENDEZVOUS_SESSION_PROTOCOL)
  const reader = new FrameReader(1 << 20)
  const out: Array<{ status: number, message: string }> = []
  const done = new Promise<void>((resolve, reject) => {
    stream.addEventListener('message', (evt) => {
      reader.push(evt.data)
      for (let body = reader.next(); body != null; body = reader.next()) out.push(tryDecode<{ status: number, message: string }>(ResponseType, body)!)
      if (out.length === requests.length) resolve()
    })
    stream.addEventListener('close', () => { reject(new Error(`session closed after ${out.length} of ${requests.length} answers`)) })
  })
  for (const r of requests) stream.send(frame(r))
  await done
  await stream.close().catch(() => {})
  return out
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

const wire = fc.oneof(
  { weight: 6, arbitrary: request.map(encodeRequest) },
  { weight: 1, arbitrary: fc.tuple(request, mutations()).map(([r, m]) => mutate(encodeRequest(r), m)) },
  { weight: 1, arbitrary: protobufSoup(7, 8, 60) },
  { weight: 1, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 200 }) }
)

describe('a rendezvous point fed arbitrary requests (property, real libp2p point)', () => {
  it('answers every request with a wire status and never fails internally', async () => {
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

  it('answers every request pipelined on a session, one answer each and in order, each the answer it gets on a stream of its own', async () => {
    // a resolve of a known name between the arbitrary ones shows that no answer is skipped or swapped
    const probe = encodeRequest({ type: 1, name: 'after-the-storm' })
    await fc.assert(fc.asyncProperty(fc.array(wire, { minLength: 1, maxLength: 40 }), async batch => {
      const failed = point.server.stats.failed
      const requests = batch.flatMap(r => [r, probe])
      const res = await askSession(requests)
      expect(res).toHaveLength(requests.length)
      res.forEach((r, i) => {
        expect(STATUSES.has(r.status)).toBe(true)
        expect(r.status).not.toBe(Status.INTERNAL)
        if (i % 2 === 1) expect(r.status).toBe(Status.OK)
      })
      expect(point.server.stats.failed).toBe(failed)
      // a resolve of a name the batch cannot register (only 'fuzzed' has a genuine record) gets the same answer on both protocols
      const reads = batch.filter(b => {
        try {
          const r = decodeRequest(b)
          return r.type === 1 && r.name !== 'fuzzed'
        } catch {
          return false
        }
      })
      for (const r of reads.slice(0, 2)) expect(await ask(r)).toEqual(res[2 * batch.indexOf(r)])
    }), { numRuns: runs(60) })
  }, budget(30_000))
})
