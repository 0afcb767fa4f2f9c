// createEntity and createRendezvousPoint honour an AbortSignal (issue 17): an
// aborted creation rejects with the signal's reason and leaves nothing running.
import { describe, expect, it } from 'vitest'
import { createEntity, createRendezvousPoint, memoryRendezvous } from '../src/index.ts'
import type { RendezvousFactory } from '../src/index.ts'
import type { Libp2p } from '@libp2p/interface'

describe('AbortSignal', () => {
  it('createEntity with an aborted signal rejects with its reason before making anything', async () => {
    const reason = new Error('not now')
    const made: Libp2p[] = []
    const spy: RendezvousFactory = (components) => { made.push(components.node); return memoryRendezvous()(components) }
    await expect(createEntity({ app: 'aborted', rendezvous: spy, listen: ['/ip4/127.0.0.1/tcp/0'], signal: AbortSignal.abort(reason) })).rejects.toBe(reason)
    expect(made).toEqual([])
  })

  it('createEntity aborted while it starts rejects with the reason and stops the node it made', async () => {
    const controller = new AbortController()
    const reason = new Error('changed my mind')
    const made: Libp2p[] = []
    // the entity asks its rendezvous factory for a client once its node is up: abort right there
    const aborting: RendezvousFactory = (components) => {
      made.push(components.node)
      controller.abort(reason)
      return memoryRendezvous()(components)
    }
    await expect(createEntity({ app: 'aborted-late', rendezvous: aborting, listen: ['/ip4/127.0.0.1/tcp/0'], signal: controller.signal })).rejects.toBe(reason)
    expect(made).toHaveLength(1)
    expect(made[0]!.status).toBe('stopped')
  })

  it('createRendezvousPoint with an aborted signal rejects with its reason', async () => {
    const reason = new Error('no point')
    await expect(createRendezvousPoint({ listen: ['/ip4/127.0.0.1/tcp/0'], signal: AbortSignal.abort(reason) })).rejects.toBe(reason)
  })

  it('Entity.close takes a signal, and stops the node whatever it says', async () => {
    const entity = await createEntity({ app: 'closing', listen: ['/ip4/127.0.0.1/tcp/0'] })
    await entity.serve('closing-svc', async () => {})
    await entity.close({ signal: AbortSignal.abort() })
    expect(entity.node.status).toBe('stopped')
  })
})
