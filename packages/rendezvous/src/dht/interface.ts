/**
 * The DHT service's three types (spec/dht.md): its options, what libp2p
 * injects, and what a node's `services.faraDht` offers.
 */
import type { KadDHT, KadDHTComponents } from '@libp2p/kad-dht'
import type { AbortOptions } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/** Options of the DHT service (all optional). */
export interface DhtServiceInit {
  /** DHT protocol id (default {@link @fara/rendezvous!constants.DHT_PROTOCOL | DHT_PROTOCOL}); nodes with different ids form different DHTs. */
  protocol?: string
  /** Only query, never store or answer (default: a server if the node listens, a client if it is dial-only). */
  clientMode?: boolean
  /** DHT peers to dial when the node starts, each ending in `/p2p/<peer id>` (default none). */
  bootstrap?: Array<string | Multiaddr>
  /** Keep private and loopback addresses of DHT peers: for a LAN or a test (default false: public addresses only). */
  allowPrivateAddresses?: boolean
  /** Replication factor and k-bucket size (default {@link @fara/rendezvous!constants.DEFAULT_DHT_K | DEFAULT_DHT_K}). */
  kBucketSize?: number
  /** Most records this node stores for others (default {@link @fara/rendezvous!constants.DEFAULT_DHT_MAX_RECORDS | DEFAULT_DHT_MAX_RECORDS}). */
  maxRecords?: number
  /** Clock in ms since the epoch, for validators, selector and store (default `Date.now`). */
  now?: () => number
  /**
   * Keep the records this node stores in a LevelDB datastore in
   * `<dataDir>/dht-records` (the optional peer dependency `datastore-level`;
   * modes as a rendezvous point's: 0700, files 0600), so that a restart
   * serves them again and republishes them (spec/dht.md#persistence). Only a
   * DHT server uses it; a client node stores nothing for others. The node's
   * key, which decides which records it holds, is the caller's to keep.
   * Default: memory only.
   */
  dataDir?: string
}

/** What libp2p injects into the DHT service (its DHT keeps records in a store of its own, and pings on the DHT protocol). */
export type DhtServiceComponents = Omit<KadDHTComponents, 'ping' | 'datastore'>

/** The DHT service as seen on a node: `node.services.faraDht`. */
export interface DhtService {
  /** The underlying @libp2p/kad-dht instance (raw put/get: values still pass every node's validator). */
  readonly dht: KadDHT
  /** The DHT protocol id. */
  readonly protocol: string
  /** The clock the validators use. */
  readonly now: () => number
  /** Peers in the routing table (DHT servers that answered a PING). */
  readonly routingTableSize: number
  /** Whether bootstrap peers were configured (then operations wait for a routing-table peer). */
  readonly bootstraps: boolean
  /** 'server' answers and stores; 'client' only asks. */
  mode (): 'client' | 'server'
  /** Resolve once the routing table holds at least `min` peers; rejects with the signal's reason. */
  waitForPeers (min?: number, options?: AbortOptions): Promise<void>
  /** The current value this node itself stores for `name` (a SignedRecord encoding), if any. */
  localValue (name: string): Uint8Array | undefined
  /** The current value this node itself stores for a private slot's 32-byte lookup key (a SignedPrivateRecord encoding), if any. */
  localPrivateValue (lookupKey: Uint8Array): Uint8Array | undefined
  /**
   * Put a value to the peers closest to its key, as `dht.put` does, but keep
   * it in this node's own store only once a peer has stored it (or, on a
   * server, if there was no peer to ask): a value the DHT refuses leaves
   * nothing behind here that this node would then serve. The own store's
   * refusal (`StaleRecordError`, `NameTakenError`, …) is thrown before
   * anything is sent; so is `NameTakenError` for a private slot whose walk
   * met a live record of another writer key (spec/dht.md#private-records).
   * Resolves with how many peers were asked and how many echoed (stored) it.
   */
  putToPeers (key: Uint8Array, value: Uint8Array, options?: AbortOptions): Promise<{ asked: number, stored: number }>
  /**
   * The values peers return for `key` (unverified: check each), from a
   * lookup that asks each of the `k` peers closest to the key, where
   * `dht.get` may stop at the first peer that knows no closer one.
   */
  findValues (key: Uint8Array, options?: AbortOptions): Promise<Uint8Array[]>
  /**
   * Everything this node's DHT store holds, exactly as held (datastore key,
   * stored `Libp2pRecord` bytes): what its operator sees (spec/dht.md#what-a-dht-node-learns).
   */
  entries (): Iterable<{ key: string, value: Uint8Array }>
  /** Records loaded from `dataDir` when the node last started (0 without one). */
  readonly loaded: number
  /**
   * Resolves once the records loaded at start have been republished to the
   * peers closest to their keys, with the number of stores peers echoed (0 if
   * none were loaded, or the node stopped before it had a peer). Never rejects.
   */
  republished (): Promise<number>
}
