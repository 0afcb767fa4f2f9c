import { randomBytes } from 'node:crypto'
import { Readable, Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { lpStream, streamPair } from '@libp2p/utils'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { ReplyCode, aidToHex, createDemux, decodeReply, encodeOpen, randomAid } from '../src/index.ts'
import type { Association, Demux } from '../src/index.ts'
import type { PeerId, Stream } from '@libp2p/interface'
import type { StreamPairOptions } from '@libp2p/utils'

let alice: PeerId
let bob: PeerId
const opened: Stream[] = []

beforeAll(async () => {
  alice = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
  bob = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
})

afterEach(() => {
  for (const s of opened.splice(0)) {
    if (s.status === 'open') s.abort(new Error('test over'))
  }
})

/** A connected pair of real libp2p v3 streams: [initiator end, responder end]. */
async function pair (opts: StreamPairOptions = {}): Promise<[Stream, Stream]> {
  const [out, inb] = await streamPair(opts)
  opened.push(out, inb)
  return [out, inb]
}

async function rejection (p: Promise<unknown>): Promise<Error & { code?: number }> {
  try {
    await p
  } catch (err) {
    return err as Error & { code?: number }
  }
  throw new Error('expected a rejection')
}

async function readAll (source: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const chunks: Uint8Array[] = []
  for await (const chunk of source) chunks.push(chunk)
  return Buffer.concat(chunks)
}

/** Resolves once the stream has fully closed (or at once if it already has). */
async function closed (stream: Stream): Promise<void> {
  if (stream.status !== 'open') return
  await new Promise<void>(resolve => { stream.addEventListener('close', () => { resolve() }, { once: true }) })
}

const hex = (b: Uint8Array | undefined): string => b == null ? 'undefined' : aidToHex(b)

interface Setup {
  initiator: Demux<string>
  responder: Demux<string>
  serviceAid: Uint8Array
}

function setup (): Setup {
  const initiator = createDemux<string>()
  const responder = createDemux<string>()
  return { initiator, responder, serviceAid: responder.listen('echo') }
}

describe('demux: listen / unlisten', () => {
  it('registers services under fresh 8-byte AIds and forgets them on unlisten', () => {
    const demux = createDemux<string>()
    const a = demux.listen('a')
    const b = demux.listen('b')
    expect(a.byteLength).toBe(8)
    expect(hex(a)).not.toBe(hex(b))
    expect(demux.service(a)).toBe('a')
    expect(demux.services).toBe(2)
    expect(demux.associations).toBe(0)
    expect(demux.unlisten(a)).toBe(true)
    expect(demux.unlisten(a)).toBe(false)
    expect(demux.service(a)).toBeUndefined()
    expect(demux.services).toBe(1)
  })

  it.each([0, -1, Number.NaN, Infinity])('refuses openTimeout %s with a RangeError', (openTimeout) => {
    expect(() => createDemux({ openTimeout })).toThrow(RangeError)
  })
})

describe('demux: open / accept over a stream pair', () => {
  it('delivers data sent right after open, before any reply, intact to the responder', async () => {
    const { initiator, responder, serviceAid } = setup()
    const [out, inb] = await pair()
    const payload = randomBytes(10_000)
    const a = initiator.open(out, serviceAid, bob)
    a.send(payload.subarray(0, 1))
    a.send(payload.subarray(1, 4000))
    a.send(payload.subarray(4000))
    await a.close()
    const { association: b, service } = await responder.accept(inb, alice)
    expect(service).toBe('echo')
    expect((await readAll(b)).equals(payload)).toBe(true)
  })

  it('tells each end the other end\'s AId and the remote peer', async () => {
    const { initiator, responder, serviceAid } = setup()
    const [out, inb] = await pair()
    const a = initiator.open(out, serviceAid, bob)
    expect(a.direction).toBe('outbound')
    expect(a.remoteAid).toBeUndefined()
    expect(a.remotePeer.equals(bob)).toBe(true)
    const { association: b } = await responder.accept(inb, alice)
    expect(b.direction).toBe('inbound')
    expect(b.remotePeer.equals(alice)).toBe(true)
    expect(hex(b.remoteAid)).toBe(hex(a.localAid))
    await a.accepted
    expect(hex(a.remoteAid)).toBe(hex(b.localAid))
    const aids = new Set([hex(serviceAid), hex(a.localAid), hex(b.localAid)])
    expect(aids.size).toBe(3)
  })

  it('carries data both ways and ends each direction on close', async () => {
    const { initiator, responder, serviceAid } = setup()
    const [out, inb] = await pair()
    const a = initiator.open(out, serviceAid, bob)
    a.send(Buffer.from('ping'))
    const { association: b } = await responder.accept(inb, alice)
    b.send(Buffer.from('pong'))
    await b.close()
    expect((await readAll(a)).toString()).toBe('pong')
    await a.close()
    expect((await readAll(b)).toString()).toBe('ping')
  })

  it('gives every association fresh AIds at both ends', async () => {
    const { initiator, responder, serviceAid } = setup()
    const seen = new Set<string>()
    for (let i = 0; i < 5; i++) {
      const [out, inb] = await pair()
      const a = initiator.open(out, serviceAid, bob)
      const { association: b } = await responder.accept(inb, alice)
      seen.add(hex(a.localAid)).add(hex(b.localAid))
    }
    expect(seen.size).toBe(10)
    expect(seen.has(hex(serviceAid))).toBe(false)
  })

  it('refuses an unknown service AId: first read, accepted and accept all reject, and the demux keeps working', async () => {
    const { initiator, responder, serviceAid } = setup()
    const [out, inb] = await pair()
    const a = initiator.open(out, randomAid(), bob)
    a.send(Buffer.from('early data'))
    const acceptErr = await rejection(responder.accept(inb, alice))
    expect(acceptErr.name).toBe('AssociationRejectedError')
    expect(acceptErr.code).toBe(ReplyCode.UNKNOWN_AID)
    const readErr = await rejection(readAll(a))
    expect(readErr.name).toBe('AssociationRejectedError')
    expect(readErr.code).toBe(ReplyCode.UNKNOWN_AID)
    const acceptedErr = await rejection(a.accepted)
    expect(acceptedErr.name).toBe('AssociationRejectedError')
    expect(a.remoteAid).toBeUndefined()
    expect(responder.associations).toBe(0)

    const [out2, inb2] = await pair()
    const a2 = initiator.open(out2, serviceAid, bob)
    a2.send(Buffer.from('hello'))
    await a2.close()
    const { association: b2, service } = await responder.accept(inb2, alice)
    expect(service).toBe('echo')
    expect((await readAll(b2)).toString()).toBe('hello')
    await a2.accepted
  })

  it('refuses an AId that was unlistened, while live associations continue', async () => {
    const { initiator, responder, serviceAid } = setup()
    const [out, inb] = await pair()
    const a = initiator.open(out, serviceAid, bob)
    const { association: b } = await responder.accept(inb, alice)
    expect(responder.unlisten(serviceAid)).toBe(true)
    const [out2, inb2] = await pair()
    initiator.open(out2, serviceAid, bob)
    expect((await rejection(responder.accept(inb2, alice))).code).toBe(ReplyCode.UNKNOWN_AID)
    b.send(Buffer.from('still here'))
    await b.close()
    expect((await readAll(a)).toString()).toBe('still here')
  })

  it('refuses with BUSY when the responder table is full', async () => {
    const initiator = createDemux<string>()
    const responder = createDemux<string>({ maxEntries: 1 })
    const serviceAid = responder.listen('echo')
    const [out, inb] = await pair()
    const a = initiator.open(out, serviceAid, bob)
    const acceptErr = await rejection(responder.accept(inb, alice))
    expect(acceptErr.name).toBe('AssociationRejectedError')
    expect(acceptErr.code).toBe(ReplyCode.BUSY)
    const readErr = await rejection(readAll(a))
    expect(readErr.code).toBe(ReplyCode.BUSY)
  })

  it('never lets unlisten remove a live association', async () => {
    const { initiator, serviceAid } = setup()
    const [out] = await pair()
    const a = initiator.open(out, serviceAid, bob)
    expect(initiator.unlisten(a.localAid)).toBe(false)
    expect(initiator.associations).toBe(1)
  })

  it('refuses a service AId of the wrong size with a RangeError and registers nothing', async () => {
    const { initiator } = setup()
    const [out] = await pair()
    expect(() => initiator.open(out, new Uint8Array(7), bob)).toThrow(RangeError)
    expect(() => initiator.open(out, undefined as unknown as Uint8Array, bob)).toThrow(RangeError)
    expect(initiator.associations).toBe(0)
  })
})

describe('demux: association count', () => {
  it('counts live associations and drops back when their streams close', async () => {
    const { initiator, responder, serviceAid } = setup()
    const live: Array<[Association, Association, Stream, Stream]> = []
    for (let i = 0; i < 3; i++) {
      const [out, inb] = await pair()
      const a = initiator.open(out, serviceAid, bob)
      const { association: b } = await responder.accept(inb, alice)
      await a.accepted
      live.push([a, b, out, inb])
    }
    expect(initiator.associations).toBe(3)
    expect(responder.associations).toBe(3)
    expect(responder.services).toBe(1)

    const [a, b, out, inb] = live[0]!
    await Promise.all([a.close(), b.close(), readAll(a), readAll(b)])
    await Promise.all([closed(out), closed(inb)])
    expect(initiator.associations).toBe(2)
    expect(responder.associations).toBe(2)

    const [a2, , out2, inb2] = live[1]!
    a2.abort(new Error('gone'))
    await Promise.all([closed(out2), closed(inb2)])
    expect(initiator.associations).toBe(1)
    expect(responder.associations).toBe(1)
    expect(responder.services).toBe(1)
  })

  it('releases the initiator AId of a refused association', async () => {
    const { initiator, responder } = setup()
    const [out, inb] = await pair()
    const a = initiator.open(out, randomAid(), bob)
    expect(initiator.associations).toBe(1)
    await rejection(responder.accept(inb, alice))
    await rejection(a.accepted)
    await closed(out)
    expect(initiator.associations).toBe(0)
  })

  it('does not register an association on a stream that is already closed', async () => {
    const { initiator, serviceAid } = setup()
    const [out] = await pair()
    out.abort(new Error('dead'))
    const a = initiator.open(out, serviceAid, bob)
    expect(initiator.associations).toBe(0)
    expect((await rejection(a.accepted)).name).toBe('AssociationClosedError')
  })
})

describe('demux: bad frames', () => {
  it('refuses an oversized Open with MALFORMED and accept rejects with FrameTooLargeError', async () => {
    const { responder } = setup()
    const [out, inb] = await pair()
    const raw = lpStream(out)
    await raw.write(new Uint8Array(65).fill(0x0a))
    const err = await rejection(responder.accept(inb, alice))
    expect(err.name).toBe('FrameTooLargeError')
    expect(decodeReply((await raw.read()).subarray()).code).toBe(ReplyCode.MALFORMED)
    expect(responder.associations).toBe(0)
  })

  it('refuses a garbage Open with MALFORMED and accept rejects with MalformedFrameError', async () => {
    const { responder } = setup()
    const [out, inb] = await pair()
    const raw = lpStream(out)
    await raw.write(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]))
    expect((await rejection(responder.accept(inb, alice))).name).toBe('MalformedFrameError')
    expect(decodeReply((await raw.read()).subarray()).code).toBe(ReplyCode.MALFORMED)
  })

  it('refuses an Open of another framing version with UNSUPPORTED_VERSION', async () => {
    const { responder, serviceAid } = setup()
    const [out, inb] = await pair()
    const raw = lpStream(out)
    await raw.write(encodeOpen({ version: 2, aid: serviceAid, initiatorAid: randomAid() }))
    const err = await rejection(responder.accept(inb, alice))
    expect(err.name).toBe('AssociationRejectedError')
    expect(err.code).toBe(ReplyCode.UNSUPPORTED_VERSION)
    expect(decodeReply((await raw.read()).subarray()).code).toBe(ReplyCode.UNSUPPORTED_VERSION)
  })

  it('rejects accept with AssociationClosedError when the initiator sends nothing within the open timeout', async () => {
    const responder = createDemux<string>({ openTimeout: 50 })
    const [, inb] = await pair()
    expect((await rejection(responder.accept(inb, alice))).name).toBe('AssociationClosedError')
    await closed(inb)
  })

  it('rejects accept with AssociationClosedError when the caller aborts', async () => {
    const { responder } = setup()
    const [, inb] = await pair()
    const err = await rejection(responder.accept(inb, alice, { signal: AbortSignal.abort() }))
    expect(err.name).toBe('AssociationClosedError')
  })

  it('rejects accept with AssociationClosedError when the stream ends before the Open', async () => {
    const { responder } = setup()
    const [out, inb] = await pair()
    await out.close()
    expect((await rejection(responder.accept(inb, alice))).name).toBe('AssociationClosedError')
  })

  it('fails the initiator with MalformedFrameError on a garbage Reply', async () => {
    const { initiator, serviceAid } = setup()
    const [out, inb] = await pair()
    const a = initiator.open(out, serviceAid, bob)
    const raw = lpStream(inb)
    await raw.read()
    await raw.write(new Uint8Array([0xff, 0xff, 0xff]))
    expect((await rejection(readAll(a))).name).toBe('MalformedFrameError')
    await closed(out)
    expect(initiator.associations).toBe(0)
  })

  it('fails the initiator with FrameTooLargeError on an oversized Reply', async () => {
    const { initiator, serviceAid } = setup()
    const [out, inb] = await pair()
    const a = initiator.open(out, serviceAid, bob)
    const raw = lpStream(inb)
    await raw.read()
    await raw.write(new Uint8Array(257))
    expect((await rejection(a.accepted)).name).toBe('FrameTooLargeError')
  })

  it('fails the initiator with AssociationClosedError when the responder closes without a Reply', async () => {
    const { initiator, serviceAid } = setup()
    const [out, inb] = await pair()
    const a = initiator.open(out, serviceAid, bob)
    await lpStream(inb).read()
    await inb.close()
    expect((await rejection(a.accepted)).name).toBe('AssociationClosedError')
  })

  it('fails the initiator with AssociationClosedError when no Reply comes within the open timeout', async () => {
    const initiator = createDemux<string>({ openTimeout: 50 })
    const [out] = await pair()
    const a = initiator.open(out, randomAid(), bob)
    expect((await rejection(readAll(a))).name).toBe('AssociationClosedError')
    await closed(out)
  })
})

