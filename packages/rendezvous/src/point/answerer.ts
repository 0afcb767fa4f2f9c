import { TypedEventEmitter } from '@libp2p/interface'
import { decodeSignedRevocation, isServiceName } from '@fara/identity'
import { RefusalReports, checkSourcePrefixes } from '@fara/transport'
import {
  DEFAULT_ADDRESS_BURST, DEFAULT_ADDRESS_RATE, DEFAULT_PEER_BURST, DEFAULT_PEER_RATE, DEFAULT_PREFIX_BURST, DEFAULT_PREFIX_RATE,
  MAX_TRACKED_PEERS, MAX_TRACKED_SOURCES, Status
} from '../constants.ts'
import { RequestLimits } from '../internal/request-limits.ts'
import { InvalidRecordError, InvalidRequestError, RendezvousError, TooManyRegistrationsError } from '../errors.ts'
import { RequestKind, decodeRequest, encodeResponse } from '../internal/messages.ts'
import { RecordStore } from '../store.ts'
import type { Response } from '../internal/messages.ts'
import type { RequestRefusal } from '../internal/request-limits.ts'
import type { RendezvousRefusal, RendezvousServer, RendezvousServerEvents, RendezvousServerInit } from './server.ts'
import type { Source, SourcePrefixes } from '@fara/transport'
import type { Logger } from '@libp2p/interface'

/** The sender of a connection's requests: its peer id, and its source address and prefix (none through a relay). */
export interface Sender { readonly peer: string, readonly source: Source | undefined }

/**
 * What answers a point's requests: the one record store, the request rates
 * and the refusal reports. It runs in the point's process (one worker), or in
 * the primary of a point with several workers, which forward every request to
 * it (spec/rendezvous.md#workers): either way one store and one set of limits
 * decide every answer.
 */
export class Answerer extends TypedEventEmitter<RendezvousServerEvents> implements RendezvousServer {
  readonly store: RecordStore
  readonly stats = { requests: 0, refused: 0, failed: 0, rateLimited: 0 }
  readonly prefixes: Required<SourcePrefixes>
  protected readonly log: Logger
  readonly #limits: RequestLimits
  readonly #reports = new RefusalReports()
  readonly #tap: RendezvousServerInit['tap']

