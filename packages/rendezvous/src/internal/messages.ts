import { MAX_POINT_MESSAGE_BYTES } from '../constants.ts'
import { InvalidRequestError, RecordTooLargeError, RendezvousInternalError } from '../errors.ts'
import { RequestType, ResponseType, bytesOf, tryDecode } from './codec.ts'
import type { SignedRecord } from '../record.ts'

/** Request types (spec/proto/rendezvous.proto `Request.Type`). */
export const RequestKind = { REGISTER: 0, RESOLVE: 1, UNREGISTER: 2, REGISTER_PRIVATE: 3, RESOLVE_PRIVATE: 4, UNREGISTER_PRIVATE: 5, REVOKE: 6 } as const

export interface Request {
  type: number
  record?: SignedRecord
  name: string
  privateRecord?: SignedRecord
  lookupKey?: Uint8Array
  revocation?: Uint8Array
}

export interface Response {
  status: number
  message: string
  record?: SignedRecord
  privateRecord?: SignedRecord
  retryAfterMs?: number
}

interface RawSigned { record: unknown, signature: unknown }

function signedOf (raw: RawSigned | null | undefined): SignedRecord | undefined {
  return raw == null ? undefined : { record: bytesOf(raw.record), signature: bytesOf(raw.signature) }
}

export function encodeRequest (req: Request): Uint8Array {
  return RequestType.encode(req).finish()
}

export function decodeRequest (bytes: Uint8Array): Request {
  if (bytes.byteLength > MAX_POINT_MESSAGE_BYTES) throw new RecordTooLargeError(`request of ${bytes.byteLength} bytes; at most ${MAX_POINT_MESSAGE_BYTES}`)
  const raw = tryDecode<{ type: number, record?: RawSigned | null, name: string, privateRecord?: RawSigned | null, lookupKey: unknown, revocation: unknown }>(RequestType, bytes)
  if (raw == null) throw new InvalidRequestError('request does not decode')
  const req: Request = { type: raw.type, name: raw.name }
  const record = signedOf(raw.record)
  if (record != null) req.record = record
  const privateRecord = signedOf(raw.privateRecord)
  if (privateRecord != null) req.privateRecord = privateRecord
  const lookupKey = bytesOf(raw.lookupKey)
  if (lookupKey.byteLength > 0) req.lookupKey = lookupKey
  const revocation = bytesOf(raw.revocation)
  if (revocation.byteLength > 0) req.revocation = revocation
  return req
}

export function encodeResponse (res: Response): Uint8Array {
  return ResponseType.encode(res).finish()
}

export function decodeResponse (bytes: Uint8Array): Response {
  const raw = tryDecode<{ status: number, message: string, record?: RawSigned | null, privateRecord?: RawSigned | null, retryAfterMs: number }>(ResponseType, bytes)
  if (raw == null) throw new RendezvousInternalError('response from the rendezvous point does not decode')
  const res: Response = { status: raw.status, message: raw.message }
  const record = signedOf(raw.record)
  if (record != null) res.record = record
  const privateRecord = signedOf(raw.privateRecord)
  if (privateRecord != null) res.privateRecord = privateRecord
  if (raw.retryAfterMs > 0) res.retryAfterMs = raw.retryAfterMs
  return res
}
