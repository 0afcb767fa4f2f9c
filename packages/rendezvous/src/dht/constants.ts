/**
 * Constants of the DHT backend (spec/dht.md). Fara runs its OWN Kademlia DHT:
 * its protocol id and key namespace never touch the IPFS (Amino) DHT.
 */

/** libp2p protocol id of Fara's DHT (spec/dht.md#protocol). Never `/ipfs/kad/1.0.0`. */
export const DHT_PROTOCOL = '/fara/kad/1.0.0'

/** Key namespace: a record for `name` is stored under `utf8('/fara/' + name)` (spec/dht.md#keys). */
export const DHT_NAMESPACE = 'fara'

/**
 * Key namespace of private records: a sealed record is stored under
 * `utf8('/fara-private/' + hex(lookupKey))`, the 32-byte blinded lookup key of
 * its slot in lower-case hex (spec/dht.md#private-records).
 */
export const DHT_PRIVATE_NAMESPACE = 'fara-private'

/** Length of a private record's DHT key: `/fara-private/` and 64 hex digits. */
export const DHT_PRIVATE_KEY_BYTES = 14 + 64

/** Subdirectory of a DHT node's `dataDir` that holds its record datastore (LevelDB). */
export const DHT_RECORDS_DIR = 'dht-records'

/** Most stored records republished at once by a node restarted from its data directory. */
export const DHT_REPUBLISH_CONCURRENCY = 4

/**
 * Most rounds of a walk to the closest peers (spec/dht.md#private-records): each round asks the
 * closest peers heard of that were not asked yet; a lookup normally ends after two or three.
 */
export const MAX_WALK_ROUNDS = 8

/** Longest answer a DHT server gives to a republished PUT_VALUE (its echo of the record). */
export const MAX_PUT_REPLY_BYTES = 32 * 1024

/** Name of the DHT service in a node's `services` map (`node.services.faraDht`). */
export const DHT_SERVICE_NAME = 'faraDht'

/** Longest DHT key this backend accepts: `/fara/` and a 63-character name. */
export const MAX_DHT_KEY_BYTES = 6 + 63

/** Deadline of one register, resolve or unregister, lookup and stores included (ms). */
export const DEFAULT_DHT_TIMEOUT_MS = 30_000

/** Most entries one DHT node stores for others (records and withdrawals); the node refuses puts beyond it. */
export const DEFAULT_DHT_MAX_RECORDS = 100_000

/** Replication factor and k-bucket size: a record is put to the k peers closest to its key (Kademlia's k = 20). */
export const DEFAULT_DHT_K = 20

/** How long a DHT query waits for a peer to answer one request (ms). */
export const DHT_REQUEST_TIMEOUT_MS = 10_000

/** Prefix of the DHT's own in-memory datastore (records live under `<prefix>/record`). */
export const DHT_DATASTORE_PREFIX = '/fara-dht'

/** Longest answer to a liveness PING on the DHT protocol (bytes). */
export const MAX_PING_REPLY_BYTES = 64

/** Longest answer to the FIND_NODE a node sends to learn where a peer listens (bytes). */
export const MAX_FIND_NODE_REPLY_BYTES = 128 * 1024

/** Most claimed addresses of one peer that are dialled back to verify them. */
export const MAX_VERIFIED_ADDRS = 4