describe('demux: toDuplex', () => {
  async function accepted (opts: StreamPairOptions = {}): Promise<[Association, Association]> {
    const { initiator, responder, serviceAid } = setup()
    const [out, inb] = await pair(opts)
    const a = initiator.open(out, serviceAid, bob)
    const { association: b } = await responder.accept(inb, alice)
    return [a, b]
  }

  it('pipes data through a Node.js pipeline both ways, with backpressure', async () => {
    const [a, b] = await accepted({ capacity: 2 })
    const chunks = Array.from({ length: 64 }, (_, i) => randomBytes(1024 + i))
    const echo = b.toDuplex()
    const da = a.toDuplex()
    const [, received] = await Promise.all([
      pipeline(echo, echo),
      (async () => {
        const reading = readAll(da)
        await pipeline(Readable.from(chunks), da)
        return reading
      })()
    ])
    expect(received.equals(Buffer.concat(chunks))).toBe(true)
  })

  it('surfaces a refusal as a typed pipeline error', async () => {
    const { initiator, responder } = setup()
    const [out, inb] = await pair()
    const a = initiator.open(out, randomAid(), bob)
    void responder.accept(inb, alice).catch(() => {})
    const sink = new Writable({ write (_chunk, _enc, cb) { cb() } })
    const err = await rejection(pipeline(a.toDuplex(), sink))
    expect(err.name).toBe('AssociationRejectedError')
    expect(err.code).toBe(ReplyCode.UNKNOWN_AID)
  })

  it('aborts the association when the duplex is destroyed with an error', async () => {
    const [a, b] = await accepted()
    const d = a.toDuplex()
    d.on('error', () => {})
    d.destroy(new Error('local failure'))
    await closed(a.stream)
    expect(a.stream.status).not.toBe('open')
    await expect(readAll(b)).rejects.toBeDefined()
  })
})
