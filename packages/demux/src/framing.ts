import { AID_BYTES, FRAMING_VERSION, MAX_OPEN_FRAME_BYTES, MAX_REASON_BYTES, MAX_REPLY_FRAME_BYTES, ReplyCode } from './constants.ts'
import { FrameTooLargeError, MalformedFrameError } from './errors.ts'
import { OpenType, ReplyType, TO_OBJECT } from './internal/codec.ts'

/** The first frame on an association stream, initiator → responder (spec/wire.md#open). */
export interface OpenFrame {
  version: number
  /** The responder's service AId. */
  aid: Uint8Array
  /** The fresh id of this association at the initiator. */
  initiatorAid: Uint8Array
}

/** The responder's answer to an Open (spec/wire.md#reply). */
export interface ReplyFrame {
  code: ReplyCode
  /** The fresh id of this association at the responder; 8 bytes when accepted, empty otherwise. */
  responderAid: Uint8Array
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
  return OpenType.encode({ version: frame.version ?? FRAMING_VERSION, aid: frame.aid, initiatorAid: frame.initiatorAid }).finish()
}

/**
 * Decode an Open frame. Throws {@link FrameTooLargeError} or
 * {@link MalformedFrameError}; the version is returned as sent, for the caller to refuse.
 */
export function decodeOpen (bytes: Uint8Array): OpenFrame {
  const raw = decodeWith<{ version: number, aid: unknown, initiatorAid: unknown }>(OpenType, bytes, MAX_OPEN_FRAME_BYTES, 'Open')
  const frame = { version: raw.version, aid: copyBytes(raw.aid), initiatorAid: copyBytes(raw.initiatorAid) }
  if (frame.version === FRAMING_VERSION && (frame.aid.byteLength !== AID_BYTES || frame.initiatorAid.byteLength !== AID_BYTES)) {
    throw new MalformedFrameError(`Open frame AIds must be ${AID_BYTES} bytes, got ${frame.aid.byteLength} and ${frame.initiatorAid.byteLength}`)
  }
  return frame
}

/** Encode a Reply frame (without the length prefix). Long reasons are cut to {@link MAX_REASON_BYTES}. */
export function encodeReply (frame: ReplyFrame): Uint8Array {
  if (frame.code === ReplyCode.ACCEPTED && frame.responderAid.byteLength !== AID_BYTES) {
    throw new RangeError(`responderAid must be ${AID_BYTES} bytes when accepting`)
  }
  const message = truncateUtf8(frame.message, MAX_REASON_BYTES)
  return ReplyType.encode({ code: frame.code, responderAid: frame.responderAid, message }).finish()
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
  const raw = decodeWith<{ code: number, responderAid: unknown, message: string }>(ReplyType, bytes, MAX_REPLY_FRAME_BYTES, 'Reply')
  if (!REPLY_CODES.has(raw.code)) {
    throw new MalformedFrameError(`Reply frame has unknown code ${raw.code}`)
  }
  const frame: ReplyFrame = { code: raw.code as ReplyCode, responderAid: copyBytes(raw.responderAid), message: String(raw.message) }
  if (frame.code === ReplyCode.ACCEPTED && frame.responderAid.byteLength !== AID_BYTES) {
    throw new MalformedFrameError(`accepting Reply must carry a ${AID_BYTES}-byte responder AId, got ${frame.responderAid.byteLength}`)
  }
  if (Buffer.byteLength(frame.message) > MAX_REASON_BYTES) {
    throw new MalformedFrameError(`Reply reason is longer than ${MAX_REASON_BYTES} bytes`)
  }
  return frame
}
