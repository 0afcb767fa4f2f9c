import type { GuessBlock, GuessLimits } from './internal/guesses.ts'
import type { RecordCacheInit } from './internal/record-cache.ts'
import type { PrivateNameOptions } from '@fara/rendezvous/private'
import type { Identity } from '@fara/identity'
import type { Association, DemuxInit } from '@fara/demux'
import type { DirectPathsInit, NodeInit, PunchEvent } from '@fara/transport'
import type { HopEvent, HopParamsInit } from '@fara/port-hopping'
import type { RendezvousFactory, ServiceRecord } from '@fara/rendezvous'
import type { AbortOptions, Libp2p, PeerId, PublicKey, TypedEventTarget } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/** Called once for every association opened to a service. Errors it throws abort that association only. */
export type ServiceHandler = (association: Association) => void | Promise<void>

/** Options for {@link createEntity}. */
export interface EntityInit {
  /** The application name; each application has its own key. */
  app: string
  /** Abort the creation: `createEntity` rejects with the signal's reason, and nothing it started keeps running. */
  signal?: AbortSignal
  /** Where names are registered and resolved (default: one in-memory rendezvous shared by the process). */
  rendezvous?: RendezvousFactory
  /** The entity's identity (default: loaded from / created in `keystore`, else fresh and unsaved). */
  identity?: Identity
  /**
   * Where the application's key lives. `{ dir, passphrase }`: an encrypted
   * keystore (scrypt + AEAD, spec/identity.md), created on first use; the
   * application key is derived from the device key and carries its
   * certificate, so the name survives a key rotation. A plain string: an
   * unencrypted key directory (`<dir>/<app>.key`, mode 0600), for development.
   */
  keystore?: string | { dir: string, passphrase: string | Uint8Array }
  /** TCP listen multiaddrs, port 0 (default `/ip4/0.0.0.0/tcp/0`); `[]` with `relays` to be reachable only through them. */
  listen?: string[]
  /**
   * Relays to hold a slot on (multiaddrs ending in `/p2p/<relay id>`, e.g. a
   * rendezvous point started with `relay: true`): the published record then
   * also carries `<relay>/p2p-circuit/p2p/<entity>`, and is re-registered
   * whenever a slot appears, is lost or is restored (spec/transport.md#relays).
   */
  relays?: string[]
  /**
   * Direct paths: WebRTC (ICE over UDP) with these STUN servers. A connection
   * made through a relay is upgraded to a direct one in the background where
   * the two NATs allow it (spec/nat-lab.md); the association that was opened
   * on the relayed connection moves to the direct one (resumable associations), and later associations use the
   * direct connection. `true` for no STUN server (host candidates only).
   * With `observers` (a rendezvous point's NAT observers), a pair of a
   * consistent and a random (symmetric) NAT, which ICE cannot open, is
   * birthday-punched instead, and the punched path is used only if its
   * round-trip time beats the relay's (spec/direct-paths.md#in-the-sdk).
   */
  direct?: boolean | DirectPathsInit
  /** Demultiplexer limits, and the resumable associations' send window and resume timeout. */
  demux?: DemuxInit
  /** Liveness checks of connections (spec/transport.md#liveness); `false` to turn them off. */
  liveness?: NodeInit['liveness']
  /**
   * Port hopping (spec/port-hopping.md): the TCP listener moves to a new port
   * every `intervalMs` (default 30 s) on a schedule keyed by a fresh secret.
   * `listen` must name its hosts (not 0.0.0.0). The parameters travel in the
   * record, so a hopping entity serves its names privately only; clients
   * follow the schedule, and their associations resume across hops.
   */
  hop?: true | HopParamsInit
  /**
   * Limits on refused opens and resumptions per connection, per key and per
   * source address, the answer to AId guessing (default {@link @fara/sdk!constants.GUESS_LIMITS | GUESS_LIMITS};
   * spec/security.md#guessing).
   */
  guessLimits?: Partial<GuessLimits>
  /**
   * Keep resolved public records and connect with them without asking the
   * rendezvous again, until the record expires or `maxAgeMs` (default a
   * minute) has passed (spec/architecture.md#client-record-cache-and-spare-nodes). A cached record that
   * cannot be dialled is dropped and the name resolved again within the same
   * connect; one whose service refuses the association is dropped for the next.
   * Default: off (every connect resolves).
   */
  recordCache?: boolean | RecordCacheInit
}

