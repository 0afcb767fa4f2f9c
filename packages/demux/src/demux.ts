import { randomBytes } from 'node:crypto'
import { StreamReader, lengthPrefixed } from './internal/reader.ts'
import {
  AID_BYTES, DEFAULT_OPEN_TIMEOUT_MS, MAX_SEND_WINDOW_BYTES, DEFAULT_RESUME_TIMEOUT_MS, DEFAULT_SEND_WINDOW_BYTES, FRAMING_VERSION, MAX_OPEN_FRAME_BYTES, MAX_REPLY_FRAME_BYTES,
  MAX_RESUME_FRAME_BYTES, RESUMABLE_FRAMING_VERSION, RESUME_NONCE_BYTES, RESUME_VERSION, ReplyCode, ResumeCode
} from './constants.ts'
import { AssociationClosedError, AssociationRejectedError, AssociationTableFullError, ResumeRefusedError } from './errors.ts'
import { decodeOpen, decodeReply, decodeResume, encodeOpen, encodeReply, encodeResumeReply } from './framing.ts'
import { StreamAssociation } from './association.ts'
import { ResumableAssociation } from './resumable.ts'
import { resumeKey } from './internal/resume-keys.ts'
import { admitted, codeName, isFrameError, refuse, refuseWith, typedReadError } from './internal/refusals.ts'
import { AssociationTable } from './table.ts'
import type { Association } from './association.ts'
import { preferredRecordCipher } from './internal/record-cipher.ts'
import type { RecordCipher } from './internal/record-cipher.ts'
import type { RecordsOf } from './internal/records.ts'
import type { Reconnect, ResumableHooks } from './resumable.ts'
import type { AssociationTableInit } from './table.ts'
import type { AbortOptions, PeerId, Stream } from '@libp2p/interface'

/** Options for {@link createDemux}. */
export interface DemuxInit extends AssociationTableInit {
  /** How long to wait for the Open (responder) or the Reply (initiator), in ms (default {@link DEFAULT_OPEN_TIMEOUT_MS}). */
  openTimeout?: number
  /** Accept resumable associations when an initiator asks (default true). */
  resumable?: boolean
  /** Resumable associations: bytes sent but not acknowledged before `send` returns false (default {@link DEFAULT_SEND_WINDOW_BYTES}). */
  sendWindow?: number
  /** Resumable associations: how long to wait for a new path after losing one, in ms (default {@link DEFAULT_RESUME_TIMEOUT_MS}). */
  resumeTimeout?: number
  /**
   * Resumable associations: the AEAD this end would rather its record path
   * used (spec/resumption.md#records). Records are AES-256-GCM only when
   * both ends would rather; ChaCha20-Poly1305 otherwise. Default:
   * `'aes-256-gcm'` where the CPU has AES instructions, else
   * `'chacha20-poly1305'`.
   */
  recordCipher?: RecordCipher
}

/** Options for {@link Demux.open}. */
export interface OpenOptions {
  /**
   * Make the association resumable (spec/resumption.md): when its path is
   * lost, `reconnect` is called for a new stream on `RESUME_PROTOCOL` to the
   * same peer, and the association continues there.
   */
  resume?: { reconnect: Reconnect }
  /**
   * Resumable associations: where the connection of each of this
   * association's streams (the first, every reconnected one) has a record
   * side channel, such as the unobservable layer's (`@fara/transport`'s
   * `layerRecords`). The association's frames then leave Noise and Yamux for
   * encrypted records on it (spec/resumption.md#records).
   */
  records?: RecordsOf
}

/** Options for {@link Demux.accept}. */
export interface AcceptOptions<S> extends AbortOptions {
  /**
   * Called with the service an Open names (after its AId was found): false
   * refuses the association with `REFUSED` (spec/wire.md#reply-codes) before
   * any AId is drawn for it. A throw refuses it too.
   */
  admit?: (service: S) => boolean
  /** As {@link OpenOptions.records}, for the accepted stream. */
  records?: RecordsOf
}

