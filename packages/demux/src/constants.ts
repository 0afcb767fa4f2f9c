/** Length of an association id in bytes: 64 random bits (spec/wire.md#aids). */
export const AID_BYTES = 8

/**
 * The one libp2p protocol id of the data path. It is the same for every
 * service, so it says nothing about which service is being reached (spec/wire.md).
 */
export const ASSOCIATION_PROTOCOL = '/fara/a/1'

/** Version of the open/accept framing with raw bytes after it (spec/wire.md#open). */
export const FRAMING_VERSION = 1

/**
 * Version of the open/accept framing of a resumable association: the Open and
 * Reply carry resumption nonces and data travels in data frames (spec/resumption.md).
 */
export const RESUMABLE_FRAMING_VERSION = 2

/**
 * The libp2p protocol id on which an association continues over a new path
 * (spec/resumption.md). Like {@link ASSOCIATION_PROTOCOL}, it names no service.
 */
export const RESUME_PROTOCOL = '/fara/r/1'

/** Version of the Resume frame (spec/resumption.md#resumption). */
export const RESUME_VERSION = 1

/** Length of each end's resumption nonce, in bytes (spec/resumption.md#keys). */
export const RESUME_NONCE_BYTES = 32

/** Length of a resumption token, in bytes (spec/resumption.md#keys). */
export const RESUME_TOKEN_BYTES = 16

/** Length of a resumption proof (HMAC-SHA256), in bytes (spec/resumption.md#proofs). */
export const RESUME_PROOF_BYTES = 32

/** Largest encoded Resume frame accepted (spec/resumption.md#resumption). */
export const MAX_RESUME_FRAME_BYTES = 128

/** Largest encoded ResumeReply frame accepted (spec/resumption.md#resumption). */
export const MAX_RESUME_REPLY_FRAME_BYTES = 256

/**
 * Largest payload of one data frame (spec/resumption.md#data-frames); larger
 * sends are split. Small enough that a whole frame always fits under the
 * reader's pause threshold.
 */
export const MAX_DATA_PAYLOAD_BYTES = 256 * 1024

/** Default limit on bytes sent but not yet acknowledged: `send` returns false above it. */
export const DEFAULT_SEND_WINDOW_BYTES = 4 * 1024 * 1024

/**
 * Largest send window an end may use (spec/resumption.md#data-frames). A
 * receiver acknowledges only what its application consumed, so it never
 * buffers more than the sender's window; an end that holds more than this
 * unconsumed aborts the association as a flow-control violation.
 */
export const MAX_SEND_WINDOW_BYTES = 16 * 1024 * 1024

/** Bytes of the salt a RECORDS frame carries (spec/resumption.md#records). */
export const RECORDS_SALT_BYTES = 16

/** Plaintext bytes (whole or partial frames) in one record of the record path at most (spec/resumption.md#records); a longer write is split. */
export const RECORD_PLAINTEXT_BYTES = 1 << 20

/**
 * A receiver acknowledges at once once its application consumed this many
 * new bytes, or a quarter of the receiver's own send window if that is less
 * (spec/resumption.md#data-frames); otherwise after {@link ACK_DELAY_MS}.
 */
export const ACK_EVERY_BYTES = 1024 * 1024

/** Longest delay before received bytes are acknowledged. */
export const ACK_DELAY_MS = 20

/**
 * How long a resumable association waits for a new path after losing one
 * (the initiator keeps re-dialling, the responder keeps its state) before it
 * fails with `ResumeFailedError`.
 */
export const DEFAULT_RESUME_TIMEOUT_MS = 30_000

/** Largest encoded Open frame accepted (spec/wire.md#open). */
export const MAX_OPEN_FRAME_BYTES = 64

/** Largest encoded Reply frame accepted (spec/wire.md#reply). */
export const MAX_REPLY_FRAME_BYTES = 256

/** Longest refusal reason carried in a Reply (spec/wire.md#reply). */
export const MAX_REASON_BYTES = 128

/** Default capacity of an association table. */
export const DEFAULT_MAX_ENTRIES = 65_536

/** Fresh AIds drawn before giving up on a collision (2^-64 per draw makes more than one vanishingly rare). */
export const DEFAULT_AID_ATTEMPTS = 8

/** How long a responder waits for the Open frame before dropping the stream. */
export const DEFAULT_OPEN_TIMEOUT_MS = 10_000

/** Reply codes (spec/proto/association.proto `Reply.Code`). */
export const ReplyCode = {
  ACCEPTED: 0,
  UNKNOWN_AID: 1,
  UNSUPPORTED_VERSION: 2,
  MALFORMED: 3,
  BUSY: 4,
  /** The service does not admit the initiator's key (spec/wire.md#reply-codes). */
  REFUSED: 5
} as const

/** A reply code. */
export type ReplyCode = typeof ReplyCode[keyof typeof ReplyCode]

/** ResumeReply codes (spec/proto/association.proto `ResumeReply.Code`). */
export const ResumeCode = {
  ACCEPTED: 0,
  REFUSED: 1,
  UNSUPPORTED_VERSION: 2,
  MALFORMED: 3
} as const

/** A resume reply code. */
export type ResumeCode = typeof ResumeCode[keyof typeof ResumeCode]
