import type { Source } from '@fara/transport'

/** A source address or prefix and the slots (live and withdrawn) it holds. */
interface Holder { readonly key: string, slots: number }

/** The address and prefix a slot counts toward: those of the write that created it. */
export interface Holders { readonly address: Holder, readonly prefix: Holder }

/**
 * How many slots the writes from each source address and prefix hold
 * (spec/rendezvous.md#rate-limits). An entry is deleted when it reaches 0, so
 * the table is bounded by the store's slots.
 */
export class SourceSlots {
  readonly #holders = new Map<string, Holder>()

  /** Count one more slot toward `source`'s address and prefix; what to release it with. */
  hold (source: Source | undefined): Holders | undefined {
    if (source == null) return undefined
    return { address: this.#holder(`a ${source.address}`), prefix: this.#holder(`p ${source.prefix}`) }
  }

  /** Count one slot less toward what {@link hold} returned. */
  release (holders: Holders | undefined): void {
    if (holders == null) return
    for (const h of [holders.address, holders.prefix]) {
      if (--h.slots <= 0) this.#holders.delete(h.key)
    }
  }

  /** Slots held by writes from `source`'s address and from its prefix. */
  held (source: Source): { address: number, prefix: number } {
    return { address: this.#holders.get(`a ${source.address}`)?.slots ?? 0, prefix: this.#holders.get(`p ${source.prefix}`)?.slots ?? 0 }
  }

  #holder (key: string): Holder {
    let h = this.#holders.get(key)
    if (h == null) {
      h = { key, slots: 0 }
      this.#holders.set(key, h)
    }
    h.slots++
    return h
  }
}
