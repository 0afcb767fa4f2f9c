// Sessions (spec/rendezvous.md#sessions): many requests on one long-lived
// stream, answered in order, at a real point and at fake points that misbehave
// in the ways a session must survive.
import { generateKeyPair } from '@libp2p/crypto/keys'
import { createNode, openStream } from '@fara/transport'
import fc from 'fast-check'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createRecord, createRendezvousPoint, rendezvousPoint } from '../src/index.ts'
import { MAX_POINT_MESSAGE_BYTES, RENDEZVOUS_PROTOCOL, Status } from '../src/constants.ts'
import { ResponseType, tryDecode } from '../src/internal/codec.ts'
import { deferred } from '../src/internal/deferred.ts'
import { FrameReader, frame } from '../src/internal/frames.ts'
import { RequestKind, decodeRequest, encodeRequest, encodeResponse } from '../src/internal/messages.ts'
import { MAX_IN_FLIGHT, RENDEZVOUS_SESSION_PROTOCOL } from '../src/constants.ts'
import type { RendezvousPointHandle } from '../src/index.ts'
import type { Libp2p, Stream } from '@libp2p/interface'

const resolveBytes = (name: string): Uint8Array => encodeRequest({ type: RequestKind.RESOLVE, name })

/** Read `n` answers from a raw session stream, in order. */
async function answers (stream: Stream, n: number): Promise<Array<{ status: number, message: string }>> {
  const reader = new FrameReader(1 << 20)
  const out: Array<{ status: number, message: string }> = []
  const done = deferred<void>()
  const onMessage = (evt: { data: Uint8Array | { byteLength: number, subarray: () => Uint8Array } }): void => {
    reader.push(evt.data)
    for (let body = reader.next(); body != null; body = reader.next()) {
      out.push(tryDecode<{ status: number, message: string }>(ResponseType, body)!)
      if (out.length === n) done.resolve()
    }
  }
  stream.addEventListener('message', onMessage)
  stream.addEventListener('close', () => { done.reject(new Error(`closed after ${out.length} of ${n} answers`)) })
  try {
    await done.promise
  } finally {
    stream.removeEventListener('message', onMessage)
  }
  return out
}

/** Resolves when the stream has closed, with its error if it was reset. */
async function closed (stream: Stream): Promise<Error | undefined> {
  if (stream.status !== 'open') return undefined
  return new Promise(resolve => { stream.addEventListener('close', (evt) => { resolve(evt.error) }, { once: true }) })
}

function sessionStreams (node: Libp2p, protocol: string): number {
  return node.getConnections().flatMap(c => c.streams).filter(s => s.protocol === protocol).length
}

describe('frames', () => {
  it('reads every frame back, however the bytes are cut', () => {
    fc.assert(fc.property(
      fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 8 }),
      fc.array(fc.integer({ min: 1, max: 400 }), { minLength: 1, maxLength: 20 }),
      (bodies, cuts) => {
        const wire = Buffer.concat(bodies.map(frame))
        const reader = new FrameReader(300)
        const got: Uint8Array[] = []
        for (let at = 0, i = 0; at < wire.byteLength; i++) {
          const size = cuts[i % cuts.length]!
          reader.push(wire.subarray(at, at + size))
          at += size
          for (let b = reader.next(); b != null; b = reader.next()) got.push(b.slice())
        }
        expect(got.map(b => Buffer.from(b).toString('hex'))).toEqual(bodies.map(b => Buffer.from(b).toString('hex')))
        expect(reader.buffered).toBe(0)
      }
    ))
  })

  it('refuses a frame over the bound from its prefix, before its body arrives', () => {
    const reader = new FrameReader(100)
    reader.push(frame(new Uint8Array(101)).subarray(0, 2))
    expect(() => reader.next()).toThrow(expect.objectContaining({ name: 'FrameError' }))
  })

  it('refuses a length prefix longer than three bytes', () => {
    const reader = new FrameReader(1 << 30)
    reader.push(Uint8Array.of(0x80, 0x80, 0x80, 0x01))
    expect(() => reader.next()).toThrow(expect.objectContaining({ name: 'FrameError' }))
  })

  it('waits for a prefix cut in two', () => {
    const reader = new FrameReader(MAX_POINT_MESSAGE_BYTES)
    const bytes = frame(new Uint8Array(300).fill(9))
    reader.push(bytes.subarray(0, 1))
    expect(reader.next()).toBeUndefined()
    reader.push(bytes.subarray(1))
    expect(reader.next()?.byteLength).toBe(300)
  })
})

