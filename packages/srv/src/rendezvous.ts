import { MemoryDatastore } from 'datastore-core'
import { Key } from 'interface-datastore'
import { assertServiceName } from '@fara/identity'
import { RecordStore, RendezvousError, RendezvousUnavailableError, decodeSignedRecord, verifyRecord } from '@fara/rendezvous'
import { DEFAULT_DNS_TTL_SECONDS, MAX_UPDATE_ATTEMPTS } from './constants.ts'
import { dnsClient } from './client.ts'
import { PrerequisiteFailedError } from './errors.ts'
import { assertZone, hostName, ownerName } from './names.ts'
import { decodeTxt, encodeTxt } from './internal/txt.ts'
import { PrivateSlots } from './internal/private.ts'
import type { Change, DnsClient, Prerequisite } from './client.ts'
import type { TsigKey } from './key.ts'
import type { DnsRecord, TxtRecord } from './records.ts'
import type { TxtEntry } from './internal/txt.ts'
import type { PrivateRendezvous, RendezvousFactory, ServiceRecord, SignedPrivateRecord, SignedRecord } from '@fara/rendezvous'
import type { AbortOptions } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/** Options for {@link srvRendezvous}. */
export interface SrvRendezvousInit {
  /** The zone the records go in (e.g. `'fara.example.com'`); owner names are `<name>._fara._tcp.<zone>`. */
  zone: string
  /** The zone's primary server, which takes the updates and answers the reads: `'192.0.2.1:53'`. */
  server: string
  /** TSIG key the server allows to update the zone. Without one the rendezvous can only resolve. */
  key?: TsigKey
  /** Clock in ms since the epoch (default `Date.now`): records are verified at this time. */
  now?: () => number
  /** DNS TTL of the published records in seconds (default {@link DEFAULT_DNS_TTL_SECONDS}), capped by each record's remaining lifetime. */
  ttl?: number
  /** Deadline of one DNS exchange in ms. */
  timeout?: number
}

/** The datastore layout of spec/rendezvous.md#persistence: the TXT RRset is a one-name view of it. */
const PREFIX = '/fara/rendezvous/v1/public'
const keyOf = (kind: TxtEntry['kind'], name: string): Key => new Key(`${PREFIX}/${kind}/${name}`)

/**
 * The store keeps withdrawals per name and owner key (`withdrawn/<name>/<owner hex>`, spec/rendezvous.md);
 * the TXT record holds one tombstone: the newest (a loaded entry may still sit at `withdrawn/<name>`).
 */
async function newestWithdrawal (datastore: MemoryDatastore, name: string, now: number): Promise<Uint8Array> {
  let best: { seq: number, bytes: Uint8Array } | undefined
  const consider = async (bytes: Uint8Array): Promise<void> => {
    const seq = (await verifyRecord(decodeSignedRecord(bytes), { tombstone: true, now })).seq
    if (best == null || seq > best.seq) best = { seq, bytes }
  }
  for await (const { value } of datastore.query({ prefix: `${keyOf('withdrawn', name).toString()}/` })) await consider(value)
  if (await datastore.has(keyOf('withdrawn', name))) await consider(await datastore.get(keyOf('withdrawn', name)))
  if (best == null) throw new Error(`no withdrawal of ${name} in the store`)
  return best.bytes
}

/** The TXT RRset of an owner name, and the entry it holds if it is exactly one of ours. */
interface TxtState { records: TxtRecord[], entry?: TxtEntry }

/**
 * The first direct TCP address of a record (`/ip4|ip6/<address>/tcp/<port>`, optionally `/p2p/<id>`): what the SRV and A/AAAA records publish.
 *
 * @example
 * ```ts
 * import { multiaddr } from '@multiformats/multiaddr'
 * import { srvAddress } from '@fara/srv'
 *
 * const at = srvAddress([multiaddr('/ip4/192.0.2.7/udp/4001/webrtc'), multiaddr('/ip4/192.0.2.7/tcp/40123')])
 * console.log(at) // { family: 4, address: '192.0.2.7', port: 40123 }
 * ```
 */
export function srvAddress (addrs: Multiaddr[]): { family: 4 | 6, address: string, port: number } | undefined {
  for (const ma of addrs) {
    const [ip, tcp, ...rest] = ma.getComponents()
    if (ip == null || tcp == null || tcp.name !== 'tcp' || (ip.name !== 'ip4' && ip.name !== 'ip6')) continue
    if (rest.length > 1 || (rest.length === 1 && rest[0]!.name !== 'p2p')) continue
    return { family: ip.name === 'ip4' ? 4 : 6, address: ip.value!, port: Number(tcp.value) }
  }
  return undefined
}

