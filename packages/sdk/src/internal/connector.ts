// How an entity reaches a service by name: resolve the record (or take it from
// the cache), learn its hop schedule, dial, open the association; later,
// reconnect it when its path is lost (spec/resumption.md), and move it onto a
// direct path when it runs through a relay (spec/direct-paths.md#in-the-sdk).
import { ephemeralIdentity } from '@fara/identity'
import { AssociationRejectedError } from '@fara/demux'
import { ASSOCIATION_PROTOCOL, RESUME_PROTOCOL } from '@fara/demux/constants'
import { openStream } from '@fara/transport'
import { PATH_DRAIN_TIMEOUT_MS, PREPARE_TIMEOUT_MS } from '../constants.ts'
import { resolvePrivateName } from '@fara/rendezvous/private'
import { ClientNodes } from './client-nodes.ts'
import { PunchBackoff, directPath, isRelayed } from './direct.ts'
import { addrOf, reasonOf, shownName } from './log.ts'
import { buildNode } from './nodes.ts'
import { privateOf } from './private-options.ts'
import { closed } from './associations.ts'
import { recordsOn } from './records.ts'
import type { Associations } from './associations.ts'
import type { Served } from './inbound.ts'
import type { NodeSettings } from './nodes.ts'
import type { RecordCache } from './record-cache.ts'
import type { PrivateNameOptions } from '@fara/rendezvous/private'
import type { ConnectOptions, DirectPathEvent } from '../types.ts'
import type { Association, Demux } from '@fara/demux'
import type { Rendezvous, ServiceRecord } from '@fara/rendezvous'
import type { AbortOptions, Libp2p, Logger, PeerId, Stream } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/** What a {@link Connector} works with. */
export interface ConnectorInit {
  /** The entity's own node (`stableIdentity`), and the rendezvous as it reaches it. */
  node: Libp2p
  rendezvous: Rendezvous
  /** What the client nodes share with the entity's own: hop schedules, direct paths, liveness, the backend. */
  settings: NodeSettings
  demux: Demux<Served>
  associations: Associations
  cache: RecordCache | undefined
  log: Logger
  /** A relayed connection got a direct path. */
  onDirect: (event: DirectPathEvent) => void
}

/**
 * Where the service of a resumable association is and how it was last
 * reached: all that {@link Connector.reconnect} needs to reach it again.
 */
export interface Route {
  /** The node the association runs on: a client node, or the entity's own (`stableIdentity`). */
  readonly node: Libp2p
  /** The rendezvous as that node reaches it. */
  readonly rendezvous: Rendezvous
  readonly name: string
  /** How the name is looked up: undefined for a public name. */
  readonly private: PrivateNameOptions | undefined
  /** The service's key: a fresh resolution must name the same one. */
  readonly peer: PeerId
  /** The addresses to try first: the record's, then those of the last fresh resolution. */
  addrs: Multiaddr[]
  /** Reconnections begun so far. */
  attempts: number
  /** The association's number in the log. */
  readonly n: number
}

/** The entity's way out: resolve, dial, associate, reconnect, upgrade to a direct path. */
export class Connector {
  readonly #node: Libp2p
  readonly #rendezvous: Rendezvous
  readonly #settings: NodeSettings
  readonly #demux: Demux<Served>
  readonly #associations: Associations
  readonly #cache: RecordCache | undefined
  readonly #clientNodes: ClientNodes<Rendezvous>
  readonly #punchBackoff = new PunchBackoff()
  readonly #log: Logger
  readonly #onDirect: (event: DirectPathEvent) => void
  /** Whether the last connect resolved its name through the rendezvous (not from the record cache); true before the first. */
  #lookedUp = true

