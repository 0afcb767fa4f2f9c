// Private records in a DNS zone (spec/adapters.md#srv-private-records): each
// slot's sealed record in a TXT RRset at `<base32 lookup key>._fara-p.<zone>`,
// written by the same read-decide-write round as public names, with the rules
// of every backend (a one-slot RecordStore), and verified on every read.
import { MemoryDatastore } from 'datastore-core'
import { Key } from 'interface-datastore'
import { NameNotFoundError, RecordStore, RendezvousUnavailableError } from '@fara/rendezvous'
import { decodeSignedPrivateRecord, encodeSignedPrivateRecord, verifyPrivateEnvelope } from '@fara/rendezvous/private'
import { MAX_UPDATE_ATTEMPTS } from '../constants.ts'
import { PrerequisiteFailedError } from '../errors.ts'
import { privateOwnerName } from '../names.ts'
import { decodeSealedTxt, encodeSealedTxt } from './sealed.ts'
import type { Change, DnsClient, Prerequisite } from '../client.ts'
import type { DnsRecord, TxtRecord } from '../records.ts'
import type { SignedPrivateRecord } from '@fara/rendezvous'
import type { PrivateEnvelope } from '@fara/rendezvous/private'
import type { AbortOptions } from '@libp2p/interface'

/** What {@link PrivateSlots} needs of the rendezvous that owns it. */
export interface PrivateSlotsInit {
  zone: string
  dns: DnsClient
  now: () => number
  /** Upper bound of the DNS TTL, seconds; each record's own expiry lowers it. */
  ttl: number
  writable: boolean
  /** Map a DNS failure to the rendezvous' error (the caller's abort passes). */
  unavailable: (err: unknown, options?: AbortOptions) => Error
}

/** A slot's TXT RRset as read, and the newest envelope in it that verifies for that slot. */
interface SlotState { records: TxtRecord[], newest?: PrivateEnvelope }

const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex')
/** The store's datastore layout (spec/rendezvous.md#persistence): the RRset is a one-slot view of it. */
const slotKey = (lookupKey: Uint8Array): Key => new Key(`/fara/rendezvous/v1/private/slot/${hex(lookupKey)}`)
const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b)

/** Newer seq wins; equal seqs are ordered by their bytes, so every reader picks the same one whatever order the RRset comes in. */
function newer (a: PrivateEnvelope, b: PrivateEnvelope): boolean {
  if (a.seq !== b.seq) return a.seq > b.seq
  return Buffer.compare(Buffer.from(a.signed.record), Buffer.from(b.signed.record)) > 0
}

/** registerPrivate, resolvePrivate and unregisterPrivate of the SRV rendezvous. */
export class PrivateSlots {
  readonly #init: PrivateSlotsInit

  constructor (init: PrivateSlotsInit) {
    this.#init = init
  }

  async resolve (lookupKey: Uint8Array, options?: AbortOptions): Promise<SignedPrivateRecord> {
    const owner = privateOwnerName(lookupKey, this.#init.zone)
    options?.signal?.throwIfAborted()
    const { newest } = await this.#read(owner, lookupKey, options)
    if (newest == null) throw new NameNotFoundError('no record for this lookup key')
    return newest.signed
  }

  async register (record: SignedPrivateRecord, options?: AbortOptions): Promise<void> {
    options?.signal?.throwIfAborted()
    // every envelope rule first: nothing invalid reaches the server
    const e = await verifyPrivateEnvelope(record, { now: this.#init.now() })
    await this.#write(e.lookupKey, async (store) => { await store.putPrivate(e.signed); return e }, options)
  }

  async unregister (tombstone: SignedPrivateRecord, options?: AbortOptions): Promise<void> {
    options?.signal?.throwIfAborted()
    const t = await verifyPrivateEnvelope(tombstone, { now: this.#init.now(), tombstone: true })
    await this.#write(t.lookupKey, async (store) => { await store.removePrivate(t.signed); return undefined }, options)
  }

  /**
   * The TXT RRset at a slot's owner name, and the newest record in it that
   * verifies as the point would verify it: framing, bounded decoding,
   * `verifyPrivateEnvelope` at the clock (writer signature, bucket, time
   * rules, expiry), and the lookup key of the slot asked for (a record copied
   * from another slot is not this slot's). Anything else counts as absent.
   */
  async #read (owner: string, lookupKey: Uint8Array, options?: AbortOptions): Promise<SlotState> {
    let answer: DnsRecord[]
    try {
      answer = await this.#init.dns.query(owner, 'TXT', options)
    } catch (err) {
      throw this.#init.unavailable(err, options)
    }
    const records = answer.filter((r): r is TxtRecord => r.type === 'TXT')
    const now = this.#init.now()
    let newest: PrivateEnvelope | undefined
    for (const r of records) {
      let e: PrivateEnvelope
      try {
        e = await verifyPrivateEnvelope(decodeSignedPrivateRecord(decodeSealedTxt(r.strings)), { now })
      } catch {
        continue // not ours, damaged, forged or expired
      }
      if (!sameBytes(e.lookupKey, lookupKey)) continue
      if (newest == null || newer(e, newest)) newest = e
    }
    return newest == null ? { records } : { records, newest }
  }

  /**
   * Read the slot's RRset, decide with the store's rules (one writer key per
   * live slot, increasing seq, tombstones from that key), then replace the
   * RRset by the record (or delete it for a withdrawal) in one UPDATE whose
   * prerequisite is that the RRset is still what was read (RFC 2136 §2.4.2/§2.4.3).
   */
  async #write (lookupKey: Uint8Array, decide: (store: RecordStore) => Promise<PrivateEnvelope | undefined>, options?: AbortOptions): Promise<void> {
    const { zone, dns, now, ttl } = this.#init
    if (!this.#init.writable) throw new RendezvousUnavailableError('this SRV rendezvous has no TSIG key: it can resolve but not register')
    const owner = privateOwnerName(lookupKey, zone)
    for (let attempt = 1; ; attempt++) {
      const state = await this.#read(owner, lookupKey, options)
      const datastore = new MemoryDatastore()
      if (state.newest != null) await datastore.put(slotKey(lookupKey), encodeSignedPrivateRecord(state.newest.signed))
      const store = new RecordStore({ now, datastore })
      await store.load()
      const live = await decide(store)
      const prerequisites: Prerequisite[] = state.records.length === 0
        ? [{ require: 'absent', name: owner, type: 'TXT' }]
        : [{ require: 'equals', records: state.records }]
      const changes: Change[] = [{ op: 'deleteRRset', name: owner, type: 'TXT' }]
      if (live != null) {
        // cached no longer than the record lives (a resolver would otherwise serve it past its expiry)
        const seconds = Math.max(0, Math.min(ttl, Math.floor((live.expires - now()) / 1000)))
        changes.push({ op: 'add', record: { type: 'TXT', name: owner, ttl: seconds, strings: encodeSealedTxt(encodeSignedPrivateRecord(live.signed)) } })
      }
      try {
        await dns.update({ prerequisites, changes }, options)
        return
      } catch (err) {
        if ((err as Error).name !== PrerequisiteFailedError.name || attempt >= MAX_UPDATE_ATTEMPTS) throw this.#init.unavailable(err, options)
      }
    }
  }
}
