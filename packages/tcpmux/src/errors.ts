/** Thrown when a TCPMUX server answers `-`: it refused the service (or, for HELP, does not list its services). */
export class ServiceRefusedError extends Error {
  static override name = 'ServiceRefusedError'
  override name = 'ServiceRefusedError'
  /** The server's explanation after `-`, control characters removed (may be empty). */
  readonly reason: string
  constructor (reason = '', message = reason === '' ? 'Service refused by the TCPMUX server' : `Service refused by the TCPMUX server: ${reason}`) {
    super(message)
    this.reason = reason
  }
}

/** Thrown when a TCPMUX server's answer is neither `+…CRLF` nor `-…CRLF` (or, for HELP, not a list of names). */
export class MalformedReplyError extends Error {
  static override name = 'MalformedReplyError'
  override name = 'MalformedReplyError'
  constructor (message = 'Malformed TCPMUX reply') { super(message) }
}

/** Thrown when a status line or a HELP answer is longer than its bound. */
export class ReplyTooLongError extends Error {
  static override name = 'ReplyTooLongError'
  override name = 'ReplyTooLongError'
  constructor (message = 'TCPMUX reply too long') { super(message) }
}

/** Thrown when the connection and the complete answer do not arrive within the deadline. */
export class ReplyTimeoutError extends Error {
  static override name = 'ReplyTimeoutError'
  override name = 'ReplyTimeoutError'
  constructor (message = 'No TCPMUX reply within the deadline') { super(message) }
}

/** Thrown when the server closes the connection before a complete status line. */
export class ConnectionClosedError extends Error {
  static override name = 'ConnectionClosedError'
  override name = 'ConnectionClosedError'
  constructor (message = 'Connection closed before the TCPMUX reply') { super(message) }
}

/** Thrown when a name is registered twice on one server (names compare case-insensitively). */
export class ServiceExistsError extends Error {
  static override name = 'ServiceExistsError'
  override name = 'ServiceExistsError'
  constructor (message = 'A service with this name is already registered') { super(message) }
}

/** Thrown when `listen()` is called on a server that is listening or closed. */
export class ServerStateError extends Error {
  static override name = 'ServerStateError'
  override name = 'ServerStateError'
  constructor (message = 'Server is already listening or closed') { super(message) }
}
