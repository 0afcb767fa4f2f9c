/**
 * Private names (spec/private-names.md): a service registers under a blinded,
 * per-period lookup key a record sealed to whoever knows the name (and its
 * secret). The rendezvous point verifies the envelope (`verifyPrivateEnvelope`)
 * and learns neither the name, nor the entity's key, nor its addresses.
 */
export { periodOf, derivePrivateKeys, deriveWriterKey, privateLookupKeys } from './keys.ts'
export type { PrivateKeys, PrivateLookup, PrivateLookupOptions } from './keys.ts'
export { sealPrivateRecord, createPrivateTombstone } from './seal.ts'
export type { SealPrivateInit, PrivateTombstoneInit } from './seal.ts'
export { verifyPrivateEnvelope, encodeSignedPrivateRecord, decodeSignedPrivateRecord, MAX_SIGNED_PRIVATE_RECORD_BYTES } from './envelope.ts'
export type { PrivateEnvelope, VerifyPrivateOptions } from './envelope.ts'
export { openPrivateRecord } from './open.ts'
export type { OpenPrivateOptions } from './open.ts'
