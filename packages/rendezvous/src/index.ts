/**
 * Pluggable rendezvous for Fara: the directory that maps a service name to
 * how to reach the service (its key, its addresses and its service AId).
 *
 * Records are signed by the registering entity's key and verified on
 * register and on every resolve. Two backends pass one compliance suite: an
 * in-memory store (the embedded default, and a test helper) and a
 * *rendezvous point* reached over libp2p with protobuf messages.
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
export type { Rendezvous, RendezvousComponents, RendezvousFactory, NodeServiceFactory } from './rendezvous.ts'
export { memoryRendezvous } from './memory.ts'
export { rendezvousPoint } from './point/client.ts'
export type { RendezvousPointInit } from './point/client.ts'
export { rendezvousServer } from './point/server.ts'
export type { RendezvousServer, RendezvousServerInit, RendezvousServerComponents, RendezvousServerEvents, RendezvousRefusal } from './point/server.ts'
export { createRendezvousPoint } from './point/create.ts'
export type { RendezvousPointServerInit, RendezvousPointHandle } from './point/create.ts'
export { createRecord, createTombstone, verifyRecord, encodeSignedRecord, decodeSignedRecord, assertServiceName, monotonicNow } from './record.ts'
export type { SignedRecord, SignedPrivateRecord, ServiceRecord, RecordInit, VerifyOptions } from './record.ts'
export { RecordStore } from './store.ts'
export type { RecordStoreInit, WriteOptions } from './store.ts'
export {
  RendezvousError, NameNotFoundError, InvalidSignatureError, NameTakenError, StaleRecordError, ExpiredRecordError,
  InvalidRecordError, RecordTooLargeError, InvalidRequestError, RendezvousInternalError, RendezvousUnavailableError,
  RateLimitedError, TooManyRegistrationsError, StoreFullError, RevokedError
} from './errors.ts'
export {
  RENDEZVOUS_PROTOCOL, RENDEZVOUS_SESSION_PROTOCOL, MAX_IN_FLIGHT, SESSION_IDLE_MS, MAX_SESSION_STREAMS, MAX_SESSION_BUFFER, RECORD_DOMAIN, MAX_ADDRS, MAX_ADDR_BYTES, MAX_HOP_BYTES, MAX_RECORD_BYTES, MAX_MESSAGE_BYTES,
  DEFAULT_TTL_MS, MIN_TTL_MS, MAX_TTL_MS, MAX_CLOCK_SKEW_MS, DEFAULT_MAX_RECORDS, DEFAULT_REQUEST_TIMEOUT_MS, MAX_INBOUND_STREAMS, SIGNATURE_BYTES, Status,
  DEFAULT_MAX_RECORDS_PER_KEY, DEFAULT_PEER_RATE, DEFAULT_PEER_BURST, MAX_TRACKED_PEERS,
  DEFAULT_MAX_RECORDS_PER_ADDRESS, DEFAULT_MAX_RECORDS_PER_PREFIX, DEFAULT_ADDRESS_RATE, DEFAULT_ADDRESS_BURST, DEFAULT_PREFIX_RATE, DEFAULT_PREFIX_BURST,
  MAX_TRACKED_SOURCES, DATA_DIR_MODE, DATA_FILE_MODE, RECORDS_DIR
} from './constants.ts'
export {
  periodOf, derivePrivateKeys, deriveWriterKey, privateLookupKeys, sealPrivateRecord, createPrivateTombstone,
  verifyPrivateEnvelope, openPrivateRecord, encodeSignedPrivateRecord, decodeSignedPrivateRecord, MAX_SIGNED_PRIVATE_RECORD_BYTES
} from './private/index.ts'
export type {
  PrivateKeys, PrivateLookup, PrivateLookupOptions, SealPrivateInit, PrivateTombstoneInit, PrivateEnvelope, VerifyPrivateOptions, OpenPrivateOptions
} from './private/index.ts'
export { PrivateRecordOpenError } from './errors.ts'
export {
  PRIVATE_PERIOD_MS, PRIVATE_BUCKETS, PRIVATE_DOMAIN, PRIVATE_KDF_SALT, PRIVATE_LOOKUP_INFO, PRIVATE_ENCRYPT_INFO, PRIVATE_WRITER_INFO,
  PRIVATE_KEY_BYTES, PRIVATE_NONCE_BYTES, PRIVATE_TAG_BYTES, MAX_PRIVATE_RECORD_BYTES
} from './constants.ts'
export { dhtRendezvous } from './dht/rendezvous.ts'
export type { DhtRendezvousInit } from './dht/rendezvous.ts'
export { dhtService, dhtServiceOf } from './dht/service.ts'
export type { DhtService, DhtServiceInit, DhtServiceComponents } from './dht/service.ts'
export { dhtKey } from './dht/records.ts'
export { privateDhtKey } from './dht/private.ts'
export {
  DHT_PROTOCOL, DHT_NAMESPACE, DHT_PRIVATE_NAMESPACE, DHT_SERVICE_NAME, DEFAULT_DHT_TIMEOUT_MS, DEFAULT_DHT_MAX_RECORDS, DEFAULT_DHT_K, DHT_RECORDS_DIR
} from './dht/constants.ts'
