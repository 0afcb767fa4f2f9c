import type { ServiceRecord, SignedPrivateRecord, SignedRecord } from './record.ts'
import type { SignedRevocation } from '@fara/identity'
import type { AbortOptions, Libp2p } from '@libp2p/interface'

/**
 * A rendezvous maps a service name to how to reach it (FARA's rendezvous).
 * Every backend verifies records on write, and returns only records that
 * verify; callers verify again (`verifyRecord`) before trusting a resolved key.
 * A backend that also stores private names is a {@link PrivateRendezvous}.
 */
export interface Rendezvous {
  /** Publish a signed record (its TTL is inside it). */
  register (record: SignedRecord, options?: AbortOptions): Promise<void>
  /** The live record for `name`; rejects with `NameNotFoundError` if there is none. */
  resolve (name: string, options?: AbortOptions): Promise<ServiceRecord>
  /** Withdraw a name with a signed tombstone (`createTombstone`). */
  unregister (tombstone: SignedRecord, options?: AbortOptions): Promise<void>
  /** Publish a device key's revocation of application-key certificates (spec/identity.md). Optional. */
  revoke?: (revocation: SignedRevocation, options?: AbortOptions) => Promise<void>
  /**
   * Get ready to answer a first request quickly, ahead of it (e.g. open the
   * connection to a rendezvous point). A failure here is not an error: the
   * request that follows tries again and reports. Optional.
   */
  prepare?: (options?: AbortOptions) => Promise<void>
}

/**
 * A rendezvous that also stores private names (spec/private-names.md): sealed
 * records under blinded lookup keys. Every backend of this package is one;
 * tell one from a plain {@link Rendezvous} with {@link supportsPrivate}.
 * Registering, resolving and withdrawing a private *name* over one is in
 * `@fara/rendezvous/private`.
 */
export interface PrivateRendezvous extends Rendezvous {
  /** Store a sealed record (`sealPrivateRecord`) under its lookup key. */
  registerPrivate (record: SignedPrivateRecord, options?: AbortOptions): Promise<void>
  /** The sealed record stored under a 32-byte lookup key; rejects with `NameNotFoundError` if there is none. */
  resolvePrivate (lookupKey: Uint8Array, options?: AbortOptions): Promise<SignedPrivateRecord>
  /** Withdraw a private record with a signed private tombstone (`createPrivateTombstone`). */
  unregisterPrivate (tombstone: SignedPrivateRecord, options?: AbortOptions): Promise<void>
}

/** True if `rv` stores private names: it has `registerPrivate`, `resolvePrivate` and `unregisterPrivate`. */
export function supportsPrivate (rv: Rendezvous): rv is PrivateRendezvous {
  const r = rv as Partial<PrivateRendezvous>
  return typeof r.registerPrivate === 'function' && typeof r.resolvePrivate === 'function' && typeof r.unregisterPrivate === 'function'
}

/** What a backend is given by the entity that uses it. */
export interface RendezvousComponents {
  /** The entity's libp2p node, for backends that talk over libp2p. */
  node: Libp2p
}

/** A libp2p service factory, as passed in a node's `services` map. */
export type NodeServiceFactory = (components: any) => unknown // eslint-disable-line @typescript-eslint/no-explicit-any

/**
 * A backend, bound to an entity's node when the entity starts. `R` is what it
 * makes: the backends of this package make a {@link PrivateRendezvous}.
 */
export interface RendezvousFactory<R extends Rendezvous = Rendezvous> {
  (components: RendezvousComponents): R
  /**
   * libp2p services the backend needs on every node that uses it (the DHT
   * backend needs the DHT itself); the SDK adds them when it creates nodes.
   */
  nodeServices?: Record<string, NodeServiceFactory>
}
