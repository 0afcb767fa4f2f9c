import {
  AID_BYTES, FRAMING_VERSION, MAX_OPEN_FRAME_BYTES, MAX_REASON_BYTES, MAX_REPLY_FRAME_BYTES, MAX_RESUME_FRAME_BYTES, MAX_RESUME_REPLY_FRAME_BYTES,
  RESUMABLE_FRAMING_VERSION, RESUME_NONCE_BYTES, RESUME_PROOF_BYTES, RESUME_TOKEN_BYTES, RESUME_VERSION, ReplyCode, ResumeCode
} from './constants.ts'
import { FrameTooLargeError, MalformedFrameError } from './errors.ts'
import { OpenType, ReplyType, ResumeReplyType, ResumeType, TO_OBJECT } from './internal/codec.ts'

/** The first frame on an association stream, initiator → responder (spec/wire.md#open). */
export interface OpenFrame {
  version: number
  /** The responder's service AId. */
  aid: Uint8Array
  /** The fresh id of this association at the initiator. */
  initiatorAid: Uint8Array
  /** Version 2 (resumable) only: the initiator's 32-byte resumption nonce; empty in version 1. */
  resumeNonce?: Uint8Array
  /** Version 2 only: this end understands the record path's frames (spec/resumption.md#records). */
  records?: boolean
  /** With `records` only: this end would rather records were AES-256-GCM (spec/resumption.md#records). */
  recordsAes?: boolean
}

/** The responder's answer to an Open (spec/wire.md#reply). */
export interface ReplyFrame {
  code: ReplyCode
  /** The fresh id of this association at the responder; 8 bytes when accepted, empty otherwise. */
  responderAid: Uint8Array
  /** Reason for a refusal. */
  message: string
  /** The responder's 32-byte resumption nonce when accepting a version 2 Open; empty otherwise. */
  resumeNonce?: Uint8Array
  /** Version 2 only: this end understands the record path's frames (spec/resumption.md#records). */
  records?: boolean
  /** With `records` only: the records of this association are AES-256-GCM, not ChaCha20-Poly1305 (spec/resumption.md#records). */
  recordsAes?: boolean
}

/** The first frame on a resume stream, initiator → responder (spec/resumption.md#resumption). */
export interface ResumeFrame {
  version: number
  /** The association's current 16-byte resumption token. */
  token: Uint8Array
  /** The fresh id of the association at the initiator on the new path. */
  initiatorAid: Uint8Array
  /** Data bytes the initiator has received. */
  received: number
  /** HMAC-SHA256 proof of the resumption key. */
  proof: Uint8Array
}

/** The responder's answer to a Resume (spec/resumption.md#resumption). */
export interface ResumeReplyFrame {
  code: ResumeCode
  /** The fresh id of the association at the responder on the new path; 8 bytes when accepted. */
  responderAid: Uint8Array
  /** Data bytes the responder has received. */
  received: number
  /** HMAC-SHA256 proof, binding the initiator's; 32 bytes when accepted. */
  proof: Uint8Array
  /** Reason for a refusal. */
  message: string
}

const REPLY_CODES = new Set<number>(Object.values(ReplyCode))

function copyBytes (value: unknown): Uint8Array {
  return value instanceof Uint8Array ? new Uint8Array(value) : new Uint8Array(0)
}

function decodeWith<T> (type: typeof OpenType, bytes: Uint8Array, max: number, what: string): T {
  if (bytes.byteLength > max) {
    throw new FrameTooLargeError(`${what} frame is ${bytes.byteLength} bytes; at most ${max} allowed`)
  }
  try {
    return type.toObject(type.decode(bytes), TO_OBJECT) as T
  } catch (err) {
    throw new MalformedFrameError(`${what} frame does not decode: ${(err as Error).message}`)
  }
}

/** Encode an Open frame (without the length prefix). */
export function encodeOpen (frame: Omit<OpenFrame, 'version'> & { version?: number }): Uint8Array {
  if (frame.aid?.byteLength !== AID_BYTES || frame.initiatorAid?.byteLength !== AID_BYTES) {
    throw new RangeError(`aid and initiatorAid must be ${AID_BYTES} bytes`)
  }
  const version = frame.version ?? (frame.resumeNonce == null ? FRAMING_VERSION : RESUMABLE_FRAMING_VERSION)
  if (version === RESUMABLE_FRAMING_VERSION && frame.resumeNonce?.byteLength !== RESUME_NONCE_BYTES) {
    throw new RangeError(`a version ${RESUMABLE_FRAMING_VERSION} Open needs a ${RESUME_NONCE_BYTES}-byte resumeNonce`)
  }
  return OpenType.encode({ version, aid: frame.aid, initiatorAid: frame.initiatorAid, ...(frame.resumeNonce == null ? {} : { resumeNonce: frame.resumeNonce }), ...recordFields(frame) }).finish()
}

