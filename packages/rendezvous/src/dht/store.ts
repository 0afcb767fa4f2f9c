import { NotFoundError } from '@libp2p/interface'
import { Libp2pRecord } from '@libp2p/record'
import { BaseDatastore } from 'datastore-core/base'
import { Key } from 'interface-datastore'
import { base32Encode } from '@fara/identity'
import { MAX_TTL_MS } from '../constants.ts'
import { InvalidRecordError, NameTakenError, StaleRecordError, StoreFullError } from '../errors.ts'
import { isPrivateDhtKey, peekPrivateValue, verifyAnyDhtValue } from './private.ts'
import { compareEntries, peekValue } from './records.ts'
import type { Held } from './private.ts'
import type { AbortOptions } from '@libp2p/interface'
import type { Datastore, Pair, Query, KeyQuery } from 'interface-datastore'

/** Options for {@link DhtStore}. */
export interface DhtStoreInit {
  /** Datastore prefix the DHT was given (records live under `<prefix>/record/`). */
  prefix: string
  /** Most entries held. */
  maxRecords: number
  /** Clock, ms since the epoch. */
  now: () => number
}

/** The fields of a stored entry (a serialized Libp2pRecord), read without a signature check; undefined if it does not decode. */
function peekStored (stored: Uint8Array): Held | undefined {
  try {
    const record = Libp2pRecord.deserialize(stored)
    if (isPrivateDhtKey(record.key)) return peekPrivateValue(record.value)
    const peeked = peekValue(record.value)
    // a tombstone shadows what its key signed before it for MAX_TTL_MS (spec/dht.md#validator)
    return peeked == null ? undefined : { ...peeked, until: peeked.tombstone ? peeked.seq + MAX_TTL_MS : peeked.expires }
  } catch {
    return undefined
  }
}

/**
 * The DHT's own datastore, in memory: every record a node stores for others
 * goes through here, so this is where the storage rules are enforced
 * (spec/dht.md#storage-what-a-dht-server-keeps), whatever path a write takes (a remote PUT_VALUE, our
 * own put, a read-repair correction):
 *
 * - only Fara records (`<prefix>/record/…`, public or private); provider
 *   records and anything else are refused;
 * - each record is verified in full (the same check as the validator);
 * - a live private slot belongs to its writer key, as at a rendezvous point:
 *   another writer's record or tombstone is refused with `NameTakenError`
 *   until it expires or is withdrawn (spec/private-names.md#verification);
 * - a record replaces the stored one only if the selector ranks it strictly
 *   higher: replays and equal values are refused with `StaleRecordError`
 *   (@libp2p/kad-dht's PUT_VALUE handler would otherwise overwrite a newer
 *   record with any older valid one);
 * - expired records and spent tombstones are dropped when read, and swept
 *   when the store is full; past `maxRecords` a new key is refused with
 *   `StoreFullError`.
 *
 * With a backing datastore ({@link DhtStore.open}: LevelDB in a data
 * directory) every accepted write reaches it before `put` resolves, so
 * before the PUT_VALUE is answered; entries read back at the next start are
 * verified again.
 */
export class DhtStore extends BaseDatastore {
  readonly #data = new Map<string, Uint8Array>()
  readonly #recordPrefix: string
  readonly #max: number
  readonly #now: () => number
  #backing: Datastore | undefined
  #writes: Promise<void> = Promise.resolve()

  constructor (init: DhtStoreInit) {
    super()
    this.#recordPrefix = `${init.prefix}/record/`
    this.#max = init.maxRecords
    this.#now = init.now
  }

  /** Number of entries held. */
  get size (): number {
    return this.#data.size
  }

  /** The datastore key under which kad-dht keeps the record for DHT key `key`. */
  keyFor (key: Uint8Array): Key {
    // RFC 4648 base32, lower case, no padding: how @libp2p/kad-dht names a record in its datastore
    return new Key(`${this.#recordPrefix}${base32Encode(key)}`, false)
  }

  /** The stored value (a SignedRecord encoding) for DHT key `key`, if current. */
  storedValue (key: Uint8Array): Uint8Array | undefined {
    const stored = this.#current(this.keyFor(key).toString())
    return stored?.value
  }

  override async put (key: Key, val: Uint8Array, options?: AbortOptions): Promise<Key> {
    options?.signal?.throwIfAborted()
    const id = await this.#admit(key, val)
    const copy = new Uint8Array(val)
    options?.signal?.throwIfAborted()
    // in memory at once (no other write of this key can pass the checks in between), and on
    // disk before it is acknowledged: a node killed after answering a PUT_VALUE still holds the record
    const previous = this.#data.get(id)
    this.#data.set(id, copy)
    try {
      await this.#persist(async d => d.put(key, copy))
    } catch (err) {
      if (this.#data.get(id) === copy) {
        if (previous == null) this.#data.delete(id)
        else this.#data.set(id, previous)
      }
      throw err
    }
    return key
  }

  /** Throw what {@link put} would throw for this record, without storing it. */
  async check (key: Key, val: Uint8Array): Promise<void> {
    await this.#admit(key, val)
  }

