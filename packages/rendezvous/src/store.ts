import { Key } from 'interface-datastore'
import { DEFAULT_MAX_RECORDS, DEFAULT_MAX_RECORDS_PER_ADDRESS, DEFAULT_MAX_RECORDS_PER_KEY, DEFAULT_MAX_RECORDS_PER_PREFIX, MAX_CLOCK_SKEW_MS, MAX_TTL_MS, PRIVATE_PERIOD_MS, SIGNATURE_BYTES } from './constants.ts'
import { InvalidRecordError, NameNotFoundError, NameTakenError, StaleRecordError, StoreFullError, TooManyRegistrationsError } from './errors.ts'
import { decodeSignedRecord, encodeSignedRecord, verifyRecord } from './record.ts'
import { decodeSignedRevocation, encodeSignedRevocation, verifyRevocation, timeText } from '@fara/identity'
import { decodeSignedPrivateRecord, encodeSignedPrivateRecord, periodOf, verifyPrivateEnvelope } from './private/index.ts'
import { Slab } from './internal/store-slab.ts'
import { certificateInfo, checkServable, ownerKeyOf, storedRecord } from './internal/store-record.ts'
import { SourceSlots } from './internal/store-sources.ts'
import type { Holder, Holders } from './internal/store-sources.ts'
import type { ServiceRecord, SignedPrivateRecord, SignedRecord } from './record.ts'
import type { SignedRevocation } from '@fara/identity'
import type { AbortOptions, PublicKey } from '@libp2p/interface'
import type { Datastore } from 'interface-datastore'
import type { Source } from '@fara/transport'
import type { Chunk, Placement } from './internal/store-slab.ts'
import type { CertificateInfo } from './internal/store-record.ts'

/** Options for {@link RecordStore}. */
export interface RecordStoreInit {
  /** Most records (public and private, live and withdrawn) held (default {@link DEFAULT_MAX_RECORDS}). */
  maxRecords?: number
  /** Most live public names one key may hold (default {@link DEFAULT_MAX_RECORDS_PER_KEY}). */
  maxRecordsPerKey?: number
  /**
   * Most slots (public and private, live or remembered as withdrawn) that
   * writes from one source address may hold (default
   * {@link DEFAULT_MAX_RECORDS_PER_ADDRESS}); counted for writes that name
   * their source (the rendezvous point's).
   */
  maxRecordsPerAddress?: number
  /** Most slots that writes from one source prefix may hold (default {@link DEFAULT_MAX_RECORDS_PER_PREFIX}). */
  maxRecordsPerPrefix?: number
  /** Clock in ms since the epoch (default `Date.now`). */
  now?: () => number
  /**
   * Where records persist (any `interface-datastore`, e.g. datastore-level on
   * disk). Every accepted write reaches it before the request is answered, so a
   * restart loses no acknowledged registration. Default: memory only.
   */
  datastore?: Datastore
}

/** Options of a write: where it came from, for the per-source limits (spec/rendezvous.md#rate-limits). */
export interface WriteOptions extends AbortOptions {
  /** The writer's source address and prefix (`sourceOf(connection.remoteAddr)` of @fara/transport); none: not counted. */
  source?: Source
  /**
   * Abort the write: it rejects with the signal's reason and the store is
   * left as it was, until the write reaches the datastore; from there on it
   * completes (a half-applied write would be worse than a late one).
   */
  signal?: AbortSignal
}

type Kind = 'public' | 'private'

/** A remembered withdrawal (`kind/id/owner hex`): the tombstone's seq, and the source its slot counted toward. */
class Withdrawal {
  readonly key: string
  readonly seq: number
  sources: Holders<Slot | Withdrawal> | undefined = undefined

  constructor (key: string, seq: number) {
    this.key = key
    this.seq = seq
  }
}

/** An owner key ({@link ownerKeyOf}) and what it holds: live public names (bounded per key) and slots of both kinds. */
interface Owner { readonly key: string, names: number, readonly slots: Set<Slot> }

/**
 * One slot: a public name or a private lookup key, owned by one key, with
 * what the rules need; its signed bytes (record, then the 64-byte signature)
 * are in the store's slab. No parsed record, key or address object is kept:
 * about 200 bytes of heap per slot besides the bytes.
 */
