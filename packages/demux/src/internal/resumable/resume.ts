import { MAX_RESUME_REPLY_FRAME_BYTES, ResumeCode } from '../../constants.ts'
import { ResumeFailedError, ResumeRefusedError } from '../../errors.ts'
import { decodeResumeReply, encodeResume, encodeResumeReply } from '../../framing.ts'
import { StreamReader, lengthPrefixed } from '../reader.ts'
import { initiatorProof, proofsEqual, responderProof, resumeToken } from '../resume-keys.ts'
import { reconnectBackoff } from './timers.ts'
import type { ResumeFrame } from '../../framing.ts'
import type { Reconnect, ResumableAssociation, ResumableHooks } from '../../resumable.ts'
import type { PeerId, Stream } from '@libp2p/interface'

// The resumption exchange (spec/resumption.md#resumption): the initiator's
// Resume and redial loop, the responder's check and answer.

/** An association's resumption secret: its key and current token (spec/resumption.md#keys). */
export interface ResumeSecret {
  readonly key: Uint8Array
  readonly token: Uint8Array
}

/**
 * What names a resumable association on the wire: this end's AId and the
 * other's, fresh on each path, and the resumption token that names it at
 * the responder (single use: `token(n + 1)` replaces `token(n)` after each
 * resumption). The demux holds the AIds and (responder) the tokens.
 */
export class Names {
  #localAid: Uint8Array
  #remoteAid: Uint8Array | undefined
  #secret: { key: Uint8Array, index: number, token: Uint8Array } | undefined
  readonly #hooks: ResumableHooks
  /** Responder: the association the demux finds by its token. */
  readonly #registered: ResumableAssociation | undefined
  /** Set by release(): an exchange that completes after the association ended registers nothing. */
  #released = false

  constructor (hooks: ResumableHooks, localAid: Uint8Array, remoteAid: Uint8Array | undefined, registered: ResumableAssociation | undefined) {
    this.#hooks = hooks
    this.#localAid = localAid
    this.#remoteAid = remoteAid
    this.#registered = registered
  }

  get localAid (): Uint8Array { return this.#localAid }
  get remoteAid (): Uint8Array | undefined { return this.#remoteAid }
  /** The key and current token; undefined until the open/accept exchange completed. */
  get secret (): ResumeSecret | undefined { return this.#secret }

  /** The open/accept exchange completed: the other end's AId, and the key (`token(0)` registered at the responder). */
  established (remoteAid: Uint8Array, key: Uint8Array): void {
    this.#remoteAid = remoteAid
    this.#secret = { key, index: 0, token: resumeToken(key, 0) }
    if (this.#registered != null && !this.#released) this.#hooks.registerToken(this.#secret.token, this.#registered)
  }

  /** A resumption succeeded: the new path's AIds replace the old (released), the next token the used one. */
  renew (localAid: Uint8Array, remoteAid: Uint8Array): void {
    const secret = this.#secret!
    this.#hooks.releaseAid(this.#localAid)
    this.#localAid = localAid
    this.#remoteAid = remoteAid
    if (this.#registered != null) this.#hooks.unregisterToken(secret.token)
    secret.index++
    secret.token = resumeToken(secret.key, secret.index)
    if (this.#registered != null && !this.#released) this.#hooks.registerToken(secret.token, this.#registered)
  }

  /** The association is over: forget its token and release its AId. */
  release (): void {
    this.#released = true
    if (this.#secret != null) this.#hooks.unregisterToken(this.#secret.token)
    this.#hooks.releaseAid(this.#localAid)
  }
}

/** An accepted, verified ResumeReply, and the reader of its stream. */
export interface ResumeAccepted {
  reader: StreamReader
  responderAid: Uint8Array
  /** Bytes of this end's stream the responder holds. */
  received: number
}

/**
 * Initiator: send a Resume on `stream` (a fresh `aid`, the `received` count,
 * the proof) and wait `timeout` ms for the ResumeReply. Throws
 * `ResumeRefusedError` when the responder refuses or cannot prove the key.
 */
export async function requestResume (stream: Stream, secret: ResumeSecret, aid: Uint8Array, received: number, timeout: number): Promise<ResumeAccepted> {
  const { key, token } = secret
  const reader = new StreamReader(stream)
  const proof = initiatorProof(key, token, aid, received)
  stream.send(lengthPrefixed(encodeResume({ token, initiatorAid: aid, received, proof })))
  const reply = decodeResumeReply(await reader.readFrame(MAX_RESUME_REPLY_FRAME_BYTES, 'ResumeReply', AbortSignal.timeout(timeout)))
  if (reply.code !== ResumeCode.ACCEPTED) throw new ResumeRefusedError(`Resume refused: ${reply.message || `code ${reply.code}`}`)
  if (!proofsEqual(reply.proof, responderProof(key, token, reply.responderAid, reply.received, proof))) {
    throw new ResumeRefusedError('ResumeReply proof does not verify')
  }
  return { reader, responderAid: reply.responderAid, received: reply.received }
}

/** Responder: whether `frame`, from `remotePeer`, resumes the association of `peer` holding `secret`. */
export function verifyResume (secret: ResumeSecret, frame: ResumeFrame, remotePeer: PeerId, peer: PeerId): boolean {
  return remotePeer.equals(peer) && proofsEqual(frame.proof, initiatorProof(secret.key, secret.token, frame.initiatorAid, frame.received))
}

/** Responder: answer a verified Resume (whose proof was `proof`) with ACCEPTED, this end's fresh `aid`, its `received` count and proof. */
export function answerResume (stream: Stream, secret: ResumeSecret, aid: Uint8Array, received: number, proof: Uint8Array): void {
  const replyProof = responderProof(secret.key, secret.token, aid, received, proof)
  stream.send(lengthPrefixed(encodeResumeReply({ code: ResumeCode.ACCEPTED, responderAid: aid, received, proof: replyProof, message: '' })))
}

export interface RedialInit {
  reconnect: Reconnect | undefined
  /** Bounds each attempt (ms). */
  openTimeout: number
  /** Aborts when a path was adopted or the association ended (the resume deadline included). */
  signal: AbortSignal
  /** Whether the association still waits for a path. */
  resuming: () => boolean
  /** Resume on `stream`; resolves once the path is adopted. */
  resumeOn: (stream: Stream) => Promise<void>
  fail: (err: Error) => void
}

/** Initiator: dial again, with backoff, until a path is resumed, the deadline passes or the responder refuses. */
export async function redial ({ reconnect, openTimeout, signal, resuming, resumeOn, fail }: RedialInit): Promise<void> {
  if (reconnect == null) {
    fail(new ResumeFailedError('Path lost and no way to reconnect was given'))
    return
  }
  for (let attempt = 0; resuming() && !signal.aborted; attempt++) {
    let stream: Stream | undefined
    try {
      stream = await reconnect({ signal: AbortSignal.any([signal, AbortSignal.timeout(openTimeout)]) })
      await resumeOn(stream)
      return
    } catch (err) {
      stream?.abort(err as Error)
      if ((err as Error)?.name === ResumeRefusedError.name) {
        fail(new ResumeFailedError(`The other end refused to resume: ${(err as Error).message}`, { cause: err }))
        return
      }
      await reconnectBackoff(attempt, signal)
    }
  }
}