  constructor (init: RendezvousServerInit, log: Logger) {
    super()
    this.store = new RecordStore(init)
    this.#tap = init.tap
    this.prefixes = checkSourcePrefixes(init.sourcePrefixes)
    this.#limits = new RequestLimits({
      peer: { rate: init.peerRate ?? DEFAULT_PEER_RATE, burst: init.peerBurst ?? DEFAULT_PEER_BURST },
      address: { rate: init.addressRate ?? DEFAULT_ADDRESS_RATE, burst: init.addressBurst ?? DEFAULT_ADDRESS_BURST },
      prefix: { rate: init.prefixRate ?? DEFAULT_PREFIX_RATE, burst: init.prefixBurst ?? DEFAULT_PREFIX_BURST }
    }, MAX_TRACKED_PEERS, MAX_TRACKED_SOURCES, init.now)
    this.log = log
  }

  /** A token for one request, or the answer that refuses it (not decoded: a flood costs the point one small answer per request). */
  admit (sender: Sender): Uint8Array | undefined {
    const refusal = this.#limits.take(sender.peer, sender.source)
    if (refusal == null) return undefined
    this.stats.rateLimited++
    this.#report({ kind: 'requests', limit: refusal.limit, source: refusal.key, peer: sender.peer, max: refusal.bucket.rate })
    return encodeResponse({ status: Status.RATE_LIMITED, message: tooMany(refusal), retryAfterMs: refusal.wait })
  }

  /** One request: a token, then the answer (refusals included), encoded; never rejects. */
  async answer (request: Uint8Array, sender: Sender): Promise<Uint8Array> {
    return this.admit(sender) ?? this.respond(request, sender)
  }

  /** Report a refusal by a per-key or per-source limit: an event and an error log line, at most once per limit and source per interval. */
  #report (refusal: Omit<RendezvousRefusal, 'refused'>): void {
    const refused = this.#reports.refused(`${refusal.kind} ${refusal.limit} ${refusal.source}`)
    if (refused === 0) return
    this.log.error('refuse %s from %s %s (peer %s): at most %d; %d refused since the last report', refusal.kind, refusal.limit, refusal.source, refusal.peer, refusal.max, refused)
    this.safeDispatchEvent('rendezvous:refused', { detail: { ...refusal, refused } })
  }

  /** Answer a request that was let through: every error becomes its wire status. */
  async respond (request: Uint8Array, sender: Sender): Promise<Uint8Array> {
    this.stats.requests++
    const { peer } = sender
    let response: Response
    try {
      response = await this.#answer(request, sender)
    } catch (err) {
      if (err instanceof RendezvousError) {
        this.stats.refused++
        this.log('refuse request from %s - %s: %s', peer, err.name, err.message)
        if (err instanceof TooManyRegistrationsError && err.limit != null) {
          const max = this.store.limits[err.limit]
          this.#report({ kind: 'registrations', limit: err.limit, source: err.limit === 'key' ? peer : sender.source![err.limit], peer, max })
        }
        response = { status: err.code, message: err.message }
      } else {
        this.stats.failed++
        this.log.error('rendezvous request failed - %e', err)
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
        if (this.log.enabled) this.log('register %s from %s: ttl %d ms, addrs %d', JSON.stringify(record.name), peer, record.expires - record.seq, record.addrs.length)
        return { status: Status.OK, message: '' }
      }
      case RequestKind.RESOLVE: {
        if (!isServiceName(req.name)) throw new InvalidRequestError(`invalid service name ${JSON.stringify(String(req.name).slice(0, 64))}`)
        const record = await this.store.get(req.name)
        if (this.log.enabled) this.log('resolve %s from %s', JSON.stringify(record.name), peer)
        return { status: Status.OK, message: '', record: record.signed }
      }
      case RequestKind.UNREGISTER:
        if (req.record == null) throw new InvalidRequestError('UNREGISTER without a tombstone')
        await this.store.remove(req.record)
        this.log('withdraw from %s', peer)
        return { status: Status.OK, message: '' }
      case RequestKind.REGISTER_PRIVATE:
        if (req.privateRecord == null) throw new InvalidRequestError('REGISTER_PRIVATE without a private record')
        await this.store.putPrivate(req.privateRecord, write)
        this.log('register private from %s', peer)
        return { status: Status.OK, message: '' }
      case RequestKind.RESOLVE_PRIVATE: {
        if (req.lookupKey?.byteLength !== 32) throw new InvalidRequestError('RESOLVE_PRIVATE needs a 32-byte lookup key')
        const privateRecord = await this.store.getPrivate(req.lookupKey)
        this.log('resolve private from %s', peer)
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
        this.log('revoke from %s', peer)
        return { status: Status.OK, message: '' }
      }
      case RequestKind.UNREGISTER_PRIVATE:
        if (req.privateRecord == null) throw new InvalidRequestError('UNREGISTER_PRIVATE without a private tombstone')
        await this.store.removePrivate(req.privateRecord)
        this.log('withdraw private from %s', peer)
        return { status: Status.OK, message: '' }
      default:
        throw new InvalidRequestError(`unknown request type ${req.type}`)
    }
  }
}

/** The message of a RATE_LIMITED answer: which limit, so that a client behind a busy NAT can tell. */
function tooMany (refusal: RequestRefusal): string {
  const what = refusal.limit === 'peer' ? 'this key' : refusal.limit === 'address' ? `address ${refusal.key}` : `network ${refusal.key}`
  return `too many requests from ${what} (at most ${refusal.bucket.rate}/s, burst ${refusal.bucket.burst})`
}
