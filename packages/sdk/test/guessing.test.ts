// AId guessing (spec/security.md#guessing): a guessed AId gets nothing but a refusal; a connection that
// collects too many refusals is closed, a key is blocked with backoff (its connections closed, its next
// streams reset), and a source address is throttled but never blocked: its other clients are served.
import { generateKeyPair } from '@libp2p/crypto/keys'
import { createDemux, randomAid } from '@fara/demux'
import { ASSOCIATION_PROTOCOL } from '@fara/demux/constants'
import { createNode, openStream } from '@fara/transport'
import { afterEach, describe, expect, it } from 'vitest'
import { createEntity, memoryRendezvous } from '../src/index.ts'
import type { Entity, GuessBlock, GuessLimits } from '../src/index.ts'
import type { Libp2p } from '@libp2p/interface'

describe('AId guessing', () => {
  const messages: string[] = []
  const closers: Array<() => Promise<void>> = []
  afterEach(async () => {
    await Promise.allSettled(closers.splice(0).map(async c => c()))
  })

  async function firstRead (node: Libp2p, service: Entity, aid: Uint8Array): Promise<string> {
    try {
      const stream = await openStream(node, service.peerId, service.multiaddrs, ASSOCIATION_PROTOCOL)
      const association = createDemux<string>().open(stream, aid, service.peerId)
      association.send(new Uint8Array([1]))
      await association.close()
      for await (const _ of association) { /* echo */ }
      return 'accepted'
    } catch (err) {
      const e = err as Error & { code?: number }
      messages.push(e.message)
      return e.code == null ? e.name : `${e.name}:${e.code}`
    }
  }

  it('refuses guessed AIds, then blocks the key and counts it; the real AId worked before', async () => {
    const rendezvous = memoryRendezvous()
    const service = await createEntity({ app: 'guarded', rendezvous, listen: ['/ip4/127.0.0.1/tcp/0'], guessLimits: { burst: 3, rate: 0.001, blockMs: 60_000 } })
    closers.push(async () => service.close())
    const served = await service.serve('guarded', async (a) => {
      for await (const chunk of a) a.send(chunk)
      await a.close()
    })
    const guesser = await createNode({ privateKey: await generateKeyPair('Ed25519'), listen: [] })
    closers.push(async () => guesser.stop())

    expect(await firstRead(guesser, service, served.aid)).toBe('accepted')
    const answers: string[] = []
    for (let i = 0; i < 4; i++) answers.push(await firstRead(guesser, service, randomAid()))
    // three refusals within the burst, the fourth blocks the source
    expect(answers.slice(0, 3)).toEqual(Array(3).fill('AssociationRejectedError:1'))
    expect(service.guessesBlocked).toBe(1)
    expect(service.node.getConnections(guesser.peerId)).toHaveLength(0)
    // blocked: even the real AId gets nothing now, from this key, for blockMs
    expect(await firstRead(guesser, service, served.aid)).not.toBe('accepted')
  })

  it('does not count refusals that a guesser cannot cause (a handler that fails), and tells the client nothing of the failure', async () => {
    const rendezvous = memoryRendezvous()
    const service = await createEntity({ app: 'failing', rendezvous, listen: ['/ip4/127.0.0.1/tcp/0'], guessLimits: { burst: 1, rate: 0.001 } })
    closers.push(async () => service.close())
    const served = await service.serve('failing', async () => { throw new Error('internal detail /etc/secret') })
    const client = await createNode({ privateKey: await generateKeyPair('Ed25519'), listen: [] })
    closers.push(async () => client.stop())
    const results = [await firstRead(client, service, served.aid), await firstRead(client, service, served.aid), await firstRead(client, service, served.aid)]
    expect(results.every(r => r !== 'accepted')).toBe(true)
    expect(service.guessesBlocked).toBe(0)
    // the client learns that the service failed, not why
    expect(messages.join(' ')).not.toContain('/etc/secret')
  })

  /** A service that echoes, with these limits, and the guessing events it dispatches. */
  async function guarded (guessLimits: Partial<GuessLimits>): Promise<{ service: Entity, aid: Uint8Array, events: GuessBlock[] }> {
    const rendezvous = memoryRendezvous()
    const service = await createEntity({ app: 'guarded', rendezvous, listen: ['/ip4/127.0.0.1/tcp/0'], guessLimits })
    closers.push(async () => service.close())
    const events: GuessBlock[] = []
    service.addEventListener('guessing:blocked', (evt) => { events.push(evt.detail) })
    const served = await service.serve('guarded', async (a) => {
      for await (const chunk of a) a.send(chunk)
      await a.close()
    })
    return { service, aid: served.aid, events }
  }

  async function guesser (): Promise<Libp2p> {
    const node = await createNode({ privateKey: await generateKeyPair('Ed25519'), listen: [] })
    closers.push(async () => node.stop())
    return node
  }

  it('closes a connection after perConnection refusals, and reports it as an event', async () => {
    const { service, aid, events } = await guarded({ perConnection: 2, burst: 100, sourceBurst: 100 })
    const node = await guesser()
    for (let i = 0; i < 3; i++) expect(await firstRead(node, service, randomAid())).toBe('AssociationRejectedError:1')
    expect(service.node.getConnections(node.peerId)).toHaveLength(0)
    expect(events).toEqual([expect.objectContaining({ scope: 'connection', peer: node.peerId.toString(), source: '127.0.0.1', blockMs: 0, blocks: 1 })])
    // the key is not blocked: a new connection serves it
    expect(await firstRead(node, service, aid)).toBe('accepted')
    expect(service.guessesBlocked).toBe(1)
  })

  it('throttles a guessing address without locking out the other clients behind it', async () => {
    const { service, aid, events } = await guarded({ sourceBurst: 3, sourceRate: 0.001, blockMs: 60_000, burst: 100, perConnection: 100 })
    // four guessers at 127.0.0.1, a fresh key each: the fourth refusal throttles the address
    for (let i = 0; i < 4; i++) expect(await firstRead(await guesser(), service, randomAid())).toBe('AssociationRejectedError:1')
    expect(events.map(e => [e.scope, e.source, e.blockMs])).toEqual([['source', '127.0.0.1', 60_000], ['connection', '127.0.0.1', 0]])
    // another client at the same address, with the real AId: served, again and again
    for (let i = 0; i < 3; i++) expect(await firstRead(await guesser(), service, aid)).toBe('accepted')
    // a guess from the throttled address costs its connection at once
    const next = await guesser()
    expect(await firstRead(next, service, randomAid())).toBe('AssociationRejectedError:1')
    expect(service.node.getConnections(next.peerId)).toHaveLength(0)
    expect(await firstRead(await guesser(), service, aid)).toBe('accepted')
  })
})
