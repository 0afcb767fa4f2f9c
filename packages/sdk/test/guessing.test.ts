// AId guessing (spec/security.md#guessing): a guessed AId gets nothing but a refusal, and a source
// that collects too many refusals is blocked: its connections are closed and its next streams reset.
import { generateKeyPair } from '@libp2p/crypto/keys'
import { ASSOCIATION_PROTOCOL, createDemux, randomAid } from '@fara/demux'
import { createNode, openStream } from '@fara/transport'
import { afterEach, describe, expect, it } from 'vitest'
import { createEntity, memoryRendezvous } from '../src/index.ts'
import type { Entity } from '../src/index.ts'
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

  it('refuses guessed AIds, then blocks the source and counts it; the real AId worked before', async () => {
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
    // blocked: even the real AId gets nothing now, from this source, for blockMs
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
})
