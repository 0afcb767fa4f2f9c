import { describe, expect, it } from 'vitest'
import { readAll, rejection } from '@fara/testkit'
import { ReplyCode, randomAid } from '../src/index.ts'
import { pair, peers, setup, useStreams } from './fixtures.ts'

useStreams()

describe('demux: accept with admit (an allow-list)', () => {
  it('refuses with REFUSED when admit says no: both ends get AssociationRejectedError code 5, and no AId is spent', async () => {
    const { initiator, responder, serviceAid } = setup()
    const [out, inb] = await pair()
    const a = initiator.open(out, serviceAid, peers.bob)
    a.send(Buffer.from('early data'))
    const seen: string[] = []
    const acceptErr = await rejection(responder.accept(inb, peers.alice, { admit: (service) => { seen.push(service); return false } }))
    expect(seen).toEqual(['echo'])
    expect(acceptErr.name).toBe('AssociationRejectedError')
    expect(acceptErr.code).toBe(ReplyCode.REFUSED)
    const readErr = await rejection(readAll(a))
    expect(readErr.name).toBe('AssociationRejectedError')
    expect(readErr.code).toBe(ReplyCode.REFUSED)
    expect(responder.associations).toBe(0)
  })

  it('accepts when admit says yes, and the data flows', async () => {
    const { initiator, responder, serviceAid } = setup()
    const [out, inb] = await pair()
    const a = initiator.open(out, serviceAid, peers.bob)
    a.send(Buffer.from('hello'))
    await a.close()
    const { association: b, service } = await responder.accept(inb, peers.alice, { admit: () => true })
    expect(service).toBe('echo')
    expect((await readAll(b)).toString()).toBe('hello')
    await a.accepted
  })

  it('fails closed: an admit that throws refuses with REFUSED', async () => {
    const { initiator, responder, serviceAid } = setup()
    const [out, inb] = await pair()
    const a = initiator.open(out, serviceAid, peers.bob)
    const acceptErr = await rejection(responder.accept(inb, peers.alice, { admit: () => { throw new Error('broken list') } }))
    expect(acceptErr.code).toBe(ReplyCode.REFUSED)
    expect((await rejection(readAll(a))).code).toBe(ReplyCode.REFUSED)
  })

  it('answers an unknown AId with UNKNOWN_AID without asking admit: a stranger learns nothing about the list', async () => {
    const { initiator, responder } = setup()
    const [out, inb] = await pair()
    initiator.open(out, randomAid(), peers.bob)
    let asked = false
    const acceptErr = await rejection(responder.accept(inb, peers.alice, { admit: () => { asked = true; return false } }))
    expect(acceptErr.code).toBe(ReplyCode.UNKNOWN_AID)
    expect(asked).toBe(false)
  })
})
