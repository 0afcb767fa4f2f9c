import { TypedEventEmitter } from '@libp2p/interface'
import { lpStream } from '@libp2p/utils'
import { decodeSignedRevocation, isServiceName } from '@fara/identity'
import { RefusalReports, checkSourcePrefixes, sourceOf } from '@fara/transport'
import {
  DEFAULT_ADDRESS_BURST, DEFAULT_ADDRESS_RATE, DEFAULT_PEER_BURST, DEFAULT_PEER_RATE, DEFAULT_PREFIX_BURST, DEFAULT_PREFIX_RATE, DEFAULT_REQUEST_TIMEOUT_MS,
  MAX_INBOUND_STREAMS, MAX_POINT_MESSAGE_BYTES, MAX_TRACKED_PEERS, MAX_TRACKED_SOURCES, RENDEZVOUS_PROTOCOL, Status
} from '../constants.ts'
import { RequestLimits } from '../internal/request-limits.ts'
import { InvalidRecordError, InvalidRequestError, RendezvousError, TooManyRegistrationsError } from '../errors.ts'
import { RequestKind, decodeRequest, encodeResponse } from '../internal/messages.ts'
import { RecordStore } from '../store.ts'
import { MAX_SESSION_STREAMS, RENDEZVOUS_SESSION_PROTOCOL } from '../constants.ts'
import { serveSession } from './session-server.ts'
import type { Response } from '../internal/messages.ts'
import type { RecordStoreInit } from '../store.ts'
import type { RequestRefusal } from '../internal/request-limits.ts'
import type { Source, SourcePrefixes } from '@fara/transport'
import type { ComponentLogger, Connection, Logger, Startable, Stream, TypedEventTarget } from '@libp2p/interface'
import type { LengthPrefixedStream } from '@libp2p/utils'
import type { Registrar } from '@libp2p/interface-internal'

/** Options for {@link rendezvousServer}. */
export interface RendezvousServerInit extends RecordStoreInit {
  /** How long to wait for a request on a new stream (default {@link DEFAULT_REQUEST_TIMEOUT_MS}). */
  requestTimeout?: number
  /** Concurrent one-request rendezvous streams (`/fara/rendezvous/1.0.0`) per connection (default {@link MAX_INBOUND_STREAMS}). */
  maxInboundStreams?: number
  /** Sustained requests per second per peer (default {@link DEFAULT_PEER_RATE}). */
  peerRate?: number
  /** Burst of requests per peer (default {@link DEFAULT_PEER_BURST}). */
  peerBurst?: number
  /** Sustained requests per second per source address, IPv4 address or IPv6 /64, whatever its keys (default {@link DEFAULT_ADDRESS_RATE}). */
  addressRate?: number
  /** Burst of requests per source address (default {@link DEFAULT_ADDRESS_BURST}). */
  addressBurst?: number
  /** Sustained requests per second per source prefix, IPv4 /24 or IPv6 /56 (default {@link DEFAULT_PREFIX_RATE}). */
  prefixRate?: number
  /** Burst of requests per source prefix (default {@link DEFAULT_PREFIX_BURST}). */
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

class RendezvousServerService extends TypedEventEmitter<RendezvousServerEvents> implements RendezvousServer, Startable {
  readonly store: RecordStore
  readonly stats = { requests: 0, refused: 0, failed: 0, rateLimited: 0 }
  readonly #registrar: Registrar
  readonly #log: Logger
  readonly #timeout: number
  readonly #maxInboundStreams: number
  readonly #limits: RequestLimits
  readonly #prefixes: Required<SourcePrefixes>
  readonly #reports = new RefusalReports()
  readonly #tap: RendezvousServerInit['tap']