/** Options for {@link Demux.resume}. */
export interface ResumeOptions extends AbortOptions {
  /** As {@link OpenOptions.records}, for the resumed stream. */
  records?: RecordsOf
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
  open (stream: Stream, serviceAid: Uint8Array, remotePeer: PeerId, options?: OpenOptions): Association
  /**
   * Responder: read the Open, look up the service, reply, and return the
   * association. Throws a typed error (after replying, where the frame allowed
   * one) for an unknown AId, an unsupported version, a malformed or oversized
   * frame, a service that does not `admit` the initiator, or a stream that
   * sent nothing within the open timeout.
   */
  accept (stream: Stream, remotePeer: PeerId, options?: AcceptOptions<S>): Promise<Accepted<S>>
  /**
   * Responder, on a `RESUME_PROTOCOL` stream: read the Resume frame and carry
   * the association it names over this stream. Refuses (one answer for an
   * unknown token, a wrong proof or another peer) with `ResumeRefusedError`.
   */
  resume (stream: Stream, remotePeer: PeerId, options?: ResumeOptions): Promise<Association>
  /** Number of live associations. */
  readonly associations: number
  /** Number of listening services. */
  readonly services: number
}

type Entry<S> = { kind: 'service', service: S } | { kind: 'association' }

/** The records an Open and Reply agreed on: none, or their cipher (spec/resumption.md#records). */
function recordCipherOf (frame: { records?: boolean, recordsAes?: boolean }): RecordCipher | undefined {
  if (frame.records !== true) return undefined
  return frame.recordsAes === true ? 'aes-256-gcm' : 'chacha20-poly1305'
}

function positive (value: number | undefined, fallback: number, name: string): number {
  const out = value ?? fallback
  if (!Number.isFinite(out) || out <= 0) throw new RangeError(`${name} must be a positive number, got ${value}`)
  return out
}

class DefaultDemux<S> implements Demux<S> {
  readonly #table: AssociationTable<Entry<S>>
  readonly #openTimeout: number
  readonly #resumable: boolean
  readonly #sendWindow: number
  readonly #resumeTimeout: number
  readonly #recordsAes: boolean
  /** Resumable associations this end accepted, by current resumption token (hex). */
  readonly #tokens = new Map<string, ResumableAssociation>()
  readonly #hooks: ResumableHooks
  #services = 0