/** The `records` and `records_aes` fields as encoded: each only when set, `records_aes` only with `records`. */
function recordFields (frame: { records?: boolean, recordsAes?: boolean }): { records?: true, recordsAes?: true } {
  if (frame.records !== true) return {}
  return frame.recordsAes === true ? { records: true, recordsAes: true } : { records: true }
}

/**
 * Decode an Open frame. Throws {@link FrameTooLargeError} or
 * {@link MalformedFrameError}; the version is returned as sent, for the caller to refuse.
 */
export function decodeOpen (bytes: Uint8Array): OpenFrame {
  const raw = decodeWith<{ version: number, aid: unknown, initiatorAid: unknown, resumeNonce: unknown, records: boolean, recordsAes: boolean }>(OpenType, bytes, MAX_OPEN_FRAME_BYTES, 'Open')
  const nonce = copyBytes(raw.resumeNonce)
  const frame: OpenFrame = { version: raw.version, aid: copyBytes(raw.aid), initiatorAid: copyBytes(raw.initiatorAid), ...(nonce.byteLength === 0 ? {} : { resumeNonce: nonce }), ...(raw.version === RESUMABLE_FRAMING_VERSION ? recordFields(raw) : {}) }
  const known = frame.version === FRAMING_VERSION || frame.version === RESUMABLE_FRAMING_VERSION
  if (known && (frame.aid.byteLength !== AID_BYTES || frame.initiatorAid.byteLength !== AID_BYTES)) {
    throw new MalformedFrameError(`Open frame AIds must be ${AID_BYTES} bytes, got ${frame.aid.byteLength} and ${frame.initiatorAid.byteLength}`)
  }
  const nonceBytes = frame.version === RESUMABLE_FRAMING_VERSION ? RESUME_NONCE_BYTES : 0
  if (known && nonce.byteLength !== nonceBytes) {
    throw new MalformedFrameError(`a version ${frame.version} Open frame carries a ${nonceBytes}-byte resume nonce, got ${nonce.byteLength}`)
  }
  return frame
}

/** Encode a Reply frame (without the length prefix). Long reasons are cut to {@link MAX_REASON_BYTES}. */
export function encodeReply (frame: ReplyFrame): Uint8Array {
  if (frame.code === ReplyCode.ACCEPTED && frame.responderAid.byteLength !== AID_BYTES) {
    throw new RangeError(`responderAid must be ${AID_BYTES} bytes when accepting`)
  }
  if (frame.resumeNonce != null && frame.resumeNonce.byteLength !== RESUME_NONCE_BYTES) {
    throw new RangeError(`resumeNonce must be ${RESUME_NONCE_BYTES} bytes`)
  }
  const message = truncateUtf8(frame.message, MAX_REASON_BYTES)
  return ReplyType.encode({ code: frame.code, responderAid: frame.responderAid, message, ...(frame.resumeNonce == null ? {} : { resumeNonce: frame.resumeNonce }), ...recordFields(frame) }).finish()
}

/** The longest prefix of `text` whose UTF-8 encoding fits in `max` bytes, never cutting a character. */
export function truncateUtf8 (text: string, max: number): string {
  if (Buffer.byteLength(text, 'utf8') <= max) return text
  let out = ''
  let bytes = 0
  for (const char of text) {
    const size = Buffer.byteLength(char, 'utf8')
    if (bytes + size > max) break
    out += char
    bytes += size
  }
  return out
}

/** Decode a Reply frame, enforcing its bounds and field rules. */
export function decodeReply (bytes: Uint8Array): ReplyFrame {
  const raw = decodeWith<{ code: number, responderAid: unknown, message: string, resumeNonce: unknown, records: boolean, recordsAes: boolean }>(ReplyType, bytes, MAX_REPLY_FRAME_BYTES, 'Reply')
  if (!REPLY_CODES.has(raw.code)) {
    throw new MalformedFrameError(`Reply frame has unknown code ${raw.code}`)
  }
  const nonce = copyBytes(raw.resumeNonce)
  const frame: ReplyFrame = { code: raw.code as ReplyCode, responderAid: copyBytes(raw.responderAid), message: String(raw.message), ...(nonce.byteLength === 0 ? {} : { resumeNonce: nonce }), ...(nonce.byteLength > 0 ? recordFields(raw) : {}) }
  if (nonce.byteLength !== 0 && (frame.code !== ReplyCode.ACCEPTED || nonce.byteLength !== RESUME_NONCE_BYTES)) {
    throw new MalformedFrameError(`Reply resume nonce must be ${RESUME_NONCE_BYTES} bytes and only in an accepting Reply, got ${nonce.byteLength}`)
  }
  if (frame.code === ReplyCode.ACCEPTED && frame.responderAid.byteLength !== AID_BYTES) {
    throw new MalformedFrameError(`accepting Reply must carry a ${AID_BYTES}-byte responder AId, got ${frame.responderAid.byteLength}`)
  }
  if (Buffer.byteLength(frame.message) > MAX_REASON_BYTES) {
    throw new MalformedFrameError(`Reply reason is longer than ${MAX_REASON_BYTES} bytes`)
  }
  return frame
}

