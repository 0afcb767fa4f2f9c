import type { Source } from '@fara/transport'

/** A source address or prefix and what it holds (slots and withdrawals). */
export interface Holder<M> { readonly key: string, readonly members: Set<M> }

/** The address and prefix something counts toward: those of the write that created it. */
export interface Holders<M> { readonly address: Holder<M>, readonly prefix: Holder<M> }

/**
 * What the writes from each source address and prefix hold in a store
 * (spec/rendezvous.md#rate-limits): its slots and withdrawals, so that a
 * full source can drop its own expired ones without a sweep of the whole
 * store. An entry is deleted when it holds nothing, so the table is bounded
 * by the store's slots.
 */
export class SourceSlots<M> {
  readonly #holders = new Map<string, Holder<M>>()

  /** Count `member` toward `source`'s address and prefix; what to release or transfer it with. */
  hold (source: Source | undefined, member: M): Holders<M> | undefined {
    if (source == null) return undefined
    return { address: this.#holder(`a ${source.address}`, member), prefix: this.#holder(`p ${source.prefix}`, member) }
  }

  /** `to` takes the place of `from` in the holders' counts (a refreshed slot; a withdrawal of a slot). */
  transfer (holders: Holders<M>, from: M, to: M): void {
    for (const h of [holders.address, holders.prefix]) {
      h.members.delete(from)
      h.members.add(to)
    }
  }

  /** `member` no longer counts. */
  release (holders: Holders<M> | undefined, member: M): void {
    if (holders == null) return
    for (const h of [holders.address, holders.prefix]) {
      h.members.delete(member)
      if (h.members.size === 0) this.#holders.delete(h.key)
    }
  }

  /** What the writes from `source`'s address, and from its prefix, hold. */
  of (source: Source): { address: Holder<M> | undefined, prefix: Holder<M> | undefined } {
    return { address: this.#holders.get(`a ${source.address}`), prefix: this.#holders.get(`p ${source.prefix}`) }
  }

  #holder (key: string, member: M): Holder<M> {
    let h = this.#holders.get(key)
    if (h == null) {
      h = { key, members: new Set() }
      this.#holders.set(key, h)
    }
    h.members.add(member)
    return h
  }
}