  constructor (init: ConnectorInit) {
    this.#node = init.node
    this.#rendezvous = init.rendezvous
    this.#settings = init.settings
    this.#demux = init.demux
    this.#associations = init.associations
    this.#cache = init.cache
    this.#log = init.log
    this.#onDirect = init.onDirect
    const settings = init.settings
    this.#clientNodes = new ClientNodes<Rendezvous>(async () => {
      const identity = await ephemeralIdentity()
      const node = await buildNode('client', { ...settings, privateKey: identity.privateKey })
      return { node, rendezvous: settings.rendezvous({ node }) }
    }, (spare) => {
      // a spare waits with its way to the rendezvous open, so a lookup costs one round trip; not
      // after a connect served from the record cache: then the next most likely is too, and a
      // prepared spare would cost the point a connection (and a handshake) per association
      if (!this.#lookedUp) return
      spare.rendezvous.prepare?.({ signal: AbortSignal.timeout(PREPARE_TIMEOUT_MS) }).catch((err: Error) => {
        this.#log('preparing a spare client node for lookups failed - %s', err.message)
      })
    }, this.#log)
  }

  /** The verified record for `name`, through the entity's own node. */
  async resolve (name: string, options: AbortOptions & Pick<ConnectOptions, 'private'>): Promise<ServiceRecord> {
    return this.#resolveWith(this.#rendezvous, name, privateOf(options.private), options.signal)
  }