class Slot implements Placement {
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
interface Verified {
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

/** A known revocation: its signed bytes, and the generation below which it revokes. */
interface KnownRevocation { readonly signed: SignedRevocation, readonly below: number }

const PREFIX = '/fara/rendezvous/v1'
const encode = (kind: Kind, signed: SignedRecord): Uint8Array => kind === 'private' ? encodeSignedPrivateRecord(signed) : encodeSignedRecord(signed)
const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex')
const slotPath = (kind: Kind, id: string): Key => new Key(`${PREFIX}/${kind}/slot/${id}`)
/**
 * Withdrawals are remembered per slot and owner (`kind/id/owner hex`), and so
 * stored (`.../withdrawn/<id>/<owner hex>`): another key taking the slot, or
 * withdrawing it in turn, must not make a key's withdrawn records valid again.
 */
const withdrawalKey = (kind: Kind, id: string, owner: PublicKey): string => `${kind}/${id}/${hex(owner.toMultihash().bytes)}`
const withdrawalPath = (key: string): Key => new Key(`${PREFIX}/${key.replace('/', '/withdrawn/')}`)
let slabOf: (store: RecordStore) => Slab
function * signedOf (revocations: Map<string, KnownRevocation>): Generator<SignedRevocation> {
  for (const r of revocations.values()) yield r.signed
}

/**
 * The rules every rendezvous backend applies, in one place: records are
 * verified on write (and on load); a read serves the verified bytes after
 * checking again what can have changed since (expiry, revocations, the
 * clock); a live slot (public name or private lookup key) belongs to the key
 * that registered it until it expires or is withdrawn; a record must be newer
 * than the one it replaces and than any withdrawal (no replays); expired
 * records are never served; sizes and counts are bounded.
 */
export class RecordStore {
  readonly #public = new Map<string, Slot>()
  readonly #private = new Map<string, Slot>()
  readonly #owners = new Map<string, Owner>()
  readonly #slab = new Slab()
  /** Withdrawals (`kind/id/owner hex`) and the tombstone's seq: each refuses older records until seq + MAX_TTL_MS. */
  readonly #withdrawn = new Map<string, Withdrawal>()
  /** Slots and withdrawals held per source address and prefix. */
  readonly #sources = new SourceSlots<Slot | Withdrawal>()
  /** The newest revocation per (device key, app), by `ownerKey/app`. */
  readonly #revocations = new Map<string, KnownRevocation>()
  readonly #maxRecords: number
  readonly #maxPerKey: number
  readonly #maxPerAddress: number
  readonly #maxPerPrefix: number
  readonly #now: () => number
  readonly #datastore: Datastore | undefined

  static {
    slabOf = (store) => store.#slab
  }

