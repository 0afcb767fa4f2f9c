import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { readAll, rejection } from '@fara/testkit'
import { ReplyCode, createDemux, randomAid } from '../src/index.ts'
import { closed, hex, pair, peers, setup, useStreams } from './fixtures.ts'
import type { Association } from '../src/index.ts'
import type { Stream } from '@libp2p/interface'

useStreams()

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
    const a = initiator.open(out, serviceAid, peers.bob)
    a.send(payload.subarray(0, 1))
    a.send(payload.subarray(1, 4000))
    a.send(payload.subarray(4000))
    await a.close()
    const { association: b, service } = await responder.accept(inb, peers.alice)
    expect(service).toBe('echo')
    expect((await readAll(b)).equals(payload)).toBe(true)
  })

  it('tells each end the other end\'s AId and the remote peer', async () => {
    const { initiator, responder, serviceAid } = setup()
    const [out, inb] = await pair()
    const a = initiator.open(out, serviceAid, peers.bob)
    expect(a.direction).toBe('outbound')
    expect(a.remoteAid).toBeUndefined()
    expect(a.remotePeer.equals(peers.bob)).toBe(true)
    const { association: b } = await responder.accept(inb, peers.alice)
    expect(b.direction).toBe('inbound')
    expect(b.remotePeer.equals(peers.alice)).toBe(true)
    expect(hex(b.remoteAid)).toBe(hex(a.localAid))
    await a.accepted
    expect(hex(a.remoteAid)).toBe(hex(b.localAid))
    const aids = new Set([hex(serviceAid), hex(a.localAid), hex(b.localAid)])
    expect(aids.size).toBe(3)
  })

  it('carries data both ways and ends each direction on close', async () => {
    const { initiator, responder, serviceAid } = setup()
    const [out, inb] = await pair()
    const a = initiator.open(out, serviceAid, peers.bob)
    a.send(Buffer.from('ping'))
    const { association: b } = await responder.accept(inb, peers.alice)
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
      const a = initiator.open(out, serviceAid, peers.bob)
      const { association: b } = await responder.accept(inb, peers.alice)
      seen.add(hex(a.localAid)).add(hex(b.localAid))
    }
    expect(seen.size).toBe(10)
    expect(seen.has(hex(serviceAid))).toBe(false)
  })

  it('refuses an unknown service AId: first read, accepted and accept all reject, and the demux keeps working', async () => {
    const { initiator, responder, serviceAid } = setup()
    const [out, inb] = await pair()
    const a = initiator.open(out, randomAid(), peers.bob)
    a.send(Buffer.from('early data'))
    const acceptErr = await rejection(responder.accept(inb, peers.alice))
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
    const a2 = initiator.open(out2, serviceAid, peers.bob)
    a2.send(Buffer.from('hello'))
    await a2.close()
    const { association: b2, service } = await responder.accept(inb2, peers.alice)
    expect(service).toBe('echo')
    expect((await readAll(b2)).toString()).toBe('hello')
    await a2.accepted
  })

  it('refuses an AId that was unlistened, while live associations continue', async () => {
    const { initiator, responder, serviceAid } = setup()
    const [out, inb] = await pair()
    const a = initiator.open(out, serviceAid, peers.bob)
    const { association: b } = await responder.accept(inb, peers.alice)
    expect(responder.unlisten(serviceAid)).toBe(true)
    const [out2, inb2] = await pair()
    initiator.open(out2, serviceAid, peers.bob)
    expect((await rejection(responder.accept(inb2, peers.alice))).code).toBe(ReplyCode.UNKNOWN_AID)
    b.send(Buffer.from('still here'))
    await b.close()
    expect((await readAll(a)).toString()).toBe('still here')
  })

  it('refuses with BUSY when the responder table is full', async () => {
    const initiator = createDemux<string>()
    const responder = createDemux<string>({ maxEntries: 1 })
    const serviceAid = responder.listen('echo')
    const [out, inb] = await pair()
    const a = initiator.open(out, serviceAid, peers.bob)
    const acceptErr = await rejection(responder.accept(inb, peers.alice))
    expect(acceptErr.name).toBe('AssociationRejectedError')
    expect(acceptErr.code).toBe(ReplyCode.BUSY)
    const readErr = await rejection(readAll(a))
    expect(readErr.code).toBe(ReplyCode.BUSY)
  })

  it('never lets unlisten remove a live association', async () => {
    const { initiator, serviceAid } = setup()
    const [out] = await pair()
    const a = initiator.open(out, serviceAid, peers.bob)
    expect(initiator.unlisten(a.localAid)).toBe(false)
    expect(initiator.associations).toBe(1)
  })

  it('refuses a service AId of the wrong size with a RangeError and registers nothing', async () => {
    const { initiator } = setup()
    const [out] = await pair()
    expect(() => initiator.open(out, new Uint8Array(7), peers.bob)).toThrow(RangeError)
    expect(() => initiator.open(out, undefined as unknown as Uint8Array, peers.bob)).toThrow(RangeError)
    expect(initiator.associations).toBe(0)
  })
})

describe('demux: association count', () => {
  it('counts live associations and drops back when their streams close', async () => {
    const { initiator, responder, serviceAid } = setup()
    const live: Array<[Association, Association, Stream, Stream]> = []
    for (let i = 0; i < 3; i++) {
      const [out, inb] = await pair()
      const a = initiator.open(out, serviceAid, peers.bob)
      const { association: b } = await responder.accept(inb, peers.alice)
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
    const a = initiator.open(out, randomAid(), peers.bob)
    expect(initiator.associations).toBe(1)
    await rejection(responder.accept(inb, peers.alice))
    await rejection(a.accepted)
    await closed(out)
    expect(initiator.associations).toBe(0)
  })

  it('reports a stream that is already closed with AssociationClosedError and registers nothing', async () => {
    const { initiator, serviceAid } = setup()
    const [out] = await pair()
    out.abort(new Error('dead'))
    let err: Error | undefined
    try {
      await initiator.open(out, serviceAid, peers.bob).accepted
    } catch (e) {
      err = e as Error
    }
    expect(initiator.associations).toBe(0)
    expect(err?.name).toBe('AssociationClosedError')
  })

  it('registers nothing for a stream that is already closed', async () => {
    const { initiator, serviceAid } = setup()
    const [out] = await pair()
    out.abort(new Error('dead'))
    let failed = false
    try {
      await initiator.open(out, serviceAid, peers.bob).accepted
    } catch {
      failed = true
    }
    expect(failed).toBe(true)
    expect(initiator.associations).toBe(0)
  })
})
