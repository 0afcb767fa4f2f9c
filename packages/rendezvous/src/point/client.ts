import { peerIdFromString } from '@libp2p/peer-id'
import { lpStream } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import { StreamOpenError, dialEntity, openStream } from '@fara/transport'
import { STREAMS_PER_CONNECTION } from '@fara/transport/constants'
import { assertServiceName, encodeSignedRevocation } from '@fara/identity'
import type { SignedRevocation } from '@fara/identity'
import { DEFAULT_REQUEST_TIMEOUT_MS, MAX_POINT_MESSAGE_BYTES, MAX_PRIVATE_RECORD_BYTES, MAX_RECORD_BYTES, RENDEZVOUS_PROTOCOL, Status } from '../constants.ts'
import { RateLimitedError, RecordTooLargeError, RendezvousError, RendezvousInternalError, RendezvousUnavailableError, errorForStatus } from '../errors.ts'
import { RequestKind, decodeResponse, encodeRequest } from '../internal/messages.ts'
import { deferred } from '../internal/deferred.ts'
import { MAX_IN_FLIGHT, RENDEZVOUS_SESSION_PROTOCOL, SESSION_IDLE_MS } from '../constants.ts'
import { ClientSession, SessionEndedError } from './session.ts'
import { assertLookupKey, verifyRecord } from '../record.ts'
import type { SignedPrivateRecord } from '../record.ts'
import type { Request, Response } from '../internal/messages.ts'
import type { PrivateRendezvous, Rendezvous, RendezvousComponents, RendezvousFactory } from '../rendezvous.ts'
import type { AbortOptions, Libp2p, PeerId, Stream } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/** Options for {@link rendezvousPoint}. */
export interface RendezvousPointInit {
  /** Per-request deadline in ms (default {@link DEFAULT_REQUEST_TIMEOUT_MS}). */
  timeout?: number
}

function parsePoint (addrs: Array<string | Multiaddr>): { peer: PeerId, addrs: Multiaddr[] } {
  if (addrs.length === 0) throw new TypeError('rendezvousPoint needs at least one multiaddr ending in /p2p/<peer id>')
  let peer: PeerId | undefined
  const parsed = addrs.map(a => {
    let ma: Multiaddr
    let p: PeerId
    try {
      ma = multiaddr(a.toString())
    } catch (err) {
      throw new TypeError(`rendezvous point address ${JSON.stringify(String(a))} is not a multiaddr (${(err as Error).message})`, { cause: err })
    }
    const id = ma.getComponents().find(c => c.name === 'p2p')?.value
    if (id == null) throw new TypeError(`rendezvous point address ${ma.toString()} must end in /p2p/<peer id>`)
    try {
      p = peerIdFromString(id)
    } catch (err) {
      throw new TypeError(`rendezvous point address ${ma.toString()} ends in /p2p/${id}, which is not a peer id (cut short?)`, { cause: err })
    }
    if (peer != null && !peer.equals(p)) throw new TypeError('rendezvous point addresses name different peers')
    peer = p
    return ma
  })
  return { peer: peer!, addrs: parsed }
}

/** Aborts its signal when `ms` have passed or the caller's signal aborts, whichever is first; `clear()` when done. */
class Deadline {
  readonly #controller = new AbortController()
  readonly #timer: ReturnType<typeof setTimeout>
  readonly #caller: AbortSignal | undefined
  #expired = false

  constructor (ms: number, caller?: AbortSignal) {
    this.#caller = caller
    this.#timer = setTimeout(() => {
      this.#expired = true
      this.#controller.abort(new DOMException(`no answer within ${ms} ms`, 'TimeoutError'))
    }, ms)
    caller?.addEventListener('abort', this.#onAbort, { once: true })
  }

  get signal (): AbortSignal {
    return this.#controller.signal
  }

  /** True when the time ran out (not the caller's abort). */
  get expired (): boolean {
    return this.#expired
  }

  clear (): void {
    clearTimeout(this.#timer)
    this.#caller?.removeEventListener('abort', this.#onAbort)
  }

  readonly #onAbort = (): void => { this.#controller.abort(this.#caller?.reason) }
}

