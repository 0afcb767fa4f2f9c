import type { ReplyCode } from './constants.ts'

/** Thrown on the initiator's first read when the responder refused the association. */
export class AssociationRejectedError extends Error {
  static override name = 'AssociationRejectedError'
  override name = 'AssociationRejectedError'
  /** The wire code of the refusal (spec/wire.md#reply). */
  readonly code: ReplyCode
  constructor (code: ReplyCode, message = 'Association rejected by the responder') {
    super(message)
    this.code = code
  }
}

/** Thrown when a frame cannot be decoded or breaks a field rule of spec/wire.md. */
export class MalformedFrameError extends Error {
  static override name = 'MalformedFrameError'
  override name = 'MalformedFrameError'
  constructor (message = 'Malformed frame') { super(message) }
}

/** Thrown when a frame is longer than its bound. */
export class FrameTooLargeError extends Error {
  static override name = 'FrameTooLargeError'
  override name = 'FrameTooLargeError'
  constructor (message = 'Frame too large') { super(message) }
}

/** Thrown when the stream ends or times out before the open/accept exchange completes. */
export class AssociationClosedError extends Error {
  static override name = 'AssociationClosedError'
  override name = 'AssociationClosedError'
  constructor (message = 'Stream ended before the association was established') { super(message) }
}

/** Thrown when an association table is full or no free AId could be drawn. */
export class AssociationTableFullError extends Error {
  static override name = 'AssociationTableFullError'
  override name = 'AssociationTableFullError'
  constructor (message = 'Association table is full') { super(message) }
}

/** Thrown on read when the other end reset (aborted) the association instead of closing it. */
export class AssociationResetError extends Error {
  static override name = 'AssociationResetError'
  override name = 'AssociationResetError'
  constructor (message = 'Association reset by the remote end', options?: ErrorOptions) { super(message, options) }
}

/** Thrown by the responder's `resume` when a Resume frame is refused (unknown token, wrong proof, another peer), and on the initiator's attempt that got the refusal. */
export class ResumeRefusedError extends Error {
  static override name = 'ResumeRefusedError'
  override name = 'ResumeRefusedError'
  constructor (message = 'Resumption refused') { super(message) }
}

/**
 * Thrown on read, send and `finished` when a resumable association lost its
 * path and no new one was established within the resume timeout (or the other
 * end refused the resumption). Bytes not acknowledged by then may not have
 * arrived; none were delivered twice or out of order.
 */
export class ResumeFailedError extends Error {
  static override name = 'ResumeFailedError'
  override name = 'ResumeFailedError'
  constructor (message = 'Association lost its path and could not be resumed', options?: ErrorOptions) { super(message, options) }
}

/**
 * A record of an association's record path did not authenticate
 * (spec/resumption.md#records): that path is broken, as by a Noise message
 * that fails its tag, and a resumable association resumes on another.
 */
export class RecordFailedError extends Error {
  static override name = 'RecordFailedError'
  override name = 'RecordFailedError'
}
