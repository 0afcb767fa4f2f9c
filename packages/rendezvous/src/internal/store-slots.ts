/**
 * What a `RecordStore` holds, and the bookkeeping that keeps it consistent:
 * its slots (public names and private lookup keys) with their owners and
 * their bytes in the slab, the withdrawals it remembers, and what each
 * source address and prefix holds. The store's rules (what may be written)
 * are in store.ts; this file only keeps the tables in step.
 */
import { MAX_TTL_MS, SIGNATURE_BYTES } from '../constants.ts'
import { Slab } from './store-slab.ts'
import { SourceSlots } from './store-sources.ts'
import { certificateInfo, ownerKeyOf } from './store-record.ts'
import { hex, slotPath, withdrawalPath } from './store-keys.ts'
import { verifyRecord } from '../record.ts'
import { verifyPrivateEnvelope } from '../private/envelope.ts'
import type { Chunk, Placement } from './store-slab.ts'
import type { Holders } from './store-sources.ts'
import type { CertificateInfo } from './store-record.ts'
import type { Kind } from './store-keys.ts'
import type { ServiceRecord, SignedRecord } from '../record.ts'
import type { Source } from '@fara/transport'
import type { SignedRevocation } from '@fara/identity'
import type { Key } from 'interface-datastore'
import type { PublicKey } from '@libp2p/interface'

/** A remembered withdrawal (`kind/id/owner hex`): the tombstone's seq, and the source its slot counted toward. */
export class Withdrawal {
  readonly key: string
  readonly seq: number
  sources: Holders<Slot | Withdrawal> | undefined = undefined

  constructor (key: string, seq: number) {
    this.key = key
    this.seq = seq
  }
}

/** An owner key ({@link ownerKeyOf}) and what it holds: live public names (bounded per key) and slots of both kinds. */
export interface Owner { readonly key: string, names: number, readonly slots: Set<Slot> }

/**
 * One slot: a public name or a private lookup key, owned by one key, with
 * what the rules need; its signed bytes (record, then the 64-byte signature)
 * are in the slab. No parsed record, key or address object is kept: about
 * 200 bytes of heap per slot besides the bytes.
 */
export class Slot implements Placement {
  chunk: Chunk | undefined = undefined
  offset = 0
  length = 0
  readonly kind: Kind
  readonly id: string
  readonly owner: Owner
  readonly seq: number
  readonly expires: number
  /** Public slots: the fields of the record's certificate, if it carries one. */
  readonly cert: CertificateInfo | undefined
  /** Private slots: the record's period. */
  readonly period: number
  /** The source the slot counts toward (of the write that created it), if it was given. */
  sources: Holders<Slot | Withdrawal> | undefined = undefined

  constructor (kind: Kind, id: string, owner: Owner, seq: number, expires: number, cert: CertificateInfo | undefined, period: number) {
    this.kind = kind
    this.id = id
    this.owner = owner
    this.seq = seq
    this.expires = expires
    this.cert = cert
    this.period = period
  }
}

/** A record or tombstone that verified, reduced to what the store needs. */
export interface Verified {
  id: string
  owner: PublicKey
  seq: number
  expires: number
  signed: SignedRecord
  cert: CertificateInfo | undefined
  period: number
  /** The verified public record, returned by `put`. */
  record?: ServiceRecord
}

/**
 * Verify a record (or with `tombstone`, a tombstone) of `kind` at `now`,
 * against `revocations` for a public one, and reduce it to what the store keeps.
 */
export async function verifySigned (kind: Kind, signed: SignedRecord, now: number, tombstone: boolean, revocations: Iterable<SignedRevocation>): Promise<Verified> {
  if (kind === 'public') {
    const r = await verifyRecord(signed, { now, tombstone, revocations })
    const cert = r.certificate == null ? undefined : certificateInfo(r.certificate)
    return { id: r.name, owner: r.owner, seq: r.seq, expires: r.expires, signed: r.signed, cert, period: 0, record: r }
  }
  const e = await verifyPrivateEnvelope(signed, { now, tombstone })
  return { id: hex(e.lookupKey), owner: e.writerPublicKey, seq: e.seq, expires: e.expires, signed: e.signed, cert: undefined, period: e.period }
}

/** The slots, owners, withdrawals and source counts of one store, and the slab of their bytes. */
export class Slots {
  readonly #public = new Map<string, Slot>()
  readonly #private = new Map<string, Slot>()
  readonly #owners = new Map<string, Owner>()
  readonly slab = new Slab()
  /** Withdrawals (`kind/id/owner hex`) and the tombstone's seq: each refuses older records until seq + MAX_TTL_MS. */
  readonly withdrawn = new Map<string, Withdrawal>()
  /** Slots and withdrawals held per source address and prefix. */
  readonly sources = new SourceSlots<Slot | Withdrawal>()
  /** Delete a dead entry from the datastore in the background. */
  readonly #drop: (key: Key) => void

  constructor (drop: (key: Key) => void) {
    this.#drop = drop
  }

  /** Number of slots and withdrawals held (expired ones included until swept). */
  get size (): number {
    return this.#public.size + this.#private.size + this.withdrawn.size
  }

