import { Key } from 'interface-datastore'
import { DEFAULT_MAX_RECORDS, DEFAULT_MAX_RECORDS_PER_KEY, MAX_TTL_MS } from './constants.ts'
import { InvalidRecordError, NameNotFoundError, NameTakenError, StaleRecordError, StoreFullError, TooManyRegistrationsError } from './errors.ts'
import { decodeSignedRecord, encodeSignedRecord, verifyRecord } from './record.ts'
import { decodeSignedRevocation, encodeSignedRevocation, verifyRevocation, timeText } from '@fara/identity'
import { decodeSignedPrivateRecord, encodeSignedPrivateRecord, verifyPrivateEnvelope } from './private/index.ts'
import type { ServiceRecord, SignedPrivateRecord, SignedRecord } from './record.ts'
import type { SignedRevocation } from '@fara/identity'
import type { PublicKey } from '@libp2p/interface'
import type { Datastore } from 'interface-datastore'

/** Options for {@link RecordStore}. */
export interface RecordStoreInit {
  /** Most records (public and private, live and withdrawn) held (default {@link DEFAULT_MAX_RECORDS}). */
  maxRecords?: number
  /** Most live public names one key may hold (default {@link DEFAULT_MAX_RECORDS_PER_KEY}). */
  maxRecordsPerKey?: number
  /** Clock in ms since the epoch (default `Date.now`). */
  now?: () => number
  /**
   * Where records persist (any `interface-datastore`, e.g. datastore-level on
   * disk). Every accepted write reaches it before the request is answered, so a
   * restart loses no acknowledged registration. Default: memory only.
   */
  datastore?: Datastore
}

type Kind = 'public' | 'private'

/** One slot: a public name or a private lookup key, owned by one key. */
interface Slot {
  kind: Kind
  id: string
  owner: PublicKey
  seq: number
  expires: number
  signed: SignedRecord | SignedPrivateRecord
  /** The verified public record (public slots only), kept so a put need not verify twice. */
  record?: ServiceRecord
}

/** A withdrawal, remembered until every record signed before it has expired. */
interface Withdrawal { owner: PublicKey, seq: number, until: number }

const PREFIX = '/fara/rendezvous/v1'
const encode = (kind: Kind, signed: SignedRecord): Uint8Array => kind === 'private' ? encodeSignedPrivateRecord(signed) : encodeSignedRecord(signed)
const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex')
/**
 * Withdrawals are remembered per slot and owner (`kind/id/owner hex`), and so
 * stored (`.../withdrawn/<id>/<owner hex>`): another key taking the slot, or
 * withdrawing it in turn, must not make a key's withdrawn records valid again.
 */
const withdrawalKey = (kind: Kind, id: string, owner: PublicKey): string => `${kind}/${id}/${hex(owner.toMultihash().bytes)}`
const withdrawalPath = (key: string): Key => new Key(`${PREFIX}/${key.replace('/', '/withdrawn/')}`)

/**
 * The rules every rendezvous backend applies, in one place: records are
 * verified on write and on read; a live slot (public name or private lookup
 * key) belongs to the key that registered it until it expires or is withdrawn;
 * a record must be newer than the one it replaces and than any withdrawal (no
 * replays); expired records are never served; sizes and counts are bounded.
 */
export class RecordStore {
  readonly #slots = new Map<string, Slot>()
  readonly #withdrawn = new Map<string, Withdrawal>()
  readonly #perKey = new Map<string, number>()
  /** The newest revocation per (device key, app). */
  readonly #revocations = new Map<string, SignedRevocation>()
  readonly #maxRecords: number
  readonly #maxPerKey: number
  readonly #now: () => number
  readonly #datastore: Datastore | undefined

  constructor (init: RecordStoreInit = {}) {
    this.#maxRecords = init.maxRecords ?? DEFAULT_MAX_RECORDS
    this.#maxPerKey = init.maxRecordsPerKey ?? DEFAULT_MAX_RECORDS_PER_KEY
    this.#now = init.now ?? Date.now
    this.#datastore = init.datastore
  }

  /** Number of slots and withdrawals held (expired ones included until swept). */
  get size (): number {
    return this.#slots.size + this.#withdrawn.size
  }

