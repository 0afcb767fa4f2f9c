import { encodeSignedRevocation, verifyRevocation, timeText, InvalidRevocationError } from '@fara/identity'
import { DEFAULT_MAX_RECORDS, DEFAULT_MAX_RECORDS_PER_ADDRESS, DEFAULT_MAX_RECORDS_PER_KEY, DEFAULT_MAX_RECORDS_PER_PREFIX, MAX_CLOCK_SKEW_MS, MAX_TTL_MS, PRIVATE_PERIOD_MS } from './constants.ts'
import { InvalidRecordError, NameNotFoundError, NameTakenError, StaleRecordError, StoreFullError, TooManyRegistrationsError } from './errors.ts'
import { periodOf } from './private/keys.ts'
import { checkServable, ownerKeyOf, storedRecord } from './internal/store-record.ts'
import { encodeSigned, hex, revocationPath, slotPath, withdrawalKey, withdrawalPath } from './internal/store-keys.ts'
import { loadEntries } from './internal/store-load.ts'
import { Slot, Slots, verifySigned } from './internal/store-slots.ts'
import type { Kind } from './internal/store-keys.ts'
import type { Verified, Withdrawal } from './internal/store-slots.ts'
import type { Holder } from './internal/store-sources.ts'
import type { ServiceRecord, SignedPrivateRecord, SignedRecord } from './record.ts'
import type { SignedRevocation } from '@fara/identity'
import type { AbortOptions } from '@libp2p/interface'
import type { Datastore, Key } from 'interface-datastore'
import type { Source } from '@fara/transport'

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

