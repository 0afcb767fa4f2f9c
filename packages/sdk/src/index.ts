/**
 * Fara: reach applications by service name, not by well-known port.
 *
 * An entity is one application with its own Ed25519 key and its own libp2p
 * node on a random port. `serve(name)` registers a signed record at a
 * rendezvous; `connect(name)` resolves it, dials with Noise (the resolved key
 * must answer), and opens an association named only by random AIds. No
 * service name travels on the data path, not even encrypted. Defaults and
 * limits (`GUESS_LIMITS`, `RECORD_CACHE`, …) are in `@fara/sdk/constants`.
 *
 * @example
 * ```ts
 * import { createEntity, memoryRendezvous } from '@fara/sdk'
 *
 * const rendezvous = memoryRendezvous()
 * const server = await createEntity({ app: 'echo', rendezvous, listen: ['/ip4/127.0.0.1/tcp/0'] })
 * await server.serve('echo', async (association) => {
 *   for await (const chunk of association) association.send(chunk)
 *   await association.close()
 * })
 *
 * const client = await createEntity({ app: 'echo-client', rendezvous, listen: [] })
 * const association = await client.connect('echo')
 * association.send(new TextEncoder().encode('hello'))
 * await association.close()
 * for await (const chunk of association) console.log(new TextDecoder().decode(chunk))
 *
 * await client.close()
 * await server.close()
 * ```
 *
 * @packageDocumentation
 */
export { createEntity, defaultRendezvous } from './entity.ts'
export { tuneGc, gcTuningApplies } from './runtime.ts'
export type { GcTuning } from './runtime.ts'
export type { Entity, EntityEvents, EntityInit, Service, ServiceHandler, ServeOptions, ConnectOptions, DirectPathEvent } from './types.ts'
export type { PunchEvent } from '@fara/transport'
export type { HopEvent } from '@fara/port-hopping'
export type { PrivateNameOptions } from '@fara/rendezvous/private'
export type { GuessLimits, GuessBlock } from './internal/guesses.ts'
export type { RecordCacheInit } from './internal/record-cache.ts'
export { EntityClosedError, AlreadyServingError } from './errors.ts'
export type { Association } from '@fara/demux'
export {
  aidToHex,
  // what an association's reads, writes and `finished` reject with
  AssociationRejectedError, AssociationResetError, AssociationClosedError, ResumeFailedError, ResumeRefusedError, MalformedFrameError, FrameTooLargeError, AssociationTableFullError, RecordFailedError
} from '@fara/demux'
export {
  memoryRendezvous, rendezvousPoint, createRendezvousPoint,
  // what serve, connect and resolve reject with when the rendezvous says no or cannot be reached
  NameNotFoundError, InvalidSignatureError, NameTakenError, StaleRecordError, ExpiredRecordError, InvalidRecordError, RecordTooLargeError, InvalidRequestError,
  RendezvousUnavailableError, RendezvousInternalError, RateLimitedError, TooManyRegistrationsError, StoreFullError, RevokedError, PrivateRecordOpenError
} from '@fara/rendezvous'
export type { RendezvousFactory, Rendezvous, ServiceRecord } from '@fara/rendezvous'
export { DialFailedError, PeerMismatchError, StreamOpenError, PeerKeyRequiredError, HandshakeFailedError, PunchFailedError, MissingDependencyError } from '@fara/transport'
export type { Identity } from '@fara/identity'
export {
  loadOrCreateIdentity,
  // what createEntity (with a keystore) and loadOrCreateIdentity reject with
  InvalidIdentityFileError, InsecureIdentityFileError, IdentityAppMismatchError, WrongPassphraseError, KeystoreExistsError
} from '@fara/identity'
// what connect rejects with when a hopping service's record carries hop parameters this version cannot read
export { InvalidHopParamsError, UnsupportedHopVersionError } from '@fara/port-hopping'
