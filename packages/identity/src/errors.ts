/** Thrown when an identity file cannot be parsed or holds a key of the wrong kind. */
export class InvalidIdentityFileError extends Error {
  static override name = 'InvalidIdentityFileError'
  override name = 'InvalidIdentityFileError'
  constructor (message = 'Invalid identity file') { super(message) }
}

/** Thrown when an identity file is readable or writable by other users than its owner. */
export class InsecureIdentityFileError extends Error {
  static override name = 'InsecureIdentityFileError'
  override name = 'InsecureIdentityFileError'
  constructor (message = 'Identity file must have mode 0600') { super(message) }
}

/** Thrown when a key stored for one application is requested for another: no two applications share a key. */
export class IdentityAppMismatchError extends Error {
  static override name = 'IdentityAppMismatchError'
  override name = 'IdentityAppMismatchError'
  constructor (message = 'Identity belongs to another application') { super(message) }
}

/** Thrown when a keystore does not decrypt with the passphrase given. */
export class WrongPassphraseError extends Error {
  static override name = 'WrongPassphraseError'
  override name = 'WrongPassphraseError'
  constructor (message = 'Wrong passphrase for the keystore') { super(message) }
}

/** Thrown when a certificate does not decode, breaks a rule of the format, or is not signed by the device key it names. */
export class InvalidCertificateError extends Error {
  static override name = 'InvalidCertificateError'
  override name = 'InvalidCertificateError'
  constructor (message = 'Invalid certificate') { super(message) }
}

/** Thrown when a valid certificate is used outside its validity window (expired or not yet valid). */
export class CertificateExpiredError extends Error {
  static override name = 'CertificateExpiredError'
  override name = 'CertificateExpiredError'
  constructor (message = 'Certificate is not valid at this time') { super(message) }
}

/** Thrown when a valid certificate is revoked by a revocation of its device key. */
export class CertificateRevokedError extends Error {
  static override name = 'CertificateRevokedError'
  override name = 'CertificateRevokedError'
  constructor (message = 'Certificate is revoked') { super(message) }
}

/** Thrown when a revocation does not decode, breaks a rule of the format, or is not signed by the device key it names. */
export class InvalidRevocationError extends Error {
  static override name = 'InvalidRevocationError'
  override name = 'InvalidRevocationError'
  constructor (message = 'Invalid revocation') { super(message) }
}

/** Thrown when a self-certifying name has a bad label, length, encoding, checksum or version. */
export class InvalidNameError extends Error {
  static override name = 'InvalidNameError'
  override name = 'InvalidNameError'
  constructor (message = 'Invalid self-certifying name') { super(message) }
}

/** Thrown when a keystore is created in a directory that already holds one: a keystore is never overwritten. */
export class KeystoreExistsError extends Error {
  static override name = 'KeystoreExistsError'
  override name = 'KeystoreExistsError'
  constructor (message = 'A keystore already exists in this directory') { super(message) }
}
