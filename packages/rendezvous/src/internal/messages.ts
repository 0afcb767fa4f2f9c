import { MAX_MESSAGE_BYTES } from '../constants.ts'
import { InvalidRequestError, RecordTooLargeError, RendezvousInternalError } from '../errors.ts'
import { RequestType, ResponseType, bytesOf, tryDecode } from './codec.ts'
import type { SignedRecord } from '../record.ts'

/** Request types (spec/proto/rendezvous.proto `Request.Type`). */
export const RequestKind = { REGISTER: 0, RESOLVE: 1, UNREGISTER: 2 } as const

export interface Request {
  type: number
  record?: SignedRecord
  name: string
}

export interface Response {
  status: number
  message: string
  record?: SignedRecord
}

interface RawSigned { record: unknown, signature: unknown }

function signedOf (raw: RawSigned | null | undefined): SignedRecord | undefined {
  return raw == null ? undefined : { record: bytesOf(raw.record), signature: bytesOf(raw.signature) }
}

export function encodeRequest (req: Request): Uint8Array {
  return RequestType.encode(req).finish()
}

export function decodeRequest (bytes: Uint8Array): Request {
  if (bytes.byteLength > MAX_MESSAGE_BYTES) throw new RecordTooLargeError(`request of ${bytes.byteLength} bytes; at most ${MAX_MESSAGE_BYTES}`)
  const raw = tryDecode<{ type: number, record?: RawSigned | null, name: string }>(RequestType, bytes)
  if (raw == null) throw new InvalidRequestError('request does not decode')
  const record = signedOf(raw.record)
  return record == null ? { type: raw.type, name: raw.name } : { type: raw.type, name: raw.name, record }
}

export function encodeResponse (res: Response): Uint8Array {
  return ResponseType.encode(res).finish()
}

export function decodeResponse (bytes: Uint8Array): Response {
  const raw = tryDecode<{ status: number, message: string, record?: RawSigned | null }>(ResponseType, bytes)
  if (raw == null) throw new RendezvousInternalError('response from the rendezvous point does not decode')
  const record = signedOf(raw.record)
  return record == null ? { status: raw.status, message: raw.message } : { status: raw.status, message: raw.message, record }
}