/** `promise`, or the signal's reason if it aborts first. */
async function raceSignal<T> (promise: Promise<T>, signal: AbortSignal): Promise<T> {
  signal.throwIfAborted()
  const { promise: aborted, reject } = deferred<never>()
  const onAbort = (): void => { reject(signal.reason as Error) }
  signal.addEventListener('abort', onAbort, { once: true })
  try {
    return await Promise.race([promise, aborted])
  } finally {
    signal.removeEventListener('abort', onAbort)
  }
}

/**
 * Refuse before sending what the point would refuse for its size (a request
 * past the point's message limit would only reset the session, and read as
 * the point being unavailable).
 */
function checkSize (signed: { record: Uint8Array, signature: Uint8Array }, max = MAX_RECORD_BYTES, what = 'record'): void {
  if (signed?.record?.byteLength > max) {
    throw new RecordTooLargeError(`${what} is ${signed.record.byteLength} bytes; at most ${max}`)
  }
}

class RendezvousPointClient implements PrivateRendezvous {
  readonly #node: Libp2p
  readonly #peer: PeerId
  readonly #addrs: Multiaddr[]
  readonly #timeout: number

  constructor (node: Libp2p, point: { peer: PeerId, addrs: Multiaddr[] }, timeout: number) {
    this.#node = node
    this.#peer = point.peer
    this.#addrs = point.addrs
    this.#timeout = timeout
  }

  /** The session in use, if it is still open. */
  #session: ClientSession | undefined
  /** A session being opened, shared by the requests that wait for it; resolves undefined for a point without sessions. */
  #opening: Promise<ClientSession | undefined> | undefined
  /** The point speaks only `/fara/rendezvous/1.0.0`: one stream per request. */
  #legacy = false

  async #request (req: Request, options: AbortOptions = {}): Promise<Response> {
    options.signal?.throwIfAborted()
    // one timer and one controller per request (AbortSignal.timeout and .any cost several times more, and a
    // timeout signal stays in the timer list for its whole delay even when the answer came long before)
    const deadline = new Deadline(this.#timeout, options.signal)
    let answer: Uint8Array
    try {
      answer = await this.#exchange(encodeRequest(req), deadline)
    } catch (err) {
      options.signal?.throwIfAborted()
      if (err instanceof RendezvousError || err instanceof RendezvousUnavailableError) throw err
      if (deadline.expired || (err as Error)?.name === 'TimeoutError' || (err as Error)?.name === 'AbortError') {
        throw new RendezvousUnavailableError(`rendezvous point ${this.#peer.toString()} did not answer within ${this.#timeout} ms`, { cause: err })
      }
      // reset, closed early, or an answer too large to read: the point did not answer this request
      throw new RendezvousUnavailableError(`rendezvous point ${this.#peer.toString()} gave no answer: ${(err as Error)?.message ?? String(err)}`, { cause: err })
    } finally {
      deadline.clear()
    }
    const res = decodeResponse(answer)
    if (res.status === Status.RATE_LIMITED) throw new RateLimitedError(res.message, res.retryAfterMs ?? 1_000)
    if (res.status !== Status.OK) throw errorForStatus(res.status, res.message)
    return res
  }

