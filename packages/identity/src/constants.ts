/** Version of the identity file format (spec/identity.md). */
export const IDENTITY_FILE_VERSION = 1

/** `type` field of an identity file (spec/identity.md). */
export const IDENTITY_FILE_TYPE = 'fara-identity'

/** File mode of identity files: owner read/write only. */
export const IDENTITY_FILE_MODE = 0o600

/** Application names: 1-63 characters of `[a-z0-9._-]`, starting with a letter or digit (spec/identity.md). */
export const APP_NAME_PATTERN = /^[a-z0-9][a-z0-9._-]{0,62}$/

/** Name of the application that ephemeral client identities are created for. */
export const EPHEMERAL_APP = '(ephemeral)'

/** HKDF info domain of application key derivation (spec/identity.md#application-keys). */
export const NS_APP_IDENTITY = 'fara/identity/app/v1'

/** HKDF info domain of the keystore encryption key (spec/identity.md#keystore-file). */
export const NS_KEYSTORE_KEY = 'fara/identity/keystore/v1'

/** Domain of the keystore file's corruption checksum (spec/identity.md#keystore-file). */
export const NS_KEYSTORE_CHECKSUM = 'fara/identity/keystore-checksum/v1'

/** Signature domain of application key certificates (spec/identity.md#certificates). */
export const CERTIFICATE_DOMAIN = 'fara/identity/certificate/v1'

/** Signature domain of revocations (spec/identity.md#revocations). */
export const REVOCATION_DOMAIN = 'fara/identity/revocation/v1'

/** Hash domain of the key hash in self-certifying names (spec/identity.md#self-certifying-names). */
export const NS_NAME = 'fara/identity/name/v1'

/** Hash domain of the checksum in self-certifying names (spec/identity.md#self-certifying-names). */
export const NS_NAME_CHECKSUM = 'fara/identity/name-checksum/v1'

/** Version byte of self-certifying names (spec/identity.md#self-certifying-names). */
export const NAME_VERSION = 1

/** Labels of self-certifying names: 1-63 characters of `[a-z0-9-]`, not starting or ending with `-` (spec/identity.md). */
export const NAME_LABEL_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/

/** Service names: a human-friendly name not ending in `.` + 56 base32 characters, or `label.<56 base32>`; syntax only, `isServiceName` also checks the checksum (spec/identity.md#service-names). */
export const SERVICE_NAME_PATTERN = /^(?:(?![a-z0-9._-]*\.[a-z2-7]{56}$)[a-z0-9][a-z0-9._-]{0,62}|[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.[a-z2-7]{56})$/

/** Version of certificates this package issues and accepts (spec/proto/identity.proto `Certificate.version`). */
export const CERTIFICATE_VERSION = 1

/** Default certificate lifetime: one year of 365 days, in ms (spec/identity.md#certificates). */
export const DEFAULT_CERTIFICATE_LIFETIME = 365 * 24 * 60 * 60 * 1000

/** How far before its issue time a certificate becomes valid, in ms, to absorb clock skew (spec/identity.md#certificates). */
export const CERTIFICATE_BACKDATE = 5 * 60 * 1000

/** Largest encoded Certificate or Revocation accepted, in bytes (spec/identity.md#certificates). */
export const MAX_CERTIFICATE_BYTES = 1024

/** Name of the keystore file inside a keystore directory (spec/identity.md#keystore-file). */
export const KEYSTORE_FILE = 'keystore.fara'

/** Mode of a keystore directory: owner only. */
export const KEYSTORE_DIR_MODE = 0o700

/** Version of the keystore file format (spec/identity.md#keystore-file). */
export const KEYSTORE_FILE_VERSION = 1

/** Default scrypt cost: N = 2^17, r = 8, p = 1 (128 MiB, spec/identity.md#keystore-file). */
export const DEFAULT_SCRYPT = Object.freeze({ N: 2 ** 17, r: 8, p: 1 })

/** Largest scrypt memory (128 · N · r bytes) a keystore may ask for: 512 MiB (spec/identity.md#keystore-file). */
export const MAX_SCRYPT_MEMORY = 512 * 1024 * 1024

/** Largest identity file read, in bytes: a saved Ed25519 identity is about 200 (spec/identity.md). */
export const MAX_IDENTITY_FILE_BYTES = 64 * 1024

/** Largest keystore file read, in bytes (spec/identity.md#keystore-file). */
export const MAX_KEYSTORE_FILE_BYTES = 1024 * 1024
