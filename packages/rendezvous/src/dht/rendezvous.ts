import { InvalidRecordError, NameNotFoundError, RendezvousError, RendezvousUnavailableError, StaleRecordError } from '../errors.ts'
import { assertServiceName } from '../record.ts'
import { DEFAULT_DHT_TIMEOUT_MS, DHT_SERVICE_NAME } from './constants.ts'
import { bytesEqual, compareEntries, dhtKey, selectBest, verifyEntry } from './records.ts'
import { kad } from './kad.ts'
import { dhtService, dhtServiceOf } from './service.ts'
import type { DhtEntry } from './records.ts'
import type { DhtService, DhtServiceInit } from './service.ts'
import type { ServiceRecord, SignedRecord } from '../record.ts'
import type { Rendezvous, RendezvousComponents, RendezvousFactory } from '../rendezvous.ts'
import type { AbortOptions } from '@libp2p/interface'

/** Options for {@link dhtRendezvous}: the DHT service's, and the deadline of each operation. */
export interface DhtRendezvousInit extends DhtServiceInit {
  /** Deadline of one register, resolve or unregister in ms, lookup included (default {@link DEFAULT_DHT_TIMEOUT_MS}). */
  timeout?: number
}

/** One operation's signals: the caller's, and the deadline combined with it. */
interface Deadline { caller?: AbortSignal, timeout: AbortSignal, signal: AbortSignal }

function isTyped (err: unknown): boolean {
  return err instanceof RendezvousError || (err as Error)?.name === 'StoreFullError'
}