  /** Send one encoded request and return the answer's bytes: on the session, or on a stream of its own with a point that has no sessions. */
  async #exchange (body: Uint8Array, deadline: Deadline): Promise<Uint8Array> {
    const signal = deadline.signal
    for (let attempt = 0; ; attempt++) {
      const session = this.#legacy ? undefined : await this.#sessionFor(signal)
      if (session == null) return this.#once(body, signal)
      try {
        return await session.request(body, signal)
      } catch (err) {
        // the point closed the session in order before reading this request: it was not applied, send it once more
        if (err instanceof SessionEndedError && err.unprocessed && attempt === 0) continue
        // no answer in time: the session is stuck behind this request, start afresh
        if (deadline.expired) session.abort(new SessionEndedError('an earlier request timed out', false))
        throw err
      }
    }
  }

  async #sessionFor (signal: AbortSignal): Promise<ClientSession | undefined> {
    if (this.#session?.usable === true) return this.#session
    this.#opening ??= this.#open().finally(() => { this.#opening = undefined })
    // shared by every request that waits for it: each waits only as long as its own signal allows
    return raceSignal(this.#opening, signal)
  }

  /** Open a session, or learn that the point has none (then: undefined, and every later request uses its own stream). */
  async #open (): Promise<ClientSession | undefined> {
    const signal = AbortSignal.timeout(this.#timeout)
    let stream: Stream
    try {
      const connection = await dialEntity(this.#node, this.#peer, this.#addrs, { signal })
      try {
        // a point of version 1.0 answers "na" to the first protocol and takes the second
        stream = await connection.newStream([RENDEZVOUS_SESSION_PROTOCOL, RENDEZVOUS_PROTOCOL], { signal, maxOutboundStreams: STREAMS_PER_CONNECTION })
      } catch (err) {
        throw new StreamOpenError(`Could not open ${RENDEZVOUS_SESSION_PROTOCOL} to ${this.#peer.toString()}: ${(err as Error)?.message ?? String(err)}`, { cause: err })
      }
    } catch (err) {
      throw new RendezvousUnavailableError(`rendezvous point ${this.#peer.toString()} unreachable: ${(err as Error).message}`, { cause: err })
    }
    if (stream.protocol !== RENDEZVOUS_SESSION_PROTOCOL) {
      this.#legacy = true
      stream.abort(new Error('no sessions at this point'))
      return undefined
    }
    this.#session = new ClientSession(stream, MAX_IN_FLIGHT, SESSION_IDLE_MS)
    return this.#session
  }

  /** One request on a stream of its own (`/fara/rendezvous/1.0.0`). */
  async #once (body: Uint8Array, signal: AbortSignal): Promise<Uint8Array> {
    let stream
    try {
      stream = await openStream(this.#node, this.#peer, this.#addrs, RENDEZVOUS_PROTOCOL, { signal })
    } catch (err) {
      throw new RendezvousUnavailableError(`rendezvous point ${this.#peer.toString()} unreachable: ${(err as Error).message}`, { cause: err })
    }
    try {
      const lp = lpStream(stream, { maxDataLength: MAX_POINT_MESSAGE_BYTES })
      await lp.write(body, { signal })
      const answer = (await lp.read({ signal })).subarray()
      await stream.close({ signal }).catch(() => {})
      return answer
    } catch (err) {
      stream.abort(err as Error)
      throw err
    }
  }

  /**
   * Open the connection and the session ahead of the first request, so that
   * it costs one round trip (a new stream costs one more for its protocol
   * negotiation). Rejects like a request that could not reach the point.
   */
  async prepare (options: AbortOptions = {}): Promise<void> {
    options.signal?.throwIfAborted()
    if (this.#legacy) return
    const deadline = new Deadline(this.#timeout, options.signal)
    try {
      await this.#sessionFor(deadline.signal)
    } catch (err) {
      options.signal?.throwIfAborted()
      if (err instanceof RendezvousUnavailableError) throw err
      throw new RendezvousUnavailableError(`rendezvous point ${this.#peer.toString()} unreachable within ${this.#timeout} ms`, { cause: err })
    } finally {
      deadline.clear()
    }
  }

  async register (record: Parameters<Rendezvous['register']>[0], options?: AbortOptions): Promise<void> {
    checkSize(record)
    await this.#request({ type: RequestKind.REGISTER, record, name: '' }, options)
  }

  async resolve (name: string, options?: AbortOptions): Promise<Awaited<ReturnType<Rendezvous['resolve']>>> {
    assertServiceName(name)
    const res = await this.#request({ type: RequestKind.RESOLVE, name }, options)
    if (res.record == null) throw new RendezvousInternalError('rendezvous point answered OK without a record')
    // verified here, by the reader: a rendezvous point cannot hand out a record its key did not sign
    const record = await verifyRecord(res.record)
    if (record.name !== name) throw new RendezvousInternalError(`asked for ${JSON.stringify(name)}, got a record for ${JSON.stringify(record.name)}`)
    return record
  }

  async unregister (tombstone: Parameters<Rendezvous['unregister']>[0], options?: AbortOptions): Promise<void> {
    checkSize(tombstone)
    await this.#request({ type: RequestKind.UNREGISTER, record: tombstone, name: '' }, options)
  }

  async registerPrivate (record: SignedPrivateRecord, options?: AbortOptions): Promise<void> {
    checkSize(record, MAX_PRIVATE_RECORD_BYTES, 'private record')
    await this.#request({ type: RequestKind.REGISTER_PRIVATE, privateRecord: record, name: '' }, options)
  }

  async resolvePrivate (lookupKey: Uint8Array, options?: AbortOptions): Promise<SignedPrivateRecord> {
    assertLookupKey(lookupKey)
    const res = await this.#request({ type: RequestKind.RESOLVE_PRIVATE, lookupKey, name: '' }, options)
    if (res.privateRecord == null) throw new RendezvousInternalError('rendezvous point answered OK without a private record')
    return res.privateRecord
  }

  async revoke (revocation: SignedRevocation, options?: AbortOptions): Promise<void> {
    await this.#request({ type: RequestKind.REVOKE, revocation: encodeSignedRevocation(revocation), name: '' }, options)
  }

  async unregisterPrivate (tombstone: SignedPrivateRecord, options?: AbortOptions): Promise<void> {
    checkSize(tombstone, MAX_PRIVATE_RECORD_BYTES, 'private record')
    await this.#request({ type: RequestKind.UNREGISTER_PRIVATE, privateRecord: tombstone, name: '' }, options)
  }
}

/**
 * A backend that talks to a rendezvous point over libp2p (Noise-authenticated:
 * the point must hold the key in its `/p2p/` address).
 *
 * Every request is answered or fails within `timeout`; a refusal of the
 * point arrives as the typed error of its wire status (spec/rendezvous.md#status-codes-and-errors).
 *
 * @example
 * ```ts
 * import { rendezvousPoint } from '@fara/rendezvous'
 * import { createEntity } from '@fara/sdk'
 *
 * const rendezvous = rendezvousPoint('/ip4/203.0.113.7/tcp/40123/p2p/12D3KooW...', { timeout: 5_000 })
 * const entity = await createEntity({ app: 'chat', rendezvous })
 * await entity.close()
 * ```
 *
 * @throws {@link RendezvousUnavailableError} when the point cannot be reached, proves another key, or does not answer within `timeout`.
 * @throws {@link RateLimitedError} when the point asks this peer to slow down; `retryAfterMs` says when to try again.
 * @throws {@link NameNotFoundError} when `resolve` finds no live record for the name.
 * @throws {@link NameTakenError} when `register` meets a live record for the name held by another key.
 * @throws {@link StaleRecordError} when a record or tombstone is not newer than the one stored, or was withdrawn.
 * @throws {@link InvalidSignatureError} when a record (sent, or answered by the point) is not signed by the key it names.
 * @throws {@link InvalidRecordError} when a record breaks a field rule, or the point answers a record for another name.
 * @throws {@link ExpiredRecordError} when a record (or its certificate) has expired.
 * @throws {@link RecordTooLargeError} when a record is larger than {@link @fara/rendezvous!constants.MAX_RECORD_BYTES | MAX_RECORD_BYTES} (refused before it is sent).
 * @throws {@link RevokedError} when a record's certificate was revoked by its device key.
 * @throws {@link TooManyRegistrationsError} when the key, source address or prefix already holds the most records the point allows.
 * @throws {@link StoreFullError} when the point holds the most records it is configured for.
 * @throws {@link InvalidRequestError} when the point cannot read the request (a point of an incompatible version).
 * @throws {@link RendezvousInternalError} when the point failed, or answered something unreadable.
 * @throws `TypeError` when no address is given, one does not end in `/p2p/<peer id>`, or they name different peers.
 */
export function rendezvousPoint (addrs: string | Multiaddr | Array<string | Multiaddr>, init: RendezvousPointInit = {}): RendezvousFactory<PrivateRendezvous> {
  const point = parsePoint(Array.isArray(addrs) ? addrs : [addrs])
  const timeout = init.timeout ?? DEFAULT_REQUEST_TIMEOUT_MS
  return (components: RendezvousComponents) => new RendezvousPointClient(components.node, point, timeout)
}