describe('rendezvous point sessions', () => {
  let point: RendezvousPointHandle
  let node: Libp2p

  beforeEach(async () => {
    point = await createRendezvousPoint({ listen: ['/ip4/127.0.0.1/tcp/0'], requestTimeout: 2_000 })
    node = await createNode({ privateKey: await generateKeyPair('Ed25519'), listen: [] })
  })

  afterEach(async () => {
    await node.stop()
    await point.close()
  })

  async function session (): Promise<Stream> {
    return openStream(node, point.node.peerId, point.multiaddrs, RENDEZVOUS_SESSION_PROTOCOL, { optimistic: false })
  }

  it('answers requests pipelined on one stream, each in turn', async () => {
    const key = await generateKeyPair('Ed25519')
    const record = await createRecord(key, { name: 'piped', addrs: ['/ip4/127.0.0.1/tcp/4001'], aid: new Uint8Array(8) })
    const stream = await session()
    const reading = answers(stream, 4)
    stream.send(frame(resolveBytes('piped')))
    stream.send(frame(encodeRequest({ type: RequestKind.REGISTER, record, name: '' })))
    stream.send(frame(Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0x0f)))
    stream.send(frame(resolveBytes('piped')))
    expect((await reading).map(a => a.status)).toEqual([Status.NOT_FOUND, Status.OK, Status.INVALID_REQUEST, Status.OK])
    await stream.close()
  })

  it('stops reading a session that pipelines more than it buffers, and answers everything once it catches up', async () => {
    const stream = await session()
    const big = encodeRequest({ type: RequestKind.RESOLVE, name: 'x'.repeat(1000) }) // an invalid name: INVALID_REQUEST
    const reading = answers(stream, 90)
    for (let i = 0; i < 89; i++) stream.send(frame(big)) // ~90 KB, well over MAX_SESSION_BUFFER
    stream.send(frame(resolveBytes('last')))
    const got = await reading
    expect(got.slice(0, 89).every(a => a.status === Status.INVALID_REQUEST)).toBe(true)
    expect(got[89]!.status).toBe(Status.NOT_FOUND)
    expect(point.server.stats.requests).toBe(90)
    await stream.close()
  })

  it('keeps one stream for many requests of a client', async () => {
    const client = rendezvousPoint(point.multiaddrs)({ node })
    for (let i = 0; i < 5; i++) await expect(client.resolve('nobody')).rejects.toMatchObject({ name: 'NameNotFoundError' })
    await Promise.all(Array.from({ length: MAX_IN_FLIGHT * 2 }, async () => {
      await expect(client.resolve('nobody')).rejects.toMatchObject({ name: 'NameNotFoundError' })
    }))
    expect(sessionStreams(node, RENDEZVOUS_SESSION_PROTOCOL)).toBe(1)
    expect(sessionStreams(node, RENDEZVOUS_PROTOCOL)).toBe(0)
    expect(point.server.stats.requests).toBe(5 + MAX_IN_FLIGHT * 2)
  })

  it('resets a session that announces a request over the bound, and keeps serving', async () => {
    const stream = await session()
    stream.send(Uint8Array.of(0x80, 0x80, 0x02)) // 32 768 bytes announced
    expect(await closed(stream)).toBeDefined()
    expect(point.server.stats.refused).toBe(1)
    await expect(rendezvousPoint(point.multiaddrs)({ node }).resolve('still-up')).rejects.toMatchObject({ name: 'NameNotFoundError' })
  })

  it('resets a session closed in the middle of a request', async () => {
    const stream = await session()
    stream.send(frame(resolveBytes('half')).subarray(0, 4))
    await stream.close()
    expect(await closed(stream)).toBeDefined()
    expect(point.server.stats.refused).toBe(1)
    expect(point.server.stats.requests).toBe(0)
  })

  it('resets a session whose request does not complete within the request timeout', async () => {
    const stream = await session()
    stream.send(frame(resolveBytes('slow')).subarray(0, 3))
    expect(await closed(stream)).toBeDefined()
    expect(point.server.stats.refused).toBe(1)
  })

  it('closes an idle session in order, and the client opens a new one', async () => {
    const client = rendezvousPoint(point.multiaddrs)({ node })
    await expect(client.resolve('nobody')).rejects.toMatchObject({ name: 'NameNotFoundError' })
    const refused = point.server.stats.refused // NOT_FOUND counts as a refusal
    const [stream] = node.getConnections().flatMap(c => c.streams).filter(s => s.protocol === RENDEZVOUS_SESSION_PROTOCOL)
    // the point's request timeout (2 s) is shorter than the client's idle time (5 s): the point closes it
    expect(await closed(stream!)).toBeUndefined()
    expect(point.server.stats.refused).toBe(refused)
    await expect(client.resolve('nobody')).rejects.toMatchObject({ name: 'NameNotFoundError' })
  })

  it('answers a session over its request rate with RATE_LIMITED, and goes on', async () => {
    const limited = await createRendezvousPoint({ listen: ['/ip4/127.0.0.1/tcp/0'], peerRate: 0.001, peerBurst: 2 })
    try {
      const stream = await openStream(node, limited.node.peerId, limited.multiaddrs, RENDEZVOUS_SESSION_PROTOCOL, { optimistic: false })
      const reading = answers(stream, 3)
      for (let i = 0; i < 3; i++) stream.send(frame(resolveBytes('nobody')))
      expect((await reading).map(a => a.status)).toEqual([Status.NOT_FOUND, Status.NOT_FOUND, Status.RATE_LIMITED])
      expect(limited.server.stats.rateLimited).toBe(1)
      const err = await rendezvousPoint(limited.multiaddrs)({ node }).resolve('nobody').catch((e: unknown) => e)
      expect(err).toMatchObject({ name: 'RateLimitedError', code: Status.RATE_LIMITED })
    } finally {
      await limited.close()
    }
  })

  it('opens the session ahead of the first request with prepare(), and the request uses it', async () => {
    const client = rendezvousPoint(point.multiaddrs)({ node })
    await client.prepare?.()
    const streams = node.getConnections().flatMap(c => c.streams).filter(s => s.protocol === RENDEZVOUS_SESSION_PROTOCOL)
    expect(streams).toHaveLength(1)
    expect(point.server.stats.requests).toBe(0)
    await expect(client.resolve('nobody')).rejects.toMatchObject({ name: 'NameNotFoundError' })
    expect(node.getConnections().flatMap(c => c.streams).filter(s => s.protocol === RENDEZVOUS_SESSION_PROTOCOL)).toEqual(streams)
  })

  it('reports a point prepare() cannot reach as RendezvousUnavailableError, and honours its signal', async () => {
    const addrs = point.multiaddrs
    await point.close()
    const client = rendezvousPoint(addrs)({ node })
    await expect(client.prepare?.()).rejects.toMatchObject({ name: 'RendezvousUnavailableError' })
    const reason = new Error('not now')
    await expect(client.prepare?.({ signal: AbortSignal.abort(reason) })).rejects.toBe(reason)
  })

  it('falls back to a stream per request at a point without sessions', async () => {
    await point.node.unhandle(RENDEZVOUS_SESSION_PROTOCOL)
    const client = rendezvousPoint(point.multiaddrs)({ node })
    await client.prepare?.()
    const key = await generateKeyPair('Ed25519')
    await client.register(await createRecord(key, { name: 'old-point', addrs: ['/ip4/127.0.0.1/tcp/4001'], aid: new Uint8Array(8) }))
    expect((await client.resolve('old-point')).name).toBe('old-point')
    await expect(client.resolve('nobody')).rejects.toMatchObject({ name: 'NameNotFoundError' })
    expect(point.server.stats.requests).toBe(3)
  })
})

