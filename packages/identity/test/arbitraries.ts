// fast-check arbitraries for the property tests of @fara/identity; the shared
// helpers (runs, mutations, protobuf soups, …) live in @fara/testkit/props.
import fc from 'fast-check'

export * from '@fara/testkit/props'

// ---- identity values ----------------------------------------------------------

/** A valid application name (APP_NAME_PATTERN). */
export const appName = fc.stringMatching(/^[a-z0-9][a-z0-9._-]{0,20}$/)

/** A string that is usually not a valid application name: empty, too long, upper case, spaces, unicode, NUL. */
export const badAppName = fc.oneof(
  fc.constantFrom('', 'A', '-chat', '.chat', '_chat', 'chat app', 'chat\0', 'Chat', 'x'.repeat(64), 'é'),
  fc.string({ maxLength: 70 })
)
