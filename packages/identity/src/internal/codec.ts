import protobuf from 'protobufjs/light.js'
import { descriptor } from './identity-proto.ts'

const root = protobuf.Root.fromJSON(descriptor as unknown as protobuf.INamespace)

/** protobufjs types for spec/proto/identity.proto. */
export const CertificateType = root.lookupType('fara.identity.v1.Certificate')
export const SignedCertificateType = root.lookupType('fara.identity.v1.SignedCertificate')
export const RevocationType = root.lookupType('fara.identity.v1.Revocation')
export const SignedRevocationType = root.lookupType('fara.identity.v1.SignedRevocation')
export const KeystoreContentsType = root.lookupType('fara.identity.v1.KeystoreContents')

/** Plain values, defaults filled in, 64-bit integers as numbers. */
export const TO_OBJECT: protobuf.IConversionOptions = { defaults: true, longs: Number, enums: Number }

/** Decode `bytes` as `type`, or return undefined if they do not decode. */
export function tryDecode<T> (type: protobuf.Type, bytes: Uint8Array): T | undefined {
  try {
    return type.toObject(type.decode(bytes), TO_OBJECT) as T
  } catch {
    return undefined
  }
}

/** A copy of a decoded bytes field as a plain Uint8Array (empty if absent). */
export function bytesOf (value: unknown): Uint8Array {
  return value instanceof Uint8Array ? new Uint8Array(value) : new Uint8Array(0)
}
