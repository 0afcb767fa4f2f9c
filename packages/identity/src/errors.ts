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
