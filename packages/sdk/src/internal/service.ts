// A name an entity serves, as published: the signed record registered (in
// clear, or sealed under a private name's lookup key through throwaway
// nodes), renewed after a fraction of its lifetime or when the entity's
// addresses change, and withdrawn with a signed tombstone on close.
import { createRecord, createTombstone, verifyRecord } from '@fara/rendezvous'
import { MAX_ADDRS } from '@fara/rendezvous/constants'
import { encodeHopParams } from '@fara/port-hopping'
import { REFRESH_FRACTION } from '../constants.ts'
import { registerPrivateName, withdrawPrivateName } from '@fara/rendezvous/private'
import { reasonOf, shownName } from './log.ts'
import { privateOf } from './private-options.ts'
import type { ServeOptions, Service } from '../types.ts'
import type { AppIdentity, Identity } from '@fara/identity'
import type { HopParams } from '@fara/port-hopping'
import type { Rendezvous, RendezvousFactory, ServiceRecord } from '@fara/rendezvous'
import type { AbortOptions, Logger } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/** What a service publishes for its entity. */
export interface ServiceHost {
  readonly identity: Identity
  /** The entity's addresses now: what the record carries unless `addrs` was given. */
  addrs: () => Multiaddr[]
  /** The rendezvous as the entity's node reaches it (public names). */
  readonly rendezvous: Rendezvous
  /** The backend, for the throwaway nodes that register a private name. */
  readonly factory: RendezvousFactory
  /** The entity's hop parameters: the record carries them. */
  readonly hop: HopParams | undefined
  readonly log: Logger
}

/** How the record of one service is published: what `serve` was given. */
type Publish = Pick<ServeOptions, 'ttl' | 'addrs' | 'private'>

/** A served name: its record kept registered until {@link FaraService.close}. */
export class FaraService implements Service {
  readonly name: string
  readonly aid: Uint8Array
  record: ServiceRecord | undefined
  readonly #host: ServiceHost
  readonly #publish: Publish
  readonly #release: () => void
  readonly #log: Logger
  /** A private name: the log shows `private`, and no error message. */
  readonly #hidden: boolean
  /** How the log names this service. */
  readonly #shown: string
  #timer: ReturnType<typeof setTimeout> | undefined
  #closed = false
  /** The addresses of the last registration, as compared by {@link addrsKey}. */
  #published = ''
  #registering = false
  #again = false

  constructor (host: ServiceHost, name: string, aid: Uint8Array, options: ServeOptions, release: () => void) {
    this.#host = host
    this.#log = host.log
    this.#hidden = privateOf(options.private) != null
    this.#shown = shownName(name, this.#hidden)
    this.name = name
    this.aid = aid
    this.#publish = {
      ...(options.ttl == null ? {} : { ttl: options.ttl }),
      ...(options.addrs == null ? {} : { addrs: options.addrs }),
      ...(options.private == null ? {} : { private: options.private })
    }
    this.#release = release
  }

  /** Register the record (logged as `register` the first time, `renew` after). */
  async register (options: AbortOptions): Promise<void> {
    const first = this.record == null
    this.#registering = true
    let record: ServiceRecord
    try {
      record = await this.#publishRecord(options)
    } catch (err) {
      this.#log(first ? 'register %s failed - %s' : 'renew %s failed - %s', this.#shown, reasonOf(err, this.#hidden))
      throw err
    } finally {
      this.#registering = false
    }
    this.record = record
    this.#log(first ? 'register %s: ttl %d ms, addrs %d' : 'renew %s: ttl %d ms, addrs %d', this.#shown, record.expires - record.seq, record.addrs.length)
    this.#published = addrsKey(record.addrs)
    if (this.#again) {
      // the addresses changed while registering: register them now
      this.#again = false
      this.#schedule(0, 0)
    } else {
      this.#schedule((record.expires - record.seq) * REFRESH_FRACTION, 0)
    }
  }

  /**
   * The node's addresses may have changed: re-register at once if they
   * differ from the record's (or, with `force`, anyway), unless the record's
   * addresses were given by the caller, or the node has none left (the last
   * record stays: a lost relay slot is being restored).
   */
  addressesChanged (force: boolean): void {
    if (this.#closed || this.#publish.addrs != null) return
    const current = this.#host.addrs()
    if (current.length === 0) return
    if (!force && addrsKey(current) === this.#published) return
    if (this.#registering) {
      this.#again = true
      return
    }
    this.#schedule(0, 0)
  }

  async close (options: AbortOptions = {}): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    clearTimeout(this.#timer)
    this.#release()
    try {
      await this.#withdrawRecord(options)
    } catch (err) {
      this.#log('withdraw %s failed - %s', this.#shown, reasonOf(err, this.#hidden))
      throw err
    }
    this.#log('withdraw %s', this.#shown)
  }

  /**
   * Keep the record alive: re-sign and re-register after half its lifetime;
   * after a failure, retry with exponential backoff (1 s, 2 s, ... capped at a
   * quarter of the lifetime) for as long as the service is open.
   */
  #schedule (delay: number, failures: number): void {
    if (this.#closed) return
    clearTimeout(this.#timer)
    this.#timer = setTimeout(() => {
      const lifetime = this.record == null ? 60_000 : this.record.expires - this.record.seq
      this.register({ signal: AbortSignal.timeout(Math.max(1_000, lifetime * REFRESH_FRACTION)) }).catch(() => {
        this.#schedule(Math.min(1_000 * 2 ** failures, lifetime / 4), failures + 1)
      })
    }, delay)
    this.#timer.unref()
  }

  /** Sign a fresh record and register it, in clear or privately; the record as registered. */
  async #publishRecord (options: AbortOptions): Promise<ServiceRecord> {
    const { identity, hop } = this.#host
    const addrs = (this.#publish.addrs ?? this.#host.addrs()).slice(0, MAX_ADDRS)
    const ttl = this.#publish.ttl
    const certificate = (identity as Partial<AppIdentity>).certificate
    const signed = await createRecord(identity.privateKey, {
      name: this.name, addrs, aid: this.aid, ...(ttl == null ? {} : { ttl }), ...(certificate == null ? {} : { certificate }),
      ...(hop == null ? {} : { hop: encodeHopParams(hop) })
    })
    const privately = privateOf(this.#publish.private)
    if (privately != null) {
      const record = await verifyRecord(signed)
      await registerPrivateName({ rendezvous: this.#host.factory }, identity.privateKey, signed, record, { ...privately, ...options })
      return record
    }
    await this.#host.rendezvous.register(signed, options)
    // the record just accepted: no second round trip to read it back
    return verifyRecord(signed)
  }

  /** Withdraw the name: a signed tombstone, or both slots of a private name. */
  async #withdrawRecord (options: AbortOptions): Promise<void> {
    const { identity } = this.#host
    const privately = privateOf(this.#publish.private)
    if (privately != null) {
      await withdrawPrivateName({ rendezvous: this.#host.factory }, identity.privateKey, this.name, { ...privately, ...options })
      return
    }
    const certificate = (identity as Partial<AppIdentity>).certificate
    await this.#host.rendezvous.unregister(await createTombstone(identity.privateKey, this.name, undefined, certificate == null ? {} : { certificate }), options)
  }
}

/** Compare address lists as the record holds them: the first MAX_ADDRS, in any order. */
function addrsKey (addrs: Multiaddr[]): string {
  return addrs.slice(0, MAX_ADDRS).map(String).sort().join(' ')
}