  /** An association to the service of `name`: on a fresh client node unless `stableIdentity`. */
  async connect (name: string, options: ConnectOptions): Promise<Association> {
    if (options.stableIdentity === true) return this.#associate(this.#node, this.#rendezvous, name, options)
    // a fresh identity and a dial-only node for this one association (a spare made ahead)
    const client = await this.#clientNodes.take()
    const stop = (): void => { this.#clientNodes.release(client.node) }
    try {
      const association = await this.#associate(client.node, client.rendezvous, name, options)
      // the node lives as long as the association, across its paths, and until its last path has
      // closed: an ABORT (or the last ACK) still queued behind data must reach the peer
      const drained = (): void => { void closed(association.stream, AbortSignal.timeout(PATH_DRAIN_TIMEOUT_MS)).then(stop) }
      association.finished.then(drained, drained)
      return association
    } catch (err) {
      stop()
      throw err
    } finally {
      this.#clientNodes.refill()
    }
  }

  /**
   * The step the demux takes when a resumable association lost its path: a
   * new stream on `RESUME_PROTOCOL` to the same service, by the addresses
   * that worked, else (if they all fail) by those of a fresh resolution of
   * the name, which must still be signed by the same key. From the second
   * attempt on, connections to the service are closed first, so that a dead
   * connection libp2p has not noticed yet is not reused.
   */
  async reconnect (route: Route, options: { signal: AbortSignal }): Promise<Stream> {
    const { node, peer } = route
    const signal = options.signal
    if (route.attempts++ > 0) await node.hangUp(peer, { signal }).catch(() => {})
    let stream: Stream
    try {
      stream = await openStream(node, peer, route.addrs, RESUME_PROTOCOL, { signal })
    } catch (err) {
      const fresh = this.#learn(await this.#resolveWith(route.rendezvous, route.name, route.private, signal))
      if (!fresh.peerId.equals(peer)) throw err
      route.addrs = fresh.addrs
      stream = await openStream(node, peer, route.addrs, RESUME_PROTOCOL, { signal })
    }
    // the new path of association #n (the demux then resumes on it)
    if (this.#log.enabled) this.#log('repath #%d via %a', route.n, addrOf(node, peer, stream))
    return stream
  }

  /** Stop every client node. */
  async close (): Promise<void> {
    await this.#clientNodes.close()
  }

  async #resolveWith (rv: Rendezvous, name: string, privately: PrivateNameOptions | undefined, signal: AbortSignal | undefined): Promise<ServiceRecord> {
    const options = signal == null ? {} : { signal }
    let record: ServiceRecord
    try {
      record = privately != null ? await resolvePrivateName(rv, name, { ...privately, ...options }) : await rv.resolve(name, options)
    } catch (err) {
      if (this.#log.enabled) this.#log('resolve %s failed - %s', shownName(name, privately != null), reasonOf(err, privately != null))
      throw err
    }
    if (this.#log.enabled) this.#log('resolve %s: %p, addrs %d', shownName(name, privately != null), record.peerId, record.addrs.length)
    return record
  }

  /**
   * A record with hop parameters: from now on its hop addresses are dialled
   * by their schedule, in the book every node of the entity dials through
   * (spec/port-hopping.md#dialing). Throws the typed errors of parameters
   * that do not decode.
   */
  #learn (record: ServiceRecord): ServiceRecord {
    if (record.hop != null) this.#settings.schedules.learn(record.addrs, record.hop)
    return record
  }

  /** {@link openStream} to the service of a record, logged as `dial`. */
  async #dial (node: Libp2p, record: ServiceRecord, options: AbortOptions): Promise<Stream> {
    let stream: Stream
    try {
      stream = await openStream(node, record.peerId, record.addrs, ASSOCIATION_PROTOCOL, { ...options, optimistic: true })
    } catch (err) {
      if (this.#log.enabled) this.#log('dial %p failed - %s', record.peerId, reasonOf(err, false))
      throw err
    }
    if (this.#log.enabled) this.#log('dial %p via %a', record.peerId, addrOf(node, record.peerId, stream))
    return stream
  }

  /**
   * Resolve `name` (or take its record from the cache), dial, and open the
   * association, pipelined with its first data. A cached record that cannot be
   * dialled is dropped and the name resolved again, once; one whose service
   * refuses the association is dropped for the next connect.
   */
  async #associate (node: Libp2p, rendezvous: Rendezvous, name: string, options: ConnectOptions): Promise<Association> {
    const signal = options.signal == null ? {} : { signal: options.signal }
    const privately = privateOf(options.private)
    const cache = privately != null ? undefined : this.#cache
    let record = cache?.get(name)
    let stream: Stream | undefined
    if (record != null) {
      if (this.#log.enabled) this.#log('resolve %s: %p, addrs %d, from the cache', shownName(name, false), record.peerId, record.addrs.length)
      try {
        stream = await this.#dial(node, record, signal)
      } catch {
        // logged as a failed dial; the name is resolved again
        options.signal?.throwIfAborted()
        cache?.drop(name, record)
      }
    }
    this.#lookedUp = stream == null
    if (record == null || stream == null) {
      record = this.#learn(await this.#resolveWith(rendezvous, name, privately, options.signal))
      cache?.set(record)
      stream = await this.#dial(node, record, signal)
    }
    const n = this.#associations.next()
    const route: Route | undefined = options.resumable === false
      ? undefined
      : { node, rendezvous, name, private: privately, peer: record.peerId, addrs: record.addrs, attempts: 0, n }
    const association = this.#demux.open(stream, record.aid, record.peerId, route == null ? {} : {
      resume: { reconnect: async (reconnectOptions) => this.reconnect(route, reconnectOptions) },
      records: recordsOn(node, record.peerId)
    })
    this.#associations.track(association, n)
    if (this.#log.enabled) this.#log('open #%d %s to %p', n, shownName(name, privately != null), record.peerId)
    if (cache != null) {
      const used = record
      association.finished.catch((err: Error) => { if (err.name === AssociationRejectedError.name) cache.drop(name, used) })
    }
    this.#upgrade(node, record.peerId, association)
    return association
  }

  /**
   * If `node` reached `peer` only through a relay, try a direct WebRTC path in
   * the background. Once there is one, a resumable association moves to it
   * (spec/resumption.md); a plain one stays on the relayed connection (which
   * stays open). New streams to `peer` prefer the direct connection.
   */
  #upgrade (node: Libp2p, peer: PeerId, association: Association): void {
    if (this.#settings.direct == null) return
    const relayedOnly = node.getConnections(peer).every(c => c.remoteAddr.getComponents().some(x => x.name === 'p2p-circuit'))
    if (!relayedOnly) return
    void directPath(node, peer, this.#punchBackoff, this.#log).then((found) => {
      if (found == null) return
      const carrier = node.getConnections(peer).find(c => c.streams.includes(association.stream))
      const moved = carrier != null && isRelayed(carrier)
      if (moved) association.repath()
      this.#onDirect({ peer: peer.toString(), method: found.method, remoteAddr: found.connection.remoteAddr.toString(), moved })
    })
  }
}