/** A fake point: a libp2p node whose session handler the test writes. */
describe('a client on a misbehaving session', () => {
  let fake: Libp2p
  let node: Libp2p
  let addrs: string[]

  beforeEach(async () => {
    fake = await createNode({ privateKey: await generateKeyPair('Ed25519'), listen: ['/ip4/127.0.0.1/tcp/0'] })
    node = await createNode({ privateKey: await generateKeyPair('Ed25519'), listen: [] })
    addrs = fake.getMultiaddrs().map(String)
  })

  afterEach(async () => {
    await node.stop()
    await fake.stop()
  })

  /** Serve sessions with `onRequest(request, stream, index of the session)`. */
  async function serve (onRequest: (req: { name: string }, stream: Stream, session: number) => void): Promise<void> {
    let sessions = 0
    await fake.handle(RENDEZVOUS_SESSION_PROTOCOL, (stream) => {
      const index = sessions++
      const reader = new FrameReader(MAX_POINT_MESSAGE_BYTES)
      stream.addEventListener('message', (evt) => {
        reader.push(evt.data)
        for (let body = reader.next(); body != null; body = reader.next()) onRequest(decodeRequest(body), stream, index)
      })
    })
  }
  const notFound = (message: string): Uint8Array => frame(encodeResponse({ status: Status.NOT_FOUND, message }))

  it('sends again, on a new session, a request the point closed its session before reading', async () => {
    let seen = 0
    await serve((req, stream, session) => {
      seen++
      // the first session ends in order without reading its second request
      if (session === 0 && req.name === 'second') { void stream.close(); return }
      stream.send(notFound(`${req.name} on ${session}`))
    })
    const client = rendezvousPoint(addrs.map(a => `${a}`))({ node })
    await expect(client.resolve('first')).rejects.toMatchObject({ message: 'first on 0' })
    await expect(client.resolve('second')).rejects.toMatchObject({ name: 'NameNotFoundError', message: 'second on 1' })
    expect(seen).toBe(3)
  })

  it(`keeps at most ${MAX_IN_FLIGHT} requests unanswered on a session; more wait for answers`, async () => {
    let held: Array<{ stream: Stream, name: string }> = []
    let most = 0
    await serve((req, stream) => {
      held.push({ stream, name: req.name })
      most = Math.max(most, held.length)
      // answer only once the client has sent all it may, and after whatever else arrived with it: had it sent more, `most` would show it
      if (held.length !== MAX_IN_FLIGHT) return
      setImmediate(() => {
        for (const h of held) h.stream.send(notFound(h.name))
        held = []
      })
    })
    const client = rendezvousPoint(addrs)({ node })
    const names = Array.from({ length: MAX_IN_FLIGHT * 2 }, (_, i) => `name-${i}`)
    const results = await Promise.all(names.map(async n => client.resolve(n).catch((e: Error) => e.message)))
    expect(results).toEqual(names)
    expect(most).toBe(MAX_IN_FLIGHT)
  })

  it('gives an abandoned request\'s answer to nobody: the next request gets its own', async () => {
    const first = deferred<void>()
    let held: Stream | undefined
    await serve((req, stream) => {
      if (req.name === 'first') { held = stream; first.resolve(); return }
      // answer both in order, once the second has come
      held?.send(notFound('answer to first'))
      stream.send(notFound('answer to second'))
    })
    const client = rendezvousPoint(addrs)({ node })
    const abort = new AbortController()
    const abandoned = client.resolve('first', { signal: abort.signal }).catch((e: unknown) => e)
    await first.promise
    abort.abort(new Error('caller gave up'))
    expect(await abandoned).toMatchObject({ message: 'caller gave up' })
    await expect(client.resolve('second')).rejects.toMatchObject({ message: 'answer to second' })
  })

  it('reports no answer in time as RendezvousUnavailableError and starts a new session', async () => {
    await serve((req, stream, session) => {
      if (session === 0) return // never answers
      stream.send(notFound(`${req.name} on ${session}`))
    })
    const client = rendezvousPoint(addrs, { timeout: 300 })({ node })
    await expect(client.resolve('lost')).rejects.toMatchObject({ name: 'RendezvousUnavailableError' })
    await expect(client.resolve('found')).rejects.toMatchObject({ message: 'found on 1' })
  })

  it('reports an answer over the bound as RendezvousUnavailableError and starts a new session', async () => {
    await serve((req, stream, session) => {
      if (session === 0) { stream.send(Uint8Array.of(0x80, 0x80, 0x02)); return }
      stream.send(notFound(`${req.name} on ${session}`))
    })
    const client = rendezvousPoint(addrs)({ node })
    await expect(client.resolve('huge')).rejects.toMatchObject({ name: 'RendezvousUnavailableError' })
    await expect(client.resolve('small')).rejects.toMatchObject({ message: 'small on 1' })
  })

  it('reports a session reset with requests outstanding as RendezvousUnavailableError', async () => {
    await serve((req, stream, session) => {
      if (session === 0) { stream.abort(new Error('gone')); return }
      stream.send(notFound(`${req.name} on ${session}`))
    })
    const client = rendezvousPoint(addrs)({ node })
    await expect(client.resolve('reset')).rejects.toMatchObject({ name: 'RendezvousUnavailableError' })
    await expect(client.resolve('again')).rejects.toMatchObject({ message: 'again on 1' })
  })
})
