import { StreamReader, lengthPrefixed } from './internal/reader.ts'
import { AID_BYTES, DEFAULT_OPEN_TIMEOUT_MS, FRAMING_VERSION, MAX_OPEN_FRAME_BYTES, MAX_REPLY_FRAME_BYTES, ReplyCode } from './constants.ts'
import { AssociationClosedError, AssociationRejectedError, AssociationTableFullError } from './errors.ts'
import { decodeOpen, decodeReply, encodeOpen, encodeReply } from './framing.ts'
import { StreamAssociation } from './association.ts'
import { AssociationTable } from './table.ts'
import type { Association } from './association.ts'
import type { AssociationTableInit } from './table.ts'
import type { AbortOptions, PeerId, Stream } from '@libp2p/interface'

/** Options for {@link createDemux}. */
export interface DemuxInit extends AssociationTableInit {
  /** How long to wait for the Open (responder) or the Reply (initiator), in ms (default {@link DEFAULT_OPEN_TIMEOUT_MS}). */
  openTimeout?: number
}

/** What an accepted association was opened for. */
export interface Accepted<S> {
  association: Association
  /** The service registered under the AId the initiator asked for. */
  service: S
}

/**
 * The demultiplexer of one entity: services listening under random service
 * AIds, and live associations under their own random AIds, in one table.
 */
export interface Demux<S> {
  /** Register a service; returns its fresh service AId (published in the rendezvous record). */
  listen (service: S): Uint8Array
  /** Remove a service; live associations continue. */
  unlisten (aid: Uint8Array): boolean
  /** The service listening under `aid`, if any. */
  service (aid: Uint8Array): S | undefined
  /**
   * Initiator: send the Open on `stream` (no round trip: it leaves with the
   * first data) and return the association at once. A refusal surfaces as a
   * typed error on the first read and on `accepted`.
   */
  open (stream: Stream, serviceAid: Uint8Array, remotePeer: PeerId): Association
  /**
   * Responder: read the Open, look up the service, reply, and return the
   * association. Throws a typed error (after replying, where the frame allowed
   * one) for an unknown AId, an unsupported version, a malformed or oversized
   * frame, or a stream that sent nothing within the open timeout.
   */
  accept (stream: Stream, remotePeer: PeerId, options?: AbortOptions): Promise<Accepted<S>>
  /** Number of live associations. */
  readonly associations: number
  /** Number of listening services. */
  readonly services: number
}

type Entry<S> = { kind: 'service', service: S } | { kind: 'association' }

class DefaultDemux<S> implements Demux<S> {
  readonly #table: AssociationTable<Entry<S>>
  readonly #openTimeout: number
  #services = 0

