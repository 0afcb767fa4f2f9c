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
