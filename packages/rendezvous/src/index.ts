/**
 * Pluggable rendezvous for Fara: the directory that maps a service name to
 * how to reach the service (its key, its addresses and its service AId).
 *
 * Records are signed by the registering entity's key and verified on
 * register and on every resolve. Every backend passes one compliance suite;
 * this entry holds the interface, the records, the store of their rules, the
 * in-memory backend (the embedded default, and a test helper) and the
 * *rendezvous point* reached over libp2p with protobuf messages. The DHT
 * backend is `@fara/rendezvous/dht`, private names are
 * `@fara/rendezvous/private`, and the constants `@fara/rendezvous/constants`.
 *
 * @example
 * ```ts
 * import { createRendezvousPoint, rendezvousPoint, memoryRendezvous } from '@fara/rendezvous'
 *
 * const point = await createRendezvousPoint({ listen: ['/ip4/127.0.0.1/tcp/0'] })
 * const backend = rendezvousPoint(point.multiaddrs)   // hand this to createEntity()
 * const embedded = memoryRendezvous()                 // or keep it all in one process
 * console.log(point.multiaddrs.map(String), typeof backend, typeof embedded)
 * await point.close()
 * ```
 *
 * @packageDocumentation
 */
export type { Rendezvous, PrivateRendezvous, RendezvousComponents, RendezvousFactory, NodeServiceFactory } from './rendezvous.ts'
export { supportsPrivate } from './rendezvous.ts'
export { memoryRendezvous } from './memory.ts'
export { rendezvousPoint } from './point/client.ts'
export type { RendezvousPointInit } from './point/client.ts'
export { rendezvousServer } from './point/server.ts'
export type { RendezvousServer, RendezvousServerInit, RendezvousServerComponents, RendezvousServerEvents, RendezvousRefusal } from './point/server.ts'
export { createRendezvousPoint } from './point/create.ts'
export type { RendezvousPointServerInit, RendezvousPointHandle } from './point/create.ts'
export type { RendezvousWorker } from './point/cluster.ts'
export { createRecord, createTombstone, verifyRecord, encodeSignedRecord, decodeSignedRecord, monotonicNow } from './record.ts'
export type { SignedRecord, SignedPrivateRecord, ServiceRecord, RecordInit, VerifyOptions } from './record.ts'
export { RecordStore } from './store.ts'
export type { RecordStoreInit, WriteOptions } from './store.ts'
export {
  RendezvousError, NameNotFoundError, InvalidSignatureError, NameTakenError, StaleRecordError, ExpiredRecordError,
  InvalidRecordError, RecordTooLargeError, InvalidRequestError, RendezvousInternalError, RendezvousUnavailableError,
  RateLimitedError, TooManyRegistrationsError, StoreFullError, RevokedError, PrivateRecordOpenError
} from './errors.ts'
