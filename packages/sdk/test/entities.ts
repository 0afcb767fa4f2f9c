import { afterEach } from 'vitest'
import { createEntity, memoryRendezvous } from '../src/index.ts'
import type { Entity, RendezvousFactory } from '../src/index.ts'

export const LOOPBACK = ['/ip4/127.0.0.1/tcp/0']

/** The entities of one describe block, on one in-memory rendezvous. */
export interface EntityPool {
  /** A new entity of `app` on the pool's rendezvous, listening on `listen` (loopback; `[]` for a client only), closed after the test. */
  entity: (app: string, listen?: string[]) => Promise<Entity>
  /** Close `e` after the test too (an entity the test made itself). */
  track: (e: Entity) => Entity
  /** The current test's rendezvous (a fresh one for every test). */
  readonly rendezvous: RendezvousFactory
}

/** Call in a describe block: every test gets a fresh rendezvous, and its entities are closed after it. */
export function entityPool (): EntityPool {
  const entities: Entity[] = []
  let rendezvous: RendezvousFactory = memoryRendezvous()
  afterEach(async () => {
    await Promise.all(entities.splice(0).map(async e => e.close()))
    rendezvous = memoryRendezvous()
  })
  const track = (e: Entity): Entity => { entities.push(e); return e }
  return {
    track,
    get rendezvous () { return rendezvous },
    entity: async (app, listen = LOOPBACK) => track(await createEntity({ app, rendezvous, listen }))
  }
}
