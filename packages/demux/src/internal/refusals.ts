// The responder's answers to what it refuses, and the typing of what went
// wrong while reading an opening frame (spec/wire.md § What each end does on
// each failure).
import { AbortError, TimeoutError } from '@libp2p/interface'
import { ReplyCode } from '../constants.ts'
import { AssociationClosedError, AssociationResetError, FrameTooLargeError, MalformedFrameError } from '../errors.ts'
import { encodeReply } from '../framing.ts'
import { lengthPrefixed } from './reader.ts'
import type { Stream } from '@libp2p/interface'

/** Whether `admit` lets the Open through: absent, or true; a throw refuses (fail closed). */
export function admitted<S> (admit: ((service: S) => boolean) | undefined, service: S): boolean {
  if (admit == null) return true
  try {
    return admit(service) === true
  } catch {
    return false
  }
}

export function codeName (code: number): string {
  return Object.entries(ReplyCode).find(([, v]) => v === code)?.[0] ?? `code ${code}`
}

/** A frame that breaks its rules or its bound: answered MALFORMED where the protocol has an answer. */
export function isFrameError (err: Error): boolean {
  return err.name === MalformedFrameError.name || err.name === FrameTooLargeError.name
}

/** Make sure whatever went wrong while reading a frame surfaces as one of this package's typed errors. */
export function typedReadError (err: unknown, what: string): Error {
  const e = err as Error
  switch (e?.name) {
    case MalformedFrameError.name:
    case FrameTooLargeError.name:
    case AssociationResetError.name:
    case AssociationClosedError.name:
      return e
    // an AbortSignal's DOMException, or libp2p's error of the same name
    case TimeoutError.name:
    case AbortError.name:
      return new AssociationClosedError(`No ${what} frame within the open timeout`)
    default:
      return new AssociationClosedError(`Stream ended before the ${what} frame: ${e?.message ?? String(err)}`)
  }
}

/** Send a refusal, half-close, and make sure the stream is gone within the timeout. */
export async function refuse (stream: Stream, code: ReplyCode, message: string, timeout: number): Promise<void> {
  await refuseWith(stream, lengthPrefixed(encodeReply({ code, responderAid: new Uint8Array(0), message })), timeout)
}

export async function refuseWith (stream: Stream, frame: Uint8Array, timeout: number): Promise<void> {
  const deadline = setTimeout(() => { stream.abort(new AssociationClosedError('refused association not closed by the initiator')) }, timeout)
  deadline.unref()
  stream.addEventListener('close', () => { clearTimeout(deadline) }, { once: true })
  try {
    stream.send(frame)
    await stream.close({ signal: AbortSignal.timeout(timeout) })
  } catch (err) {
    stream.abort(err as Error)
  }
}
