import { InvalidRecordError, NameNotFoundError, NameTakenError, RendezvousError, RendezvousUnavailableError, StaleRecordError, StoreFullError } from '../errors.ts'
import { assertServiceName } from '@fara/identity'
import { assertLookupKey } from '../record.ts'
import { DEFAULT_DHT_TIMEOUT_MS, DHT_SERVICE_NAME } from './constants.ts'
import { privateDhtKey, verifyPrivateDhtValue, verifyPrivateEntry } from './private.ts'
import { bytesEqual, compareEntries, dhtKey, selectBest, verifyDhtValue, verifyEntry } from './records.ts'
import { kad } from './kad.ts'
import { dhtService, dhtServiceOf } from './service.ts'
import type { PrivateDhtEntry } from './private.ts'
import type { DhtEntry, Ranked, ValueVerifier } from './records.ts'
import type { DhtService, DhtServiceInit } from './interface.ts'
import type { ServiceRecord, SignedPrivateRecord, SignedRecord } from '../record.ts'
import type { PrivateRendezvous, RendezvousComponents, RendezvousFactory } from '../rendezvous.ts'
import type { AbortOptions } from '@libp2p/interface'

/** Options for {@link dhtRendezvous}: the DHT service's, and the deadline of each operation. */
export interface DhtRendezvousInit extends DhtServiceInit {
  /** Deadline of one register, resolve or unregister in ms, lookup included (default {@link DEFAULT_DHT_TIMEOUT_MS}). */
  timeout?: number
}

/** One operation's signals: the caller's, and the deadline combined with it. */
interface Deadline { caller?: AbortSignal, timeout: AbortSignal, signal: AbortSignal }

/** Where the values of one public name or one private slot live in the DHT, and how to check them. */
interface Slot<E extends Ranked> {
  key: Uint8Array
  /** How messages name it: the quoted name, or "this private slot" (never a private slot's lookup key). */
  label: string
  /** The value this node itself stores under `key`, if current. */
  local: () => Uint8Array | undefined
  verify: ValueVerifier<E>
  /**
   * Keep a value in the own store only once a peer stored it (`putToPeers`), not before (`dht.put`),
   * and look values up with `findValues` rather than `dht.get`.
   */
  peersFirst: boolean
}

/** A private entry's writer key; undefined for a public one. */
const writerOf = (entry: Ranked): string | undefined => (entry as Partial<PrivateDhtEntry>).writer

function isTyped (err: unknown): boolean {
  return err instanceof RendezvousError || (err as Error)?.name === StoreFullError.name
}

class DhtRendezvous implements PrivateRendezvous {
  readonly #service: DhtService
  readonly #timeout: number

  constructor (service: DhtService, timeout: number) {
    this.#service = service
    this.#timeout = timeout
  }

