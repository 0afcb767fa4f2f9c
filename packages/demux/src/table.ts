import { aidToHex, csprng, isAid, randomAid } from './aid.ts'
import type { RandomBytes } from './aid.ts'
import { DEFAULT_AID_ATTEMPTS, DEFAULT_MAX_ENTRIES } from './constants.ts'
import { AssociationTableFullError } from './errors.ts'

/** Options for {@link AssociationTable}. */
export interface AssociationTableInit {
  /** Most entries held at once (default {@link DEFAULT_MAX_ENTRIES}). */
  maxEntries?: number
  /** Fresh AIds drawn on collision before giving up (default {@link DEFAULT_AID_ATTEMPTS}). */
  maxAttempts?: number
  /** Random source; the CSPRNG unless a test injects one. */
  random?: RandomBytes
}

/**
 * Maps association ids to local state. Every registration draws a fresh random
 * AId and retries on collision, so an AId is never reused while it is live.
 */
export class AssociationTable<T> {
  readonly #entries = new Map<string, T>()
  readonly #maxEntries: number
  readonly #maxAttempts: number
  readonly #random: RandomBytes

  constructor (init: AssociationTableInit = {}) {
    this.#maxEntries = positiveInt(init.maxEntries ?? DEFAULT_MAX_ENTRIES, 'maxEntries')
    this.#maxAttempts = positiveInt(init.maxAttempts ?? DEFAULT_AID_ATTEMPTS, 'maxAttempts')
    this.#random = init.random ?? csprng
  }

  /** Number of live entries. */
  get size (): number {
    return this.#entries.size
  }

  /** Store `value` under a fresh AId and return the AId. */
  register (value: T): Uint8Array {
    if (this.#entries.size >= this.#maxEntries) {
      throw new AssociationTableFullError(`Association table is full (${this.#maxEntries} entries)`)
    }
    for (let i = 0; i < this.#maxAttempts; i++) {
      const aid = randomAid(this.#random)
      const key = aidToHex(aid)
      if (!this.#entries.has(key)) {
        this.#entries.set(key, value)
        return aid
      }
    }
    throw new AssociationTableFullError(`No free AId after ${this.#maxAttempts} draws`)
  }

  /** The value stored under `aid`, or undefined. Malformed AIds are simply not found. */
  lookup (aid: Uint8Array): T | undefined {
    return isAid(aid) ? this.#entries.get(aidToHex(aid)) : undefined
  }

  /** Remove `aid`; returns whether it was present. */
  release (aid: Uint8Array): boolean {
    return isAid(aid) ? this.#entries.delete(aidToHex(aid)) : false
  }

  /** Remove every entry. */
  clear (): void {
    this.#entries.clear()
  }
}

function positiveInt (value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new RangeError(`${name} must be a positive integer, got ${value}`)
  }
  return value
}
