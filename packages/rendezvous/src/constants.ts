/** libp2p protocol id of the rendezvous point (spec/rendezvous.md). Spoken only to the rendezvous point, never on the data path. */
export const RENDEZVOUS_PROTOCOL = '/fara/rendezvous/1.0.0'

/** Signature domain of a record: the signature covers `utf8(RECORD_DOMAIN) || 0x00 || record` (spec/rendezvous.md#records). */
export const RECORD_DOMAIN = 'fara/rendezvous/record/v1'

/** Most forwarding-directive addresses in one record. */
export const MAX_ADDRS = 16

/** Longest encoded multiaddr in a record, in bytes. */
export const MAX_ADDR_BYTES = 256

/** Longest encoded Record (the signed bytes). */
export const MAX_RECORD_BYTES = 4096

/** Ed25519 signature length. */
export const SIGNATURE_BYTES = 64

/** Longest Request or Response frame on the wire. */
export const MAX_MESSAGE_BYTES = 8192

/** Default record lifetime when registering (ms). */
export const DEFAULT_TTL_MS = 10 * 60_000

/** Shortest accepted lifetime (ms). */
export const MIN_TTL_MS = 1_000

/** Longest accepted lifetime (ms): a record must be refreshed at least daily. */
export const MAX_TTL_MS = 24 * 60 * 60_000

/** How far in the future a record's seq may be, for clock skew (ms). */
export const MAX_CLOCK_SKEW_MS = 5 * 60_000

/** Default number of records a store holds. */
export const DEFAULT_MAX_RECORDS = 100_000

/** How long a rendezvous point waits for a request, and a client for a response (ms). */
export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000

/** Concurrent rendezvous streams per connection at the point. */
export const MAX_INBOUND_STREAMS = 32

/** Wire status codes (spec/proto/rendezvous.proto `Response.Status`). */
export const Status = {
  OK: 0,
  NOT_FOUND: 1,
  INVALID_SIGNATURE: 2,
  NAME_TAKEN: 3,
  STALE: 4,
  EXPIRED: 5,
  INVALID_RECORD: 6,
  TOO_LARGE: 7,
  INVALID_REQUEST: 8,
  INTERNAL: 9,
  RATE_LIMITED: 10,
  TOO_MANY_REGISTRATIONS: 11,
  STORE_FULL: 12,
  REVOKED: 13
} as const

/** A wire status code. */
export type Status = typeof Status[keyof typeof Status]