class DhtRendezvous implements Rendezvous {
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
    await this.#publish(entry, options)
  }

  async unregister (tombstone: SignedRecord, options?: AbortOptions): Promise<void> {
    options?.signal?.throwIfAborted()
    const entry = await verifyEntry(tombstone, this.#service.now())
    if (!entry.tombstone) throw new InvalidRecordError('unregister takes a tombstone (createTombstone), not a live record')
    await this.#publish(entry, options)
  }

  async resolve (name: string, options?: AbortOptions): Promise<ServiceRecord> {
    assertServiceName(name)
    options?.signal?.throwIfAborted()
    const deadline = this.#deadline(options)
    const best = await this.#lookup(name, deadline)
    if (best == null || best.tombstone) throw new NameNotFoundError(`no live record for ${JSON.stringify(name)} in the DHT`)
    return best.record
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
   * Put `entry` under its key and count the peers that stored it
   * (spec/dht.md#put). The local store takes it first: a record that is not
   * newer than the local one is refused there with `StaleRecordError`.
   */
  async #publish (entry: DhtEntry, options?: AbortOptions): Promise<void> {
    const deadline = this.#deadline(options)
    await this.#ready(deadline)
    const name = entry.record.name
    const key = dhtKey(name)
    const asked = new Set<string>()
    const stored = new Set<string>()
    const { MessageType } = kad()
    try {
      for await (const event of this.#service.dht.put(key, entry.value, { signal: deadline.signal })) {
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
      if (!deadline.timeout.aborted) throw new RendezvousUnavailableError(`DHT put for ${JSON.stringify(name)} failed: ${(err as Error)?.message}`, { cause: err })
      // past the deadline: keep what was stored so far
    }
    deadline.caller?.throwIfAborted()
    if (stored.size > 0) return
    if (asked.size === 0 && this.#service.routingTableSize === 0 && !this.#service.bootstraps && this.#service.mode() === 'server') {
      return // a lone DHT server: the record lives in its own store, where peers that join will find it
    }
    // nobody stored it: a peer refuses a value that is not newer than its own, so tell a replay from an outage
    if (!deadline.signal.aborted) {
      const best = await this.#lookup(name, deadline, { remoteOnly: true }).catch(() => undefined)
      if (best != null && compareEntries(best, entry) >= 0) {
        throw new StaleRecordError(`the DHT holds a record for ${JSON.stringify(name)} that is not older (seq ${best.record.seq}) than this one`)
      }
    }
    throw new RendezvousUnavailableError(
      `no DHT peer stored the record for ${JSON.stringify(name)} (${asked.size} asked, ${this.#service.routingTableSize} in the routing table)`)
  }

  /**
   * The best value for `name`: this node's own, and every value peers
   * returned during the lookup, each verified at the clock (spec/dht.md#get).
   * Values are taken from the lookup's events rather than from its final
   * answer, which @libp2p/kad-dht withholds when a read-repair fails.
   * `remoteOnly` leaves out this node's own copy (to learn what peers hold).
   */
  async #lookup (name: string, deadline: Deadline, options: { remoteOnly?: boolean } = {}): Promise<DhtEntry | undefined> {
    await this.#ready(deadline)
    const key = dhtKey(name)
    const remoteOnly = options.remoteOnly === true
    const values: Uint8Array[] = []
    const local = remoteOnly ? undefined : this.#service.localValue(name)
    if (local != null) values.push(local)
    let complete = true
    try {
      for await (const event of this.#service.dht.get(key, { signal: deadline.signal })) {
        if (event.name === 'PEER_RESPONSE' && event.record != null && bytesEqual(event.record.key, key)) values.push(event.record.value)
        if (event.name === 'VALUE' && !remoteOnly) values.push(event.value)
      }
    } catch {
      deadline.caller?.throwIfAborted()
      complete = !deadline.timeout.aborted // a failed read-repair ends the lookup with an error, but the values stand
    }
    deadline.caller?.throwIfAborted()
    const best = await selectBest(key, values, this.#service.now())
    if (best == null && !complete) throw new RendezvousUnavailableError(`DHT lookup of ${JSON.stringify(name)} got no answer within ${this.#timeout} ms`)
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
 * @example
 * ```ts
 * import { dhtRendezvous } from '@fara/rendezvous'
 * import { createEntity } from '@fara/sdk'
 *
 * const rendezvous = dhtRendezvous({ bootstrap: ['/ip4/203.0.113.7/tcp/40123/p2p/12D3KooW...'] })
 * const entity = await createEntity({ app: 'chat', rendezvous }) // the SDK adds rendezvous.nodeServices
 * await entity.close()
 * ```
 *
 * @throws {@link RendezvousUnavailableError} when no DHT peer is reachable within `timeout`, or no peer stored the record.
 * @throws {@link NameNotFoundError} when `resolve` finds no live record for the name (or only a tombstone).
 * @throws {@link StaleRecordError} when the DHT already holds a record for the name that is not older than this one.
 * @throws {@link InvalidSignatureError} when a record is not signed by the key it names.
 * @throws {@link InvalidRecordError} when a record breaks a field rule, `register` is given a tombstone or `unregister` a live record.
 * @throws {@link ExpiredRecordError} when a record has expired, or a tombstone is too old to withdraw anything.
 * @throws {@link RecordTooLargeError} when a record is larger than {@link @fara/rendezvous!MAX_RECORD_BYTES | MAX_RECORD_BYTES}.
 * @throws {@link StoreFullError} when this node's own DHT store holds `maxRecords` records.
 * @throws `RangeError` when `timeout` or a DHT bound is not a positive integer.
 * @throws `TypeError` when `bootstrap` is not an array or `protocol` is not a protocol id.
 */
export function dhtRendezvous (init: DhtRendezvousInit = {}): RendezvousFactory {
  const timeout = init.timeout ?? DEFAULT_DHT_TIMEOUT_MS
  if (!Number.isSafeInteger(timeout) || timeout <= 0) throw new RangeError(`timeout must be a positive integer of ms, got ${timeout}`)
  const factory = (components: RendezvousComponents): Rendezvous => new DhtRendezvous(dhtServiceOf(components.node), timeout)
  return Object.assign(factory, { nodeServices: { [DHT_SERVICE_NAME]: dhtService(init) } })
}
