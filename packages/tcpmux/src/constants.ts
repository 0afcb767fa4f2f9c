/** The well-known TCPMUX port (RFC 1078: "A TCP client connects to a foreign host on TCP port 1"). */
export const TCPMUX_PORT = 1

/**
 * The special name that asks a server for its list of services (RFC 1078:
 * "The port 1 listener should be prepared to respond to the special service
 * name HELP"). Matched case-insensitively, like every name.
 */
export const HELP_NAME = 'HELP'

/**
 * Longest request line a server reads, terminator included. RFC 1078 sets no
 * maximum; IANA service names are at most 15 characters (RFC 6335 §5.1) and
 * inetutils-inetd reads at most 256 + 2 bytes, so 256 bytes accepts every
 * real name while bounding what an unauthenticated peer can make us buffer
 * (spec/adapters.md#tcpmux-limits).
 */
export const DEFAULT_MAX_LINE_BYTES = 256

/**
 * How long a server waits for the complete request line, from accept
 * (spec/adapters.md#tcpmux-limits). RFC 1078 sets none; a peer that sends
 * nothing, or drips bytes, is dropped when it runs out.
 */
export const DEFAULT_READ_TIMEOUT_MS = 10_000

/**
 * Connections a server holds before handing them over: reading the request,
 * routing it, or lingering after a refusal. Beyond this, the connection that
 * has been reading its request line the longest is dropped without a reply to
 * make room, so that slow clients (slowloris) cannot keep well-behaved ones
 * out; if none is still reading, the new connection is closed at once
 * (spec/adapters.md#tcpmux-limits).
 */
export const DEFAULT_MAX_PENDING = 64

/** How long a client waits for the connection and the status line (spec/adapters.md#tcpmux-client). */
export const DEFAULT_REPLY_TIMEOUT_MS = 10_000

/**
 * Longest status line a client reads, terminator included: `+` or `-`, an
 * optional message and CRLF (RFC 1078 sets no maximum; real servers send
 * at most a few dozen bytes).
 */
export const DEFAULT_MAX_REPLY_BYTES = 512

/** Largest HELP answer a client reads before giving up (RFC 1078 sets no maximum). */
export const DEFAULT_MAX_HELP_BYTES = 65_536

/**
 * How long the gateway waits for the injected `connect` (rendezvous lookup,
 * dial, open) before refusing the request (spec/adapters.md#tcpmux-gateway).
 */
export const DEFAULT_CONNECT_TIMEOUT_MS = 30_000

/**
 * The messages a Fara server or gateway sends after `-` (RFC 1078: "an
 * optional message of explanation"). The gateway sends `NOT_AVAILABLE` for
 * every failure, so a client learns no more than "not found".
 */
export const Refusal = {
  NOT_AVAILABLE: 'Service not available',
  LINE_TOO_LONG: 'Request line too long',
  INVALID_NAME: 'Invalid service name'
} as const

/** A refusal message of a Fara server. */
export type Refusal = typeof Refusal[keyof typeof Refusal]
