import { NotFoundError } from '@libp2p/interface'
import { Libp2pRecord } from '@libp2p/record'
import { BaseDatastore } from 'datastore-core/base'
import { Key } from 'interface-datastore'
import { InvalidRecordError, StaleRecordError, StoreFullError } from '../errors.ts'
import { compareEntries, isCurrent, peekValue, verifyDhtValue } from './records.ts'
import type { Peeked } from './records.ts'
import type { AbortOptions } from '@libp2p/interface'
import type { Pair, Query, KeyQuery } from 'interface-datastore'

/** Options for {@link DhtStore}. */
export interface DhtStoreInit {
  /** Datastore prefix the DHT was given (records live under `<prefix>/record/`). */
  prefix: string
  /** Most entries held. */
  maxRecords: number
  /** Clock, ms since the epoch. */
  now: () => number
}

const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567'

/** RFC 4648 base32, lower case, no padding: how @libp2p/kad-dht names a record in its datastore. */
export function base32 (bytes: Uint8Array): string {
  let out = ''
  let bits = 0
  let value = 0
  for (const byte of bytes) {
    value = (value << 8) | byte
    bits += 8
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31]
      bits -= 5
    }
  }
  if (bits > 0) out += BASE32[(value << (5 - bits)) & 31]
  return out
}

/**
 * The DHT's own datastore, in memory: every record a node stores for others
 * goes through here, so this is where the storage rules are enforced
 * (spec/dht.md#storage), whatever path a write takes (a remote PUT_VALUE, our
 * own put, a read-repair correction):
 *
 * - only Fara records (`<prefix>/record/…`); provider records and anything
 *   else are refused;
 * - each record is verified in full (the same check as the validator);
 * - a record replaces the stored one only if the selector ranks it strictly
 *   higher: replays and equal values are refused with `StaleRecordError`
 *   (@libp2p/kad-dht's PUT_VALUE handler would otherwise overwrite a newer
 *   record with any older valid one);
 * - expired records and spent tombstones are dropped when read, and swept
 *   when the store is full; past `maxRecords` a new key is refused with
 *   `StoreFullError`.
 */
export class DhtStore extends BaseDatastore {
  readonly #data = new Map<string, Uint8Array>()
  readonly #recordPrefix: string
  readonly #max: number
  readonly #now: () => number

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
    return new Key(`${this.#recordPrefix}${base32(key)}`, false)
  }

  /** The stored value (a SignedRecord encoding) for DHT key `key`, if current. */
  storedValue (key: Uint8Array): Uint8Array | undefined {
    const stored = this.#current(this.keyFor(key).toString())
    return stored?.value
  }

  override async put (key: Key, val: Uint8Array, options?: AbortOptions): Promise<Key> {
    options?.signal?.throwIfAborted()
    const id = key.toString()
    if (!id.startsWith(this.#recordPrefix)) throw new InvalidRecordError('a Fara DHT node stores only /fara/ records')
    let record: Libp2pRecord
    try {
      record = Libp2pRecord.deserialize(val)
    } catch {
      throw new InvalidRecordError('DHT record does not decode')
    }
    if (id !== this.keyFor(record.key).toString()) throw new InvalidRecordError('DHT record filed under another key')
    const incoming = await verifyDhtValue(record.key, record.value, this.#now())
    const existing = this.#current(id)
    if (existing != null && compareEntries(incoming, existing) <= 0) {
      throw new StaleRecordError(`record for ${JSON.stringify(incoming.record.name)} is not newer than the one stored (seq ${existing.seq})`)
    }
    if (!this.#data.has(id) && this.#data.size >= this.#max) {
      this.sweep()
      if (this.#data.size >= this.#max) throw new StoreFullError(`DHT node holds ${this.#max} records`)
    }
    this.#data.set(id, new Uint8Array(val))
    return key
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

  override delete (key: Key, options?: AbortOptions): void {
    options?.signal?.throwIfAborted()
    this.#data.delete(key.toString())
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
  #current (id: string): Peeked | undefined {
    const stored = this.#data.get(id)
    if (stored == null) return undefined
    let peeked: Peeked | undefined
    try {
      // verified in full when it was stored; only the clock can have made it stale
      peeked = peekValue(Libp2pRecord.deserialize(stored).value)
    } catch {
      peeked = undefined
    }
    if (peeked == null || !isCurrent(peeked, this.#now())) {
      this.#data.delete(id)
      return undefined
    }
    return peeked
  }
}