  /**
   * Load what the datastore holds, verifying every entry again: anything that
   * no longer verifies or has expired is dropped (and deleted).
   */
  async load (): Promise<void> {
    if (this.#datastore == null) return
    const now = this.#now()
    // revocations first: they decide which certified records still load
    for await (const { key, value } of this.#datastore.query({ prefix: `${PREFIX}/revocation/` })) {
      try {
        await this.#addRevocation(decodeSignedRevocation(value), false)
      } catch {
        await this.#datastore.delete(key)
      }
    }
    for await (const { key, value } of this.#datastore.query({ prefix: PREFIX })) {
      const [kind, what, id] = key.toString().slice(PREFIX.length + 1).split('/')
      if (kind === 'revocation') continue
      try {
        const decode = kind === 'private' ? decodeSignedPrivateRecord : decodeSignedRecord
        if (what === 'slot' && (kind === 'public' || kind === 'private')) {
          const slot = await this.#verify(kind, decode(value), now)
          if (slot.id !== id) throw new Error('slot id mismatch')
          this.#remember(slot)
        } else if (what === 'withdrawn' && (kind === 'public' || kind === 'private') && id != null) {
          // a withdrawal only ever refuses records: one whose certificate was revoked since still counts
          const w = await this.#verify(kind, decode(value), now, true, [])
          if (w.id !== id) throw new Error('withdrawal id mismatch')
          if (w.seq + MAX_TTL_MS > now) this.#withdrawn.set(withdrawalKey(kind, id, w.owner), { owner: w.owner, seq: w.seq, until: w.seq + MAX_TTL_MS })
          else await this.#datastore.delete(key)
        } else {
          throw new Error('unknown entry')
        }
      } catch {
        await this.#datastore.delete(key)
      }
    }
  }

  async #verify (kind: Kind, signed: SignedRecord, now: number, tombstone = false, revocations: Iterable<SignedRevocation> = this.#revocations.values()): Promise<Slot> {
    if (kind === 'public') {
      const r = await verifyRecord(signed, { now, tombstone, revocations })
      return { kind, id: r.name, owner: r.owner, seq: r.seq, expires: r.expires, signed: r.signed, record: r }
    }
    const e = await verifyPrivateEnvelope(signed, { now, tombstone })
    return { kind, id: hex(e.lookupKey), owner: e.writerPublicKey, seq: e.seq, expires: e.expires, signed: e.signed }
  }

