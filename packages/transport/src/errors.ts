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

/** Thrown (and reported by the relay keeper) when a relay answered a reservation request with a refusal: it is full, or does not serve this peer. */
export class ReservationRefusedError extends Error {
  static override name = 'ReservationRefusedError'
  override name = 'ReservationRefusedError'
  /** The relay's status, as named by circuit relay v2 (`RESERVATION_REFUSED`, `PERMISSION_DENIED`, …). */
  readonly status: string
  constructor (message = 'The relay refused the reservation', options?: ErrorOptions & { status?: string }) {
    super(message, options)
    this.status = options?.status ?? 'RESERVATION_REFUSED'
  }
}

/** Thrown (and reported by the relay keeper) when no reservation could be made on a relay: unreachable, timed out, or the exchange failed. */
export class ReservationFailedError extends Error {
  static override name = 'ReservationFailedError'
  override name = 'ReservationFailedError'
  constructor (message = 'Could not reserve a slot on the relay', options?: ErrorOptions) { super(message, options) }
}

/**
 * Thrown when dialling an address that does not end in `/p2p/<peer id>` with an Ed25519 key:
 * a Fara listener answers only initiators that prove they know its key (spec/unobservable.md).
 */
export class PeerKeyRequiredError extends Error {
  static override name = 'PeerKeyRequiredError'
  override name = 'PeerKeyRequiredError'
  constructor (message = 'The address must end in /p2p/<peer id>: a Fara listener answers only those who know its key', options?: ErrorOptions) { super(message, options) }
}

/** Thrown when the listener's hello fails verification: it does not hold the key in the address, or the bytes were altered on the way. */
export class HandshakeFailedError extends Error {
  static override name = 'HandshakeFailedError'
  override name = 'HandshakeFailedError'
  constructor (message = 'The listener\'s hello failed verification', options?: ErrorOptions) { super(message, options) }
}

/**
 * Thrown by a connection's record side channel (spec/unobservable.md#records):
 * a record sent before this side's sending direction is in passthrough or
 * after the connection closed, a channel listened to twice, or (the error the
 * connection is aborted with) a malformed record header from the remote.
 * `reason` says which.
 */
export class LayerRecordsError extends Error {
  static override name = 'LayerRecordsError'
  override name = 'LayerRecordsError'
  /** Why: `not-passthrough`, `closed`, `channel-in-use`, `malformed`. */
  readonly reason: 'not-passthrough' | 'closed' | 'channel-in-use' | 'malformed'
  constructor (message = 'The record side channel refused the operation', options?: ErrorOptions & { reason?: LayerRecordsError['reason'] }) {
    super(message, options)
    this.reason = options?.reason ?? 'malformed'
  }
}

/** Thrown when a birthday punch does not apply to two peers (not a consistent ↔ random pair, or the peer does not speak it), is refused as busy, or ran out of its budget. `reason` says which. */
export class PunchFailedError extends Error {
  static override name = 'PunchFailedError'
  override name = 'PunchFailedError'
  /** Why: `not-applicable`, `busy`, `unsupported`, `no-relay`, `timeout`, `failed`. */
  readonly reason: string
  constructor (message = 'The birthday punch failed', options?: ErrorOptions & { reason?: string }) {
    super(message, options)
    this.reason = options?.reason ?? 'failed'
  }
}

/**
 * Thrown when a feature needs an optional peer dependency that is not
 * installed (direct paths need `@libp2p/webrtc`, a point's data directory
 * needs `datastore-level`): install the package named in `dependency`.
 */
export class MissingDependencyError extends Error {
  static override name = 'MissingDependencyError'
  override name = 'MissingDependencyError'
  /** The npm package to install. */
  readonly dependency: string
  constructor (message = 'An optional dependency is not installed', options?: ErrorOptions & { dependency?: string }) {
    super(message, options)
    this.dependency = options?.dependency ?? ''
  }

  /** `err` as a MissingDependencyError when it says that `dependency` itself could not be found (not something it imports), else `err` as it is. */
  static wrap (err: unknown, dependency: string, feature: string): unknown {
    const code = (err as { code?: string } | null)?.code
    if ((code !== 'ERR_MODULE_NOT_FOUND' && code !== 'MODULE_NOT_FOUND') || !String((err as Error).message).includes(`'${dependency}'`)) return err
    return new MissingDependencyError(`${feature} needs ${dependency}, an optional peer dependency of Fara that is not installed: npm install ${dependency}`, { dependency, cause: err })
  }
}