const RESUME_CODES = new Set<number>(Object.values(ResumeCode))

/** Encode a Resume frame (without the length prefix). */
export function encodeResume (frame: Omit<ResumeFrame, 'version'> & { version?: number }): Uint8Array {
  if (frame.token?.byteLength !== RESUME_TOKEN_BYTES || frame.initiatorAid?.byteLength !== AID_BYTES || frame.proof?.byteLength !== RESUME_PROOF_BYTES) {
    throw new RangeError(`token, initiatorAid and proof must be ${RESUME_TOKEN_BYTES}, ${AID_BYTES} and ${RESUME_PROOF_BYTES} bytes`)
  }
  assertOffset(frame.received, 'received')
  return ResumeType.encode({ version: frame.version ?? RESUME_VERSION, token: frame.token, initiatorAid: frame.initiatorAid, received: frame.received, proof: frame.proof }).finish()
}

/** Decode a Resume frame; the version is returned as sent, for the caller to refuse. */
export function decodeResume (bytes: Uint8Array): ResumeFrame {
  const raw = decodeWith<{ version: number, token: unknown, initiatorAid: unknown, received: number, proof: unknown }>(ResumeType, bytes, MAX_RESUME_FRAME_BYTES, 'Resume')
  const frame = { version: raw.version, token: copyBytes(raw.token), initiatorAid: copyBytes(raw.initiatorAid), received: raw.received, proof: copyBytes(raw.proof) }
  if (frame.version !== RESUME_VERSION) return frame
  if (frame.token.byteLength !== RESUME_TOKEN_BYTES || frame.initiatorAid.byteLength !== AID_BYTES || frame.proof.byteLength !== RESUME_PROOF_BYTES) {
    throw new MalformedFrameError(`Resume frame fields have the wrong sizes (token ${frame.token.byteLength}, AId ${frame.initiatorAid.byteLength}, proof ${frame.proof.byteLength})`)
  }
  checkOffset(frame.received, 'Resume')
  return frame
}

/** Encode a ResumeReply frame (without the length prefix). */
export function encodeResumeReply (frame: ResumeReplyFrame): Uint8Array {
  if (frame.code === ResumeCode.ACCEPTED && (frame.responderAid.byteLength !== AID_BYTES || frame.proof.byteLength !== RESUME_PROOF_BYTES)) {
    throw new RangeError(`an accepting ResumeReply needs a ${AID_BYTES}-byte responderAid and a ${RESUME_PROOF_BYTES}-byte proof`)
  }
  assertOffset(frame.received, 'received')
  const message = truncateUtf8(frame.message, MAX_REASON_BYTES)
  return ResumeReplyType.encode({ code: frame.code, responderAid: frame.responderAid, received: frame.received, proof: frame.proof, message }).finish()
}

/** Decode a ResumeReply frame, enforcing its bounds and field rules. */
export function decodeResumeReply (bytes: Uint8Array): ResumeReplyFrame {
  const raw = decodeWith<{ code: number, responderAid: unknown, received: number, proof: unknown, message: string }>(ResumeReplyType, bytes, MAX_RESUME_REPLY_FRAME_BYTES, 'ResumeReply')
  if (!RESUME_CODES.has(raw.code)) throw new MalformedFrameError(`ResumeReply frame has unknown code ${raw.code}`)
  const frame: ResumeReplyFrame = { code: raw.code as ResumeCode, responderAid: copyBytes(raw.responderAid), received: raw.received, proof: copyBytes(raw.proof), message: String(raw.message) }
  if (frame.code === ResumeCode.ACCEPTED && (frame.responderAid.byteLength !== AID_BYTES || frame.proof.byteLength !== RESUME_PROOF_BYTES)) {
    throw new MalformedFrameError(`accepting ResumeReply must carry a ${AID_BYTES}-byte AId and a ${RESUME_PROOF_BYTES}-byte proof`)
  }
  checkOffset(frame.received, 'ResumeReply')
  if (Buffer.byteLength(frame.message) > MAX_REASON_BYTES) throw new MalformedFrameError(`ResumeReply reason is longer than ${MAX_REASON_BYTES} bytes`)
  return frame
}

function assertOffset (value: number, name: string): void {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`${name} must be a non-negative safe integer, got ${value}`)
}

function checkOffset (value: number, what: string): void {
  if (!Number.isSafeInteger(value) || value < 0) throw new MalformedFrameError(`${what} byte count ${value} is out of range`)
}
