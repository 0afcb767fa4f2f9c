/** libp2p protocol id of the rendezvous point (spec/rendezvous.md). Spoken only to the rendezvous point, never on the data path. */
export const RENDEZVOUS_PROTOCOL = '/fara/rendezvous/1.0.0'

/**
 * libp2p protocol id of a rendezvous session: the messages of
 * `/fara/rendezvous/1.0.0`, many requests per stream, answered in order.
 * Spoken only to the rendezvous point, never on the data path.
 */
export const RENDEZVOUS_SESSION_PROTOCOL = '/fara/rendezvous/1.1.0'

/** Most requests a client has sent on one session and not yet had answered; more wait for an answer first. */
export const MAX_IN_FLIGHT = 32

/** A client closes its session after this long without a request outstanding (ms); the point closes one after its request timeout. */
export const SESSION_IDLE_MS = 5_000

/** Concurrent session streams per connection at the point (a client uses one; a closing one may overlap its successor). */
export const MAX_SESSION_STREAMS = 4

/** The point stops reading a session (and so stops granting the client window) while this many bytes wait unanswered. */
export const MAX_SESSION_BUFFER = 32 * 1024

/** Signature domain of a record: the signature covers `utf8(RECORD_DOMAIN) || 0x00 || record` (spec/rendezvous.md#record). */
export const RECORD_DOMAIN = 'fara/rendezvous/record/v1'

/** Most forwarding-directive addresses in one record. */
export const MAX_ADDRS = 16

/** Longest encoded multiaddr in a record, in bytes. */
export const MAX_ADDR_BYTES = 256

/** Longest port-hopping parameters in a record, in bytes (spec/port-hopping.md: 49 in version 1). */
export const MAX_HOP_BYTES = 64

/** Longest encoded Record (the signed bytes). */
export const MAX_RECORD_BYTES = 4096

/** Ed25519 signature length. */
export const SIGNATURE_BYTES = 64

/** Longest Request or Response frame on the wire to and from a rendezvous point: room for a sealed private record in the largest padding bucket. */
export const MAX_POINT_MESSAGE_BYTES = 16384

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

/** Default number of live public names one key may hold at a store. */
export const DEFAULT_MAX_RECORDS_PER_KEY = 16

/**
 * Default number of slots (public names and private records, live or
 * remembered as withdrawn) that registrations from one source address (IPv4
 * address, IPv6 /64) may hold at a store (spec/rendezvous.md#rate-limits):
 * 1/400 of {@link DEFAULT_MAX_RECORDS}, so one host cannot fill the store
 * with fresh keys, while a host that runs many services has room for them.
 */
export const DEFAULT_MAX_RECORDS_PER_ADDRESS = 256

/**
 * Default number of slots registrations from one source prefix (IPv4 /24,
 * IPv6 /56) may hold at a store (spec/rendezvous.md#rate-limits): 1/100 of
 * {@link DEFAULT_MAX_RECORDS}; filling the store takes a hundred networks.
 */
export const DEFAULT_MAX_RECORDS_PER_PREFIX = 1024

/** Default sustained requests per second one peer may send a rendezvous point. */
export const DEFAULT_PEER_RATE = 20

/** Default burst of requests one peer may send a rendezvous point. */
export const DEFAULT_PEER_BURST = 100

/** Most peers whose request rate a point tracks at once (least recently seen are forgotten first). */
export const MAX_TRACKED_PEERS = 10_000

/**
 * Default sustained requests per second from one source address (IPv4
 * address, IPv6 /64) at a rendezvous point, whatever keys it uses
 * (spec/rendezvous.md#rate-limits): five peers' worth. Peer ids cost nothing;
 * a host that makes a fresh key per request is held to this.
 */
export const DEFAULT_ADDRESS_RATE = 100

/**
 * Default burst of requests from one source address: two peers' bursts. Small
 * enough that a flood of 300 requests a second or more is refused within its
 * first second (spec/rendezvous.md#rate-limits; issue 14's flood sent 1,800).
 */
export const DEFAULT_ADDRESS_BURST = 200