/** A known revocation: its signed bytes, and the generation below which it revokes. */
interface KnownRevocation { readonly signed: SignedRevocation, readonly below: number }

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
  readonly #slots: Slots
  /** The newest revocation per (device key, app), by `ownerKey/app`. */
  readonly #revocations = new Map<string, KnownRevocation>()
  readonly #maxRecords: number
  readonly #maxPerKey: number
  readonly #maxPerAddress: number
  readonly #maxPerPrefix: number
  readonly #now: () => number
  readonly #datastore: Datastore | undefined

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
    this.#slots = new Slots((key) => { this.#drop(key) })
  }

  /** Its per-key and per-source caps: live names per owner key, slots per source address and per source prefix. */
  get limits (): { readonly key: number, readonly address: number, readonly prefix: number } {
    return { key: this.#maxPerKey, address: this.#maxPerAddress, prefix: this.#maxPerPrefix }
  }

  /** Number of slots and withdrawals held (expired ones included until swept). */
  get size (): number {
    return this.#slots.size
  }

  /**
   * What the store holds now, read-only: for monitoring (and the tests of its
   * memory bound). Expired entries count until they are swept.
   */
  get stats (): {
    /** Public names held. */
    readonly names: number
    /** Private records held (sealed records under lookup keys). */
    readonly privateRecords: number
    /** Withdrawals remembered (each refuses older records until {@link MAX_TTL_MS} after its tombstone). */
    readonly withdrawals: number
    /** Bytes of the signed records held: each record's bytes and its 64-byte signature. */
    readonly bytes: number
    /** Bytes allocated to hold them: at most twice `bytes`, plus one chunk of up to 1 MiB. */
    readonly capacity: number
  } {
    return { ...this.#slots.counts(), bytes: this.#slots.slab.live, capacity: this.#slots.slab.capacity }
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
      await loadEntries(this.#datastore, {
        slots: this.#slots,
        now: this.#now(),
        addRevocation: async (signed) => { await this.#addRevocation(signed, false) },
        revocations: () => signedOf(this.#revocations)
      }, loaded, options.signal)
    } catch (err) {
      if (options.signal?.aborted !== true) throw err
      for (const m of loaded) {
        if (m instanceof Slot) {
          if (this.#slots.of(m.kind).get(m.id) === m) this.#slots.forget(m.kind, m.id)
        } else if (this.#slots.withdrawn.get(m.key) === m) {
          this.#slots.withdrawn.delete(m.key)
        }
      }
      this.#revocations.clear()
      for (const [id, r] of revocations) this.#revocations.set(id, r)
      throw options.signal.reason
    }
  }

  async #verify (kind: Kind, signed: SignedRecord, now: number, tombstone = false): Promise<Verified> {
    return verifySigned(kind, signed, now, tombstone, signedOf(this.#revocations))
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
    const current = this.#slots.live(kind, v.id, now)
    const owner = ownerKeyOf(v.owner)
    const withdrawn = this.#slots.withdrawn.get(withdrawalKey(kind, v.id, v.owner))?.seq
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
      const held = (): number => this.#slots.owner(owner)?.names ?? 0
      if (kind === 'public' && held() >= this.#maxPerKey) {
        // names of this key that expired but were not looked up since still count until swept
        this.#slots.sweepOf(this.#slots.owner(owner)?.slots ?? [], now)
        if (held() >= this.#maxPerKey) throw new TooManyRegistrationsError(`this key already holds ${this.#maxPerKey} names`, 'key')
      }
      if (source != null) this.#checkSource(source, now)
    }
    await this.#datastore?.put(slotPath(kind, v.id), encodeSigned(kind, v.signed))
    // a withdrawal is kept after the slot is registered again: it still refuses the older records once this one expires
    this.#slots.remember(kind, v, source)
    return v
  }

  /** Refuse a new slot from a source address or prefix that holds its most (spec/rendezvous.md#rate-limits). */
  #checkSource (source: Source, now: number): void {
    const full = (h: Holder<Slot | Withdrawal> | undefined, max: number): boolean => {
      if (h == null || h.members.size < max) return false
      // its own expired slots and forgotten withdrawals no longer count
      this.#slots.sweepOf(h.members, now)
      return h.members.size >= max
    }
    const held = this.#slots.sources.of(source)
    const limit = full(held.address, this.#maxPerAddress) ? 'address' : full(held.prefix, this.#maxPerPrefix) ? 'prefix' : undefined
    if (limit === 'address') throw new TooManyRegistrationsError(`registrations from ${source.address} already hold ${this.#maxPerAddress} records here`, 'address')
    if (limit === 'prefix') throw new TooManyRegistrationsError(`registrations from ${source.prefix} already hold ${this.#maxPerPrefix} records here`, 'prefix')
  }

  async #remove (kind: Kind, tombstone: SignedRecord, options: AbortOptions): Promise<void> {
    options.signal?.throwIfAborted()
    const now = this.#now()
    const t = await this.#verify(kind, tombstone, now, true)
    options.signal?.throwIfAborted()
    const current = this.#slots.live(kind, t.id, now)
    if (current == null) throw new NameNotFoundError(kind === 'public' ? `no record for ${JSON.stringify(t.id)}` : 'no record for this lookup key')
    if (current.owner.key !== ownerKeyOf(t.owner)) throw new NameTakenError('registered by another key')
    if (t.seq <= current.seq) throw new StaleRecordError(`tombstone seq ${t.seq} is not newer than stored seq ${current.seq}`)
    // remember the withdrawal first: a crash in between must not let the old record come back
    const withdrawal = withdrawalKey(kind, t.id, t.owner)
    await this.#datastore?.put(withdrawalPath(withdrawal), encodeSigned(kind, t.signed))
    await this.#datastore?.delete(slotPath(kind, t.id))
    this.#slots.withdraw(current, withdrawal, t.seq)
  }

  async #addRevocation (signed: SignedRevocation, persist: boolean, signal?: AbortSignal): Promise<void> {
    const r = await verifyRevocation(signed)
    signal?.throwIfAborted()
    const id = `${ownerKeyOf(r.devicePublicKey)}/${r.app}`
    const current = this.#revocations.get(id)
    if (current != null && current.below >= r.belowGeneration) return
    if (persist) await this.#datastore?.put(revocationPath(r.devicePublicKey, r.app), encodeSignedRevocation(signed))
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
      if ((err as Error)?.name === InvalidRevocationError.name) throw new InvalidRecordError((err as Error).message)
      throw err
    }
    const revoked: string[] = []
    for (const [name, slot] of this.#slots.of('public')) {
      const below = this.#revokedBelow(slot)
      if (below != null && slot.cert!.generation < below) revoked.push(name)
    }
    for (const name of revoked) this.#slots.forget('public', name)
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
    const slot = this.#slots.live('public', name, now)
    if (slot == null) throw new NameNotFoundError(`no record for ${JSON.stringify(name)}`)
    checkServable(slot.seq, slot.cert, this.#revokedBelow(slot), now)
    return storedRecord(this.#slots.signed(slot), slot.cert, slot.owner.key)
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
    const slot = this.#slots.live('private', hex(lookupKey), now)
    if (slot == null) throw new NameNotFoundError('no record for this lookup key')
    // the clock may have gone back since the record was verified (verifyPrivateEnvelope's time rules)
    if (slot.seq > now + MAX_CLOCK_SKEW_MS) throw new InvalidRecordError('private record seq is too far in the future')
    if (slot.period > periodOf(Math.max(0, Math.floor(now + MAX_CLOCK_SKEW_MS)), PRIVATE_PERIOD_MS) + 1) {
      throw new InvalidRecordError(`period ${slot.period} is too far in the future`)
    }
    return this.#slots.signed(slot)
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
    this.#slots.sweep(this.#now())
  }
}