  constructor (init: DemuxInit = {}) {
    this.#table = new AssociationTable(init)
    this.#openTimeout = positive(init.openTimeout, DEFAULT_OPEN_TIMEOUT_MS, 'openTimeout')
    this.#sendWindow = positive(init.sendWindow, DEFAULT_SEND_WINDOW_BYTES, 'sendWindow')
    if (this.#sendWindow > MAX_SEND_WINDOW_BYTES) throw new RangeError(`sendWindow must be at most ${MAX_SEND_WINDOW_BYTES} bytes, got ${init.sendWindow}`)
    this.#resumeTimeout = positive(init.resumeTimeout, DEFAULT_RESUME_TIMEOUT_MS, 'resumeTimeout')
    this.#resumable = init.resumable ?? true
    const cipher = init.recordCipher ?? preferredRecordCipher()
    if (cipher !== 'aes-256-gcm' && cipher !== 'chacha20-poly1305') throw new RangeError(`recordCipher must be 'aes-256-gcm' or 'chacha20-poly1305', got ${String(init.recordCipher)}`)
    this.#recordsAes = cipher === 'aes-256-gcm'
    this.#hooks = {
      newAid: () => this.#table.register({ kind: 'association' }),
      releaseAid: (aid) => { this.#table.release(aid) },
      registerToken: (token, association) => { this.#tokens.set(Buffer.from(token).toString('hex'), association) },
      unregisterToken: (token) => { this.#tokens.delete(Buffer.from(token).toString('hex')) }
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

  open (stream: Stream, serviceAid: Uint8Array, remotePeer: PeerId, options: OpenOptions = {}): Association {
    if (serviceAid?.byteLength !== AID_BYTES) {
      throw new RangeError(`serviceAid must be ${AID_BYTES} bytes, got ${serviceAid?.byteLength}`)
    }
    if (options.resume != null && typeof options.resume.reconnect !== 'function') {
      throw new TypeError('resume.reconnect must be a function')
    }
    const localAid = this.#table.register({ kind: 'association' })
    const nonce = options.resume == null ? undefined : new Uint8Array(randomBytes(RESUME_NONCE_BYTES))
    if (nonce == null) this.#track(stream, localAid)
    const reader = new StreamReader(stream)
    // queued now, before any data the caller sends next: the Open leaves with the first data
    try {
      stream.send(lengthPrefixed(encodeOpen({ aid: serviceAid, initiatorAid: localAid, ...(nonce == null ? {} : { resumeNonce: nonce, records: true, recordsAes: this.#recordsAes }) })))
    } catch (err) {
      this.#table.release(localAid)
      throw new AssociationClosedError(`Cannot open an association on this stream: ${(err as Error).message}`)
    }
    let replyNonce: Uint8Array | undefined
    let replyRecords: RecordCipher | undefined
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
      if ((nonce == null) !== (reply.resumeNonce == null)) {
        const err = new AssociationClosedError('Reply does not match the Open: resumption asked for and not granted, or the reverse')
        stream.abort(err)
        throw err
      }
      replyNonce = reply.resumeNonce
      // AES-256-GCM only if this end asked for it too: a Reply's records_aes to an Open without it is ignored
      replyRecords = recordCipherOf({ records: reply.records === true, recordsAes: reply.recordsAes === true && this.#recordsAes })
      return reply.responderAid
    })()
    if (nonce == null || options.resume == null) {
      return new StreamAssociation({ stream, reader, direction: 'outbound', localAid, remotePeer, established })
    }
    return new ResumableAssociation({
      direction: 'outbound',
      remotePeer,
      localAid,
      stream,
      reader,
      hooks: this.#hooks,
      window: this.#sendWindow,
      resumeTimeout: this.#resumeTimeout,
      openTimeout: this.#openTimeout,
      reconnect: options.resume.reconnect,
      records: options.records,
      established: established.then(remoteAid => ({ remoteAid, key: resumeKey(nonce, replyNonce!, localAid, remoteAid), records: replyRecords }), (err: Error) => {
        this.#table.release(localAid)
        throw err
      })
    })
  }

  async accept (stream: Stream, remotePeer: PeerId, options: AcceptOptions<S> = {}): Promise<Accepted<S>> {
    const reader = new StreamReader(stream)
    const signal = options.signal == null
      ? AbortSignal.timeout(this.#openTimeout)
      : AbortSignal.any([options.signal, AbortSignal.timeout(this.#openTimeout)])
    let open
    try {
      open = decodeOpen(await reader.readFrame(MAX_OPEN_FRAME_BYTES, 'Open', signal))
    } catch (err) {
      const typed = typedReadError(err, 'Open')
      if (isFrameError(typed)) {
        await refuse(stream, ReplyCode.MALFORMED, typed.message, this.#openTimeout)
      } else {
        stream.abort(typed)
      }
      throw typed
    }
    const resumable = open.version === RESUMABLE_FRAMING_VERSION && this.#resumable
    if (open.version !== FRAMING_VERSION && !resumable) {
      const message = `framing version ${open.version} not supported; this end speaks ${this.#resumable ? `${FRAMING_VERSION} and ${RESUMABLE_FRAMING_VERSION}` : FRAMING_VERSION}`
      await refuse(stream, ReplyCode.UNSUPPORTED_VERSION, message, this.#openTimeout)
      throw new AssociationRejectedError(ReplyCode.UNSUPPORTED_VERSION, message)
    }
    const entry = this.#table.lookup(open.aid)
    if (entry?.kind !== 'service') {
      await refuse(stream, ReplyCode.UNKNOWN_AID, 'unknown AId', this.#openTimeout)
      throw new AssociationRejectedError(ReplyCode.UNKNOWN_AID, 'Open for an unknown AId')
    }
    if (!admitted(options.admit, entry.service)) {
      await refuse(stream, ReplyCode.REFUSED, 'this key is not admitted', this.#openTimeout)
      throw new AssociationRejectedError(ReplyCode.REFUSED, 'Open refused: the service does not admit this key')
    }
    let localAid
    try {
      localAid = this.#table.register({ kind: 'association' })
    } catch (err) {
      await refuse(stream, ReplyCode.BUSY, 'busy', this.#openTimeout)
      throw err instanceof AssociationTableFullError ? new AssociationRejectedError(ReplyCode.BUSY, err.message) : err
    }
    if (resumable) {
      const nonce = new Uint8Array(randomBytes(RESUME_NONCE_BYTES))
      // records: if the Open asked; AES-256-GCM if it would rather and so would this end
      const records = open.records === true ? { records: true, recordsAes: open.recordsAes === true && this.#recordsAes } : {}
      stream.send(lengthPrefixed(encodeReply({ code: ReplyCode.ACCEPTED, responderAid: localAid, message: '', resumeNonce: nonce, ...records })))
      const key = resumeKey(open.resumeNonce!, nonce, open.initiatorAid, localAid)
      const association = new ResumableAssociation({
        direction: 'inbound',
        remotePeer,
        localAid,
        remoteAid: open.initiatorAid,
        stream,
        reader,
        hooks: this.#hooks,
        window: this.#sendWindow,
        resumeTimeout: this.#resumeTimeout,
        openTimeout: this.#openTimeout,
        records: options.records,
        established: Promise.resolve({ remoteAid: open.initiatorAid, key, records: recordCipherOf(records) })
      })
      return { association, service: entry.service }
    }
    this.#track(stream, localAid)
    stream.send(lengthPrefixed(encodeReply({ code: ReplyCode.ACCEPTED, responderAid: localAid, message: '' })))
    const association = new StreamAssociation({
      stream, reader, direction: 'inbound', localAid, remoteAid: open.initiatorAid, remotePeer, established: Promise.resolve(open.initiatorAid)
    })
    return { association, service: entry.service }
  }

  async resume (stream: Stream, remotePeer: PeerId, options: ResumeOptions = {}): Promise<Association> {
    const reader = new StreamReader(stream)
    const signal = options.signal == null
      ? AbortSignal.timeout(this.#openTimeout)
      : AbortSignal.any([options.signal, AbortSignal.timeout(this.#openTimeout)])
    const answer = async (code: ResumeCode, message: string): Promise<void> => {
      await refuseWith(stream, lengthPrefixed(encodeResumeReply({ code, responderAid: new Uint8Array(0), received: 0, proof: new Uint8Array(0), message })), this.#openTimeout)
    }
    let frame
    try {
      frame = decodeResume(await reader.readFrame(MAX_RESUME_FRAME_BYTES, 'Resume', signal))
    } catch (err) {
      const typed = typedReadError(err, 'Resume')
      if (isFrameError(typed)) await answer(ResumeCode.MALFORMED, typed.message)
      else stream.abort(typed)
      throw typed
    }
    if (frame.version !== RESUME_VERSION) {
      const message = `resume version ${frame.version} not supported; this end speaks ${RESUME_VERSION}`
      await answer(ResumeCode.UNSUPPORTED_VERSION, message)
      throw new ResumeRefusedError(message)
    }
    const association = this.#tokens.get(Buffer.from(frame.token).toString('hex'))
    let accepted = false
    try {
      accepted = association?.acceptResume(stream, reader, frame, remotePeer, options.records) ?? false
    } catch (err) {
      stream.abort(err as Error)
      throw err
    }
    if (!accepted || association == null) {
      // one answer for an unknown token, a wrong proof and another peer
      await answer(ResumeCode.REFUSED, 'refused')
      throw new ResumeRefusedError('Resume refused: unknown association or wrong proof')
    }
    return association
  }
}

/** Create the demultiplexer of one entity. */
export function createDemux<S> (init: DemuxInit = {}): Demux<S> {
  return new DefaultDemux<S>(init)
}
