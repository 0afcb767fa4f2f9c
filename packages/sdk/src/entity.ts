import { createIdentity, createKeystore, ephemeralIdentity, loadOrCreateIdentity, openKeystore } from '@fara/identity'
import { ASSOCIATION_PROTOCOL, RESUME_PROTOCOL, ReplyCode, createDemux } from '@fara/demux'
import { TypedEventEmitter } from '@libp2p/interface'
import { RefusalReports, createNode, openStream } from '@fara/transport'
import type { DirectPathsInit, NodeInit, PunchEvent } from '@fara/transport'
import { MAX_ADDRS, createRecord, createTombstone, memoryRendezvous, verifyRecord } from '@fara/rendezvous'
import { createHopParams, decodeHopParams, encodeHopParams, hopAddr, hopSchedules, hoppingTcp } from '@fara/port-hopping'
import type { HopEvent, HopParams, HopParamsInit, HopSchedules } from '@fara/port-hopping'
import { multiaddr } from '@multiformats/multiaddr'
import { publishPrivate, resolvePrivate, withdrawPrivate } from './private.ts'
import type { PrivateNameOptions } from './private.ts'
import { AlreadyServingError, EntityClosedError } from './errors.ts'
import { PunchBackoff, directPath, isRelayed } from './internal/direct.ts'
import { GUESS_LIMITS, MAX_INBOUND_ASSOCIATIONS_PER_CONNECTION, PREPARE_TIMEOUT_MS, REFRESH_FRACTION } from './constants.ts'
import { GuessLimiter, sourceOf } from './internal/guesses.ts'
import { ClientNodes } from './internal/client-nodes.ts'
import { RecordCache } from './internal/record-cache.ts'
import { addrOf, reasonOf, shownName } from './internal/log.ts'
import type { RecordCacheInit } from './internal/record-cache.ts'
import type { GuessBlock, GuessLimits } from './internal/guesses.ts'
import type { AppIdentity, Identity } from '@fara/identity'
import type { Association, Demux, DemuxInit, OpenOptions } from '@fara/demux'
import type { RelayReservations } from '@fara/transport'
import type { Rendezvous, RendezvousFactory, ServiceRecord } from '@fara/rendezvous'
import type { AbortOptions, Connection, Libp2p, Logger, PeerId, PublicKey, Stream, TypedEventTarget } from '@libp2p/interface'
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
   * source address, the answer to AId guessing (default {@link GUESS_LIMITS};
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
   * import { createEntity, rendezvousPoint } from '@fara/sdk'
   *
   * const rendezvous = rendezvousPoint('/ip4/198.51.100.7/tcp/40123/p2p/12D3KooW...')
   * const client = await createEntity({ app: 'chat-client', rendezvous, listen: [] })
   * try {
   *   const association = await client.connect('chat', { signal: AbortSignal.timeout(10_000) })
   *   association.send(new TextEncoder().encode('hello'))
   *   await association.close()
   *   for await (const chunk of association) console.log(new TextDecoder().decode(chunk))
   * } catch (err) {
   *   if ((err as Error).name !== 'NameNotFoundError') throw err
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
   * `signal` cuts the withdrawals short (each waits at most 5 s anyway); the node is stopped regardless.
   */
  close (options?: AbortOptions): Promise<void>
}

/** A served name as the demux holds it; `shown` is how the log names it (`private` for a private one). */
interface Served { name: string, shown: string, handler: ServiceHandler, allow?: (peer: PeerId) => boolean }

/** Refusals a guesser causes: an unknown AId or version, a malformed frame, a refused resumption. */
const GUESSABLE = new Set(['MalformedFrameError', 'FrameTooLargeError', 'ResumeRefusedError'])
/** Reply codes a guesser causes. */
const GUESSABLE_CODES = new Set<number>([ReplyCode.UNKNOWN_AID, ReplyCode.UNSUPPORTED_VERSION, ReplyCode.MALFORMED])

interface EntityOptions {
  guessLimits?: Partial<GuessLimits>
  schedules: HopSchedules
  direct?: DirectPathsInit
  liveness?: NodeInit['liveness']
  hop?: { params: HopParams, addrs: Multiaddr[] }
  recordCache?: RecordCache
}

/** Hop parameters and the addresses to publish for them: each listen host at the start of the range. */
function hopPlan (init: true | HopParamsInit, listen: string[] | undefined): { params: HopParams, addrs: Multiaddr[] } {
  const params = createHopParams(init === true ? {} : init)
  const hosts = (listen ?? []).map(a => multiaddr(a).getComponents().find(c => c.name === 'ip4' || c.name === 'ip6')?.value)
  if (hosts.length === 0 || hosts.some(h => h == null || h === '0.0.0.0' || h === '::')) {
    throw new RangeError(`hop needs listen addresses with a specific host (e.g. /ip4/192.0.2.7/tcp/0), got ${JSON.stringify(listen ?? [])}`)
  }
  return { params, addrs: hosts.map(h => hopAddr(h!, params)) }
}

let processRendezvous: RendezvousFactory | undefined

/** The in-memory rendezvous shared by every entity of this process that is given none. */
export function defaultRendezvous (): RendezvousFactory {
  processRendezvous ??= memoryRendezvous()
  return processRendezvous
}

class FaraEntity extends TypedEventEmitter<EntityEvents> implements Entity {
  readonly app: string
  readonly identity: Identity
  readonly node: Libp2p
  readonly #rendezvousFactory: RendezvousFactory
  readonly #rendezvous: Rendezvous
  readonly #demux: Demux<Served>
  readonly #services = new Map<string, FaraService>()
  readonly #clientNodes: ClientNodes<Rendezvous>
  readonly #cache: RecordCache | undefined
  readonly #log: Logger
  readonly #direct: DirectPathsInit | undefined
  readonly #punchBackoff = new PunchBackoff()
  /** Associations opened or accepted and not finished (ended on close). */
  readonly #live = new Set<Association>()
  readonly #liveness: NodeInit['liveness'] | undefined
  readonly #schedules: HopSchedules
  readonly #hop: { params: HopParams, addrs: Multiaddr[] } | undefined
  readonly #guesses: GuessLimiter
  readonly #reports = new RefusalReports()
  /** The log's number of each live association (`#3`): it links the lines of one association, and says nothing outside this process. */
  readonly #numbers = new WeakMap<Association, number>()
  #associations = 0
  /** Guessers held back so far (spec/security.md#guessing). */
  guessesBlocked = 0
  #closed = false

  constructor (identity: Identity, node: Libp2p, rendezvous: RendezvousFactory, demux: Demux<Served>, options: EntityOptions) {
    super()
    this.#direct = options.direct
    this.#liveness = options.liveness
    this.#schedules = options.schedules
    this.#hop = options.hop
    this.#guesses = new GuessLimiter({ ...GUESS_LIMITS, ...options.guessLimits })
    this.app = identity.app
    this.identity = identity
    this.node = node
    this.#rendezvousFactory = rendezvous
    this.#rendezvous = rendezvous({ node })
    this.#demux = demux
    this.#log = node.logger.forComponent('fara:entity')
    this.#cache = options.recordCache
    this.#clientNodes = new ClientNodes<Rendezvous>(async () => {
      const identity = await ephemeralIdentity()
      const client = await createNode({
        privateKey: identity.privateKey,
        listen: [],
        dialRelayed: true,
        ...(this.#direct == null ? {} : { direct: this.#direct }),
        ...(this.#liveness == null ? {} : { liveness: this.#liveness }),
        tcp: hoppingTcp({ schedules: this.#schedules }),
        ...(rendezvous.nodeServices == null ? {} : { services: rendezvous.nodeServices })
      })
      return { node: client, rendezvous: rendezvous({ node: client }) }
    }, (spare) => {
      // a spare waits with its way to the rendezvous open, so a lookup costs one round trip
      spare.rendezvous.prepare?.({ signal: AbortSignal.timeout(PREPARE_TIMEOUT_MS) }).catch((err: Error) => {
        this.#log('preparing a spare client node for lookups failed - %s', err.message)
      })
    }, this.#log)
  }

  get peerId (): PeerId { return this.identity.peerId }
  get publicKey (): PublicKey { return this.identity.publicKey }
  get multiaddrs (): Multiaddr[] { return [...(this.#hop?.addrs ?? []), ...this.node.getMultiaddrs()] }

  async start (): Promise<void> {
    // Fara relays grant unlimited slots, so a connection through them is not
    // "limited" and associations open on it as on a direct one. A connection
    // through a relay that limits data or duration is: no association is
    // accepted on it (runOnLimitedConnection stays false), rather than one
    // cut after 128 KiB or 2 minutes (spec/transport.md#relays).
    await this.node.handle(ASSOCIATION_PROTOCOL, (stream, connection) => {
      if (this.#blocked(stream, connection)) return
      const admit = (served: Served): boolean => served.allow == null || served.allow(connection.remotePeer)
      this.#demux.accept(stream, connection.remotePeer, { admit }).then(async ({ association, service }) => {
        const n = this.#track(association)
        this.#log('accept #%d %s from %p via %a', n, service.shown, connection.remotePeer, connection.remoteAddr)
        try {
          await service.handler(association)
        } catch (err) {
          this.#log.error('handler for %s failed - %e', service.shown, err)
          // the remote learns that the service failed, not why: an error message may carry internals
          association.abort(new Error('service handler failed'))
        }
      }, (err: Error) => {
        // refused or malformed opens are answered on the wire; the entity keeps serving
        if (this.#log.enabled) this.#log('refuse open from %p via %a - %s', connection.remotePeer, connection.remoteAddr, reasonOf(err, false))
        this.#refused(connection, err)
      })
    }, { maxInboundStreams: MAX_INBOUND_ASSOCIATIONS_PER_CONNECTION })
    await this.node.handle(RESUME_PROTOCOL, (stream, connection) => {
      if (this.#blocked(stream, connection)) return
      this.#demux.resume(stream, connection.remotePeer).then(
        (association) => { this.#log('repath #%d from %p via %a', this.#numbers.get(association) ?? 0, connection.remotePeer, connection.remoteAddr) },
        (err: Error) => {
          if (this.#log.enabled) this.#log('refuse resume from %p via %a - %s', connection.remotePeer, connection.remoteAddr, reasonOf(err, false))
          this.#refused(connection, err)
        }
      )
    }, { maxInboundStreams: MAX_INBOUND_ASSOCIATIONS_PER_CONNECTION })
    // re-register promptly when the addresses change; on a new or restored
    // slot even if they look the same (the relay may be the rendezvous point, restarted)
    this.node.addEventListener('self:peer:update', this.#onAddrs)
    this.#relays()?.addEventListener('relay:reserved', this.#onReserved)
    if (this.#log.enabled) this.#log('start %p on %s', this.peerId, this.multiaddrs.length === 0 ? 'no address (dials only)' : this.multiaddrs.join(' '))
  }

  /** A stream of a blocked key: reset unread, and its connection closed (a guesser pays a new handshake). */
  #blocked (stream: Stream, connection: Connection): boolean {
    if (!this.#guesses.blocked(connection)) return false
    stream.abort(new Error('blocked'))
    connection.abort(new Error('too many refused associations'))
    return true
  }

  /**
   * Count a refusal that a guesser could have caused (spec/security.md#guessing):
   * close the connection after too many, block the key with backoff, throttle
   * the source address (never block it: its neighbours share it). Each block
   * is an event and an error log line, at most once per scope and source per interval.
   */
  #refused (connection: Connection, err: Error): void {
    const code = (err as Error & { code?: number }).code
    const guessable = GUESSABLE.has(err.name) || (err.name === 'AssociationRejectedError' && code != null && GUESSABLE_CODES.has(code))
    if (!guessable) return
    const verdict = this.#guesses.refused(connection, sourceOf(connection))
    for (const block of verdict.blocks) {
      this.guessesBlocked++
      const blocks = this.#reports.refused(`${block.scope} ${block.source}`)
      if (blocks === 0) continue
      const detail: GuessBlock = { ...block, peer: connection.remotePeer.toString(), remoteAddr: connection.remoteAddr.toString(), reason: err.message, blocks }
      this.#log.error('guessing: %s of %p at %s held back for %d ms after too many refused opens or resumptions (last: %s; %d since the last report)',
        block.scope, connection.remotePeer, block.source, block.blockMs, err.message, blocks)
      this.safeDispatchEvent('guessing:blocked', { detail })
    }
    const cause = new Error('too many refused associations')
    if (verdict.closePeer) for (const c of this.node.getConnections(connection.remotePeer)) c.abort(cause)
    if (verdict.closeConnection || verdict.closePeer) connection.abort(cause)
  }

  #relays (): RelayReservations | undefined {
    return (this.node.services as { relays?: RelayReservations }).relays
  }

  readonly #onAddrs = (): void => {
    for (const service of this.#services.values()) service.addressesChanged(false)
  }

  readonly #onReserved = (): void => {
    for (const service of this.#services.values()) service.addressesChanged(true)
  }

  #assertOpen (): void {
    if (this.#closed) throw new EntityClosedError(`Entity ${this.app} is closed`)
  }

  async serve (name: string, handler: ServiceHandler, options: ServeOptions = {}): Promise<Service> {
    this.#assertOpen()
    if (typeof handler !== 'function') throw new TypeError(`handler must be a function, got ${typeof handler}`)
    if (options.allow != null && typeof options.allow !== 'function') throw new TypeError(`allow must be a function, got ${typeof options.allow}`)
    if (this.#hop != null && privateOf(options.private) == null) {
      throw new RangeError(`entity ${this.app} hops ports: its record carries the hop key, so serve ${JSON.stringify(name)} with { private: true }`)
    }
    if (this.#services.has(name)) throw new AlreadyServingError(`Entity ${this.app} already serves ${JSON.stringify(name)}`)
    const shown = shownName(name, privateOf(options.private) != null)
    const aid = this.#demux.listen({ name, shown, handler, ...(options.allow == null ? {} : { allow: options.allow }) })
    const service = new FaraService(this, name, aid, options, () => {
      this.#services.delete(name)
      this.#demux.unlisten(aid)
    }, this.#log)
    this.#services.set(name, service)
    try {
      await service.register(options)
    } catch (err) {
      this.#services.delete(name)
      this.#demux.unlisten(aid)
      throw err
    }
    return service
  }

  /** @internal */
  async publish (name: string, aid: Uint8Array, publish: Pick<ServeOptions, 'ttl' | 'addrs' | 'private'>, options: AbortOptions): Promise<ServiceRecord> {
    const addrs = (publish.addrs ?? this.multiaddrs).slice(0, MAX_ADDRS)
    const ttl = publish.ttl
    const certificate = (this.identity as Partial<AppIdentity>).certificate
    const signed = await createRecord(this.identity.privateKey, {
      name, addrs, aid, ...(ttl == null ? {} : { ttl }), ...(certificate == null ? {} : { certificate }),
      ...(this.#hop == null ? {} : { hop: encodeHopParams(this.#hop.params) })
    })
    const privately = privateOf(publish.private)
    if (privately != null) {
      const record = await verifyRecord(signed)
      await publishPrivate(this.#rendezvousFactory, this.identity.privateKey, signed, record, { ...privately, ...options })
      return record
    }
    await this.#rendezvous.register(signed, options)
    // the record just accepted: no second round trip to read it back
    return verifyRecord(signed)
  }

  /** @internal */
  async withdraw (name: string, publish: Pick<ServeOptions, 'private'>, options: AbortOptions): Promise<void> {
    const privately = privateOf(publish.private)
    if (privately != null) {
      await withdrawPrivate(this.#rendezvousFactory, this.identity.privateKey, name, { ...privately, ...options })
      return
    }
    const certificate = (this.identity as Partial<AppIdentity>).certificate
    await this.#rendezvous.unregister(await createTombstone(this.identity.privateKey, name, undefined, certificate == null ? {} : { certificate }), options)
  }

  async resolve (name: string, options: AbortOptions & Pick<ConnectOptions, 'private'> = {}): Promise<ServiceRecord> {
    this.#assertOpen()
    return this.#resolveWith(this.#rendezvous, name, options)
  }

  async #resolveWith (rv: Rendezvous, name: string, options: AbortOptions & Pick<ConnectOptions, 'private'>): Promise<ServiceRecord> {
    const signal = options.signal == null ? {} : { signal: options.signal }
    const privately = privateOf(options.private)
    let record: ServiceRecord
    try {
      record = privately != null ? await resolvePrivate(rv, name, { ...privately, ...signal }) : await rv.resolve(name, signal)
    } catch (err) {
      if (this.#log.enabled) this.#log('resolve %s failed - %s', shownName(name, privately != null), reasonOf(err, privately != null))
      throw err
    }
    if (this.#log.enabled) this.#log('resolve %s: %p, addrs %d', shownName(name, privately != null), record.peerId, record.addrs.length)
    return record
  }

  /** {@link openStream} to the service of a record, logged as `dial`. */
  async #dial (node: Libp2p, record: ServiceRecord, options: AbortOptions): Promise<Stream> {
    let stream: Stream
    try {
      stream = await openStream(node, record.peerId, record.addrs, ASSOCIATION_PROTOCOL, options)
    } catch (err) {
      if (this.#log.enabled) this.#log('dial %p failed - %s', record.peerId, reasonOf(err, false))
      throw err
    }
    if (this.#log.enabled) this.#log('dial %p via %a', record.peerId, addrOf(node, record.peerId, stream))
    return stream
  }

  async connect (name: string, options: ConnectOptions = {}): Promise<Association> {
    this.#assertOpen()
    if (options.stableIdentity === true) return this.#associate(this.node, this.#rendezvous, name, options)
    // a fresh identity and a dial-only node for this one association (a spare made ahead)
    const client = await this.#clientNodes.take()
    const stop = (): void => { this.#clientNodes.release(client.node) }
    try {
      const association = await this.#associate(client.node, client.rendezvous, name, options)
      // the node lives as long as the association, across its paths
      association.finished.then(stop, stop)
      return association
    } catch (err) {
      stop()
      throw err
    } finally {
      this.#clientNodes.refill()
    }
  }

  /**
   * Resolve `name` (or take its record from the cache), dial, and open the
   * association, pipelined with its first data. A cached record that cannot be
   * dialled is dropped and the name resolved again, once; one whose service
   * refuses the association is dropped for the next connect.
   */
  async #associate (node: Libp2p, rendezvous: Rendezvous, name: string, options: ConnectOptions): Promise<Association> {
    const signal = options.signal == null ? {} : { signal: options.signal }
    const hidden = privateOf(options.private) != null
    const cache = hidden ? undefined : this.#cache
    let record = cache?.get(name)
    let stream: Stream | undefined
    if (record != null) {
      if (this.#log.enabled) this.#log('resolve %s: %p, addrs %d, from the cache', shownName(name, false), record.peerId, record.addrs.length)
      try {
        stream = await this.#dial(node, record, signal)
      } catch {
        // logged as a failed dial; the name is resolved again
        options.signal?.throwIfAborted()
        cache?.drop(name, record)
      }
    }
    if (record == null || stream == null) {
      record = this.#learn(await this.#resolveWith(rendezvous, name, options))
      cache?.set(record)
      stream = await this.#dial(node, record, signal)
    }
    const n = ++this.#associations
    const association = this.#demux.open(stream, record.aid, record.peerId, this.#resumeOptions(node, rendezvous, name, record, options, n))
    this.#track(association, n)
    if (this.#log.enabled) this.#log('open #%d %s to %p', n, shownName(name, hidden), record.peerId)
    if (cache != null) {
      const used = record
      association.finished.catch((err: Error) => { if (err.name === 'AssociationRejectedError') cache.drop(name, used) })
    }
    this.#upgrade(node, record.peerId, association)
    return association
  }

  /** A record with hop parameters: dial its TCP hosts by their schedule from now on. */
  #learn (record: ServiceRecord): ServiceRecord {
    if (record.hop == null) return record
    const params = decodeHopParams(record.hop)
    for (const addr of record.addrs) {
      const host = addr.getComponents().find(c => c.name === 'ip4' || c.name === 'ip6' || c.name === 'dns4' || c.name === 'dns6')?.value
      if (host != null && addr.getComponents().some(c => c.name === 'tcp')) this.#schedules.set(host, params)
    }
    return record
  }

  /**
   * How a resumable association reaches its service again: the addresses it
   * used, then (if they all fail) those of a fresh resolution of the name,
   * which must still be signed by the same key. From the second attempt on,
   * connections to the service are closed first, so that a dead connection
   * libp2p has not noticed yet is not reused.
   */
  #resumeOptions (node: Libp2p, rendezvous: Rendezvous, name: string, record: ServiceRecord, options: ConnectOptions, n: number): OpenOptions {
    if (options.resumable === false) return {}
    let addrs = record.addrs
    let attempt = 0
    return {
      resume: {
        reconnect: async ({ signal }) => {
          if (attempt++ > 0) await node.hangUp(record.peerId, { signal }).catch(() => {})
          let stream: Stream
          try {
            stream = await openStream(node, record.peerId, addrs, RESUME_PROTOCOL, { signal })
          } catch (err) {
            const fresh = this.#learn(await this.#resolveWith(rendezvous, name, { signal, ...(options.private == null ? {} : { private: options.private }) }))
            if (!fresh.peerId.equals(record.peerId)) throw err
            addrs = fresh.addrs
            stream = await openStream(node, record.peerId, addrs, RESUME_PROTOCOL, { signal })
          }
          // the new path of association #n (the demux then resumes on it)
          if (this.#log.enabled) this.#log('repath #%d via %a', n, addrOf(node, record.peerId, stream))
          return stream
        }
      }
    }
  }

  /**
   * If `node` reached `peer` only through a relay, try a direct WebRTC path in
   * the background. Once there is one, a resumable association moves to it
   * (spec/resumption.md); a plain one stays on the relayed connection (which
   * stays open). New streams to `peer` prefer the direct connection.
   */
  #upgrade (node: Libp2p, peer: PeerId, association: Association): void {
    if (this.#direct == null) return
    const relayedOnly = node.getConnections(peer).every(c => c.remoteAddr.getComponents().some(x => x.name === 'p2p-circuit'))
    if (!relayedOnly) return
    void directPath(node, peer, this.#punchBackoff, this.#log).then((found) => {
      if (found == null) return
      const carrier = node.getConnections(peer).find(c => c.streams.includes(association.stream))
      const moved = carrier != null && isRelayed(carrier)
      if (moved) association.repath()
      this.safeDispatchEvent('path:direct', { detail: { peer: peer.toString(), method: found.method, remoteAddr: found.connection.remoteAddr.toString(), moved } })
    })
  }

  /**
   * Remember a live association until it finishes, so that {@link close} can
   * end it, under its number `n` in the log; its end is logged as `close`
   * (with the error's name only: a message may quote the app, which may be a private name).
   */
  #track (association: Association, n = ++this.#associations): number {
    this.#live.add(association)
    this.#numbers.set(association, n)
    association.finished.then(() => {
      this.#live.delete(association)
      this.#log('close #%d', n)
    }, (err: unknown) => {
      this.#live.delete(association)
      this.#log('close #%d - %s', n, reasonOf(err, true))
    })
    return n
  }

  async close (options: AbortOptions = {}): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    // an entity that closes on purpose ends its associations itself: the peer learns at once, with the reason,
    // instead of waiting for a resumption that cannot come (resumption is for a path lost, not for a close)
    for (const association of this.#live) association.abort(new EntityClosedError(`${this.app} closed`))
    this.#live.clear()
    this.node.removeEventListener('self:peer:update', this.#onAddrs)
    this.#relays()?.removeEventListener('relay:reserved', this.#onReserved)
    const withdrawal = AbortSignal.any([AbortSignal.timeout(5_000), ...(options.signal == null ? [] : [options.signal])])
    await Promise.allSettled([...this.#services.values()].map(async s => s.close({ signal: withdrawal })))
    await this.#clientNodes.close()
    await this.node.stop()
    this.#log('stop %p', this.peerId)
  }
}

class FaraService implements Service {
  readonly name: string
  readonly aid: Uint8Array
  record: ServiceRecord | undefined
  readonly #entity: FaraEntity
  readonly #publish: Pick<ServeOptions, 'ttl' | 'addrs' | 'private'>
  readonly #release: () => void
  readonly #log: Logger
  /** A private name: the log shows `private`, and no error message. */
  readonly #hidden: boolean
  /** How the log names this service. */
  readonly #shown: string
  #timer: ReturnType<typeof setTimeout> | undefined
  #closed = false
  /** The addresses of the last registration, as compared by {@link addrsKey}. */
  #published = ''
  #registering = false
  #again = false

  constructor (entity: FaraEntity, name: string, aid: Uint8Array, options: ServeOptions, release: () => void, log: Logger) {
    this.#entity = entity
    this.#log = log
    this.#hidden = privateOf(options.private) != null
    this.#shown = shownName(name, this.#hidden)
    this.name = name
    this.aid = aid
    this.#publish = {
      ...(options.ttl == null ? {} : { ttl: options.ttl }),
      ...(options.addrs == null ? {} : { addrs: options.addrs }),
      ...(options.private == null ? {} : { private: options.private })
    }
    this.#release = release
  }

  /** Register the record (logged as `register` the first time, `renew` after). */
  async register (options: AbortOptions): Promise<void> {
    const first = this.record == null
    this.#registering = true
    let record: ServiceRecord
    try {
      record = await this.#entity.publish(this.name, this.aid, this.#publish, options)
    } catch (err) {
      this.#log(first ? 'register %s failed - %s' : 'renew %s failed - %s', this.#shown, reasonOf(err, this.#hidden))
      throw err
    } finally {
      this.#registering = false
    }
    this.record = record
    this.#log(first ? 'register %s: ttl %d ms, addrs %d' : 'renew %s: ttl %d ms, addrs %d', this.#shown, record.expires - record.seq, record.addrs.length)
    this.#published = addrsKey(record.addrs)
    if (this.#again) {
      // the addresses changed while registering: register them now
      this.#again = false
      this.#schedule(0, 0)
    } else {
      this.#schedule((record.expires - record.seq) * REFRESH_FRACTION, 0)
    }
  }

  /**
   * The node's addresses may have changed: re-register at once if they
   * differ from the record's (or, with `force`, anyway), unless the record's
   * addresses were given by the caller, or the node has none left (the last
   * record stays: a lost relay slot is being restored).
   */
  addressesChanged (force: boolean): void {
    if (this.#closed || this.#publish.addrs != null) return
    const current = this.#entity.multiaddrs
    if (current.length === 0) return
    if (!force && addrsKey(current) === this.#published) return
    if (this.#registering) {
      this.#again = true
      return
    }
    this.#schedule(0, 0)
  }

  /**
   * Keep the record alive: re-sign and re-register after half its lifetime;
   * after a failure, retry with exponential backoff (1 s, 2 s, ... capped at a
   * quarter of the lifetime) for as long as the service is open.
   */
  #schedule (delay: number, failures: number): void {
    if (this.#closed) return
    clearTimeout(this.#timer)
    this.#timer = setTimeout(() => {
      const lifetime = this.record == null ? 60_000 : this.record.expires - this.record.seq
      this.register({ signal: AbortSignal.timeout(Math.max(1_000, lifetime * REFRESH_FRACTION)) }).catch(() => {
        this.#schedule(Math.min(1_000 * 2 ** failures, lifetime / 4), failures + 1)
      })
    }, delay)
    this.#timer.unref()
  }

  async close (options: AbortOptions = {}): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    clearTimeout(this.#timer)
    this.#release()
    try {
      await this.#entity.withdraw(this.name, this.#publish, options)
    } catch (err) {
      this.#log('withdraw %s failed - %s', this.#shown, reasonOf(err, this.#hidden))
      throw err
    }
    this.#log('withdraw %s', this.#shown)
  }
}

async function identityFor (app: string, keystore: EntityInit['keystore'], options: AbortOptions): Promise<Identity> {
  if (keystore == null) return createIdentity({ app })
  const signal = options.signal == null ? {} : { signal: options.signal }
  if (typeof keystore === 'string') return loadOrCreateIdentity(keystore, app, signal)
  let store
  try {
    store = await openKeystore(keystore.dir, { passphrase: keystore.passphrase, ...signal })
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
    store = await createKeystore(keystore.dir, { passphrase: keystore.passphrase, ...signal })
  }
  return store.app(app)
}

/** Compare address lists as the record holds them: the first MAX_ADDRS, in any order. */
function addrsKey (addrs: Multiaddr[]): string {
  return addrs.slice(0, MAX_ADDRS).map(String).sort().join(' ')
}

function privateOf (value: boolean | PrivateNameOptions | undefined): PrivateNameOptions | undefined {
  if (value == null || value === false) return undefined
  return value === true ? {} : value
}

/** A hopping transport whose listeners report each move to `onHop`. */
function reportingHops (factory: ReturnType<typeof hoppingTcp>, onHop: (event: HopEvent) => void): ReturnType<typeof hoppingTcp> {
  return (components) => {
    const transport = factory(components)
    const createListener = transport.createListener.bind(transport)
    transport.createListener = (options) => {
      const listener = createListener(options)
      listener.addEventListener('hop', (evt) => { onHop(evt.detail) })
      return listener
    }
    return transport
  }
}

/**
 * Create an entity: an application with its own key and its own libp2p node
 * listening on a random port, and holding a slot on each of `relays`.
 *
 * @example
 * ```ts
 * import { createEntity, rendezvousPoint } from '@fara/sdk'
 *
 * const passphrase = process.env.FARA_PASSPHRASE
 * if (passphrase == null) throw new Error('set FARA_PASSPHRASE: the passphrase of the keystore in ./.fara')
 * const entity = await createEntity({
 *   app: 'chat',
 *   rendezvous: rendezvousPoint('/ip4/198.51.100.7/tcp/40123/p2p/12D3KooW...'),
 *   keystore: { dir: './.fara', passphrase },
 *   signal: AbortSignal.timeout(10_000)
 * })
 * console.log(entity.peerId.toString(), entity.multiaddrs.map(String))
 * await entity.close()
 * ```
 *
 * @throws {@link WrongPassphraseError} when `keystore.passphrase` does not open the keystore in `keystore.dir`.
 * @throws {@link InvalidIdentityFileError} when the key file or keystore file is damaged or not a Fara one.
 * @throws {@link InsecureIdentityFileError} when the key file, keystore file or its directory is open to other users (expected mode 0600 / 0700).
 * @throws {@link IdentityAppMismatchError} when `<keystore>/<app>.key` holds the key of another application.
 * @throws {@link KeystoreExistsError} when another process created the keystore at the same moment (open it again).
 * @throws {@link MissingDependencyError} when `direct` is set and the optional peer dependency `@libp2p/webrtc` is not installed.
 * @throws `TypeError` when `init` is not an object, or an option has the wrong type.
 * @throws `RangeError` when `identity` belongs to another app, a listen address pins a port or a well-known one, or `hop` is set without listen hosts.
 */
export async function createEntity (init: EntityInit): Promise<Entity> {
  if (init == null || typeof init !== 'object') throw new TypeError('createEntity needs an init object with at least { app }')
  init.signal?.throwIfAborted()
  const identity = init.identity ?? await identityFor(init.app, init.keystore, init.signal == null ? {} : { signal: init.signal })
  init.signal?.throwIfAborted()
  if (identity.app !== init.app && !identity.ephemeral) {
    throw new RangeError(`identity belongs to app ${JSON.stringify(identity.app)}, not ${JSON.stringify(init.app)}`)
  }
  const rendezvous = init.rendezvous ?? defaultRendezvous()
  // the moves of a hopping listener become the entity's 'hop' events
  const hopEvents: { emit: (event: HopEvent) => void } = { emit: () => {} }
  // punch attempts of every node of the entity (its own and its client nodes) become its 'punch' events
  const punchEvents: { emit: (event: PunchEvent) => void } = { emit: () => {} }
  const given = init.direct == null || init.direct === false ? undefined : (init.direct === true ? {} : init.direct)
  const direct = given == null ? undefined : { ...given, onPunch: (event: PunchEvent) => { given.onPunch?.(event); punchEvents.emit(event) } }
  const schedules = hopSchedules()
  const hop = init.hop == null ? undefined : hopPlan(init.hop, init.listen)
  const recordCache = init.recordCache == null || init.recordCache === false ? undefined : new RecordCache(init.recordCache === true ? {} : init.recordCache)
  const node = await createNode({
    tcp: hop == null ? hoppingTcp({ schedules }) : reportingHops(hoppingTcp({ schedules, listen: hop.params }), (event) => { hopEvents.emit(event) }),
    privateKey: identity.privateKey,
    ...(init.listen == null ? {} : { listen: init.listen }),
    ...(init.relays == null ? {} : { relays: init.relays }),
    // every entity can reach a service that is only reachable through a relay
    dialRelayed: true,
    ...(direct == null ? {} : { direct }),
    ...(init.liveness == null ? {} : { liveness: init.liveness }),
    ...(rendezvous.nodeServices == null ? {} : { services: rendezvous.nodeServices }),
    ...(init.signal == null ? {} : { signal: init.signal })
  })
  const entity: FaraEntity = new FaraEntity(identity, node, rendezvous, createDemux<Served>(init.demux), {
    ...(init.guessLimits == null ? {} : { guessLimits: init.guessLimits }),
    schedules,
    ...(direct == null ? {} : { direct }),
    ...(init.liveness == null ? {} : { liveness: init.liveness }),
    ...(hop == null ? {} : { hop }),
    ...(recordCache == null ? {} : { recordCache })
  })
  punchEvents.emit = (event) => { entity.safeDispatchEvent('punch', { detail: event }) }
  hopEvents.emit = (event) => { entity.safeDispatchEvent('hop', { detail: event }) }
  try {
    init.signal?.throwIfAborted()
    await entity.start()
    init.signal?.throwIfAborted()
  } catch (err) {
    await entity.close().catch(() => {})
    await node.stop()
    throw err
  }
  return entity
}