  /** Every rule of {@link put} but the write: the datastore id it goes under, or the typed refusal. */
  async #admit (key: Key, val: Uint8Array): Promise<string> {
    const id = key.toString()
    if (!id.startsWith(this.#recordPrefix)) throw new InvalidRecordError('a Fara DHT node stores only /fara/ records')
    let record: Libp2pRecord
    try {
      record = Libp2pRecord.deserialize(val)
    } catch {
      throw new InvalidRecordError('DHT record does not decode')
    }
    if (id !== this.keyFor(record.key).toString()) throw new InvalidRecordError('DHT record filed under another key')
    const incoming = await verifyAnyDhtValue(record.key, record.value, this.#now())
    const what = 'record' in incoming ? JSON.stringify(incoming.record.name) : 'this private slot'
    const existing = this.#current(id)
    // spec/private-names.md: a live slot is its writer key's until it expires or is withdrawn
    if (existing?.writer != null && !existing.tombstone && 'writer' in incoming && incoming.writer !== existing.writer) {
      throw new NameTakenError(`${what} is registered by another writer key until ${new Date(existing.until).toISOString()}`)
    }
    if (existing != null && compareEntries(incoming, existing) <= 0) {
      throw new StaleRecordError(`record for ${what} is not newer than the one stored (seq ${existing.seq})`)
    }
    if (!this.#data.has(id) && this.#data.size >= this.#max) {
      this.sweep()
      if (this.#data.size >= this.#max) throw new StoreFullError(`DHT node holds ${this.#max} records`)
    }
    return id
  }

  override get (key: Key, options?: AbortOptions): Uint8Array {
    options?.signal?.throwIfAborted()
    const id = key.toString()
    if (this.#current(id) == null) throw new NotFoundError(`no current record under ${id}`)
    return this.#data.get(id)!
  }

  override has (key: Key, options?: AbortOptions): boolean {
    options?.signal?.throwIfAborted()
    return this.#current(key.toString()) != null
  }

  override async delete (key: Key, options?: AbortOptions): Promise<void> {
    options?.signal?.throwIfAborted()
    this.#data.delete(key.toString())
    await this.#persist(async d => d.delete(key))
  }

  /** Run one write on the backing datastore after every earlier one: disk and memory see writes in the same order. */
  async #persist (op: (datastore: Datastore) => Promise<unknown>): Promise<void> {
    const backing = this.#backing
    if (backing == null) return
    const run = this.#writes.then(async () => { await op(backing) })
    this.#writes = run.catch(() => {})
    await run
  }

  /**
   * Keep records in `datastore` from now on, after loading what it holds:
   * each entry is verified again at the clock (as a `put` would), and one
   * that no longer verifies, has expired, is filed under another key, is not
   * a record, or is past `maxRecords` is deleted from it. Resolves with the
   * number of records loaded.
   */
  async open (datastore: Datastore, options: AbortOptions = {}): Promise<number> {
    const now = this.#now()
    let loaded = 0
    for await (const { key, value } of datastore.query({}, options)) {
      options.signal?.throwIfAborted()
      const id = key.toString()
      try {
        if (!id.startsWith(this.#recordPrefix)) throw new InvalidRecordError('not a record')
        const record = Libp2pRecord.deserialize(value)
        if (id !== this.keyFor(record.key).toString()) throw new InvalidRecordError('filed under another key')
        await verifyAnyDhtValue(record.key, record.value, now)
        if (!this.#data.has(id) && this.#data.size >= this.#max) throw new StoreFullError(`DHT node holds ${this.#max} records`)
        this.#data.set(id, new Uint8Array(value))
        loaded++
      } catch {
        await datastore.delete(key, options)
      }
    }
    this.#backing = datastore
    return loaded
  }

  /** Stop writing to the datastore given to {@link open} (the caller closes it); records stay in memory. */
  detach (): void {
    this.#backing = undefined
  }

  /**
   * Everything the store holds, exactly as held: the datastore key and the
   * stored bytes (a serialized `Libp2pRecord`), expired entries included
   * until they are next read. What the node's operator can see of it.
   */
  * entries (): Generator<{ key: string, value: Uint8Array }> {
    for (const [key, value] of this.#data) yield { key, value: new Uint8Array(value) }
  }

  /** The DHT keys and stored bytes of the records that still count: what a restarted node republishes. */
  currentRecords (): Array<{ key: Uint8Array, record: Uint8Array }> {
    const out: Array<{ key: Uint8Array, record: Uint8Array }> = []
    for (const id of [...this.#data.keys()]) {
      if (this.#current(id) == null) continue
      const stored = this.#data.get(id)!
      out.push({ key: Libp2pRecord.deserialize(stored).key, record: new Uint8Array(stored) })
    }
    return out
  }

  /** Drop every expired record and spent tombstone. */
  sweep (): void {
    for (const id of [...this.#data.keys()]) this.#current(id)
  }

  override * _all (_q: Query, options?: AbortOptions): Generator<Pair> {
    for (const id of [...this.#data.keys()]) {
      options?.signal?.throwIfAborted()
      const value = this.#data.get(id)
      if (value != null && this.#current(id) != null) yield { key: new Key(id), value }
    }
  }

  override * _allKeys (_q: KeyQuery, options?: AbortOptions): Generator<Key> {
    for (const pair of this._all({}, options)) yield pair.key
  }

  /** The stored entry under datastore id `id` if it still counts; a stale one is deleted. */
  #current (id: string): Held | undefined {
    const stored = this.#data.get(id)
    if (stored == null) return undefined
    // verified in full when it was stored; only the clock can have made it stale
    const peeked = peekStored(stored)
    if (peeked == null || peeked.until <= this.#now()) {
      this.#data.delete(id)
      // a failure only leaves it on disk, for the next start to drop
      this.#persist(async d => d.delete(new Key(id, false))).catch(() => {})
      return undefined
    }
    return peeked
  }
}
