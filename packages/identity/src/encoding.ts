/**
 * Encodings every Fara package shares, kept once, here at the bottom of the
 * stack: lowercase unpadded base32 (RFC 4648 §6: self-certifying names, DNS
 * labels, DHT datastore keys) and the two helpers of every protobuf codec.
 */
export { base32Encode, base32Decode } from './internal/base32.ts'
export { tryDecode, bytesOf } from './internal/codec.ts'