class SrvRendezvous implements PrivateRendezvous {
  readonly #zone: string
  readonly #dns: DnsClient
  readonly #writable: boolean
  readonly #now: () => number
  readonly #ttl: number
  readonly #private: PrivateSlots

  constructor (init: SrvRendezvousInit) {
    if (init == null || typeof init !== 'object') throw new TypeError('init must be an object')
    assertZone(init.zone)
    this.#zone = init.zone
    this.#ttl = init.ttl ?? DEFAULT_DNS_TTL_SECONDS
    if (!Number.isSafeInteger(this.#ttl) || this.#ttl < 0 || this.#ttl > 2 ** 31 - 1) throw new RangeError(`ttl must be an integer of seconds, got ${init.ttl}`)
    this.#now = init.now ?? Date.now
    this.#writable = init.key != null
    this.#dns = dnsClient({ server: init.server, zone: init.zone, ...(init.key == null ? {} : { key: init.key }), ...(init.timeout == null ? {} : { timeout: init.timeout }), now: this.#now })
    this.#private = new PrivateSlots({ zone: init.zone, dns: this.#dns, now: this.#now, ttl: this.#ttl, writable: this.#writable, unavailable: (err, options) => this.#unavailable(err, options) })
  }

  async resolve (name: string, options?: AbortOptions): Promise<ServiceRecord> {
    assertServiceName(name)
    options?.signal?.throwIfAborted()
    const state = await this.#read(name, options)
    const { store } = await this.#storeOf(name, state)
    return store.get(name)
  }

  async register (record: SignedRecord, options?: AbortOptions): Promise<void> {
    options?.signal?.throwIfAborted()
    // every record rule first: nothing invalid reaches the server, and the record names its owner
    const verified = await verifyRecord(record, { now: this.#now() })
    await this.#write(verified.name, async (store) => store.put(record), options)
  }

  async unregister (tombstone: SignedRecord, options?: AbortOptions): Promise<void> {
    options?.signal?.throwIfAborted()
    const verified = await verifyRecord(tombstone, { now: this.#now(), tombstone: true })
    await this.#write(verified.name, async (store) => { await store.remove(tombstone); return undefined }, options)
  }

  /** Store a sealed record as a TXT RRset at `<base32 lookup key>._fara-p.<zone>` (spec/adapters.md#srv-private-records). */
  async registerPrivate (record: SignedPrivateRecord, options?: AbortOptions): Promise<void> {
    await this.#private.register(record, options)
  }

  /** The newest sealed record under a lookup key that verifies for it; `NameNotFoundError` if none. */
  async resolvePrivate (lookupKey: Uint8Array, options?: AbortOptions): Promise<SignedPrivateRecord> {
    return this.#private.resolve(lookupKey, options)
  }

  /** Withdraw a private record with its writer's tombstone: the slot's RRset is deleted. */
  async unregisterPrivate (tombstone: SignedPrivateRecord, options?: AbortOptions): Promise<void> {
    await this.#private.unregister(tombstone, options)
  }

  /** The TXT RRset at the name's owner, read from the primary. */
  async #read (name: string, options?: AbortOptions): Promise<TxtState> {
    let answer: DnsRecord[]
    try {
      answer = await this.#dns.query(ownerName(name, this.#zone), 'TXT', options)
    } catch (err) {
      throw this.#unavailable(err, options)
    }
    const records = answer.filter((r): r is TxtRecord => r.type === 'TXT')
    if (records.length !== 1) return { records }
    try {
      return { records, entry: decodeTxt(records[0]!.strings) }
    } catch {
      return { records } // not ours, or damaged: no record (a write replaces it)
    }
  }

  /**
   * A one-name RecordStore holding what the TXT record holds: it applies the
   * same rules as every other backend (verification, expiry, ownership, seq,
   * withdrawals), and loading drops whatever no longer verifies.
   */
  async #storeOf (name: string, state: TxtState): Promise<{ store: RecordStore, datastore: MemoryDatastore }> {
    const datastore = new MemoryDatastore()
    if (state.entry != null) await datastore.put(keyOf(state.entry.kind, name), state.entry.bytes)
    const store = new RecordStore({ now: this.#now, datastore })
    await store.load()
    return { store, datastore }
  }

  /**
   * Read the TXT RRset, decide with the store's rules, then write with an
   * UPDATE whose prerequisite is that the TXT RRset is still exactly what was
   * read (RFC 2136 §2.4.2/§2.4.3): a concurrent writer makes it fail with
   * NXRRSET or YXRRSET, and the round starts again from a fresh read.
   */
  async #write (name: string, decide: (store: RecordStore) => Promise<ServiceRecord | undefined>, options?: AbortOptions): Promise<void> {
    if (!this.#writable) throw new RendezvousUnavailableError('this SRV rendezvous has no TSIG key: it can resolve but not register')
    const owner = ownerName(name, this.#zone)
    for (let attempt = 1; ; attempt++) {
      const state = await this.#read(name, options)
      const { store, datastore } = await this.#storeOf(name, state)
      const live = await decide(store)
      // what the store wrote is the new content of the TXT record
      const kind = live != null ? 'slot' : 'withdrawn'
      const entry: TxtEntry = { kind, bytes: kind === 'slot' ? await datastore.get(keyOf(kind, name)) : await newestWithdrawal(datastore, name, this.#now()) }
      const prerequisites: Prerequisite[] = state.records.length === 0
        ? [{ require: 'absent', name: owner, type: 'TXT' }]
        : [{ require: 'equals', records: state.records }]
      try {
        await this.#dns.update({ prerequisites, changes: this.#changes(owner, entry, live) }, options)
        return
      } catch (err) {
        if ((err as Error).name !== PrerequisiteFailedError.name || attempt >= MAX_UPDATE_ATTEMPTS) throw this.#unavailable(err, options)
      }
    }
  }

  /**
   * Replace the TXT RRset by `entry`, and the SRV RRset by one record for a
   * live record's first TCP address (none otherwise). The target's A/AAAA
   * record is derived from the address alone, so it is added (a no-op if
   * present, RFC 2136 §3.4.2.2) and never deleted: other names may share it.
   */
  #changes (owner: string, entry: TxtEntry, live: ServiceRecord | undefined): Change[] {
    const now = this.#now()
    let ttl = this.#ttl
    const changes: Change[] = [{ op: 'deleteRRset', name: owner, type: 'SRV' }]
    if (live != null) {
      ttl = Math.max(1, Math.min(ttl, Math.ceil((live.expires - now) / 1000)))
      const at = srvAddress(live.addrs)
      if (at != null) {
        const target = hostName(at.family, at.address, this.#zone)
        changes.push({ op: 'add', record: { type: 'SRV', name: owner, ttl, priority: 0, weight: 0, port: at.port, target } })
        changes.push({ op: 'add', record: at.family === 4 ? { type: 'A', name: target, ttl: this.#ttl, address: at.address } : { type: 'AAAA', name: target, ttl: this.#ttl, address: at.address } })
      }
    }
    changes.push({ op: 'deleteRRset', name: owner, type: 'TXT' }, { op: 'add', record: { type: 'TXT', name: owner, ttl, strings: encodeTxt(entry) } })
    return changes
  }

  /** Rendezvous errors pass; the caller's abort passes; anything else from DNS means the rendezvous is unavailable. */
  #unavailable (err: unknown, options?: AbortOptions): Error {
    options?.signal?.throwIfAborted()
    if (err instanceof RendezvousError || err instanceof RendezvousUnavailableError) return err
    const e = err as Error
    return new RendezvousUnavailableError(`DNS ${e?.name ?? 'error'}: ${e?.message ?? String(err)}`, { cause: err })
  }
}

/**
 * A rendezvous kept in a DNS zone (spec/adapters.md#dns-srv-adapter-version-1): each name's signed
 * record (or tombstone) in a TXT record at `<name>._fara._tcp.<zone>`, with an
 * SRV record and an A/AAAA record for its first TCP address beside it, written
 * by RFC 2136 updates signed with TSIG. Every read is verified; the store
 * rules are those of every backend. Private names (spec/private-names.md)
 * are kept too: each slot's sealed record in a TXT record at
 * `<base32 lookup key>._fara-p.<zone>` (spec/adapters.md#srv-private-records),
 * which tells the zone's readers neither the name, nor the key, nor the address.
 *
 * A public SRV record tells everyone the host and port of the service: serve
 * the name privately where that matters.
 *
 * @example
 * ```ts
 * import { randomBytes } from 'node:crypto'
 * import { readFile } from 'node:fs/promises'
 * import { createRecord } from '@fara/rendezvous'
 * import { createSrvRendezvous, parseTsigKey } from '@fara/srv'
 * import { generateKeyPair } from '@libp2p/crypto/keys'
 *
 * const key = parseTsigKey(await readFile('/etc/bind/fara.key', 'utf8'))
 * const rendezvous = createSrvRendezvous({ zone: 'fara.example.com', server: '192.0.2.53:53', key })
 * const record = await createRecord(await generateKeyPair('Ed25519'), {
 *   name: 'chat', addrs: ['/ip4/192.0.2.7/tcp/40123'], aid: randomBytes(8)
 * })
 * await rendezvous.register(record) // TXT, SRV and A records under chat._fara._tcp.fara.example.com
 * console.log((await rendezvous.resolve('chat')).addrs.map(String))
 * ```
 *
 * @throws {@link @fara/rendezvous!index.NameNotFoundError | NameNotFoundError} when `resolve` finds no live record for the name in the zone.
 * @throws {@link @fara/rendezvous!index.NameTakenError | NameTakenError} when `register` meets a live record for the name held by another key.
 * @throws {@link @fara/rendezvous!index.StaleRecordError | StaleRecordError} when a record or tombstone is not newer than the one in the zone.
 * @throws {@link @fara/rendezvous!index.InvalidSignatureError | InvalidSignatureError} when a record is not signed by the key it names.
 * @throws {@link @fara/rendezvous!index.InvalidRecordError | InvalidRecordError} when a record breaks a field rule.
 * @throws {@link @fara/rendezvous!index.ExpiredRecordError | ExpiredRecordError} when a record (or its certificate) has expired.
 * @throws {@link @fara/rendezvous!index.RecordTooLargeError | RecordTooLargeError} when a record is larger than its bound.
 * @throws {@link @fara/rendezvous!index.RendezvousUnavailableError | RendezvousUnavailableError} when the server gives no usable answer, refuses the update (`cause`: e.g. {@link TsigBadKeyError}, {@link UpdateRefusedError}), or there is no `key` to write with.
 * @throws `TypeError` when `init` is not an object or `zone` not a string.
 * @throws {@link @fara/rendezvous!index.NameNotFoundError | NameNotFoundError} also when `resolvePrivate` finds no sealed record that verifies for the lookup key (none, junk, forged, expired or copied from another slot all look alike).
 * @throws `RangeError` when `zone` cannot hold every Fara name, `server` is not an IP address with an optional port, or `ttl` is not an integer of seconds.
 */
export function createSrvRendezvous (init: SrvRendezvousInit): PrivateRendezvous {
  return new SrvRendezvous(init)
}

/**
 * {@link createSrvRendezvous} as a factory for `createEntity({ rendezvous })`;
 * the entity's node is not used (DNS is reached directly).
 *
 * @example
 * ```ts
 * import { readFile } from 'node:fs/promises'
 * import { createEntity } from '@fara/sdk'
 * import { parseTsigKey, srvRendezvous } from '@fara/srv'
 *
 * const key = parseTsigKey(await readFile('/etc/bind/fara.key', 'utf8'))
 * const rendezvous = srvRendezvous({ zone: 'fara.example.com', server: '192.0.2.53:53', key })
 * const entity = await createEntity({ app: 'chat', rendezvous })
 * await entity.serve('chat', async (association) => { await association.close() })
 * await entity.close() // withdraws the name: a tombstone in the TXT record, no SRV record
 * ```
 *
 * @throws {@link @fara/rendezvous!index.NameNotFoundError | NameNotFoundError} when `resolve` finds no live record for the name in the zone.
 * @throws {@link @fara/rendezvous!index.NameTakenError | NameTakenError} when `register` meets a live record for the name held by another key.
 * @throws {@link @fara/rendezvous!index.StaleRecordError | StaleRecordError} when a record or tombstone is not newer than the one in the zone.
 * @throws {@link @fara/rendezvous!index.InvalidSignatureError | InvalidSignatureError} when a record is not signed by the key it names.
 * @throws {@link @fara/rendezvous!index.InvalidRecordError | InvalidRecordError} when a record breaks a field rule.
 * @throws {@link @fara/rendezvous!index.ExpiredRecordError | ExpiredRecordError} when a record (or its certificate) has expired.
 * @throws {@link @fara/rendezvous!index.RecordTooLargeError | RecordTooLargeError} when a record is larger than its bound.
 * @throws {@link @fara/rendezvous!index.RendezvousUnavailableError | RendezvousUnavailableError} when the server gives no usable answer, refuses the update (`cause`: e.g. {@link TsigBadKeyError}, {@link UpdateRefusedError}), or there is no `key` to write with.
 * @throws `TypeError` when `init` is not an object or `zone` not a string.
 * @throws `RangeError` when `zone` cannot hold every Fara name, `server` is not an IP address with an optional port, or `ttl` is not an integer of seconds.
 */
export function srvRendezvous (init: SrvRendezvousInit): RendezvousFactory<PrivateRendezvous> {
  const rendezvous = createSrvRendezvous(init)
  return () => rendezvous
}