  constructor (init: RecordStoreInit = {}) {
    this.#maxRecords = init.maxRecords ?? DEFAULT_MAX_RECORDS
    this.#maxPerKey = init.maxRecordsPerKey ?? DEFAULT_MAX_RECORDS_PER_KEY
    this.#maxPerAddress = init.maxRecordsPerAddress ?? DEFAULT_MAX_RECORDS_PER_ADDRESS
    this.#maxPerPrefix = init.maxRecordsPerPrefix ?? DEFAULT_MAX_RECORDS_PER_PREFIX
    for (const [name, value] of [['maxRecords', this.#maxRecords], ['maxRecordsPerKey', this.#maxPerKey], ['maxRecordsPerAddress', this.#maxPerAddress], ['maxRecordsPerPrefix', this.#maxPerPrefix]] as const) {
      if (!Number.isInteger(value) || value < 1) throw new RangeError(`${name} must be a positive integer, got ${String(value)}`)
    }
    this.#now = init.now ?? Date.now
    this.#datastore = init.datastore
  }

  /** Its per-key and per-source caps: live names per owner key, slots per source address and per source prefix. */
  get limits (): { readonly key: number, readonly address: number, readonly prefix: number } {
    return { key: this.#maxPerKey, address: this.#maxPerAddress, prefix: this.#maxPerPrefix }
  }

  /** Number of slots and withdrawals held (expired ones included until swept). */
  get size (): number {
    return this.#public.size + this.#private.size + this.#withdrawn.size
  }

  /**
   * Load what the datastore holds, verifying every entry again: anything that
   * no longer verifies or has expired is dropped (and deleted).
   *
   * @param options - `signal` aborts the load: it rejects with the signal's
   * reason, and what this load had added to the store is taken out again.
   */
  async load (options: AbortOptions = {}): Promise<void> {
    options.signal?.throwIfAborted()
    if (this.#datastore == null) return
    const revocations = new Map(this.#revocations)
    const loaded: Array<Slot | Withdrawal> = []
    try {
      await this.#load(this.#datastore, loaded, options.signal)
    } catch (err) {
      if (options.signal?.aborted !== true) throw err
      for (const m of loaded) {
        if (m instanceof Slot) {
          if (this.#slots(m.kind).get(m.id) === m) this.#forget(m.kind, m.id)
        } else if (this.#withdrawn.get(m.key) === m) {
          this.#withdrawn.delete(m.key)
        }
      }
      this.#revocations.clear()
      for (const [id, r] of revocations) this.#revocations.set(id, r)
      throw options.signal.reason
    }
  }

  async #load (datastore: Datastore, loaded: Array<Slot | Withdrawal>, signal: AbortSignal | undefined): Promise<void> {
    const now = this.#now()
    const query = signal == null ? {} : { signal }
    // revocations first: they decide which certified records still load
    for await (const { key, value } of datastore.query({ prefix: `${PREFIX}/revocation/` }, query)) {
      signal?.throwIfAborted()
      try {
        await this.#addRevocation(decodeSignedRevocation(value), false)
      } catch {
        await datastore.delete(key)
      }
    }
    for await (const { key, value } of datastore.query({ prefix: PREFIX }, query)) {
      signal?.throwIfAborted()
      const [kind, what, id] = key.toString().slice(PREFIX.length + 1).split('/')
      if (kind === 'revocation') continue
      try {
        const decode = kind === 'private' ? decodeSignedPrivateRecord : decodeSignedRecord
        if (what === 'slot' && (kind === 'public' || kind === 'private')) {
          const v = await this.#verify(kind, decode(value), now)
          if (v.id !== id) throw new Error('slot id mismatch')
          this.#remember(kind, v)
          loaded.push(this.#slots(kind).get(v.id)!)
        } else if (what === 'withdrawn' && (kind === 'public' || kind === 'private') && id != null) {
          // a withdrawal only ever refuses records: one whose certificate was revoked since still counts
          const w = await this.#verify(kind, decode(value), now, true, [])
          if (w.id !== id) throw new Error('withdrawal id mismatch')
          const remembered = withdrawalKey(kind, id, w.owner)
          if (w.seq + MAX_TTL_MS > now) {
            const withdrawal = new Withdrawal(remembered, w.seq)
            this.#withdrawn.set(remembered, withdrawal)
            loaded.push(withdrawal)
          } else {
            await datastore.delete(key)
          }
        } else {
          throw new Error('unknown entry')
        }
      } catch {
        await datastore.delete(key)
      }
    }
    // an abort during the last entry's check still counts
    signal?.throwIfAborted()
  }

  async #verify (kind: Kind, signed: SignedRecord, now: number, tombstone = false, revocations: Iterable<SignedRevocation> = signedOf(this.#revocations)): Promise<Verified> {
    if (kind === 'public') {
      const r = await verifyRecord(signed, { now, tombstone, revocations })
      const cert = r.certificate == null ? undefined : certificateInfo(r.certificate)
      return { id: r.name, owner: r.owner, seq: r.seq, expires: r.expires, signed: r.signed, cert, period: 0, record: r }
    }
    const e = await verifyPrivateEnvelope(signed, { now, tombstone })
    return { id: hex(e.lookupKey), owner: e.writerPublicKey, seq: e.seq, expires: e.expires, signed: e.signed, cert: undefined, period: e.period }
  }

  #slots (kind: Kind): Map<string, Slot> {
    return kind === 'public' ? this.#public : this.#private
  }

  #remember (kind: Kind, v: Verified, source?: Source): void {
    const key = ownerKeyOf(v.owner)
    let owner = this.#owners.get(key)
    if (owner == null) {
      owner = { key, names: 0, slots: new Set() }
      this.#owners.set(key, owner)
    }
    const slot = new Slot(kind, v.id, owner, v.seq, v.expires, v.cert, v.period)
    owner.slots.add(slot)
    if (kind === 'public') owner.names++
    this.#slab.write(slot, v.signed.record, v.signed.signature)
    const slots = this.#slots(kind)
    const previous = slots.get(v.id)
    // a slot counts toward the source that created it until it expires or is withdrawn: a refresh from elsewhere moves nothing
    if (previous?.owner === owner && previous.sources != null) {
      this.#sources.transfer(previous.sources, previous, slot)
      slot.sources = previous.sources
      previous.sources = undefined
    } else {
      slot.sources = this.#sources.hold(source, slot)
    }
    if (previous != null) this.#release(previous)
    slots.set(v.id, slot)
  }

  #release (slot: Slot): void {
    this.#slab.free(slot)
    const owner = slot.owner
    owner.slots.delete(slot)
    if (slot.kind === 'public') owner.names--
    if (owner.slots.size === 0) this.#owners.delete(owner.key)
    this.#sources.release(slot.sources, slot)
    slot.sources = undefined
  }

  #forget (kind: Kind, id: string): Slot | undefined {
    const slots = this.#slots(kind)
    const slot = slots.get(id)
    if (slot == null) return undefined
    slots.delete(id)
    this.#release(slot)
    return slot
  }

  #forgetWithdrawal (w: Withdrawal): void {
    this.#withdrawn.delete(w.key)
    this.#sources.release(w.sources, w)
    this.#drop(withdrawalPath(w.key))
  }

