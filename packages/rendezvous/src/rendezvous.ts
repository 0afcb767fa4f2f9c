import type { ServiceRecord, SignedRecord } from './record.ts'
import type { AbortOptions, Libp2p } from '@libp2p/interface'

/**
 * A rendezvous maps a service name to how to reach it (FARA's rendezvous).
 * Every backend verifies records on write, and returns only records that
 * verify; callers verify again (`verifyRecord`) before trusting a resolved key.
 */
export interface Rendezvous {
  /** Publish a signed record (its TTL is inside it). */
  register (record: SignedRecord, options?: AbortOptions): Promise<void>
  /** The live record for `name`; rejects with `NameNotFoundError` if there is none. */
  resolve (name: string, options?: AbortOptions): Promise<ServiceRecord>
  /** Withdraw a name with a signed tombstone (`createTombstone`). */
  unregister (tombstone: SignedRecord, options?: AbortOptions): Promise<void>
}

/** What a backend is given by the entity that uses it. */
export interface RendezvousComponents {
  /** The entity's libp2p node, for backends that talk over libp2p. */
  node: Libp2p
}

/** A backend, bound to an entity's node when the entity starts. */
export type RendezvousFactory = (components: RendezvousComponents) => Rendezvous
