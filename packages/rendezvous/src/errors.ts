import { Status } from './constants.ts'

/** Base of the rendezvous errors that travel on the wire; `code` is the wire status. */
export abstract class RendezvousError extends Error {
  abstract readonly code: Status
}

/** Thrown when no live record exists for a name. */
export class NameNotFoundError extends RendezvousError {
  static override name = 'NameNotFoundError'
  override name = 'NameNotFoundError'
  readonly code = Status.NOT_FOUND
  constructor (message = 'No record for this name') { super(message) }
}

/** Thrown when a record's signature does not verify under the key it names. */
export class InvalidSignatureError extends RendezvousError {
  static override name = 'InvalidSignatureError'
  override name = 'InvalidSignatureError'
  readonly code = Status.INVALID_SIGNATURE
  constructor (message = 'Record signature does not verify') { super(message) }
}

/** Thrown when a live record for the name is held by another key. */
export class NameTakenError extends RendezvousError {
  static override name = 'NameTakenError'
  override name = 'NameTakenError'
  readonly code = Status.NAME_TAKEN
  constructor (message = 'Name is registered by another key') { super(message) }
}

/** Thrown when a record is not newer than the one stored (a replay). */
export class StaleRecordError extends RendezvousError {
  static override name = 'StaleRecordError'
  override name = 'StaleRecordError'
  readonly code = Status.STALE
  constructor (message = 'Record is not newer than the stored one') { super(message) }
}

/** Thrown when a record has already expired. */
export class ExpiredRecordError extends RendezvousError {
  static override name = 'ExpiredRecordError'
  override name = 'ExpiredRecordError'
  readonly code = Status.EXPIRED
  constructor (message = 'Record has expired') { super(message) }
}

/** Thrown when a record breaks a field rule (name, key type, address count or size, AId size, TTL bounds). */
export class InvalidRecordError extends RendezvousError {
  static override name = 'InvalidRecordError'
  override name = 'InvalidRecordError'
  readonly code = Status.INVALID_RECORD
  constructor (message = 'Invalid record') { super(message) }
}

/** Thrown when a record or message is larger than its bound. */
export class RecordTooLargeError extends RendezvousError {
  static override name = 'RecordTooLargeError'
  override name = 'RecordTooLargeError'
  readonly code = Status.TOO_LARGE
  constructor (message = 'Record or message too large') { super(message) }
}

/** Thrown when a request is malformed (unknown type, missing field). */
export class InvalidRequestError extends RendezvousError {
  static override name = 'InvalidRequestError'
  override name = 'InvalidRequestError'
  readonly code = Status.INVALID_REQUEST
  constructor (message = 'Invalid request') { super(message) }
}

/** Thrown when the rendezvous point failed internally or answered something unreadable. */
export class RendezvousInternalError extends RendezvousError {
  static override name = 'RendezvousInternalError'
  override name = 'RendezvousInternalError'
  readonly code = Status.INTERNAL
  constructor (message = 'Rendezvous point failed') { super(message) }
}

/** Thrown when the rendezvous point cannot be reached (not a wire status: the request never got an answer). */
export class RendezvousUnavailableError extends Error {
  static override name = 'RendezvousUnavailableError'
  override name = 'RendezvousUnavailableError'
  constructor (message = 'Rendezvous point unreachable', options?: ErrorOptions) { super(message, options) }
}

/** Build the typed error for a wire status. */
export function errorForStatus (status: number, message: string): RendezvousError {
  switch (status) {
    case Status.NOT_FOUND: return new NameNotFoundError(message)
    case Status.INVALID_SIGNATURE: return new InvalidSignatureError(message)
    case Status.NAME_TAKEN: return new NameTakenError(message)
    case Status.STALE: return new StaleRecordError(message)
    case Status.EXPIRED: return new ExpiredRecordError(message)
    case Status.INVALID_RECORD: return new InvalidRecordError(message)
    case Status.TOO_LARGE: return new RecordTooLargeError(message)
    case Status.INVALID_REQUEST: return new InvalidRequestError(message)
    case Status.RATE_LIMITED: return new RateLimitedError(message)
    case Status.TOO_MANY_REGISTRATIONS: return new TooManyRegistrationsError(message)
    case Status.STORE_FULL: return new StoreFullError(message)
    case Status.REVOKED: return new RevokedError(message)
    default: return new RendezvousInternalError(message)
  }
}

/** Thrown when a peer sent too many requests to a rendezvous point; `retryAfterMs` says when to try again. */
export class RateLimitedError extends RendezvousError {
  static override name = 'RateLimitedError'
  override name = 'RateLimitedError'
  readonly code = Status.RATE_LIMITED
  readonly retryAfterMs: number
  constructor (message = 'Too many requests', retryAfterMs = 1_000) {
    super(message)
    this.retryAfterMs = retryAfterMs
  }
}

/** Thrown when a key, a source address or a source prefix already holds the most live records a store allows it. */
export class TooManyRegistrationsError extends RendezvousError {
  static override name = 'TooManyRegistrationsError'
  override name = 'TooManyRegistrationsError'
  readonly code = Status.TOO_MANY_REGISTRATIONS
  /** At the store: which limit refused it, per `key`, per source `address` or per source `prefix` (not carried on the wire). */
  readonly limit: 'key' | 'address' | 'prefix' | undefined
  constructor (message = 'Too many registrations for this key', limit?: 'key' | 'address' | 'prefix') {
    super(message)
    this.limit = limit
  }
}

/** Thrown when a store holds the most records it is configured for. */
export class StoreFullError extends RendezvousError {
  static override name = 'StoreFullError'
  override name = 'StoreFullError'
  readonly code = Status.STORE_FULL
  constructor (message = 'Rendezvous store is full') { super(message) }
}

/** Thrown when a record's certificate was revoked by its device key. */
export class RevokedError extends RendezvousError {
  static override name = 'RevokedError'
  override name = 'RevokedError'
  readonly code = Status.REVOKED
  constructor (message = 'Certificate revoked') { super(message) }
}

/**
 * Thrown when a private record's ciphertext does not open under the key derived
 * from the name (and secret) asked for, or its padding is malformed. Local to
 * the client: never a wire status.
 */
export class PrivateRecordOpenError extends Error {
  static override name = 'PrivateRecordOpenError'
  override name = 'PrivateRecordOpenError'
  constructor (message = 'Private record does not open with this name and secret', options?: ErrorOptions) { super(message, options) }
}
