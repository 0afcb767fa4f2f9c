import { RECORD_CACHE } from '../constants.ts'
import type { ServiceRecord } from '@fara/rendezvous'

/** Settings of an entity's record cache ({@link EntityInit.recordCache}). */
export interface RecordCacheInit {
  /** Longest a resolved record is used without asking the rendezvous again, in ms (default {@link RECORD_CACHE.maxAgeMs}). */
  maxAgeMs?: number
  /** Most names held; the least recently used is dropped first (default {@link RECORD_CACHE.maxEntries}). */
  maxEntries?: number
}

/**
 * Verified records by public name, each until the earlier of its own expiry
 * and `maxAgeMs` after it was resolved. A record is only put here after the
 * rendezvous backend verified it (signature, expiry, revocations); the SDK
 * drops it as soon as using it fails (spec/architecture.md#client-record-cache-and-spare-nodes).
 */
export class RecordCache {
  readonly #entries = new Map<string, { record: ServiceRecord, until: number }>()
  readonly #maxAgeMs: number
  readonly #maxEntries: number
  readonly #now: () => number

  constructor (init: RecordCacheInit = {}, now: () => number = Date.now) {
    const maxAgeMs = init.maxAgeMs ?? RECORD_CACHE.maxAgeMs
    const maxEntries = init.maxEntries ?? RECORD_CACHE.maxEntries
    if (!Number.isFinite(maxAgeMs) || maxAgeMs < 0) throw new RangeError(`recordCache.maxAgeMs must be a finite number >= 0, got ${maxAgeMs}`)
    if (!Number.isSafeInteger(maxEntries) || maxEntries < 1) throw new RangeError(`recordCache.maxEntries must be an integer >= 1, got ${maxEntries}`)
    this.#maxAgeMs = maxAgeMs
    this.#maxEntries = maxEntries
    this.#now = now
  }

  /** The record held for `name`, if it is still fresh. */
  get (name: string): ServiceRecord | undefined {
    const entry = this.#entries.get(name)
    if (entry == null) return undefined
    this.#entries.delete(name)
    if (entry.until <= this.#now()) return undefined
    this.#entries.set(name, entry) // most recently used last
    return entry.record
  }

  set (record: ServiceRecord): void {
    const until = Math.min(record.expires, this.#now() + this.#maxAgeMs)
    this.#entries.delete(record.name)
    if (until <= this.#now()) return
    this.#entries.set(record.name, { record, until })
    while (this.#entries.size > this.#maxEntries) {
      this.#entries.delete(this.#entries.keys().next().value!)
    }
  }

  /** Forget `name`, but only if it still maps to `record` (a newer one may have replaced it). */
  drop (name: string, record?: ServiceRecord): void {
    const entry = this.#entries.get(name)
    if (entry != null && (record == null || entry.record === record)) this.#entries.delete(name)
  }

  get size (): number { return this.#entries.size }
}
