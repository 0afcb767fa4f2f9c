/**
 * Private names (spec/private-names.md): a service registers under a blinded,
 * per-period lookup key a record sealed to whoever knows the name (and its
 * secret). The rendezvous verifies the envelope (`verifyPrivateEnvelope`)
 * and learns neither the name, nor the entity's key, nor its addresses.
 *
 * Two layers: registering, resolving and withdrawing a private *name* over
 * any backend that supports private names (`registerPrivateName`,
 * `resolvePrivateName`, `withdrawPrivateName`: what the SDK's
 * `serve(name, handler, { private })` and `connect(name, { private })` use),
 * and the cryptography of one slot beneath them (derive, seal, verify, open).
 *
 * @example
 * ```ts
 * import { generateKeyPair } from '@libp2p/crypto/keys'
 * import { createNode } from '@fara/transport'
 * import { createRecord, memoryRendezvous, verifyRecord } from '@fara/rendezvous'
 * import { registerPrivateName, resolvePrivateName } from '@fara/rendezvous/private'
 *
 * const rendezvous = memoryRendezvous()
 * const key = await generateKeyPair('Ed25519')
 * const signed = await createRecord(key, { name: 'chat', addrs: ['/ip4/192.0.2.1/tcp/4001'], aid: new Uint8Array(8) })
 * // each slot is written from a throwaway node of its own: the rendezvous never sees `key`
 * await registerPrivateName({ rendezvous }, key, signed, await verifyRecord(signed), { secret: 'invite-code' })
 * const client = await createNode({ privateKey: await generateKeyPair('Ed25519'), listen: [] })
 * const found = await resolvePrivateName(rendezvous({ node: client }), 'chat', { secret: 'invite-code' })
 * console.log(found.publicKey.equals(key.publicKey)) // true
 * await client.stop()
 * ```
 *
 * @packageDocumentation
 */
export { registerPrivateName, resolvePrivateName, withdrawPrivateName } from './names.ts'
export type { PrivateNameOptions, PrivateNameComponents, ThrowawayNodeInit } from './names.ts'
export { periodOf, derivePrivateKeys, deriveWriterKey, privateLookupKeys } from './keys.ts'
export type { PrivateKeys, PrivateLookup, PrivateLookupOptions } from './keys.ts'
export { sealPrivateRecord, createPrivateTombstone } from './seal.ts'
export type { SealPrivateInit, PrivateTombstoneInit } from './seal.ts'
export { verifyPrivateEnvelope, encodeSignedPrivateRecord, decodeSignedPrivateRecord } from './envelope.ts'
export type { PrivateEnvelope, VerifyPrivateOptions } from './envelope.ts'
export { openPrivateRecord } from './open.ts'
export type { OpenPrivateOptions } from './open.ts'
