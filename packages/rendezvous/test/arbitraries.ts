// fast-check arbitraries for the property tests of @fara/rendezvous; the shared
// helpers (runs, mutations, protobuf soups, u64, …) live in @fara/testkit/props.
import fc from 'fast-check'

export * from '@fara/testkit/props'

// ---- rendezvous values -------------------------------------------------------

/** A human-friendly service name. */
export const serviceName = fc.stringMatching(/^[a-z0-9][a-z0-9._-]{0,20}$/).filter(n => !/\.[a-z2-7]{56}$/.test(n))

/** Strings that are usually not service names. */
export const badName = fc.oneof(
  fc.constantFrom('', 'A', '-x', 'x y', 'x\0', 'x'.repeat(64), 'caf\u00e9', 'a.' + 'a'.repeat(56)),
  fc.string({ maxLength: 70 })
)
