/**
 * The DHT backend (spec/dht.md): a rendezvous on Fara's own Kademlia DHT,
 * where records are stored on the nodes closest to their key, verified by
 * every node that stores or returns them. Its constants are in
 * `@fara/rendezvous/constants`.
 *
 * @example
 * ```ts
 * import { dhtRendezvous } from '@fara/rendezvous/dht'
 * import { createEntity } from '@fara/sdk'
 *
 * const rendezvous = dhtRendezvous({ bootstrap: ['/ip4/203.0.113.7/tcp/40123/p2p/12D3KooW...'] })
 * const entity = await createEntity({ app: 'chat', rendezvous }) // the SDK adds rendezvous.nodeServices
 * await entity.close()
 * ```
 *
 * @packageDocumentation
 */
export { dhtRendezvous } from './rendezvous.ts'
export type { DhtRendezvousInit } from './rendezvous.ts'
export { dhtService, dhtServiceOf } from './service.ts'
export type { DhtService, DhtServiceInit, DhtServiceComponents } from './interface.ts'
export { dhtKey } from './records.ts'
export { privateDhtKey } from './private.ts'
