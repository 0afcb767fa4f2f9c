/** Most concurrent inbound association streams per connection. */
export const MAX_INBOUND_ASSOCIATIONS_PER_CONNECTION = 256

/** Fraction of a record's TTL after which it is re-registered. */
export const REFRESH_FRACTION = 0.5

/** How long a background relayed → direct (WebRTC) upgrade may take before the relayed path is kept. */
export const DIRECT_UPGRADE_TIMEOUT_MS = 15_000

/**
 * Refused opens (unknown AId, malformed frame) and refused resumptions one
 * source may cause before it is blocked (spec/security.md#guessing): 20 at
 * once, one more per second, then 60 s of refusing its streams at once and
 * closing its connections.
 */
export const GUESS_LIMITS = {
  burst: 20,
  rate: 1,
  blockMs: 60_000,
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
