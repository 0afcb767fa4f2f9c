// The SDK's defaults and limits, `@fara/sdk/constants` (the main entry exports none of them).
/** Most concurrent inbound association streams per connection. */
export const MAX_INBOUND_ASSOCIATIONS_PER_CONNECTION = 256

/**
 * An association that ended keeps what carries it (its client node, an
 * entity's node at close) until its last path's stream has closed, at most
 * this long (ms): its last frames (an ABORT, the last ACK) go out behind the
 * data queued ahead of them, and a peer that reads nothing cannot hold it.
 */
export const PATH_DRAIN_TIMEOUT_MS = 5_000

/** Fraction of a record's TTL after which it is re-registered. */
export const REFRESH_FRACTION = 0.5

/** How long a background relayed → direct (WebRTC) upgrade may take before the relayed path is kept. */
export const DIRECT_UPGRADE_TIMEOUT_MS = 15_000

/**
 * A birthday punch (spec/direct-paths.md#birthday-punching) may take this
 * long (ms): its schedule runs up to 1,750 probes 20 ms apart (35 s), plus the
 * negotiation and the upgrade.
 */
export const PUNCH_TIMEOUT_MS = 45_000

/**
 * Attempts of one relayed → punched upgrade before it backs off for
 * {@link PUNCH_RETRY_MS}. One attempt misses in about one case in a hundred
 * against a port-restricted NAT (the birthday paradox: 256 mappings, up to
 * 1,750 probes, spec/direct-paths.md#birthday-punching); each new attempt
 * opens fresh mappings, so three miss together about once in a million.
 */
export const PUNCH_ATTEMPTS = 3

/**
 * After a punch to a peer failed {@link PUNCH_ATTEMPTS} times, or gave a path no faster than the relay,
 * the next attempt to that peer waits this long (ms): a punch opens 256
 * sockets on the random side and up to 1,750 probes on the other.
 */
export const PUNCH_RETRY_MS = 300_000

/** Round-trip samples per connection when a punched path is compared with the relay (the median is used). */
export const RTT_SAMPLES = 3

/**
 * A punched path is dropped only if its round-trip time exceeds the relay's
 * × `factor` + `ms` (spec/direct-paths.md#in-the-sdk): the relay must be
 * clearly closer, not closer by measurement noise.
 */
export const RELAY_RTT_MARGIN = { factor: 1.25, ms: 1 } as const

/**
 * Refused opens (unknown AId or version, malformed frame) and refused
 * resumptions, and what follows them (spec/security.md#guessing): a
 * connection is closed at its 9th; a key may collect 20 at once and earns one
 * back per second, then is blocked for 1 s, doubled with each block in a row
 * up to 60 s; a source address may collect 100 at once and earns 5 back per
 * second, then is throttled (each of its connections closed at its first
 * refusal) for as long, never blocked: its neighbours behind the same NAT
 * cause no refusals and are served.
 */
export const GUESS_LIMITS = {
  perConnection: 8,
  burst: 20,
  rate: 1,
  blockMs: 1_000,
  maxBlockMs: 60_000,
  sourceBurst: 100,
  sourceRate: 5,
  maxSources: 10_000
} as const

/**
 * How long after a `connect()` the next spare client node (fresh key and
 * libp2p node, about a millisecond of CPU) is made: after the association's
 * first exchange rather than during it.
 */
export const SPARE_NODE_DELAY_MS = 20

/** How long a spare client node may take to get ready for lookups (`Rendezvous.prepare`) in the background. */
export const PREPARE_TIMEOUT_MS = 10_000

/** Defaults of the record cache (`createEntity({ recordCache })`, spec/architecture.md#client-record-cache-and-spare-nodes). */
export const RECORD_CACHE = {
  /** A minute: how late a client learns of a withdrawal, revocation or move it does not run into itself. */
  maxAgeMs: 60_000,
  maxEntries: 1_024
} as const