/** Options for {@link Entity.serve}. */
export interface ServeOptions extends AbortOptions {
  /** Record lifetime in ms; the record is re-registered after half of it (default 10 minutes). */
  ttl?: number
  /**
   * Addresses to publish instead of the node's listening addresses: for a
   * port-forward or middlebox in front of the entity. Noise still proves the key.
   */
  addrs?: Array<Multiaddr | string>
  /**
   * Register privately (spec/private-names.md): the record is sealed under a
   * blinded lookup key that rotates every period, and registered through a
   * throwaway node, so the rendezvous learns neither the name, nor the key,
   * nor the addresses. `true`, or `{ secret }` to require an invite as well.
   */
  private?: boolean | PrivateNameOptions
  /**
   * Admit only some clients (an allow-list): called with the Noise-proven key
   * of every client that opens an association to this name; false (or a
   * throw) refuses it on the wire with `REFUSED` (spec/wire.md#reply-codes),
   * and the client's first read rejects with `AssociationRejectedError`,
   * `code = 5`. Default: every client. Clients connect with
   * `stableIdentity: true` to be known by key.
   */
  allow?: (peer: PeerId) => boolean
}

/** Options for {@link Entity.connect}. */
export interface ConnectOptions extends AbortOptions {
  /**
   * Use the entity's own key instead of a fresh ephemeral one for this
   * association (default false: each connection gets a new identity, so
   * services cannot link a client's associations by key).
   */
  stableIdentity?: boolean
  /** Look the name up privately (with the same `secret` the service used). */
  private?: boolean | PrivateNameOptions
  /**
   * Make the association survive the loss of its path (spec/resumption.md):
   * on a lost connection, a changed address or port, or a relay restart, the
   * client dials again (re-resolving the name if the old addresses fail) and
   * the association continues with nothing lost (default true).
   */
  resumable?: boolean
}

/** A name this entity serves. */
export interface Service {
  readonly name: string
  /** The service AId published in the record. */
  readonly aid: Uint8Array
  /** The record as last registered. */
  readonly record: ServiceRecord | undefined
  /** Withdraw the name (signed tombstone) and stop accepting associations for it. */
  close (options?: AbortOptions): Promise<void>
}

/** Events of an {@link Entity}. */
export interface EntityEvents {
  /**
   * A guesser was held back (spec/security.md#guessing): a connection closed,
   * a key blocked or a source throttled for too many refused opens or
   * resumptions. Also one error log line (`fara:entity`). At most one per
   * scope and source every 10 s; `blocks` counts those in between.
   */
  'guessing:blocked': CustomEvent<GuessBlock>
  /**
   * A birthday punch attempt ended, on either side (spec/direct-paths.md#birthday-punching):
   * NAT kinds, the side this entity played, probes sent, time, result. Also a `fara:punch` log line.
   */
  'punch': CustomEvent<PunchEvent>
  /**
   * A connection that ran through a relay got a direct path (WebRTC, or a
   * punched UDX path that beat the relay's round-trip time), and the
   * association that triggered it was moved onto it if it was resumable.
   */
  'path:direct': CustomEvent<DirectPathEvent>
  /**
   * With `hop`: the listening window moved to a new slot (spec/port-hopping.md):
   * the ports open now, opened and closed. Also after the first opening.
   */
  'hop': CustomEvent<HopEvent>
}

/** Detail of {@link EntityEvents} `path:direct`. */
export interface DirectPathEvent {
  peer: string
  method: 'birthday' | 'ice'
  remoteAddr: string
  /** Whether the association was asked to move onto it (resumable, and still on the relay). */
  moved: boolean
}

