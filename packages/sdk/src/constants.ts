/** Most concurrent inbound association streams per connection. */
export const MAX_INBOUND_ASSOCIATIONS_PER_CONNECTION = 256

/** Fraction of a record's TTL after which it is re-registered. */
export const REFRESH_FRACTION = 0.5

/** How long a background relayed → direct (WebRTC) upgrade may take before the relayed path is kept. */
export const DIRECT_UPGRADE_TIMEOUT_MS = 15_000
