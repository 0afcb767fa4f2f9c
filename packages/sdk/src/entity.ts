import { createIdentity, createKeystore, loadOrCreateIdentity, openKeystore } from '@fara/identity'
import { createDemux } from '@fara/demux'
import { TypedEventEmitter } from '@libp2p/interface'
import { memoryRendezvous } from '@fara/rendezvous'
import { createHopParams, hopAddr, hopSchedules } from '@fara/port-hopping'
import { multiaddr } from '@multiformats/multiaddr'
import { AlreadyServingError, EntityClosedError } from './errors.ts'
import { GUESS_LIMITS, PATH_DRAIN_TIMEOUT_MS } from './constants.ts'
import { Associations } from './internal/associations.ts'
import { Connector } from './internal/connector.ts'
import { Inbound } from './internal/inbound.ts'
import { buildNode } from './internal/nodes.ts'
import { privateOf } from './internal/private-options.ts'
import { RecordCache } from './internal/record-cache.ts'
import { FaraService } from './internal/service.ts'
import { shownName } from './internal/log.ts'
import type { Served } from './internal/inbound.ts'
import type { ServiceHost } from './internal/service.ts'
import type { NodeSettings } from './internal/nodes.ts'
import type { GuessLimits } from './internal/guesses.ts'
import type { ConnectOptions, Entity, EntityEvents, EntityInit, ServeOptions, Service, ServiceHandler } from './types.ts'
import type { Identity } from '@fara/identity'
import type { Association, Demux } from '@fara/demux'
import type { PunchEvent, RelayReservations } from '@fara/transport'
import type { RendezvousFactory, ServiceRecord } from '@fara/rendezvous'
import type { HopEvent, HopParams, HopParamsInit } from '@fara/port-hopping'
import type { AbortOptions, Libp2p, Logger, PeerId, PublicKey } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/** How the entity is wired, besides its identity, node and demux. */
interface EntityOptions {
  /** What its client nodes share with its own node. */
  settings: NodeSettings
  guessLimits?: Partial<GuessLimits>
  hop?: HopPlan
  recordCache?: RecordCache
}

/** Hop parameters, and the addresses to publish for them: each listen host at the start of the range. */
interface HopPlan { params: HopParams, addrs: Multiaddr[] }

function hopPlan (init: true | HopParamsInit, listen: string[] | undefined): HopPlan {
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

/**
 * An entity: its lifecycle and wiring. What reaches it is handled by
 * {@link Inbound}, what it reaches by {@link Connector}, and each name it
 * serves by a {@link FaraService}.
 */
class FaraEntity extends TypedEventEmitter<EntityEvents> implements Entity {
  readonly app: string
  readonly identity: Identity
  readonly node: Libp2p
  readonly #demux: Demux<Served>
  readonly #services = new Map<string, FaraService>()
  readonly #associations: Associations
  readonly #inbound: Inbound
  readonly #connector: Connector
  readonly #host: ServiceHost
  readonly #hop: HopPlan | undefined
  readonly #log: Logger
  #closed = false

  constructor (identity: Identity, node: Libp2p, demux: Demux<Served>, options: EntityOptions) {
    super()
    this.app = identity.app
    this.identity = identity
    this.node = node
    this.#demux = demux
    this.#hop = options.hop
    this.#log = node.logger.forComponent('fara:entity')
    this.#associations = new Associations(this.#log)
    this.#inbound = new Inbound({
      node, demux, associations: this.#associations, guessLimits: { ...GUESS_LIMITS, ...options.guessLimits }, log: this.#log,
      onBlocked: (detail) => { this.safeDispatchEvent('guessing:blocked', { detail }) }
    })
    const rendezvous = options.settings.rendezvous({ node })
    this.#connector = new Connector({
      node, rendezvous, settings: options.settings, demux, associations: this.#associations, cache: options.recordCache, log: this.#log,
      onDirect: (detail) => { this.safeDispatchEvent('path:direct', { detail }) }
    })
    this.#host = {
      identity, rendezvous, factory: options.settings.rendezvous, hop: options.hop?.params, log: this.#log, addrs: () => this.multiaddrs
    }
  }

  get peerId (): PeerId { return this.identity.peerId }
  get publicKey (): PublicKey { return this.identity.publicKey }
  get multiaddrs (): Multiaddr[] { return [...(this.#hop?.addrs ?? []), ...this.node.getMultiaddrs()] }
  get guessesBlocked (): number { return this.#inbound.blocked }

  async start (): Promise<void> {
    await this.#inbound.start()
    // re-register promptly when the addresses change; on a new or restored
    // slot even if they look the same (the relay may be the rendezvous point, restarted)
    this.node.addEventListener('self:peer:update', this.#onAddrs)
    this.#relays()?.addEventListener('relay:reserved', this.#onReserved)
    if (this.#log.enabled) this.#log('start %p on %s', this.peerId, this.multiaddrs.length === 0 ? 'no address (dials only)' : this.multiaddrs.join(' '))
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
    const service = new FaraService(this.#host, name, aid, options, () => {
      this.#services.delete(name)
      this.#demux.unlisten(aid)
    })
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

  async resolve (name: string, options: AbortOptions & Pick<ConnectOptions, 'private'> = {}): Promise<ServiceRecord> {
    this.#assertOpen()
    return this.#connector.resolve(name, options)
  }

  async connect (name: string, options: ConnectOptions = {}): Promise<Association> {
    this.#assertOpen()
    return this.#connector.connect(name, options)
  }

  async close (options: AbortOptions = {}): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    // an entity that closes on purpose ends its associations itself: the peer learns at once, with the reason,
    // instead of waiting for a resumption that cannot come (resumption is for a path lost, not for a close)
    // bounded (a peer that reads nothing cannot hold the close): the ABORT frames out, the names withdrawn
    const ending = AbortSignal.any([AbortSignal.timeout(PATH_DRAIN_TIMEOUT_MS), ...(options.signal == null ? [] : [options.signal])])
    const aborted = this.#associations.abortAll(new EntityClosedError(`${this.app} closed`), ending)
    this.node.removeEventListener('self:peer:update', this.#onAddrs)
    this.#relays()?.removeEventListener('relay:reserved', this.#onReserved)
    await Promise.allSettled([aborted, ...[...this.#services.values()].map(async s => s.close({ signal: ending }))])
    await this.#connector.close()
    await this.node.stop()
    this.#log('stop %p', this.peerId)
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
  const hop = init.hop == null ? undefined : hopPlan(init.hop, init.listen)
  const recordCache = init.recordCache == null || init.recordCache === false ? undefined : new RecordCache(init.recordCache === true ? {} : init.recordCache)
  // one book of hop schedules for every node of the entity: the connector fills it from the records it resolves
  const settings: NodeSettings = {
    schedules: hopSchedules(),
    rendezvous,
    ...(direct == null ? {} : { direct }),
    ...(init.liveness == null ? {} : { liveness: init.liveness })
  }
  const node = await buildNode('entity', {
    ...settings,
    privateKey: identity.privateKey,
    ...(init.listen == null ? {} : { listen: init.listen }),
    ...(init.relays == null ? {} : { relays: init.relays }),
    ...(hop == null ? {} : { hop: { params: hop.params, onHop: (event: HopEvent) => { hopEvents.emit(event) } } }),
    ...(init.signal == null ? {} : { signal: init.signal })
  })
  const entity: FaraEntity = new FaraEntity(identity, node, createDemux<Served>(init.demux), {
    settings,
    ...(init.guessLimits == null ? {} : { guessLimits: init.guessLimits }),
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