/** An application: its own key, its own libp2p node on a random port, its services. */
export interface Entity extends TypedEventTarget<EntityEvents> {
  readonly app: string
  readonly identity: Identity
  readonly peerId: PeerId
  readonly publicKey: PublicKey
  /**
   * The node's addresses: where it listens (random ports) and, with `relays`,
   * its relayed addresses; with `hop`, each hopping host at the start of the range.
   */
  readonly multiaddrs: Multiaddr[]
  readonly node: Libp2p
  /**
   * Register `name` at the rendezvous and hand every association opened to it to `handler`.
   *
   * @example
   * ```ts
   * import { createEntity, memoryRendezvous } from '@fara/sdk'
   *
   * const entity = await createEntity({ app: 'echo', rendezvous: memoryRendezvous(), listen: ['/ip4/127.0.0.1/tcp/0'] })
   * const service = await entity.serve('echo', async (association) => {
   *   for await (const chunk of association) association.send(chunk)
   *   await association.close()
   * }, { signal: AbortSignal.timeout(10_000) })
   * console.log(service.record?.addrs.map(String))
   * await service.close() // withdraws the name with a signed tombstone
   * await entity.close()
   * ```
   *
   * @throws {@link EntityClosedError} when the entity was closed.
   * @throws {@link AlreadyServingError} when this entity already serves `name`.
   * @throws {@link NameTakenError} when a live record for `name` is held by another key.
   * @throws {@link StaleRecordError} when the rendezvous holds a record for `name` from this key that is not older (another process with the same key, or a clock set back).
   * @throws {@link ExpiredRecordError} when the record, or the certificate of a keystore identity, has expired (a wrong clock).
   * @throws {@link RevokedError} when the certificate of a keystore identity was revoked by its device key.
   * @throws {@link InvalidRecordError} when the record breaks a field rule, e.g. an address in `addrs` is too long.
   * @throws {@link RecordTooLargeError} when the signed record is larger than its bound.
   * @throws {@link RateLimitedError} when the rendezvous point asks this peer to slow down (`retryAfterMs`).
   * @throws {@link TooManyRegistrationsError} when this key or source address already holds the most names the point allows.
   * @throws {@link StoreFullError} when the rendezvous point holds the most records it is configured for.
   * @throws {@link RendezvousUnavailableError} when the rendezvous gives no answer (unreachable, timed out, or a DNS rendezvous without a TSIG key).
   * @throws {@link RendezvousInternalError} when the rendezvous point failed or answered something unreadable.
   * @throws {@link AssociationTableFullError} when the entity has no room left for another service AId.
   * @throws `TypeError` when `handler` or `allow` is not a function, or `private` is asked of a backend without private names.
   * @throws `RangeError` when `ttl` is out of bounds, or the entity hops ports and `private` is not set.
   */
  serve (name: string, handler: ServiceHandler, options?: ServeOptions): Promise<Service>
  /**
   * Resolve `name`, dial the entity that serves it (Noise must prove the
   * resolved key), and open an association. Returns without waiting for a
   * round trip: a refusal arrives as a typed error on the first read
   * ({@link AssociationRejectedError}, `code` 1 for an unknown AId, 4 when
   * the service is busy, 5 when its `allow` refused this key).
   *
   * @example
   * ```ts
   * import { NameNotFoundError, createEntity, rendezvousPoint } from '@fara/sdk'
   *
   * const rendezvous = rendezvousPoint('/ip4/198.51.100.7/tcp/40123/p2p/12D3KooW...')
   * const client = await createEntity({ app: 'chat-client', rendezvous, listen: [] })
   * try {
   *   const association = await client.connect('chat', { signal: AbortSignal.timeout(10_000) })
   *   association.send(new TextEncoder().encode('hello'))
   *   await association.close()
   *   for await (const chunk of association) console.log(new TextDecoder().decode(chunk))
   * } catch (err) {
   *   if ((err as Error).name !== NameNotFoundError.name) throw err
   *   console.log('nobody serves chat right now')
   * } finally {
   *   await client.close()
   * }
   * ```
   *
   * @throws {@link EntityClosedError} when the entity was closed.
   * @throws {@link NameNotFoundError} when no live record exists for `name` (with `private`: none under this name and secret).
   * @throws {@link PrivateRecordOpenError} when the private record found does not open with this name and secret.
   * @throws {@link InvalidSignatureError} when the record a rendezvous point returned is not signed by the key it names.
   * @throws {@link InvalidRecordError} when that record breaks a field rule, or answers another name.
   * @throws {@link ExpiredRecordError} when that record (or its certificate) has expired.
   * @throws {@link RevokedError} when the service's certificate was revoked by its device key.
   * @throws {@link RateLimitedError} when the rendezvous point asks this peer to slow down (`retryAfterMs`).
   * @throws {@link RendezvousUnavailableError} when the rendezvous gives no answer (unreachable or timed out).
   * @throws {@link RendezvousInternalError} when the rendezvous point failed or answered something unreadable.
   * @throws {@link DialFailedError} when no address of the record could be reached; `cause` says why (refused, timed out, a failed handshake, every port of a hopping window).
   * @throws {@link PeerMismatchError} when the remote proves another key than the record's.
   * @throws {@link StreamOpenError} when the connection is up but the association's stream could not be opened.
   * @throws {@link InvalidHopParamsError} when the record of a hopping service carries hop parameters that do not decode.
   * @throws {@link UnsupportedHopVersionError} when they are of a version this SDK does not know.
   * @throws {@link AssociationTableFullError} when the entity has no room left for another association.
   * @throws {@link AssociationClosedError} when the stream closed before the Open could be sent.
   * @throws `TypeError` when `private` is asked of a backend without private names.
   */
  connect (name: string, options?: ConnectOptions): Promise<Association>
  /** The verified record for `name` (`{ private }` as in {@link ConnectOptions}). */
  resolve (name: string, options?: AbortOptions & Pick<ConnectOptions, 'private'>): Promise<ServiceRecord>
  /**
   * Guessers held back so far for too many refused opens or resumptions (AId
   * guessing, spec/security.md#guessing): connections closed, keys blocked and
   * source addresses throttled, each counted (reported or not).
   */
  readonly guessesBlocked: number
  /**
   * End every association (the peers learn it at once), withdraw every name and stop the node.
   * It waits for each association's ABORT frame to go out behind its queued data and for each
   * withdrawal, at most 5 s; `signal` cuts that short; the node is stopped regardless.
   */
  close (options?: AbortOptions): Promise<void>
}
