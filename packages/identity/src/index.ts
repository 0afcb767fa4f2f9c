/**
 * Per-application identities for Fara entities.
 *
 * Every application (FARA "entity") has its own Ed25519 key pair and so its own
 * libp2p PeerId; no two applications share a key. Clients use a fresh
 * ephemeral identity for each association unless they opt into a stable one.
 *
 * @example
 * ```ts
 * import { loadOrCreateIdentity, ephemeralIdentity } from '@fara/identity'
 *
 * const chat = await loadOrCreateIdentity('./.fara/keys', 'chat') // saved with mode 0600
 * const client = await ephemeralIdentity()                         // never saved
 * console.log(chat.peerId.toString(), client.peerId.toString())
 * ```
 *
 * @packageDocumentation
 */
export { createIdentity, ephemeralIdentity, saveIdentity, loadIdentity, loadOrCreateIdentity, identityPath, assertAppName } from './identity.ts'
export type { Identity, CreateIdentityInit, LoadIdentityOptions } from './identity.ts'
export { signDomain, verifyDomain, domainMessage } from './sign.ts'
export { InvalidIdentityFileError, InsecureIdentityFileError, IdentityAppMismatchError } from './errors.ts'
export { APP_NAME_PATTERN, IDENTITY_FILE_MODE, IDENTITY_FILE_VERSION, EPHEMERAL_APP } from './constants.ts'
