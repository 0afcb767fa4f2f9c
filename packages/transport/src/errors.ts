/** Thrown when no connection could be made to an entity (refused, unreachable, timed out, or aborted). */
export class DialFailedError extends Error {
  static override name = 'DialFailedError'
  override name = 'DialFailedError'
  constructor (message = 'Dial failed', options?: ErrorOptions) { super(message, options) }
}

/** Thrown when the Noise-authenticated key of the remote is not the key the caller expected. */
export class PeerMismatchError extends Error {
  static override name = 'PeerMismatchError'
  override name = 'PeerMismatchError'
  constructor (message = 'Remote key does not match the expected key', options?: ErrorOptions) { super(message, options) }
}

/** Thrown when a connection is up but a stream on it could not be opened. */
export class StreamOpenError extends Error {
  static override name = 'StreamOpenError'
  override name = 'StreamOpenError'
  constructor (message = 'Could not open a stream', options?: ErrorOptions) { super(message, options) }
}