  constructor (init: DemuxInit = {}) {
    this.#table = new AssociationTable(init)
    this.#openTimeout = init.openTimeout ?? DEFAULT_OPEN_TIMEOUT_MS
    if (!Number.isFinite(this.#openTimeout) || this.#openTimeout <= 0) {
      throw new RangeError(`openTimeout must be a positive number of ms, got ${init.openTimeout}`)
    }
  }

  get associations (): number {
    return this.#table.size - this.#services
  }

  get services (): number {
    return this.#services
  }

  listen (service: S): Uint8Array {
    const aid = this.#table.register({ kind: 'service', service })
    this.#services++
    return aid
  }

  unlisten (aid: Uint8Array): boolean {
    if (this.#table.lookup(aid)?.kind !== 'service') return false
    this.#table.release(aid)
    this.#services--
    return true
  }

  service (aid: Uint8Array): S | undefined {
    const entry = this.#table.lookup(aid)
    return entry?.kind === 'service' ? entry.service : undefined
  }

  #track (stream: Stream, localAid: Uint8Array): void {
    const release = (): void => { this.#table.release(localAid) }
    if (stream.status !== 'open') {
      release()
    } else {
      stream.addEventListener('close', release, { once: true })
    }
  }

  open (stream: Stream, serviceAid: Uint8Array, remotePeer: PeerId): Association {
    if (serviceAid?.byteLength !== AID_BYTES) {
      throw new RangeError(`serviceAid must be ${AID_BYTES} bytes, got ${serviceAid?.byteLength}`)
    }
    const localAid = this.#table.register({ kind: 'association' })
    this.#track(stream, localAid)
    const reader = new StreamReader(stream)
    // queued now, before any data the caller sends next: the Open leaves with the first data
    try {
      stream.send(lengthPrefixed(encodeOpen({ aid: serviceAid, initiatorAid: localAid })))
    } catch (err) {
      this.#table.release(localAid)
      throw new AssociationClosedError(`Cannot open an association on this stream: ${(err as Error).message}`)
    }
    const established = (async (): Promise<Uint8Array> => {
      const signal = AbortSignal.timeout(this.#openTimeout)
      let reply
      try {
        reply = decodeReply(await reader.readFrame(MAX_REPLY_FRAME_BYTES, 'Reply', signal))
      } catch (err) {
        const typed = typedReadError(err, 'Reply')
        stream.abort(typed)
        throw typed
      }
      if (reply.code !== ReplyCode.ACCEPTED) {
        const err = new AssociationRejectedError(reply.code, `Association rejected: ${reply.message || codeName(reply.code)}`)
        stream.abort(err)
        throw err
      }
      return reply.responderAid
    })()
    return new StreamAssociation({ stream, reader, direction: 'outbound', localAid, remotePeer, established })
  }

  async accept (stream: Stream, remotePeer: PeerId, options: AbortOptions = {}): Promise<Accepted<S>> {
    const reader = new StreamReader(stream)
    const signal = options.signal == null
      ? AbortSignal.timeout(this.#openTimeout)
      : AbortSignal.any([options.signal, AbortSignal.timeout(this.#openTimeout)])
    let open
    try {
      open = decodeOpen(await reader.readFrame(MAX_OPEN_FRAME_BYTES, 'Open', signal))
    } catch (err) {
      const typed = typedReadError(err, 'Open')
      if (typed.name === 'MalformedFrameError' || typed.name === 'FrameTooLargeError') {
        await refuse(stream, ReplyCode.MALFORMED, typed.message, this.#openTimeout)
      } else {
        stream.abort(typed)
      }
      throw typed
    }
    if (open.version !== FRAMING_VERSION) {
      const message = `framing version ${open.version} not supported; this end speaks ${FRAMING_VERSION}`
      await refuse(stream, ReplyCode.UNSUPPORTED_VERSION, message, this.#openTimeout)
      throw new AssociationRejectedError(ReplyCode.UNSUPPORTED_VERSION, message)
    }
    const entry = this.#table.lookup(open.aid)
    if (entry?.kind !== 'service') {
      await refuse(stream, ReplyCode.UNKNOWN_AID, 'unknown AId', this.#openTimeout)
      throw new AssociationRejectedError(ReplyCode.UNKNOWN_AID, 'Open for an unknown AId')
    }
    let localAid
    try {
      localAid = this.#table.register({ kind: 'association' })
    } catch (err) {
      await refuse(stream, ReplyCode.BUSY, 'busy', this.#openTimeout)
      throw err instanceof AssociationTableFullError ? new AssociationRejectedError(ReplyCode.BUSY, err.message) : err
    }
    this.#track(stream, localAid)
    stream.send(lengthPrefixed(encodeReply({ code: ReplyCode.ACCEPTED, responderAid: localAid, message: '' })))
    const association = new StreamAssociation({
      stream, reader, direction: 'inbound', localAid, remoteAid: open.initiatorAid, remotePeer, established: Promise.resolve(open.initiatorAid)
    })
    return { association, service: entry.service }
  }
}

/** Create the demultiplexer of one entity. */
export function createDemux<S> (init: DemuxInit = {}): Demux<S> {
  return new DefaultDemux<S>(init)
}

function codeName (code: number): string {
  return Object.entries(ReplyCode).find(([, v]) => v === code)?.[0] ?? `code ${code}`
}

/** Make sure whatever went wrong while reading a frame surfaces as one of this package's typed errors. */
function typedReadError (err: unknown, what: string): Error {
  const e = err as Error
  switch (e?.name) {
    case 'MalformedFrameError':
    case 'FrameTooLargeError':
    case 'AssociationResetError':
    case 'AssociationClosedError':
      return e
    case 'TimeoutError':
    case 'AbortError':
      return new AssociationClosedError(`No ${what} frame within the open timeout`)
    default:
      return new AssociationClosedError(`Stream ended before the ${what} frame: ${e?.message ?? String(err)}`)
  }
}

/** Send a refusal, half-close, and make sure the stream is gone within the timeout. */
async function refuse (stream: Stream, code: ReplyCode, message: string, timeout: number): Promise<void> {
  const deadline = setTimeout(() => { stream.abort(new AssociationClosedError('refused association not closed by the initiator')) }, timeout)
  deadline.unref()
  stream.addEventListener('close', () => { clearTimeout(deadline) }, { once: true })
  try {
    stream.send(lengthPrefixed(encodeReply({ code, responderAid: new Uint8Array(0), message })))
    await stream.close({ signal: AbortSignal.timeout(timeout) })
  } catch (err) {
    stream.abort(err as Error)
  }
}
