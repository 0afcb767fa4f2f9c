import { lpStream } from '@libp2p/utils'
import { decodeSignedRevocation, isServiceName } from '@fara/identity'
import { DEFAULT_PEER_BURST, DEFAULT_PEER_RATE, DEFAULT_REQUEST_TIMEOUT_MS, MAX_INBOUND_STREAMS, MAX_MESSAGE_BYTES, MAX_TRACKED_PEERS, RENDEZVOUS_PROTOCOL, Status } from '../constants.ts'
import { RateLimiter } from '../internal/rate-limit.ts'
import { InvalidRecordError, InvalidRequestError, RendezvousError } from '../errors.ts'
import { RequestKind, decodeRequest, encodeResponse } from '../internal/messages.ts'
import { RecordStore } from '../store.ts'
import { MAX_SESSION_STREAMS, RENDEZVOUS_SESSION_PROTOCOL } from '../constants.ts'
import { serveSession } from './session-server.ts'
import type { Response } from '../internal/messages.ts'
import type { RecordStoreInit } from '../store.ts'
import type { ComponentLogger, Logger, Startable, Stream } from '@libp2p/interface'
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

/** The rendezvous point service running inside a libp2p node. */
export interface RendezvousServer {
  /** The records it holds. */
  readonly store: RecordStore
  /** Requests answered, by outcome, since start. */
  readonly stats: { requests: number, refused: number, failed: number, rateLimited: number }
}

class RendezvousServerService implements RendezvousServer, Startable {
  readonly store: RecordStore
  readonly stats = { requests: 0, refused: 0, failed: 0, rateLimited: 0 }
  readonly #registrar: Registrar
  readonly #log: Logger
  readonly #timeout: number
  readonly #maxInboundStreams: number
  readonly #limiter: RateLimiter
  readonly #tap: RendezvousServerInit['tap']

  constructor (components: RendezvousServerComponents, init: RendezvousServerInit) {
    this.store = new RecordStore(init)
    this.#tap = init.tap
    this.#limiter = new RateLimiter(init.peerRate ?? DEFAULT_PEER_RATE, init.peerBurst ?? DEFAULT_PEER_BURST, MAX_TRACKED_PEERS, init.now)
    this.#registrar = components.registrar
    this.#log = components.logger.forComponent('fara:rendezvous:server')
    this.#timeout = init.requestTimeout ?? DEFAULT_REQUEST_TIMEOUT_MS
    this.#maxInboundStreams = init.maxInboundStreams ?? MAX_INBOUND_STREAMS
  }

  async start (): Promise<void> {
    await this.store.load()
    await this.#registrar.handle(RENDEZVOUS_PROTOCOL, (stream, connection) => {
      this.#serve(stream, connection.remotePeer.toString()).catch(err => {
        this.stats.failed++
        this.#log.error('rendezvous stream failed - %e', err)
        stream.abort(err)
      })
    }, { maxInboundStreams: this.#maxInboundStreams })
    await this.#registrar.handle(RENDEZVOUS_SESSION_PROTOCOL, (stream, connection) => {
      const peer = connection.remotePeer.toString()
      serveSession(stream, {
        answer: async (request) => this.#answerRequest(request, peer),
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

  /** One request of a session: a token, then the answer (refusals included), encoded. */
  async #answerRequest (request: Uint8Array, peer: string): Promise<Uint8Array> {
    const wait = this.#limiter.take(peer)
    if (wait > 0) {
      // not decoded: a flood costs the point one small answer per request
      this.stats.rateLimited++
      return encodeResponse({ status: Status.RATE_LIMITED, message: 'too many requests', retryAfterMs: wait })
    }
    return this.#respond(request, peer)
  }

  /** Answer a request that was let through: every error becomes its wire status. */
  async #respond (request: Uint8Array, peer: string): Promise<Uint8Array> {
    this.stats.requests++
    let response: Response
    try {
      response = await this.#answer(request)
    } catch (err) {
      if (err instanceof RendezvousError) {
        this.stats.refused++
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

  async #answer (bytes: Uint8Array): Promise<Response> {
    const req = decodeRequest(bytes)
    switch (req.type) {
      case RequestKind.REGISTER:
        if (req.record == null) throw new InvalidRequestError('REGISTER without a record')
        await this.store.put(req.record)
        return { status: Status.OK, message: '' }
      case RequestKind.RESOLVE: {
        if (!isServiceName(req.name)) throw new InvalidRequestError(`invalid service name ${JSON.stringify(String(req.name).slice(0, 64))}`)
        const record = await this.store.get(req.name)
        return { status: Status.OK, message: '', record: record.signed }
      }
      case RequestKind.UNREGISTER:
        if (req.record == null) throw new InvalidRequestError('UNREGISTER without a tombstone')
        await this.store.remove(req.record)
        return { status: Status.OK, message: '' }
      case RequestKind.REGISTER_PRIVATE:
        if (req.privateRecord == null) throw new InvalidRequestError('REGISTER_PRIVATE without a private record')
        await this.store.putPrivate(req.privateRecord)
        return { status: Status.OK, message: '' }
      case RequestKind.RESOLVE_PRIVATE:
        if (req.lookupKey?.byteLength !== 32) throw new InvalidRequestError('RESOLVE_PRIVATE needs a 32-byte lookup key')
        return { status: Status.OK, message: '', privateRecord: await this.store.getPrivate(req.lookupKey) }
      case RequestKind.REVOKE: {
        if (req.revocation == null) throw new InvalidRequestError('REVOKE without a revocation')
        let revocation
        try {
          revocation = decodeSignedRevocation(req.revocation)
        } catch (err) {
          throw new InvalidRecordError((err as Error).message)
        }
        await this.store.revoke(revocation)
        return { status: Status.OK, message: '' }
      }
      case RequestKind.UNREGISTER_PRIVATE:
        if (req.privateRecord == null) throw new InvalidRequestError('UNREGISTER_PRIVATE without a private tombstone')
        await this.store.removePrivate(req.privateRecord)
        return { status: Status.OK, message: '' }
      default:
        throw new InvalidRequestError(`unknown request type ${req.type}`)
    }
  }

  async #serve (stream: Stream, peer: string): Promise<void> {
    const signal = AbortSignal.timeout(this.#timeout)
    const wait = this.#limiter.take(peer)
    if (wait > 0) {
      // answered without reading the request: a flood costs the point one small write per stream
      this.stats.rateLimited++
      const lp = lpStream(stream, { maxDataLength: MAX_MESSAGE_BYTES })
      await this.#deliver(stream, lp, encodeResponse({ status: Status.RATE_LIMITED, message: 'too many requests', retryAfterMs: wait }), signal)
      return
    }
    const lp = lpStream(stream, { maxDataLength: MAX_MESSAGE_BYTES })
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
    await this.#deliver(stream, lp, await this.#respond(bytes, peer), signal)
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

/**
 * The rendezvous point as a libp2p service: add it to a node's `services`
 * (or use `createRendezvousPoint`).
 */
export function rendezvousServer (init: RendezvousServerInit = {}): (components: RendezvousServerComponents) => RendezvousServer {
  return (components) => new RendezvousServerService(components, init)
}
