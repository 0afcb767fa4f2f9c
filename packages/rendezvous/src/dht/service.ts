import { peerDiscoverySymbol, peerRoutingSymbol, serviceCapabilities, start, stop } from '@libp2p/interface'
import { Libp2pRecord } from '@libp2p/record'
import { multiaddr } from '@multiformats/multiaddr'
import { DATA_DIR_MODE } from '../constants.ts'
import { InvalidRecordError, NameTakenError } from '../errors.ts'
import { makeDir, openRecords } from '../point/data-dir.ts'
import {
  DEFAULT_DHT_K, DEFAULT_DHT_MAX_RECORDS, DHT_DATASTORE_PREFIX, DHT_NAMESPACE, DHT_PRIVATE_NAMESPACE, DHT_PROTOCOL, DHT_RECORDS_DIR,
  DHT_REQUEST_TIMEOUT_MS, DHT_SERVICE_NAME
} from './constants.ts'
import { askListenAddrs, verifiedListenAddr } from './addresses.ts'
import { kad } from './kad.ts'
import { dhtPinger } from './ping.ts'
import { isPrivateDhtKey, peekPrivateValue, privateDhtKey, slotHeldByOther, verifyPrivateDhtValue } from './private.ts'
import { dhtKey, selectBest, verifyDhtValue } from './records.ts'
import { putTo, republish } from './republish.ts'
import { walk } from './walk.ts'
import type { WalkContext } from './walk.ts'
import { DhtStore } from './store.ts'
import type { DhtService, DhtServiceComponents, DhtServiceInit } from './interface.ts'
import type { KadDHT, SelectFn, ValidateFn } from '@libp2p/kad-dht'
import type { AbortOptions, Libp2p, PeerId, PeerInfo, Startable } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/** The parts of the @libp2p/kad-dht class used here beyond its public interface. */
interface KadInternals {
  routingTable: EventTarget & { size: number }
  onPeerConnect (peer: PeerInfo): Promise<void>
}

function internalsOf (dht: KadDHT): KadInternals {
  const k = dht as unknown as Partial<KadInternals>
  if (typeof k.onPeerConnect !== 'function' || typeof k.routingTable?.addEventListener !== 'function') {
    throw new TypeError('@libp2p/kad-dht no longer exposes onPeerConnect/routingTable: check the DHT backend against this version')
  }
  return k as KadInternals
}

class FaraDhtService implements DhtService, Startable {
  readonly [Symbol.toStringTag] = '@fara/rendezvous:dht'
  readonly [serviceCapabilities] = ['@fara/dht', '@libp2p/peer-routing', '@libp2p/peer-discovery']
  readonly dht: KadDHT
  readonly protocol: string
  readonly now: () => number
  readonly bootstraps: boolean
  readonly #components: DhtServiceComponents
  readonly #internals: KadInternals
  readonly #store: DhtStore
  readonly #bootstrap: Multiaddr[]
  readonly #allowPrivate: boolean
  readonly #joining = new Set<string>()
  readonly #dataDir: string | undefined
  readonly #walkContext: WalkContext & { dht: KadDHT }
  #level: { close: () => Promise<void> } | undefined
  #shutdown = new AbortController()
  #dialing: Promise<void> | undefined
  #republishing: Promise<number> = Promise.resolve(0)
  #loaded = 0