  /** Counts: public names, private records, withdrawals (expired ones included until swept). */
  counts (): { names: number, privateRecords: number, withdrawals: number } {
    return { names: this.#public.size, privateRecords: this.#private.size, withdrawals: this.withdrawn.size }
  }

  of (kind: Kind): Map<string, Slot> {
    return kind === 'public' ? this.#public : this.#private
  }

  /** The owner entry of an owner key, if it holds anything. */
  owner (key: string): Owner | undefined {
    return this.#owners.get(key)
  }

  /** Store a verified record in its slot, in place of what the slot held. */
  remember (kind: Kind, v: Verified, source?: Source): Slot {
    const key = ownerKeyOf(v.owner)
    let owner = this.#owners.get(key)
    if (owner == null) {
      owner = { key, names: 0, slots: new Set() }
      this.#owners.set(key, owner)
    }
    const slot = new Slot(kind, v.id, owner, v.seq, v.expires, v.cert, v.period)
    owner.slots.add(slot)
    if (kind === 'public') owner.names++
    this.slab.write(slot, v.signed.record, v.signed.signature)
    const slots = this.of(kind)
    const previous = slots.get(v.id)
    // a slot counts toward the source that created it until it expires or is withdrawn: a refresh from elsewhere moves nothing
    if (previous?.owner === owner && previous.sources != null) {
      this.sources.transfer(previous.sources, previous, slot)
      slot.sources = previous.sources
      previous.sources = undefined
    } else {
      slot.sources = this.sources.hold(source, slot)
    }
    if (previous != null) this.#release(previous)
    slots.set(v.id, slot)
    return slot
  }

  #release (slot: Slot): void {
    this.slab.free(slot)
    const owner = slot.owner
    owner.slots.delete(slot)
    if (slot.kind === 'public') owner.names--
    if (owner.slots.size === 0) this.#owners.delete(owner.key)
    this.sources.release(slot.sources, slot)
    slot.sources = undefined
  }

  /** Take a slot out (its bytes, its owner's and source's counts); the datastore is the caller's. */
  forget (kind: Kind, id: string): Slot | undefined {
    const slots = this.of(kind)
    const slot = slots.get(id)
    if (slot == null) return undefined
    slots.delete(id)
    this.#release(slot)
    return slot
  }

  /** Forget a slot that expired, and drop it from the datastore. */
  #expire (kind: Kind, id: string): void {
    this.forget(kind, id)
    this.#drop(slotPath(kind, id))
  }

  forgetWithdrawal (w: Withdrawal): void {
    this.withdrawn.delete(w.key)
    this.sources.release(w.sources, w)
    this.#drop(withdrawalPath(w.key))
  }

  /**
   * Replace the live slot `current` by the withdrawal `key` (a tombstone of
   * `seq`): the withdrawal takes the slot's place in its source's count, so
   * withdrawing makes no room for more.
   */
  withdraw (current: Slot, key: string, seq: number): void {
    const w = new Withdrawal(key, seq)
    if (current.sources != null) {
      this.sources.transfer(current.sources, current, w)
      w.sources = current.sources
      current.sources = undefined
    }
    this.forget(current.kind, current.id)
    const previous = this.withdrawn.get(key)
    if (previous != null) this.sources.release(previous.sources, previous)
    // any record of this key signed before the tombstone is dead by then (MAX_TTL_MS)
    this.withdrawn.set(key, w)
  }

  /**
   * Drop the expired slots and the withdrawals that can no longer matter
   * among those of one key or one source: what a write at that key's or
   * source's bound sweeps, at the cost of its own entries, not the store's.
   */
  sweepOf (members: Iterable<Slot | Withdrawal>, now: number): void {
    for (const m of [...members]) {
      if (m instanceof Slot) {
        if (m.expires <= now && this.of(m.kind).get(m.id) === m) this.#expire(m.kind, m.id)
      } else if (m.seq + MAX_TTL_MS <= now && this.withdrawn.get(m.key) === m) {
        this.forgetWithdrawal(m)
      }
    }
  }

  /** Drop every expired slot and every withdrawal that can no longer matter. */
  sweep (now: number): void {
    for (const kind of ['public', 'private'] as const) {
      for (const [id, slot] of this.of(kind)) {
        if (slot.expires <= now) this.#expire(kind, id)
      }
    }
    for (const w of this.withdrawn.values()) {
      if (w.seq + MAX_TTL_MS <= now) this.forgetWithdrawal(w)
    }
  }

  /** The slot `id` if it is live; an expired one is dropped on the way. */
  live (kind: Kind, id: string, now: number): Slot | undefined {
    const slot = this.of(kind).get(id)
    if (slot == null) return undefined
    if (slot.expires <= now) {
      this.#expire(kind, id)
      return undefined
    }
    return slot
  }

  /** A copy of a slot's signed bytes (the caller may keep or change it; the slab is not handed out). */
  signed (slot: Slot): SignedRecord {
    const bytes = this.slab.view(slot)
    const split = bytes.byteLength - SIGNATURE_BYTES
    return { record: bytes.slice(0, split), signature: bytes.slice(split) }
  }
}