  constructor (components: RendezvousServerComponents, init: RendezvousServerInit) {
    super()
    this.store = new RecordStore(init)
    this.#tap = init.tap
    this.#prefixes = checkSourcePrefixes(init.sourcePrefixes)
    this.#limits = new RequestLimits({
      peer: { rate: init.peerRate ?? DEFAULT_PEER_RATE, burst: init.peerBurst ?? DEFAULT_PEER_BURST },
      address: { rate: init.addressRate ?? DEFAULT_ADDRESS_RATE, burst: init.addressBurst ?? DEFAULT_ADDRESS_BURST },
      prefix: { rate: init.prefixRate ?? DEFAULT_PREFIX_RATE, burst: init.prefixBurst ?? DEFAULT_PREFIX_BURST }
    }, MAX_TRACKED_PEERS, MAX_TRACKED_SOURCES, init.now)
    this.#registrar = components.registrar
    this.#log = components.logger.forComponent('fara:rendezvous:server')
    this.#timeout = init.requestTimeout ?? DEFAULT_REQUEST_TIMEOUT_MS
    this.#maxInboundStreams = init.maxInboundStreams ?? MAX_INBOUND_STREAMS
  }

  async start (): Promise<void> {
    await this.store.load()
    await this.#registrar.handle(RENDEZVOUS_PROTOCOL, (stream, connection) => {
      this.#serve(stream, this.#senderOf(connection)).catch(err => {
        this.stats.failed++
        this.#log.error('rendezvous stream failed - %e', err)
        stream.abort(err)
      })
    }, { maxInboundStreams: this.#maxInboundStreams })
    await this.#registrar.handle(RENDEZVOUS_SESSION_PROTOCOL, (stream, connection) => {
      const sender = this.#senderOf(connection)
      serveSession(stream, {
        answer: async (request) => this.#answerRequest(request, sender),
        refused: (err) => {
          this.stats.refused++
          this.#log('dropping rendezvous session - %e', err)
        },
        undelivered: (err) => { this.#log('answer not delivered - %e', err) },
        timeout: this.#timeout
      })
    }, { maxInboundStreams: MAX_SESSION_STREAMS })
  }

  async stop (): Promise<void> {
    await this.#registrar.unhandle(RENDEZVOUS_SESSION_PROTOCOL)
    await this.#registrar.unhandle(RENDEZVOUS_PROTOCOL)
  }

  /** Who sent a connection's requests: its peer id, and its source address and prefix (none through a relay). */
  #senderOf (connection: Connection): Sender {
    return { peer: connection.remotePeer.toString(), source: sourceOf(connection.remoteAddr, this.#prefixes) }
  }

  /** A token for one request, or the answer that refuses it (not decoded: a flood costs the point one small answer per request). */
  #admit (sender: Sender): Uint8Array | undefined {
    const refusal = this.#limits.take(sender.peer, sender.source)
    if (refusal == null) return undefined
    this.stats.rateLimited++
    this.#report({ kind: 'requests', limit: refusal.limit, source: refusal.key, peer: sender.peer, max: refusal.bucket.rate })
    return encodeResponse({ status: Status.RATE_LIMITED, message: tooMany(refusal), retryAfterMs: refusal.wait })
  }

  /** Report a refusal by a per-key or per-source limit: an event and an error log line, at most once per limit and source per interval. */
  #report (refusal: Omit<RendezvousRefusal, 'refused'>): void {
    const refused = this.#reports.refused(`${refusal.kind} ${refusal.limit} ${refusal.source}`)
    if (refused === 0) return
    this.#log.error('refuse %s from %s %s (peer %s): at most %d; %d refused since the last report', refusal.kind, refusal.limit, refusal.source, refusal.peer, refusal.max, refused)
    this.safeDispatchEvent('rendezvous:refused', { detail: { ...refusal, refused } })
  }

  /** One request of a session: a token, then the answer (refusals included), encoded. */
  async #answerRequest (request: Uint8Array, sender: Sender): Promise<Uint8Array> {
    return this.#admit(sender) ?? this.#respond(request, sender)
  }

  /** Answer a request that was let through: every error becomes its wire status. */
  async #respond (request: Uint8Array, sender: Sender): Promise<Uint8Array> {
    this.stats.requests++
    const { peer } = sender
    let response: Response
    try {
      response = await this.#answer(request, sender)
    } catch (err) {
      if (err instanceof RendezvousError) {
        this.stats.refused++
        this.#log('refuse request from %s - %s: %s', peer, err.name, err.message)
        if (err instanceof TooManyRegistrationsError && err.limit != null) {
          const max = this.store.limits[err.limit]
          this.#report({ kind: 'registrations', limit: err.limit, source: err.limit === 'key' ? peer : sender.source![err.limit], peer, max })
        }
        response = { status: err.code, message: err.message }
      } else {
        this.stats.failed++
        this.#log.error('rendezvous request failed - %e', err)
        response = { status: Status.INTERNAL, message: 'internal error' }
      }
    }
    const encoded = encodeResponse(response)
    this.#tap?.({ peer, request: request.slice(), response: encoded })
    return encoded
  }

  /**
   * Decode a request and answer it. What was done is one debug line
   * (README "Logging" of @fara/sdk): a public name as it is, a private one
   * as the word `private` (never its lookup key); refusals are logged by the caller.
   */
  async #answer (bytes: Uint8Array, sender: Sender): Promise<Response> {
    const req = decodeRequest(bytes)
    const { peer, source } = sender
    const write = source == null ? {} : { source }
    switch (req.type) {
      case RequestKind.REGISTER: {
        if (req.record == null) throw new InvalidRequestError('REGISTER without a record')
        const record = await this.store.put(req.record, write)
        if (this.#log.enabled) this.#log('register %s from %s: ttl %d ms, addrs %d', JSON.stringify(record.name), peer, record.expires - record.seq, record.addrs.length)
        return { status: Status.OK, message: '' }
      }
      case RequestKind.RESOLVE: {
        if (!isServiceName(req.name)) throw new InvalidRequestError(`invalid service name ${JSON.stringify(String(req.name).slice(0, 64))}`)
        const record = await this.store.get(req.name)
        if (this.#log.enabled) this.#log('resolve %s from %s', JSON.stringify(record.name), peer)
        return { status: Status.OK, message: '', record: record.signed }
      }
      case RequestKind.UNREGISTER:
        if (req.record == null) throw new InvalidRequestError('UNREGISTER without a tombstone')
        await this.store.remove(req.record)
        this.#log('withdraw from %s', peer)
        return { status: Status.OK, message: '' }
      case RequestKind.REGISTER_PRIVATE:
        if (req.privateRecord == null) throw new InvalidRequestError('REGISTER_PRIVATE without a private record')
        await this.store.putPrivate(req.privateRecord, write)
        this.#log('register private from %s', peer)
        return { status: Status.OK, message: '' }
      case RequestKind.RESOLVE_PRIVATE: {
        if (req.lookupKey?.byteLength !== 32) throw new InvalidRequestError('RESOLVE_PRIVATE needs a 32-byte lookup key')
        const privateRecord = await this.store.getPrivate(req.lookupKey)
        this.#log('resolve private from %s', peer)
        return { status: Status.OK, message: '', privateRecord }
      }
      case RequestKind.REVOKE: {
        if (req.revocation == null) throw new InvalidRequestError('REVOKE without a revocation')
        let revocation
        try {
          revocation = decodeSignedRevocation(req.revocation)
        } catch (err) {
          throw new InvalidRecordError((err as Error).message)
        }
        await this.store.revoke(revocation)
        this.#log('revoke from %s', peer)
        return { status: Status.OK, message: '' }
      }
      case RequestKind.UNREGISTER_PRIVATE:
        if (req.privateRecord == null) throw new InvalidRequestError('UNREGISTER_PRIVATE without a private tombstone')
        await this.store.removePrivate(req.privateRecord)
        this.#log('withdraw private from %s', peer)
        return { status: Status.OK, message: '' }
      default:
        throw new InvalidRequestError(`unknown request type ${req.type}`)
    }
  }

  async #serve (stream: Stream, sender: Sender): Promise<void> {
    const signal = AbortSignal.timeout(this.#timeout)
    const refused = this.#admit(sender)
    if (refused != null) {
      // answered without reading the request: a flood costs the point one small write per stream
      const lp = lpStream(stream, { maxDataLength: MAX_POINT_MESSAGE_BYTES })
      await this.#deliver(stream, lp, refused, signal)
      return
    }
    const lp = lpStream(stream, { maxDataLength: MAX_POINT_MESSAGE_BYTES })
    let bytes
    try {
      bytes = (await lp.read({ signal })).subarray()
    } catch (err) {
      // oversized, truncated or late: one line in the log, the stream dropped, the point keeps serving
      this.stats.refused++
      this.#log('dropping rendezvous stream - %e', err)
      stream.abort(err as Error)
      return
    }
    await this.#deliver(stream, lp, await this.#respond(bytes, sender), signal)
  }

  /**
   * Write the answer and close. A peer that reset the stream or went away
   * before its answer (or does not read it in time) costs one debug line:
   * that is its doing, not a failure of the point.
   */
  async #deliver (stream: Stream, lp: LengthPrefixedStream<Stream>, answer: Uint8Array, signal: AbortSignal): Promise<void> {
    try {
      await lp.write(answer, { signal })
      await stream.close({ signal })
    } catch (err) {
      this.#log('answer not delivered - %e', err)
      // libp2p may reject with the stream's close Event rather than an Error
      stream.abort(err instanceof Error ? err : new Error('answer not delivered'))
    }
  }
}

/** The sender of a connection's requests. */
interface Sender { readonly peer: string, readonly source: Source | undefined }

/** The message of a RATE_LIMITED answer: which limit, so that a client behind a busy NAT can tell. */
function tooMany (refusal: RequestRefusal): string {
  const what = refusal.limit === 'peer' ? 'this key' : refusal.limit === 'address' ? `address ${refusal.key}` : `network ${refusal.key}`
  return `too many requests from ${what} (at most ${refusal.bucket.rate}/s, burst ${refusal.bucket.burst})`
}

/**
 * The rendezvous point as a libp2p service: add it to a node's `services`
 * (or use `createRendezvousPoint`).
 */
export function rendezvousServer (init: RendezvousServerInit = {}): (components: RendezvousServerComponents) => RendezvousServer {
  return (components) => new RendezvousServerService(components, init)
}