  async register (record: SignedRecord, options?: AbortOptions): Promise<void> {
    options?.signal?.throwIfAborted()
    // every record rule, the size bound first: nothing invalid or oversized is ever sent
    const entry = await verifyEntry(record, this.#service.now())
    if (entry.tombstone) throw new InvalidRecordError('register takes a live record; withdraw a name with unregister')
    await this.#publish(this.#publicSlot(entry.record.name), entry, options)
  }

  async unregister (tombstone: SignedRecord, options?: AbortOptions): Promise<void> {
    options?.signal?.throwIfAborted()
    const entry = await verifyEntry(tombstone, this.#service.now())
    if (!entry.tombstone) throw new InvalidRecordError('unregister takes a tombstone (createTombstone), not a live record')
    await this.#publish(this.#publicSlot(entry.record.name), entry, options)
  }

  async resolve (name: string, options?: AbortOptions): Promise<ServiceRecord> {
    assertServiceName(name)
    options?.signal?.throwIfAborted()
    const deadline = this.#deadline(options)
    const best = await this.#lookup(this.#publicSlot(name), deadline)
    if (best == null || best.tombstone) throw new NameNotFoundError(`no live record for ${JSON.stringify(name)} in the DHT`)
    return best.record
  }

  /**
   * Store a sealed record under its slot's DHT key (spec/dht.md#private-records).
   * The envelope is verified first, as every DHT node that stores it will;
   * nodes that hold a live record of another writer key for the slot refuse
   * it (`NameTakenError`), as a rendezvous point does.
   */
  async registerPrivate (record: SignedPrivateRecord, options?: AbortOptions): Promise<void> {
    options?.signal?.throwIfAborted()
    const entry = await verifyPrivateEntry(record, this.#service.now(), false)
    await this.#publish(this.#privateSlot(entry.envelope.lookupKey), entry, options)
  }

  /** The newest valid sealed record under a 32-byte lookup key; `NameNotFoundError` if none, or if it was withdrawn. */
  async resolvePrivate (lookupKey: Uint8Array, options?: AbortOptions): Promise<SignedPrivateRecord> {
    assertLookupKey(lookupKey)
    options?.signal?.throwIfAborted()
    const best = await this.#lookup(this.#privateSlot(lookupKey), this.#deadline(options))
    if (best == null || best.tombstone) throw new NameNotFoundError('no private record for this lookup key in the DHT')
    return best.envelope.signed
  }

  /**
   * Withdraw a private slot with a tombstone of its writer key. As at a
   * rendezvous point: `NameNotFoundError` if the DHT holds no live record
   * for the slot, `NameTakenError` if another writer key holds it; otherwise
   * the tombstone is stored as a newer value (a DHT cannot delete).
   */
  async unregisterPrivate (tombstone: SignedPrivateRecord, options?: AbortOptions): Promise<void> {
    options?.signal?.throwIfAborted()
    const entry = await verifyPrivateEntry(tombstone, this.#service.now(), true)
    const slot = this.#privateSlot(entry.envelope.lookupKey)
    // one deadline for the lookup and the put
    const deadline = this.#deadline(options)
    const best = await this.#lookup(slot, deadline)
    if (best == null || best.tombstone) throw new NameNotFoundError('no private record for this lookup key in the DHT')
    if (best.writer !== entry.writer) throw new NameTakenError('this private slot is registered by another writer key')
    await this.#publish(slot, entry, options, deadline)
  }

  #publicSlot (name: string): Slot<DhtEntry> {
    return { key: dhtKey(name), label: JSON.stringify(name), local: () => this.#service.localValue(name), verify: verifyDhtValue, peersFirst: false }
  }

  #privateSlot (lookupKey: Uint8Array): Slot<PrivateDhtEntry> {
    return {
      key: privateDhtKey(lookupKey),
      label: 'this private slot',
      local: () => this.#service.localPrivateValue(lookupKey),
      verify: verifyPrivateDhtValue,
      peersFirst: true
    }
  }

  #deadline (options?: AbortOptions): Deadline {
    const timeout = AbortSignal.timeout(this.#timeout)
    const caller = options?.signal
    return caller == null ? { timeout, signal: timeout } : { caller, timeout, signal: AbortSignal.any([caller, timeout]) }
  }

  /** Wait for a routing-table peer if this node was told where to find some. */
  async #ready (deadline: Deadline): Promise<void> {
    if (!this.#service.bootstraps) return
    try {
      await this.#service.waitForPeers(1, { signal: deadline.signal })
    } catch (err) {
      deadline.caller?.throwIfAborted()
      throw new RendezvousUnavailableError(`no DHT peer reachable within ${this.#timeout} ms`, { cause: err })
    }
  }

  /**
   * Put `entry` under its slot's key and count the peers that stored it
   * (spec/dht.md#register-and-unregister-put). The local store takes it first: a record that is not
   * newer than the local one is refused there with `StaleRecordError`.
   */
  async #publish<E extends Ranked> (slot: Slot<E>, entry: E, options?: AbortOptions, deadline = this.#deadline(options)): Promise<void> {
    await this.#ready(deadline)
    const key = slot.key
    const asked = new Set<string>()
    const stored = new Set<string>()
    let counted: { asked: number, stored: number } | undefined
    const { MessageType } = kad()
    try {
      // spec/dht.md#private-records: a value the peers refuse (a slot another writer holds) must not stay in the own store
      if (slot.peersFirst) counted = await this.#service.putToPeers(key, entry.value, { signal: deadline.signal })
      for await (const event of slot.peersFirst ? [] : this.#service.dht.put(key, entry.value, { signal: deadline.signal })) {
        if (event.name === 'SEND_QUERY' && event.messageType === MessageType.PUT_VALUE) asked.add(event.to.toString())
        // @libp2p/kad-dht's put does not report a refusal: a peer stored the value only if it echoed it back
        if (event.name === 'PEER_RESPONSE' && event.messageType === MessageType.PUT_VALUE &&
          event.record != null && bytesEqual(event.record.value, entry.value)) {
          stored.add(event.from.toString())
        }
      }
    } catch (err) {
      deadline.caller?.throwIfAborted()
      if (isTyped(err)) throw err
      if (!deadline.timeout.aborted) throw new RendezvousUnavailableError(`DHT put for ${slot.label} failed: ${(err as Error)?.message}`, { cause: err })
      // past the deadline: keep what was stored so far
    }
    deadline.caller?.throwIfAborted()
    const peersAsked = counted?.asked ?? asked.size
    if ((counted?.stored ?? stored.size) > 0) return
    if (peersAsked === 0 && this.#service.routingTableSize === 0 && !this.#service.bootstraps && this.#service.mode() === 'server') {
      return // a lone DHT server: the record lives in its own store, where peers that join will find it
    }
    // nobody stored it: a peer refuses a value that is not newer than its own (or, for a private
    // slot, one while another writer key holds the slot), so tell a replay or a taken slot from an outage
    if (!deadline.signal.aborted) {
      const best = await this.#lookup(slot, deadline, { remoteOnly: true }).catch(() => undefined)
      if (best != null && !best.tombstone && writerOf(best) !== writerOf(entry)) {
        throw new NameTakenError(`${slot.label} is registered by another writer key`)
      }
      if (best != null && compareEntries(best, entry) >= 0) {
        throw new StaleRecordError(`the DHT holds a record for ${slot.label} that is not older (seq ${best.seq}) than this one`)
      }
    }
    throw new RendezvousUnavailableError(
      `no DHT peer stored the record for ${slot.label} (${peersAsked} asked, ${this.#service.routingTableSize} in the routing table)`)
  }

  /**
   * The best value for a slot: this node's own, and every value peers
   * returned during the lookup, each verified at the clock (spec/dht.md#resolve-get).
   * Values are taken from the lookup's events rather than from its final
   * answer, which @libp2p/kad-dht withholds when a read-repair fails.
   * `remoteOnly` leaves out this node's own copy (to learn what peers hold).
   */
  async #lookup<E extends Ranked> (slot: Slot<E>, deadline: Deadline, options: { remoteOnly?: boolean } = {}): Promise<E | undefined> {
    await this.#ready(deadline)
    const key = slot.key
    const remoteOnly = options.remoteOnly === true
    const values: Uint8Array[] = []
    const local = remoteOnly ? undefined : slot.local()
    if (local != null) values.push(local)
    let complete = true
    try {
      // a private slot: the walk that goes on where @libp2p/kad-dht's lookup stops (spec/dht.md#private-records)
      if (slot.peersFirst) values.push(...await this.#service.findValues(key, { signal: deadline.signal }))
      for await (const event of slot.peersFirst ? [] : this.#service.dht.get(key, { signal: deadline.signal })) {
        if (event.name === 'PEER_RESPONSE' && event.record != null && bytesEqual(event.record.key, key)) values.push(event.record.value)
        if (event.name === 'VALUE' && !remoteOnly) values.push(event.value)
      }
    } catch {
      deadline.caller?.throwIfAborted()
      complete = !deadline.timeout.aborted // a failed read-repair ends the lookup with an error, but the values stand
    }
    deadline.caller?.throwIfAborted()
    const best = await selectBest(key, values, this.#service.now(), slot.verify)
    if (best == null && !complete) throw new RendezvousUnavailableError(`DHT lookup of ${slot.label} got no answer within ${this.#timeout} ms`)
    return best?.entry
  }
}

/**
 * A rendezvous on Fara's own Kademlia DHT (spec/dht.md): records are stored
 * under `/fara/<name>` on the DHT nodes closest to that key, verified by every
 * node that stores or returns them; the newest valid record wins.
 *
 * A DHT pins no name to a key: any key can publish a newer record for a name.
 * Clients that know the key they expect must check `record.publicKey`.
 *
 * Private names (`registerPrivate`, `resolvePrivate`, `unregisterPrivate`;
 * the SDK's `serve(name, handler, { private })`) are stored sealed under
 * `/fara-private/<hex lookup key>`: DHT nodes verify the envelope and learn
 * neither the name, nor the key, nor the addresses (spec/dht.md#private-records).
 * With `dataDir`, a DHT server keeps its records on disk across restarts.
 *
 * @example
 * ```ts
 * import { dhtRendezvous } from '@fara/rendezvous/dht'
 * import { createEntity } from '@fara/sdk'
 *
 * const rendezvous = dhtRendezvous({ bootstrap: ['/ip4/203.0.113.7/tcp/40123/p2p/12D3KooW...'] })
 * const entity = await createEntity({ app: 'chat', rendezvous }) // the SDK adds rendezvous.nodeServices
 * await entity.close()
 * ```
 *
 * @throws {@link @fara/rendezvous!index.RendezvousUnavailableError | RendezvousUnavailableError} when no DHT peer is reachable within `timeout`, or no peer stored the record.
 * @throws {@link @fara/rendezvous!index.NameNotFoundError | NameNotFoundError} when `resolve` finds no live record for the name (or only a tombstone); `resolvePrivate` and `unregisterPrivate` none for the lookup key.
 * @throws {@link @fara/rendezvous!index.NameTakenError | NameTakenError} when a private slot is held by a live record of another writer key.
 * @throws {@link @fara/rendezvous!index.StaleRecordError | StaleRecordError} when the DHT already holds a record for the name (or private slot) that is not older than this one.
 * @throws {@link @fara/rendezvous!index.InvalidSignatureError | InvalidSignatureError} when a record is not signed by the key it names.
 * @throws {@link @fara/rendezvous!index.InvalidRecordError | InvalidRecordError} when a record breaks a field rule, `register` is given a tombstone or `unregister` a live record.
 * @throws {@link @fara/rendezvous!index.ExpiredRecordError | ExpiredRecordError} when a record has expired, or a tombstone is too old to withdraw anything.
 * @throws {@link @fara/rendezvous!index.RecordTooLargeError | RecordTooLargeError} when a record is larger than {@link @fara/rendezvous!constants.MAX_RECORD_BYTES | MAX_RECORD_BYTES}.
 * @throws {@link @fara/rendezvous!index.StoreFullError | StoreFullError} when this node's own DHT store holds `maxRecords` records.
 * @throws `RangeError` when `timeout` or a DHT bound is not a positive integer.
 * @throws `TypeError` when `bootstrap` is not an array, `protocol` is not a protocol id or `dataDir` not a path.
 * @throws {@link @fara/transport!index.MissingDependencyError | MissingDependencyError} (when a DHT server's node starts) if `dataDir` is set and the optional peer dependency `datastore-level` is not installed.
 */
export function dhtRendezvous (init: DhtRendezvousInit = {}): RendezvousFactory<PrivateRendezvous> {
  const timeout = init.timeout ?? DEFAULT_DHT_TIMEOUT_MS
  if (!Number.isSafeInteger(timeout) || timeout <= 0) throw new RangeError(`timeout must be a positive integer of ms, got ${timeout}`)
  const factory = (components: RendezvousComponents): PrivateRendezvous => new DhtRendezvous(dhtServiceOf(components.node), timeout)
  return Object.assign(factory, { nodeServices: { [DHT_SERVICE_NAME]: dhtService(init) } })
}
