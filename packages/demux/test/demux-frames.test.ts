import { randomBytes } from 'node:crypto'
import { Readable, Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { lpStream } from '@libp2p/utils'
import { describe, expect, it } from 'vitest'
import { readAll, rejection } from '@fara/testkit'
import { ReplyCode, createDemux, decodeReply, encodeOpen, randomAid } from '../src/index.ts'
import { closed, hex, pair, peers, setup, useStreams } from './fixtures.ts'
import type { Association } from '../src/index.ts'
import type { StreamPairOptions } from '@libp2p/utils'

useStreams()

describe('demux: bad frames', () => {
  it('refuses an oversized Open with MALFORMED and accept rejects with FrameTooLargeError', async () => {
    const { responder } = setup()
    const [out, inb] = await pair()
    const raw = lpStream(out)
    await raw.write(new Uint8Array(65).fill(0x0a))
    const err = await rejection(responder.accept(inb, peers.alice))
    expect(err.name).toBe('FrameTooLargeError')
    expect(decodeReply((await raw.read()).subarray()).code).toBe(ReplyCode.MALFORMED)
    expect(responder.associations).toBe(0)
  })

  it('refuses a garbage Open with MALFORMED and accept rejects with MalformedFrameError', async () => {
    const { responder } = setup()
    const [out, inb] = await pair()
    const raw = lpStream(out)
    await raw.write(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]))
    expect((await rejection(responder.accept(inb, peers.alice))).name).toBe('MalformedFrameError')
    expect(decodeReply((await raw.read()).subarray()).code).toBe(ReplyCode.MALFORMED)
  })

  it('refuses an Open of another framing version with UNSUPPORTED_VERSION', async () => {
    const { responder, serviceAid } = setup()
    const [out, inb] = await pair()
    const raw = lpStream(out)
    await raw.write(encodeOpen({ version: 7, aid: serviceAid, initiatorAid: randomAid() }))
    const err = await rejection(responder.accept(inb, peers.alice))
    expect(err.name).toBe('AssociationRejectedError')
    expect(err.code).toBe(ReplyCode.UNSUPPORTED_VERSION)
    expect(decodeReply((await raw.read()).subarray()).code).toBe(ReplyCode.UNSUPPORTED_VERSION)
  })

  it('accepts an Open that arrives one byte at a time, with the data behind it', async () => {
    const { responder, serviceAid } = setup()
    const [out, inb] = await pair()
    const initiatorAid = randomAid()
    const open = encodeOpen({ aid: serviceAid, initiatorAid })
    const frame = [open.byteLength, ...open, ...Buffer.from('tail')]
    const accepting = responder.accept(inb, peers.alice)
    for (const byte of frame) out.send(new Uint8Array([byte]))
    await out.close()
    const { association: b } = await accepting
    expect(hex(b.remoteAid)).toBe(hex(initiatorAid))
    expect((await readAll(b)).toString()).toBe('tail')
  })

  it('refuses an empty Open frame with MALFORMED', async () => {
    const { responder } = setup()
    const [out, inb] = await pair()
    out.send(new Uint8Array([0]))
    expect((await rejection(responder.accept(inb, peers.alice))).name).toBe('MalformedFrameError')
    expect(decodeReply((await lpStream(out).read()).subarray()).code).toBe(ReplyCode.MALFORMED)
  })

  it('refuses an Open whose length prefix is longer than any allowed frame, before reading a body', async () => {
    const { responder } = setup()
    const [out, inb] = await pair()
    out.send(new Uint8Array([0x80, 0x80, 0x80, 0x80, 0x01]))
    expect((await rejection(responder.accept(inb, peers.alice))).name).toBe('FrameTooLargeError')
    expect(decodeReply((await lpStream(out).read()).subarray()).code).toBe(ReplyCode.MALFORMED)
  })

  it('rejects accept with AssociationClosedError when the initiator sends nothing within the open timeout', async () => {
    const responder = createDemux<string>({ openTimeout: 50 })
    const [, inb] = await pair()
    expect((await rejection(responder.accept(inb, peers.alice))).name).toBe('AssociationClosedError')
    await closed(inb)
  })

  it('rejects accept with AssociationClosedError when the caller aborts', async () => {
    const { responder } = setup()
    const [, inb] = await pair()
    const err = await rejection(responder.accept(inb, peers.alice, { signal: AbortSignal.abort() }))
    expect(err.name).toBe('AssociationClosedError')
  })

  it('rejects accept with AssociationClosedError when the stream ends before the Open', async () => {
    const { responder } = setup()
    const [out, inb] = await pair()
    await out.close()
    expect((await rejection(responder.accept(inb, peers.alice))).name).toBe('AssociationClosedError')
  })

  it('fails the initiator with MalformedFrameError on a garbage Reply', async () => {
    const { initiator, serviceAid } = setup()
    const [out, inb] = await pair()
    const a = initiator.open(out, serviceAid, peers.bob)
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
    const a = initiator.open(out, serviceAid, peers.bob)
    const raw = lpStream(inb)
    await raw.read()
    await raw.write(new Uint8Array(257))
    expect((await rejection(a.accepted)).name).toBe('FrameTooLargeError')
  })

  it('fails the initiator with AssociationClosedError when the responder closes without a Reply', async () => {
    const { initiator, serviceAid } = setup()
    const [out, inb] = await pair()
    const a = initiator.open(out, serviceAid, peers.bob)
    await lpStream(inb).read()
    await inb.close()
    expect((await rejection(a.accepted)).name).toBe('AssociationClosedError')
  })

  it('fails the initiator with AssociationClosedError when no Reply comes within the open timeout', async () => {
    const initiator = createDemux<string>({ openTimeout: 50 })
    const [out] = await pair()
    const a = initiator.open(out, randomAid(), peers.bob)
    expect((await rejection(readAll(a))).name).toBe('AssociationClosedError')
    await closed(out)
  })
})

describe('demux: toDuplex', () => {
  async function accepted (opts: StreamPairOptions = {}): Promise<[Association, Association]> {
    const { initiator, responder, serviceAid } = setup()
    const [out, inb] = await pair(opts)
    const a = initiator.open(out, serviceAid, peers.bob)
    const { association: b } = await responder.accept(inb, peers.alice)
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
    const a = initiator.open(out, randomAid(), peers.bob)
    void responder.accept(inb, peers.alice).catch(() => {})
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
    expect((await rejection(readAll(b))).name).toBe('AssociationResetError')
  })
})
