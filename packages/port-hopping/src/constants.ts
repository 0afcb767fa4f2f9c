/**
 * Domain of every port derivation: the HMAC message is
 * `utf8(HOP_DOMAIN) || 0x00 || i64be(slot) || u32be(block)` (spec/port-hopping.md#the-schedule).
 */
export const HOP_DOMAIN = 'fara/port-hopping/v1'

/** Length of a hop key (bytes): an HMAC-SHA256 key drawn from a CSPRNG (spec/port-hopping.md#parameters). */
export const HOP_KEY_BYTES = 32

/** Default slot length (ms) (spec/port-hopping.md#parameters). */
export const DEFAULT_INTERVAL_MS = 30_000

/** Shortest slot accepted (ms); one second is for tests, deployments use {@link DEFAULT_INTERVAL_MS} (spec/port-hopping.md#parameters). */
export const MIN_INTERVAL_MS = 1_000

/** Longest slot accepted (ms): one day, so that it fits a `u32be` and a Node.js timer (spec/port-hopping.md#parameters). */
export const MAX_INTERVAL_MS = 86_400_000

/** Lowest port a schedule may use: RFC 6335 § 6 reserves 0–1023 (system ports), and Fara never listens on them. */
export const MIN_PORT = 1024

/** Highest port a schedule may use (RFC 793: ports are 16 bits). */
export const MAX_PORT = 65_535

/** Fewest ports in a range: with fewer, an observer guesses the live port too often (spec/port-hopping.md#security). */
export const MIN_RANGE_PORTS = 16

/**
 * Default port range, inclusive: 16384–32767, below the Linux ephemeral range
 * (32768–60999) and the IANA dynamic range (49152–65535, RFC 6335 § 6) where
 * the host's own outgoing connections take their ports (spec/port-hopping.md#parameters).
 */
export const DEFAULT_RANGE = Object.freeze({ start: 16_384, end: 32_767 })

/** Slots of clock skew tolerated each way: the listener keeps slots `s - 1`, `s` and `s + 1` open (spec/port-hopping.md#skew). */
export const SKEW_SLOTS = 1

/**
 * HMAC blocks tried before giving up on a slot. Each block holds 8 candidates,
 * each rejected with probability below 2^-16, so reaching the bound has
 * probability below 2^-1024 (spec/port-hopping.md#the-schedule).
 */
export const MAX_HMAC_BLOCKS = 8

/** Version byte of the encoded {@link @fara/port-hopping!index.HopParams | HopParams} (spec/port-hopping.md#encoding). */
export const HOP_PARAMS_VERSION = 1

/** Length of encoded version 1 parameters: version, key, epoch, interval, range start, range end (spec/port-hopping.md#encoding). */
export const HOP_PARAMS_BYTES = 1 + HOP_KEY_BYTES + 8 + 4 + 2 + 2

/** Prefix of the text form of parameters: `fara-hop:` then base64url of the encoding (spec/port-hopping.md#text-form). */
export const HOP_PARAMS_PREFIX = 'fara-hop:'

/** Longest text form accepted: the prefix and base64url of {@link HOP_PARAMS_BYTES} bytes. */
export const MAX_HOP_PARAMS_TEXT = HOP_PARAMS_PREFIX.length + Math.ceil(HOP_PARAMS_BYTES * 4 / 3)

/** Most schedules one {@link @fara/port-hopping!index.HopSchedules | HopSchedules} book holds, so that a caller feeding it from records cannot grow it without bound. */
export const MAX_SCHEDULES = 4096

/**
 * Longest wait for one port of a dial by schedule, TCP connect and libp2p
 * upgrade together (ms). Three ports fit in libp2p's 6 s per-address dial
 * budget, so a port whose packets are dropped does not starve its neighbours (spec/port-hopping.md#dialing).
 */
export const DEFAULT_DIAL_ATTEMPT_TIMEOUT_MS = 2_000
