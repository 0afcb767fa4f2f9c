import { DEFAULT_REQUEST_TIMEOUT_MS, MAX_INBOUND_STREAMS } from '../constants.ts'
import { Answerer } from './answerer.ts'
import { handleProtocols, unhandleProtocols } from './serve.ts'
import type { ServeBackend } from './serve.ts'
import type { RecordStore, RecordStoreInit } from '../store.ts'
import type { SourcePrefixes } from '@fara/transport'
import type { ComponentLogger, Startable, TypedEventTarget } from '@libp2p/interface'
import type { Registrar } from '@libp2p/interface-internal'

/** Options for {@link rendezvousServer}. */
export interface RendezvousServerInit extends RecordStoreInit {
  /** How long to wait for a request on a new stream (default {@link DEFAULT_REQUEST_TIMEOUT_MS}). */
  requestTimeout?: number
  /** Concurrent one-request rendezvous streams (`/fara/rendezvous/1.0.0`) per connection (default {@link MAX_INBOUND_STREAMS}). */
  maxInboundStreams?: number
  /** Sustained requests per second per peer (default {@link @fara/rendezvous!constants.DEFAULT_PEER_RATE | DEFAULT_PEER_RATE}). */
  peerRate?: number
  /** Burst of requests per peer (default {@link @fara/rendezvous!constants.DEFAULT_PEER_BURST | DEFAULT_PEER_BURST}). */
  peerBurst?: number
  /** Sustained requests per second per source address, IPv4 address or IPv6 /64, whatever its keys (default {@link @fara/rendezvous!constants.DEFAULT_ADDRESS_RATE | DEFAULT_ADDRESS_RATE}). */
  addressRate?: number
  /** Burst of requests per source address (default {@link @fara/rendezvous!constants.DEFAULT_ADDRESS_BURST | DEFAULT_ADDRESS_BURST}). */
  addressBurst?: number
  /** Sustained requests per second per source prefix, IPv4 /24 or IPv6 /56 (default {@link @fara/rendezvous!constants.DEFAULT_PREFIX_RATE | DEFAULT_PREFIX_RATE}). */
  prefixRate?: number
  /** Burst of requests per source prefix (default {@link @fara/rendezvous!constants.DEFAULT_PREFIX_BURST | DEFAULT_PREFIX_BURST}). */
  prefixBurst?: number
  /** Prefix lengths of the per-prefix limits, of requests and of records (default `{ ip4: 24, ip6: 56 }`, `SOURCE_PREFIXES` of @fara/transport). */
  sourcePrefixes?: SourcePrefixes
  /**
   * Audit hook: called with every request and response exactly as the point
   * sees them (decrypted), and the peer that sent it. For tests and audits of
   * what an operator learns; never needed to run a point.
   */
  tap?: (exchange: { peer: string, request: Uint8Array, response: Uint8Array }) => void
}

/** What the server needs from its libp2p node. */
export interface RendezvousServerComponents {
  registrar: Registrar
  logger: ComponentLogger
}

/**
 * A request the point refused by a per-key or per-source limit
 * (spec/rendezvous.md#rate-limits), reported at most once per
 * `REFUSAL_REPORT_INTERVAL_MS` (10 s) per kind, limit and source.
 */
export interface RendezvousRefusal {
  /** `requests`: over a request rate, answered `RATE_LIMITED`; `registrations`: a new slot over a cap of held records, answered `TOO_MANY_REGISTRATIONS`. */
  readonly kind: 'requests' | 'registrations'
  /** The limit: per `peer` (request rate), per record owner `key` (names held), per source `address`, per source `prefix`. */
  readonly limit: 'peer' | 'key' | 'address' | 'prefix'
  /** What the limit counts: the address, the prefix, or (for `peer` and `key`) the requesting peer id. */
  readonly source: string
  /** The requesting peer. */
  readonly peer: string
  /** The limit's value: requests per second, or records held. */
  readonly max: number
  /** Requests refused by this limit for this source since the last report, this one included. */
  readonly refused: number
}

/** Events of a {@link RendezvousServer}. */
export interface RendezvousServerEvents {
  /** A per-key or per-source limit refused a request (also one error log line). */
  'rendezvous:refused': CustomEvent<RendezvousRefusal>
}

/** The rendezvous point service running inside a libp2p node. */
export interface RendezvousServer extends TypedEventTarget<RendezvousServerEvents> {
  /** The records it holds. */
  readonly store: RecordStore
  /** Requests answered, by outcome, since start (`rateLimited`: refused by a request rate, per peer or per source). */
  readonly stats: { requests: number, refused: number, failed: number, rateLimited: number }
}

class RendezvousServerService extends Answerer implements Startable, ServeBackend {
  readonly #registrar: Registrar
  readonly #timeout: number
  readonly #maxInboundStreams: number

  constructor (components: RendezvousServerComponents, init: RendezvousServerInit) {
    super(init, components.logger.forComponent('fara:rendezvous:server'))
    this.#registrar = components.registrar
    this.#timeout = init.requestTimeout ?? DEFAULT_REQUEST_TIMEOUT_MS
    this.#maxInboundStreams = init.maxInboundStreams ?? MAX_INBOUND_STREAMS
  }

  async start (): Promise<void> {
    await this.store.load()
    await handleProtocols(this.#registrar, this, this.log, { timeout: this.#timeout, maxInboundStreams: this.#maxInboundStreams, prefixes: this.prefixes })
  }

  async stop (): Promise<void> {
    await unhandleProtocols(this.#registrar)
  }

  count (what: 'refused' | 'failed'): void {
    this.stats[what]++
  }
}

/**
 * The rendezvous point as a libp2p service: add it to a node's `services`
 * (or use `createRendezvousPoint`).
 */
export function rendezvousServer (init: RendezvousServerInit = {}): (components: RendezvousServerComponents) => RendezvousServer {
  return (components) => new RendezvousServerService(components, init)
}
