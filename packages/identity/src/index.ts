/**
 * Per-application identities for Fara entities.
 *
 * Every application (FARA "entity") has its own Ed25519 key pair and so its own
 * libp2p PeerId; no two applications share a key. A passphrase-encrypted
 * keystore holds one device key per user and device; each application's key
 * is derived from it, rotated by generation, and certified by it, so a name
 * pinned to the device key — such as a self-certifying name — survives key
 * rotation. Clients use a fresh ephemeral identity for each association
 * unless they opt into a stable one.
 *
 * Domains, versions, patterns, limits and defaults: `@fara/identity/constants`.
 *
 * @example
 * ```ts
 * import { createKeystore, ephemeralIdentity, nameMatchesKey, selfCertifyingName, verifyCertificate } from '@fara/identity'
 *
 * const keystore = await createKeystore('./.fara/keystore', { passphrase: 'correct horse battery staple' })
 * const chat = await keystore.app('chat')                              // derived key + device certificate
 * const name = selfCertifyingName('chat', keystore.device.publicKey)  // 'chat.' + 56 base32 characters
 * const cert = await verifyCertificate(chat.certificate)             // throws a typed error if bad
 * const client = await ephemeralIdentity()                           // never saved
 * console.log(name, nameMatchesKey(name, cert.devicePublicKey), chat.peerId.toString(), client.peerId.toString())
 * ```
 *
 * @packageDocumentation
 */
export { createIdentity, ephemeralIdentity, saveIdentity, loadIdentity, loadOrCreateIdentity, identityPath, assertAppName } from './identity.ts'
export type { Identity, CreateIdentityInit, LoadIdentityOptions } from './identity.ts'
export { createKeystore, openKeystore } from './keystore.ts'
export type { Keystore, AppIdentity, AppOptions, Device, CreateKeystoreInit, OpenKeystoreOptions, ScryptParams } from './keystore.ts'
export {
  verifyCertificate, verifyRevocation, encodeSignedCertificate, decodeSignedCertificate, encodeSignedRevocation, decodeSignedRevocation, timeText
} from './certificate.ts'
export type { Certificate, SignedCertificate, Revocation, SignedRevocation, VerifyCertificateOptions } from './certificate.ts'
export { selfCertifyingName, parseSelfCertifyingName, isSelfCertifyingName, nameMatchesKey, isServiceName, assertServiceName } from './names.ts'
export type { SelfCertifyingName } from './names.ts'
export { base32Encode, base32Decode, tryDecode, bytesOf } from './encoding.ts'
export { signDomain, verifyDomain, domainMessage } from './sign.ts'
export { modeAllowsOthers } from './file-mode.ts'
export {
  InvalidIdentityFileError, InsecureIdentityFileError, IdentityAppMismatchError, WrongPassphraseError, KeystoreExistsError,
  InvalidCertificateError, CertificateExpiredError, CertificateRevokedError, InvalidRevocationError, InvalidNameError
} from './errors.ts'
