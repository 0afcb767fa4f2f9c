/**
 * Constants of the rendezvous point's session protocol
 * (spec/rendezvous.md#sessions): many requests on one long-lived stream.
 */

/**
 * libp2p protocol id of a rendezvous session: the messages of
 * `/fara/rendezvous/1.0.0`, many requests per stream, answered in order.
 * Spoken only to the rendezvous point, never on the data path.
 */
export const RENDEZVOUS_SESSION_PROTOCOL = '/fara/rendezvous/1.1.0'

/** Most requests a client has sent on one session and not yet had answered; more wait for an answer first. */
export const MAX_IN_FLIGHT = 32

/** A client closes its session after this long without a request outstanding (ms); the point closes one after its request timeout. */
export const SESSION_IDLE_MS = 5_000

/** Concurrent session streams per connection at the point (a client uses one; a closing one may overlap its successor). */
export const MAX_SESSION_STREAMS = 4

/** The point stops reading a session (and so stops granting the client window) while this many bytes wait unanswered. */
export const MAX_SESSION_BUFFER = 32 * 1024
