/** Length of an association id in bytes: 64 random bits (spec/wire.md#aids). */
export const AID_BYTES = 8

/**
 * The one libp2p protocol id of the data path. It is the same for every
 * service, so it says nothing about which service is being reached (spec/wire.md).
 */
export const ASSOCIATION_PROTOCOL = '/fara/a/1'

/** Version of the open/accept framing (spec/wire.md#open). */
export const FRAMING_VERSION = 1

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
  BUSY: 4
} as const

/** A reply code. */
export type ReplyCode = typeof ReplyCode[keyof typeof ReplyCode]