  constructor (components: DhtServiceComponents, init: DhtServiceInit) {
    this.#components = components
    this.protocol = init.protocol ?? DHT_PROTOCOL
    this.now = init.now ?? Date.now
    this.#bootstrap = (init.bootstrap ?? []).map(a => multiaddr(a.toString()))
    this.bootstraps = this.#bootstrap.length > 0
    this.#allowPrivate = init.allowPrivateAddresses === true
    this.#store = new DhtStore({ prefix: DHT_DATASTORE_PREFIX, maxRecords: init.maxRecords ?? DEFAULT_DHT_MAX_RECORDS, now: this.now })
    const now = this.now
    const validate: ValidateFn = async (key, value) => { await verifyDhtValue(key, value, now()) }
    const select: SelectFn = async (key, values) => (await selectBest(key, values, now()))?.index ?? 0
    const validatePrivate: ValidateFn = async (key, value) => { await verifyPrivateDhtValue(key, value, now()) }
    const selectPrivate: SelectFn = async (key, values) => (await selectBest(key, values, now(), verifyPrivateDhtValue))?.index ?? 0
    const refuse: ValidateFn = () => { throw new InvalidRecordError(`a Fara DHT stores only /${DHT_NAMESPACE}/ and /${DHT_PRIVATE_NAMESPACE}/ records`) }
    const clientMode = init.clientMode ?? components.addressManager.getListenAddrs().length === 0
    // a client stores nothing for others: nothing to keep
    this.#dataDir = clientMode ? undefined : init.dataDir
    const { kadDHT, passthroughMapper, removePrivateAddressesMapper } = kad()
    this.dht = kadDHT({
      protocol: this.protocol,
      clientMode,
      kBucketSize: init.kBucketSize ?? DEFAULT_DHT_K,
      // 'pk' is @libp2p/kad-dht's built-in namespace: overridden so that nothing but Fara records is accepted
      validators: { [DHT_NAMESPACE]: validate, [DHT_PRIVATE_NAMESPACE]: validatePrivate, pk: refuse },
      selectors: { [DHT_NAMESPACE]: select, [DHT_PRIVATE_NAMESPACE]: selectPrivate, pk: () => 0 },
      // never block a query on an empty routing table: a lone node works alone, and
      // operations wait for peers themselves when bootstrap peers are configured
      allowQueryWithZeroPeers: true,
      peerInfoMapper: this.#allowPrivate ? passthroughMapper : removePrivateAddressesMapper,
      networkDialTimeout: { maxTimeout: DHT_REQUEST_TIMEOUT_MS },
      datastorePrefix: DHT_DATASTORE_PREFIX,
      // not under fara*: that is the lifecycle log, which holds no keys (README "Logging" of @fara/sdk),
      // and the DHT's own lines print record keys, a private name's blinded lookup key among them
      logPrefix: 'libp2p:fara-dht',
      metricsPrefix: 'fara_dht'
    })({
      // named one by one: libp2p's components object is a Proxy that a spread would not copy
      peerId: components.peerId,
      privateKey: components.privateKey,
      registrar: components.registrar,
      addressManager: components.addressManager,
      peerStore: components.peerStore,
      connectionManager: components.connectionManager,
      events: components.events,
      logger: components.logger,
      ...(components.metrics == null ? {} : { metrics: components.metrics }),
      datastore: this.#store,
      ping: dhtPinger(components.connectionManager, this.protocol)
    })
    this.#internals = internalsOf(this.dht)
    this.#walkContext = {
      dht: this.dht,
      connectionManager: components.connectionManager,
      peerStore: components.peerStore,
      protocol: this.protocol,
      self: components.peerId,
      k: init.kBucketSize ?? DEFAULT_DHT_K,
      allowPrivate: this.#allowPrivate
    }
  }

  get [peerDiscoverySymbol] (): unknown {
    return (this.dht as unknown as Record<symbol, unknown>)[peerDiscoverySymbol]
  }

  get [peerRoutingSymbol] (): unknown {
    return (this.dht as unknown as Record<symbol, unknown>)[peerRoutingSymbol]
  }

  get routingTableSize (): number {
    return this.#internals.routingTable.size
  }

  mode (): 'client' | 'server' {
    return this.dht.getMode()
  }

  async start (): Promise<void> {
    this.#shutdown = new AbortController()
    this.#loaded = 0
    if (this.#dataDir != null) await this.#openDataDir(this.#dataDir)
    try {
      await start(this.dht)
    } catch (err) {
      await this.#closeDataDir()
      throw err
    }
    this.#components.events.addEventListener('peer:connect', this.#onConnect)
  }

  afterStart (): void {
    if (this.bootstraps) void this.#dialBootstrap()
    this.#republishing = this.#loaded === 0 ? Promise.resolve(0) : this.#republishLoaded(this.#shutdown.signal)
  }

  async stop (): Promise<void> {
    this.#components.events.removeEventListener('peer:connect', this.#onConnect)
    this.#shutdown.abort()
    await stop(this.dht)
    await this.#republishing
    await this.#closeDataDir()
  }

  /** Load the records kept in the data directory (verified again), and keep every record there from now on. */
  async #openDataDir (dataDir: string): Promise<void> {
    await makeDir(dataDir, DATA_DIR_MODE)
    const level = await openRecords(dataDir, DHT_RECORDS_DIR, 'A DHT node with a data directory')
    try {
      this.#loaded = await this.#store.open(level.datastore, { signal: this.#shutdown.signal })
    } catch (err) {
      await level.close()
      throw err
    }
    this.#level = level
  }

  async #closeDataDir (): Promise<void> {
    this.#store.detach()
    const level = this.#level
    this.#level = undefined
    await level?.close()
  }

  /** Once a peer is in the routing table, put what was loaded from disk to the peers now closest to each key. */
  async #republishLoaded (signal: AbortSignal): Promise<number> {
    try {
      await this.waitForPeers(1, { signal })
      return await republish(this.#walkContext, this.#store.currentRecords(), { signal })
    } catch {
      return 0 // stopped first
    }
  }

  get loaded (): number {
    return this.#loaded
  }

  republished (): Promise<number> {
    return this.#republishing
  }

  entries (): Iterable<{ key: string, value: Uint8Array }> {
    return this.#store.entries()
  }

  async waitForPeers (min = 1, options: AbortOptions = {}): Promise<void> {
    const table = this.#internals.routingTable
    if (table.size >= min) return
    options.signal?.throwIfAborted()
    if (this.bootstraps) void this.#dialBootstrap()
    await new Promise<void>((resolve, reject) => {
      const done = (): void => {
        table.removeEventListener('peer:add', check)
        options.signal?.removeEventListener('abort', onAbort)
      }
      const check = (): void => { if (table.size >= min) { done(); resolve() } }
      const onAbort = (): void => { done(); reject(options.signal?.reason) }
      table.addEventListener('peer:add', check)
      options.signal?.addEventListener('abort', onAbort, { once: true })
      check()
    })
  }

  localValue (name: string): Uint8Array | undefined {
    return this.#store.storedValue(dhtKey(name))
  }

  localPrivateValue (lookupKey: Uint8Array): Uint8Array | undefined {
    return this.#store.storedValue(privateDhtKey(lookupKey))
  }

  async putToPeers (key: Uint8Array, value: Uint8Array, options: AbortOptions = {}): Promise<{ asked: number, stored: number }> {
    const id = this.#store.keyFor(key)
    const record = new Libp2pRecord(key, value, new Date()).serialize()
    await this.#store.check(id, record)
    // seeded by GET_VALUE (dht.get), not FIND_NODE: a peer the seed answered is not asked again, and its value counts
    const found = await walk(this.#walkContext, key, this.dht.get(key, options), options)
    const peers = found.closest
    // spec/dht.md#private-records: a node among the closest that never saw the slot's writer would take any
    // writer's record, so a slot the walk saw held by another writer is refused here, before any peer is asked
    const writer = isPrivateDhtKey(key) ? peekPrivateValue(value)?.writer : undefined // verified by check() above
    if (writer != null && await slotHeldByOther(key, writer, found.values, this.now())) {
      throw new NameTakenError('this private slot is registered by another writer key')
    }
    const echoed = await Promise.all(peers.map(async peer => putTo(this.#components.connectionManager, this.protocol, peer, key, record, options).catch(() => false)))
    options.signal?.throwIfAborted()
    const stored = echoed.filter(Boolean).length
    if (this.mode() === 'server' && (stored > 0 || peers.length === 0)) {
      try {
        await this.#store.put(id, record, options)
      } catch (err) {
        if (stored === 0) throw err // the only copy
        // a newer value arrived meanwhile: the peers hold this one
      }
    }
    return { asked: peers.length, stored }
  }

  async findValues (key: Uint8Array, options: AbortOptions = {}): Promise<Uint8Array[]> {
    return (await walk(this.#walkContext, key, this.dht.get(key, options), options)).values
  }

  /**
   * Without identify a node never learns which protocols a peer speaks or
   * where it listens, so @libp2p/kad-dht's topology never fires: offer every
   * newly connected peer to the routing table instead (spec/dht.md#peers).
   */
  readonly #onConnect = (evt: CustomEvent<PeerId>): void => {
    const id = evt.detail
    const key = id.toString()
    if (this.#joining.has(key)) return
    this.#joining.add(key)
    void this.#join(id).catch(() => {}).finally(() => this.#joining.delete(key))
  }

  async #join (id: PeerId): Promise<void> {
    const { connectionManager, peerStore } = this.#components
    const known = await peerStore.get(id).then(p => p.addresses.map(a => a.multiaddr), () => [])
    // a connection we dialled reached a listening address (libp2p records it only after 'peer:connect')
    const dialled = connectionManager.getConnections(id).filter(c => c.direction === 'outbound').map(c => c.remoteAddr)
    let multiaddrs = [...known, ...dialled]
    if (multiaddrs.length === 0) {
      // it dialled us: learn where it listens, and keep only what a dial-back proves (without
      // identify nobody else would ever learn its address, and lookups would miss it)
      const signal = AbortSignal.any([this.#shutdown.signal, AbortSignal.timeout(2 * DHT_REQUEST_TIMEOUT_MS)])
      const claimed = await askListenAddrs(connectionManager, this.protocol, id, { signal })
      const verified = await verifiedListenAddr(connectionManager, id, claimed, this.#allowPrivate, { signal })
      // not reachable by others: it could not be handed out, so it stays out of the table too
      if (verified == null) return
      multiaddrs = [verified]
      await peerStore.merge(id, { multiaddrs })
    }
    // the table PINGs it on the DHT protocol before adding it, so only DHT servers get in
    await this.#internals.onPeerConnect({ id, multiaddrs })
  }

  async #dialBootstrap (): Promise<void> {
    this.#dialing ??= (async () => {
      const signal = AbortSignal.any([this.#shutdown.signal, AbortSignal.timeout(DHT_REQUEST_TIMEOUT_MS)])
      // a failed dial is not fatal: operations that need peers wait for them, bounded by their deadline
      await Promise.allSettled(this.#bootstrap.map(async addr => this.#components.connectionManager.openConnection(addr, { signal })))
    })().finally(() => { this.#dialing = undefined })
    return this.#dialing
  }
}

function checkInit (init: DhtServiceInit): void {
  if (init.protocol != null && (typeof init.protocol !== 'string' || !init.protocol.startsWith('/'))) {
    throw new TypeError(`protocol must be a protocol id starting with '/', got ${JSON.stringify(init.protocol)}`)
  }
  for (const [name, value] of [['kBucketSize', init.kBucketSize], ['maxRecords', init.maxRecords]] as const) {
    if (value != null && (!Number.isSafeInteger(value) || value < 1)) throw new RangeError(`${name} must be a positive integer, got ${value}`)
  }
  if (init.bootstrap != null && !Array.isArray(init.bootstrap)) throw new TypeError('bootstrap must be an array of multiaddrs')
  if (init.dataDir != null && (typeof init.dataDir !== 'string' || init.dataDir === '')) throw new TypeError(`dataDir must be a directory path, got ${JSON.stringify(init.dataDir)}`)
}

/** The DHT service factory, for a node's `services` map under {@link DHT_SERVICE_NAME}. */
export function dhtService (init: DhtServiceInit = {}): (components: DhtServiceComponents) => DhtService {
  checkInit(init)
  return (components) => new FaraDhtService(components, init)
}

/** The DHT service of `node`; TypeError if the node was created without it. */
export function dhtServiceOf (node: Libp2p): DhtService {
  const service = (node?.services as Record<string, unknown> | undefined)?.[DHT_SERVICE_NAME] as DhtService | undefined
  if (service == null || Object.prototype.toString.call(service) !== '[object @fara/rendezvous:dht]') {
    throw new TypeError(`node has no ${DHT_SERVICE_NAME} service: create it with { services: dhtRendezvous(init).nodeServices }`)
  }
  return service
}