  #remember (slot: Slot): void {
    const key = `${slot.kind}/${slot.id}`
    const previous = this.#slots.get(key)
    if (previous != null) this.#count(previous, -1)
    this.#slots.set(key, slot)
    this.#count(slot, +1)
  }

  #forget (key: string): void {
    const slot = this.#slots.get(key)
    if (slot == null) return
    this.#slots.delete(key)
    this.#count(slot, -1)
  }

  #count (slot: Slot, delta: number): void {
    if (slot.kind !== 'public') return
    const owner = hex(slot.owner.toMultihash().bytes)
    const n = (this.#perKey.get(owner) ?? 0) + delta
    if (n <= 0) this.#perKey.delete(owner)
    else this.#perKey.set(owner, n)
  }

  #live (kind: Kind, id: string, now: number): Slot | undefined {
    const key = `${kind}/${id}`
    const slot = this.#slots.get(key)
    if (slot == null) return undefined
    if (slot.expires <= now) {
      this.#forget(key)
      this.#drop(new Key(`${PREFIX}/${key.replace('/', '/slot/')}`))
      return undefined
    }
    return slot
  }

  async #put (kind: Kind, signed: SignedRecord): Promise<Slot> {
    const now = this.#now()
    const slot = await this.#verify(kind, signed, now)
    const current = this.#live(kind, slot.id, now)
    const withdrawn = this.#withdrawn.get(withdrawalKey(kind, slot.id, slot.owner))
    if (withdrawn != null && withdrawn.until > now && slot.seq <= withdrawn.seq) {
      throw new StaleRecordError(`record seq ${slot.seq} was withdrawn by a tombstone of seq ${withdrawn.seq}`)
    }
    if (current != null) {
      if (!current.owner.equals(slot.owner)) {
        throw new NameTakenError(`this ${kind === 'public' ? 'name' : 'slot'} is registered by another key until ${timeText(current.expires)}`)
      }
      if (slot.seq <= current.seq) {
        throw new StaleRecordError(`record seq ${slot.seq} is not newer than stored seq ${current.seq}`)
      }
    } else {
      if (this.size >= this.#maxRecords) {
        this.sweep()
        if (this.size >= this.#maxRecords) throw new StoreFullError(`store is full (${this.#maxRecords} records)`)
      }
      const held = (): number => this.#perKey.get(hex(slot.owner.toMultihash().bytes)) ?? 0
      if (kind === 'public' && held() >= this.#maxPerKey) {
        // names of this key that expired but were not looked up since still count until swept
        this.sweep()
        if (held() >= this.#maxPerKey) throw new TooManyRegistrationsError(`this key already holds ${this.#maxPerKey} names`)
      }
    }
    await this.#datastore?.put(new Key(`${PREFIX}/${kind}/slot/${slot.id}`), encode(kind, slot.signed))
    // a withdrawal is kept after the slot is registered again: it still refuses the older records once this one expires
    this.#remember(slot)
    return slot
  }

  async #remove (kind: Kind, tombstone: SignedRecord): Promise<void> {
    const now = this.#now()
    const t = await this.#verify(kind, tombstone, now, true)
    const current = this.#live(kind, t.id, now)
    if (current == null) throw new NameNotFoundError(kind === 'public' ? `no record for ${JSON.stringify(t.id)}` : 'no record for this lookup key')
    if (!current.owner.equals(t.owner)) throw new NameTakenError('registered by another key')
    if (t.seq <= current.seq) throw new StaleRecordError(`tombstone seq ${t.seq} is not newer than stored seq ${current.seq}`)
    // remember the withdrawal first: a crash in between must not let the old record come back
    const withdrawal = withdrawalKey(kind, t.id, t.owner)
    await this.#datastore?.put(withdrawalPath(withdrawal), encode(kind, t.signed))
    await this.#datastore?.delete(new Key(`${PREFIX}/${kind}/slot/${t.id}`))
    this.#forget(`${kind}/${t.id}`)
    // any record of this key signed before the tombstone is dead by then (MAX_TTL_MS)
    this.#withdrawn.set(withdrawal, { owner: t.owner, seq: t.seq, until: t.seq + MAX_TTL_MS })
  }

  async #addRevocation (signed: SignedRevocation, persist: boolean): Promise<void> {
    const r = await verifyRevocation(signed)
    const id = `${hex(r.devicePublicKey.toMultihash().bytes)}/${r.app}`
    const current = this.#revocations.get(id)
    if (current != null && (await verifyRevocation(current)).belowGeneration >= r.belowGeneration) return
    if (persist) await this.#datastore?.put(new Key(`${PREFIX}/revocation/${id}`), encodeSignedRevocation(signed))
    this.#revocations.set(id, signed)
  }

  /**
   * Apply a device key's revocation: certificates it covers are refused from
   * now on, and live records that carry one are dropped.
   */
  async revoke (signed: SignedRevocation): Promise<void> {
    try {
      await this.#addRevocation(signed, true)
    } catch (err) {
      // a revocation that does not verify is refused like any bad record, with a wire code
      if ((err as Error).name === 'InvalidRevocationError') throw new InvalidRecordError((err as Error).message)
      throw err
    }
    const now = this.#now()
    for (const [key, slot] of [...this.#slots]) {
      if (slot.kind !== 'public') continue
      try {
        await verifyRecord(slot.signed, { now, revocations: this.#revocations.values() })
      } catch (err) {
        if ((err as Error).name !== 'RevokedError') continue
        this.#forget(key)
        await this.#datastore?.delete(new Key(`${PREFIX}/public/slot/${slot.id}`))
      }
    }
  }

  /** Verify and store a public record. */
  async put (signed: SignedRecord): Promise<ServiceRecord> {
    const slot = await this.#put('public', signed)
    return slot.record!
  }

  /** The live, verified record for `name`; {@link NameNotFoundError} if none. */
  async get (name: string): Promise<ServiceRecord> {
    const now = this.#now()
    const slot = this.#live('public', name, now)
    if (slot == null) throw new NameNotFoundError(`no record for ${JSON.stringify(name)}`)
    return verifyRecord(slot.signed, { now, revocations: this.#revocations.values() })
  }

  /** Withdraw a name with a tombstone signed by the key that holds it. */
  async remove (tombstone: SignedRecord): Promise<void> {
    await this.#remove('public', tombstone)
  }

  /** Verify (writer signature, bounds, expiry) and store a private record. */
  async putPrivate (signed: SignedPrivateRecord): Promise<void> {
    await this.#put('private', signed)
  }

  /** The live private record under a 32-byte lookup key; {@link NameNotFoundError} if none. */
  async getPrivate (lookupKey: Uint8Array): Promise<SignedPrivateRecord> {
    const now = this.#now()
    const slot = this.#live('private', hex(lookupKey), now)
    if (slot == null) throw new NameNotFoundError('no record for this lookup key')
    await verifyPrivateEnvelope(slot.signed, { now })
    return slot.signed
  }

  /** Withdraw a private record with a private tombstone signed by its writer key. */
  async removePrivate (tombstone: SignedPrivateRecord): Promise<void> {
    await this.#remove('private', tombstone)
  }

  /** Delete a dead entry from the datastore in the background; a failure only leaves it for the next load to drop. */
  #drop (key: Key): void {
    if (this.#datastore == null) return
    Promise.resolve(this.#datastore.delete(key)).catch(() => {})
  }

  /** Drop every expired record and every withdrawal that can no longer matter. */
  sweep (): void {
    const now = this.#now()
    for (const [key, slot] of this.#slots) {
      if (slot.expires <= now) {
        this.#forget(key)
        this.#drop(new Key(`${PREFIX}/${slot.kind}/slot/${slot.id}`))
      }
    }
    for (const [key, w] of this.#withdrawn) {
      if (w.until <= now) {
        this.#withdrawn.delete(key)
        this.#drop(withdrawalPath(key))
      }
    }
  }
}
