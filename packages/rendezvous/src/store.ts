import { DEFAULT_MAX_RECORDS, MAX_TTL_MS } from './constants.ts'
import { InvalidRecordError, NameNotFoundError, NameTakenError, StaleRecordError } from './errors.ts'
import { verifyRecord } from './record.ts'
import type { ServiceRecord, SignedRecord } from './record.ts'

/** Options for {@link RecordStore}. */
export interface RecordStoreInit {
  /** Most records held (default {@link DEFAULT_MAX_RECORDS}). */
  maxRecords?: number
  /** Clock in ms since the epoch (default `Date.now`). */
  now?: () => number
}

/**
 * The rules every rendezvous backend applies, in one place: records are
 * verified on write and on read; a live name belongs to the key that
 * registered it until it expires or is withdrawn; a record must be newer
 * than the one it replaces (no replays); expired records are never served.
 */
export class RecordStore {
  readonly #records = new Map<string, SignedRecord & { expires: number }>()
  /**
   * What was withdrawn, kept until every record signed before the tombstone
   * has expired, so none of them can be replayed after the withdrawal.
   */
  readonly #withdrawn = new Map<string, { publicKey: ServiceRecord['publicKey'], seq: number, until: number }>()
  readonly #maxRecords: number
  readonly #now: () => number

  constructor (init: RecordStoreInit = {}) {
    this.#maxRecords = init.maxRecords ?? DEFAULT_MAX_RECORDS
    this.#now = init.now ?? Date.now
  }

  /** Number of records and withdrawals held (expired ones included until swept). */
  get size (): number {
    return this.#records.size + this.#withdrawn.size
  }

  async #live (name: string, now: number): Promise<ServiceRecord | undefined> {
    const stored = this.#records.get(name)
    if (stored == null) return undefined
    if (stored.expires <= now) {
      this.#records.delete(name)
      return undefined
    }
    return verifyRecord(stored, { now })
  }

  /** Verify and store a record. */
  async put (signed: SignedRecord): Promise<ServiceRecord> {
    const now = this.#now()
    const record = await verifyRecord(signed, { now })
    const current = await this.#live(record.name, now)
    const withdrawn = this.#withdrawn.get(record.name)
    if (withdrawn != null && withdrawn.until > now && withdrawn.publicKey.equals(record.publicKey) && record.seq <= withdrawn.seq) {
      throw new StaleRecordError(`record seq ${record.seq} was withdrawn by a tombstone of seq ${withdrawn.seq}`)
    }
    if (current != null) {
      if (!current.publicKey.equals(record.publicKey)) {
        throw new NameTakenError(`${JSON.stringify(record.name)} is registered by another key until ${new Date(current.expires).toISOString()}`)
      }
      if (record.seq <= current.seq) {
        throw new StaleRecordError(`record seq ${record.seq} is not newer than stored seq ${current.seq}`)
      }
    } else if (this.size >= this.#maxRecords) {
      this.sweep()
      if (this.size >= this.#maxRecords) {
        throw new InvalidRecordError(`store is full (${this.#maxRecords} records)`)
      }
    }
    this.#records.set(record.name, { ...record.signed, expires: record.expires })
    this.#withdrawn.delete(record.name)
    return record
  }

  /** The live, verified record for `name`; {@link NameNotFoundError} if none. */
  async get (name: string): Promise<ServiceRecord> {
    const record = await this.#live(name, this.#now())
    if (record == null) throw new NameNotFoundError(`no record for ${JSON.stringify(name)}`)
    return record
  }

  /** Withdraw a name with a tombstone signed by the key that holds it. */
  async remove (tombstone: SignedRecord): Promise<void> {
    const now = this.#now()
    const t = await verifyRecord(tombstone, { now, tombstone: true })
    const current = await this.#live(t.name, now)
    if (current == null) throw new NameNotFoundError(`no record for ${JSON.stringify(t.name)}`)
    if (!current.publicKey.equals(t.publicKey)) throw new NameTakenError(`${JSON.stringify(t.name)} is registered by another key`)
    if (t.seq <= current.seq) throw new StaleRecordError(`tombstone seq ${t.seq} is not newer than stored seq ${current.seq}`)
    this.#records.delete(t.name)
    // any record of this key signed before the tombstone is dead by then (MAX_TTL_MS)
    this.#withdrawn.set(t.name, { publicKey: t.publicKey, seq: t.seq, until: t.seq + MAX_TTL_MS })
  }

  /** Drop every expired record. */
  sweep (): void {
    const now = this.#now()
    for (const [name, r] of this.#records) {
      if (r.expires <= now) this.#records.delete(name)
    }
    for (const [name, w] of this.#withdrawn) {
      if (w.until <= now) this.#withdrawn.delete(name)
    }
  }
}