  /**
   * Drop the expired slots and the withdrawals that can no longer matter
   * among those of one key or one source: what a write at that key's or
   * source's bound sweeps, at the cost of its own entries, not the store's.
   */
  #sweepOf (members: Iterable<Slot | Withdrawal>, now: number): void {
    for (const m of [...members]) {
      if (m instanceof Slot) {
        if (m.expires <= now && this.#slots(m.kind).get(m.id) === m) {
          this.#forget(m.kind, m.id)
          this.#drop(slotPath(m.kind, m.id))
        }
      } else if (m.seq + MAX_TTL_MS <= now && this.#withdrawn.get(m.key) === m) {
        this.#forgetWithdrawal(m)
      }
    }
  }

  #live (kind: Kind, id: string, now: number): Slot | undefined {
    const slot = this.#slots(kind).get(id)
    if (slot == null) return undefined
    if (slot.expires <= now) {
      this.#forget(kind, id)
      this.#drop(slotPath(kind, id))
      return undefined
    }
    return slot
  }

  /** A copy of a slot's signed bytes (the caller may keep or change it; the slab is not handed out). */
  #signed (slot: Slot): SignedRecord {
    const bytes = this.#slab.view(slot)
    const split = bytes.byteLength - SIGNATURE_BYTES
    return { record: bytes.slice(0, split), signature: bytes.slice(split) }
  }

  /** The generation below which the certificate of `slot` is revoked, if a revocation covers its device and app. */
  #revokedBelow (slot: Slot): number | undefined {
    return slot.cert == null ? undefined : this.#revocations.get(`${slot.owner.key}/${slot.cert.app}`)?.below
  }

  async #put (kind: Kind, signed: SignedRecord, options: WriteOptions): Promise<Verified> {
    options.signal?.throwIfAborted()
    const source = options.source
    const now = this.#now()
    const v = await this.#verify(kind, signed, now)
    options.signal?.throwIfAborted()
    const current = this.#live(kind, v.id, now)
    const owner = ownerKeyOf(v.owner)
    const withdrawn = this.#withdrawn.get(withdrawalKey(kind, v.id, v.owner))?.seq
    if (withdrawn != null && withdrawn + MAX_TTL_MS > now && v.seq <= withdrawn) {
      throw new StaleRecordError(`record seq ${v.seq} was withdrawn by a tombstone of seq ${withdrawn}`)
    }
    if (current != null) {
      if (current.owner.key !== owner) {
        throw new NameTakenError(`this ${kind === 'public' ? 'name' : 'slot'} is registered by another key until ${timeText(current.expires)}`)
      }
      if (v.seq <= current.seq) {
        throw new StaleRecordError(`record seq ${v.seq} is not newer than stored seq ${current.seq}`)
      }
    } else {
      if (this.size >= this.#maxRecords) {
        this.sweep()
        if (this.size >= this.#maxRecords) throw new StoreFullError(`store is full (${this.#maxRecords} records)`)
      }
      const held = (): number => this.#owners.get(owner)?.names ?? 0
      if (kind === 'public' && held() >= this.#maxPerKey) {
        // names of this key that expired but were not looked up since still count until swept
        this.#sweepOf(this.#owners.get(owner)?.slots ?? [], now)
        if (held() >= this.#maxPerKey) throw new TooManyRegistrationsError(`this key already holds ${this.#maxPerKey} names`, 'key')
      }
      if (source != null) this.#checkSource(source, now)
    }
    await this.#datastore?.put(slotPath(kind, v.id), encode(kind, v.signed))
    // a withdrawal is kept after the slot is registered again: it still refuses the older records once this one expires
    this.#remember(kind, v, source)
    return v
  }

  /** Refuse a new slot from a source address or prefix that holds its most (spec/rendezvous.md#rate-limits). */
  #checkSource (source: Source, now: number): void {
    const full = (h: Holder<Slot | Withdrawal> | undefined, max: number): boolean => {
      if (h == null || h.members.size < max) return false
      // its own expired slots and forgotten withdrawals no longer count
      this.#sweepOf(h.members, now)
      return h.members.size >= max
    }
    const held = this.#sources.of(source)
    const limit = full(held.address, this.#maxPerAddress) ? 'address' : full(held.prefix, this.#maxPerPrefix) ? 'prefix' : undefined
    if (limit === 'address') throw new TooManyRegistrationsError(`registrations from ${source.address} already hold ${this.#maxPerAddress} records here`, 'address')
    if (limit === 'prefix') throw new TooManyRegistrationsError(`registrations from ${source.prefix} already hold ${this.#maxPerPrefix} records here`, 'prefix')
  }

  async #remove (kind: Kind, tombstone: SignedRecord, options: AbortOptions): Promise<void> {
    options.signal?.throwIfAborted()
    const now = this.#now()
    const t = await this.#verify(kind, tombstone, now, true)
    options.signal?.throwIfAborted()
    const current = this.#live(kind, t.id, now)
    if (current == null) throw new NameNotFoundError(kind === 'public' ? `no record for ${JSON.stringify(t.id)}` : 'no record for this lookup key')
    if (current.owner.key !== ownerKeyOf(t.owner)) throw new NameTakenError('registered by another key')
    if (t.seq <= current.seq) throw new StaleRecordError(`tombstone seq ${t.seq} is not newer than stored seq ${current.seq}`)
    // remember the withdrawal first: a crash in between must not let the old record come back
    const withdrawal = withdrawalKey(kind, t.id, t.owner)
    await this.#datastore?.put(withdrawalPath(withdrawal), encode(kind, t.signed))
    await this.#datastore?.delete(slotPath(kind, t.id))
    // the withdrawal takes the slot's place in its source's count: withdrawing makes no room for more
    const w = new Withdrawal(withdrawal, t.seq)
    if (current.sources != null) {
      this.#sources.transfer(current.sources, current, w)
      w.sources = current.sources
      current.sources = undefined
    }
    this.#forget(kind, t.id)
    const previous = this.#withdrawn.get(withdrawal)
    if (previous != null) this.#sources.release(previous.sources, previous)
    // any record of this key signed before the tombstone is dead by then (MAX_TTL_MS)
    this.#withdrawn.set(withdrawal, w)
  }

  async #addRevocation (signed: SignedRevocation, persist: boolean, signal?: AbortSignal): Promise<void> {
    const r = await verifyRevocation(signed)
    signal?.throwIfAborted()
    const id = `${ownerKeyOf(r.devicePublicKey)}/${r.app}`
    const current = this.#revocations.get(id)
    if (current != null && current.below >= r.belowGeneration) return
    if (persist) await this.#datastore?.put(new Key(`${PREFIX}/revocation/${hex(r.devicePublicKey.toMultihash().bytes)}/${r.app}`), encodeSignedRevocation(signed))
    this.#revocations.set(id, { signed, below: r.belowGeneration })
  }

  /**
   * Apply a device key's revocation: certificates it covers are refused from
   * now on, and live records that carry one are dropped.
   *
   * @param options - `signal` aborts the revocation until it reaches the
   * datastore, as for {@link WriteOptions.signal}.
   */
  async revoke (signed: SignedRevocation, options: AbortOptions = {}): Promise<void> {
    options.signal?.throwIfAborted()
    try {
      await this.#addRevocation(signed, true, options.signal)
    } catch (err) {
      // a revocation that does not verify is refused like any bad record, with a wire code
      if ((err as Error).name === 'InvalidRevocationError') throw new InvalidRecordError((err as Error).message)
      throw err
    }
    const revoked: string[] = []
    for (const [name, slot] of this.#public) {
      const below = this.#revokedBelow(slot)
      if (below != null && slot.cert!.generation < below) revoked.push(name)
    }
    for (const name of revoked) this.#forget('public', name)
    for (const name of revoked) await this.#datastore?.delete(slotPath('public', name))
  }

  /** Verify and store a public record; `source` counts it toward its writer's address and prefix. */
  async put (signed: SignedRecord, options: WriteOptions = {}): Promise<ServiceRecord> {
    const v = await this.#put('public', signed, options)
    return v.record!
  }

  /**
   * The live record for `name`; {@link NameNotFoundError} if none. Its bytes
   * were verified when stored: a read checks again what can have changed
   * since (expiry, a revocation of its certificate, the certificate's
   * validity, the clock), with the errors of `verifyRecord`. The key,
   * PeerId and address objects are built on first access.
   */
  async get (name: string): Promise<ServiceRecord> {
    const now = this.#now()
    const slot = this.#live('public', name, now)
    if (slot == null) throw new NameNotFoundError(`no record for ${JSON.stringify(name)}`)
    checkServable(slot.seq, slot.cert, this.#revokedBelow(slot), now)
    return storedRecord(this.#signed(slot), slot.cert, slot.owner.key)
  }

  /**
   * Withdraw a name with a tombstone signed by the key that holds it.
   *
   * @param options - `signal` aborts the withdrawal until it reaches the
   * datastore, as for {@link WriteOptions.signal}.
   */
  async remove (tombstone: SignedRecord, options: AbortOptions = {}): Promise<void> {
    await this.#remove('public', tombstone, options)
  }

  /** Verify (writer signature, bounds, expiry) and store a private record; `source` as for {@link put}. */
  async putPrivate (signed: SignedPrivateRecord, options: WriteOptions = {}): Promise<void> {
    await this.#put('private', signed, options)
  }

  /**
   * The live private record under a 32-byte lookup key; {@link NameNotFoundError}
   * if none. Verified when stored; a read checks expiry and the clock again.
   */
  async getPrivate (lookupKey: Uint8Array): Promise<SignedPrivateRecord> {
    const now = this.#now()
    const slot = this.#live('private', hex(lookupKey), now)
    if (slot == null) throw new NameNotFoundError('no record for this lookup key')
    // the clock may have gone back since the record was verified (verifyPrivateEnvelope's time rules)
    if (slot.seq > now + MAX_CLOCK_SKEW_MS) throw new InvalidRecordError('private record seq is too far in the future')
    if (slot.period > periodOf(Math.max(0, Math.floor(now + MAX_CLOCK_SKEW_MS)), PRIVATE_PERIOD_MS) + 1) {
      throw new InvalidRecordError(`period ${slot.period} is too far in the future`)
    }
    return this.#signed(slot)
  }

  /**
   * Withdraw a private record with a private tombstone signed by its writer key.
   *
   * @param options - `signal` as for {@link RecordStore.remove}.
   */
  async removePrivate (tombstone: SignedPrivateRecord, options: AbortOptions = {}): Promise<void> {
    await this.#remove('private', tombstone, options)
  }

  /** Delete a dead entry from the datastore in the background; a failure only leaves it for the next load to drop. */
  #drop (key: Key): void {
    if (this.#datastore == null) return
    Promise.resolve(this.#datastore.delete(key)).catch(() => {})
  }

  /** Drop every expired record and every withdrawal that can no longer matter. */
  sweep (): void {
    const now = this.#now()
    for (const kind of ['public', 'private'] as const) {
      for (const [id, slot] of this.#slots(kind)) {
        if (slot.expires <= now) {
          this.#forget(kind, id)
          this.#drop(slotPath(kind, id))
        }
      }
    }
    for (const w of this.#withdrawn.values()) {
      if (w.seq + MAX_TTL_MS <= now) this.#forgetWithdrawal(w)
    }
  }
}

/** The slab holding a store's signed bytes, for the tests of its memory bound (not exported by the package). */
export function storeSlab (store: RecordStore): Slab {
  return slabOf(store)
}