/**
 * Default sustained requests per second from one source prefix (IPv4 /24,
 * IPv6 /56) at a rendezvous point (spec/rendezvous.md#rate-limits): four
 * addresses' worth, so that one flooding address leaves three quarters of its
 * prefix's share to its neighbours.
 */
export const DEFAULT_PREFIX_RATE = 400

/** Default burst of requests from one source prefix: four addresses' bursts. */
export const DEFAULT_PREFIX_BURST = 800

/** Most source addresses, and most source prefixes, whose request rate a point tracks at once (least recently seen are forgotten first). */
export const MAX_TRACKED_SOURCES = 10_000

/** Mode of a rendezvous point's data directory and of its `records/` directory (spec/rendezvous.md#persistence). */
export const DATA_DIR_MODE = 0o700

/** Mode of every file in a rendezvous point's data directory: its key, its LevelDB files (spec/rendezvous.md#persistence). */
export const DATA_FILE_MODE = 0o600

/** The directory of a point's data directory that holds its records (a LevelDB datastore). */
export const RECORDS_DIR = 'records'

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

/** Length of a private-name period (ms): lookup keys, encryption keys and writer keys rotate every period (spec/private-names.md#periods). */
export const PRIVATE_PERIOD_MS = 86_400_000

/** Sizes a private record's `ciphertext` is padded to, exactly (spec/private-names.md#padding). */
export const PRIVATE_BUCKETS = [1024, 2048, 4096, 8192] as const

/** Signature domain of a PrivateRecord: the writer signs `utf8(PRIVATE_DOMAIN) || 0x00 || record` (spec/private-names.md#signedprivaterecord). */
export const PRIVATE_DOMAIN = 'fara/rendezvous/private/v1'

/** HKDF-SHA256 salt of every private-name derivation (spec/private-names.md#derivations). */
export const PRIVATE_KDF_SALT = 'fara/rendezvous/private/salt/v1'

/** HKDF info prefix of the lookup key; `u64be(period)` follows (spec/private-names.md#derivations). */
export const PRIVATE_LOOKUP_INFO = 'fara/rendezvous/private/lookup/v1'

/** HKDF info prefix of the encryption key; `u64be(period)` follows (spec/private-names.md#derivations). */
export const PRIVATE_ENCRYPT_INFO = 'fara/rendezvous/private/encrypt/v1'

/** HKDF info prefix of the writer key seed; the 32-byte lookup key follows (spec/private-names.md#writer-key). */
export const PRIVATE_WRITER_INFO = 'fara/rendezvous/private/writer/v1'

/** Length of a lookup key, an encryption key and a writer seed (bytes). */
export const PRIVATE_KEY_BYTES = 32

/** ChaCha20-Poly1305 nonce length, carried in front of the ciphertext (bytes). */
export const PRIVATE_NONCE_BYTES = 12

/** ChaCha20-Poly1305 tag length, at the end of the ciphertext (bytes). */
export const PRIVATE_TAG_BYTES = 16

/** Longest encoded PrivateRecord (the signed bytes): `MAX_RECORD_BYTES` plus the largest bucket. */
export const MAX_PRIVATE_RECORD_BYTES = MAX_RECORD_BYTES + Math.max(...PRIVATE_BUCKETS)

/** Longest encoded SignedPrivateRecord: the record, its signature and the protobuf framing of both. */
export const MAX_SIGNED_PRIVATE_RECORD_BYTES = MAX_PRIVATE_RECORD_BYTES + SIGNATURE_BYTES + 16

/**
 * Up to this much (ms) is taken off the expiry of each of a private name's two
 * slots, independently, so that the two do not share one expiry by which a
 * rendezvous could pair them (spec/private-names.md#honest-limits).
 */
export const EXPIRY_JITTER_MS = 60_000

// The DHT backend's public constants (`@fara/rendezvous/dht`), with the others here
export {
  DHT_PROTOCOL, DHT_NAMESPACE, DHT_PRIVATE_NAMESPACE, DHT_SERVICE_NAME, DEFAULT_DHT_TIMEOUT_MS, DEFAULT_DHT_MAX_RECORDS, DEFAULT_DHT_K, DHT_RECORDS_DIR
} from './dht/constants.ts'
