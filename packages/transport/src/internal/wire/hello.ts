// The two hellos of the unobservable layer (spec/unobservable.md#hellos):
//
//   initiator → listener:  R_X ‖ ChaCha20_c2s(time u64 ‖ padLen u16 ‖ zeros[padLen]) ‖ MAC_C
//   listener → initiator:  R_Y ‖ ChaCha20_s2c(padLen u16 ‖ zeros[padLen]) ‖ MAC_S
//
// R_X, R_Y are Elligator2 representatives of dirty ephemeral X25519 keys;
// MAC_C = HMAC(c2s.macKey, R_X ‖ ciphertext)[:16], MAC_S = HMAC(s2c.macKey, MAC_C ‖ R_Y ‖ ciphertext)[:16].
// Both keystreams go on, unbroken, into the frames that follow.
import { KEY_BYTES, KeyStream, MAC_BYTES, c2sKeys, lengthStream, listenerPublicKey, mac, s2cKeys, x25519 } from './keys.ts'
import type { KeyObject } from 'node:crypto'

/** Plaintext head of the initiator's hello: time (ms since 1970, u64 BE) and padding length (u16 BE). */
export const CLIENT_HEAD_BYTES = 10
/** Plaintext head of the listener's hello: padding length (u16 BE). */
export const SERVER_HEAD_BYTES = 2

/** What the initiator keeps of its hello. */
export interface SentClientHello {
  /** The bytes to send first. */
  bytes: Uint8Array
  /** The initiator → listener keystream, positioned after the hello. */
  out: KeyStream
  /** The initiator → listener length keystream (passthrough), made when the direction switches. */
  outLengths: () => KeyStream
  /** es = X25519(x, B). */
  es: Uint8Array
  /** R_X, as sent. */
  rx: Uint8Array
  /** MAC_C, which the listener's MAC covers. */
  mac: Uint8Array
}

/**
 * The initiator's hello to a listener whose static X25519 key is `listener`.
 * Null if `listener` is a low-order point (no Ed25519 identity key maps to one).
 */
export function clientHello (init: { listener: Uint8Array, secret: KeyObject, representative: Uint8Array, time: number, padding: number, rekeyBytes?: number | undefined }): SentClientHello | null {
  const { listener, secret, representative: rx, time, padding } = init
  const imported = listenerPublicKey(listener)
  const es = imported == null ? null : x25519(secret, imported)
  if (es == null) return null
  const keys = c2sKeys(es, listener, rx)
  const out = new KeyStream(keys.key, keys.nonce, init.rekeyBytes)
  const head = new Uint8Array(CLIENT_HEAD_BYTES + padding)
  const view = new DataView(head.buffer)
  view.setBigUint64(0, BigInt(time))
  view.setUint16(8, padding)
  const ct = out.update(head)
  const tag = mac(keys.macKey, rx, ct)
  const bytes = new Uint8Array(KEY_BYTES + ct.byteLength + MAC_BYTES)
  bytes.set(rx, 0)
  bytes.set(ct, KEY_BYTES)
  bytes.set(tag, KEY_BYTES + ct.byteLength)
  return { bytes, out, outLengths: () => lengthStream(keys, init.rekeyBytes), es, rx: new Uint8Array(rx), mac: tag }
}

/** The listener's side of an initiator's hello, after its first {@link CLIENT_HEAD_BYTES} + 32 bytes. */
export interface OpenedClientHead {
  es: Uint8Array
  macKey: Uint8Array
  /** The initiator → listener keystream, positioned after the head. */
  in: KeyStream
  /** The initiator → listener length keystream (passthrough), made when the direction switches. */
  inLengths: () => KeyStream
  time: number
  padding: number
}

/**
 * Decrypt the head of an initiator's hello. `x` is the initiator's public key
 * (the forward map of R_X). Null if `x` is a low-order point.
 */
export function openClientHead (init: { secret: KeyObject, listener: Uint8Array, rx: Uint8Array, x: Uint8Array, head: Uint8Array, rekeyBytes?: number | undefined }): OpenedClientHead | null {
  const es = x25519(init.secret, init.x)
  if (es == null) return null
  const keys = c2sKeys(es, init.listener, init.rx)
  const stream = new KeyStream(keys.key, keys.nonce, init.rekeyBytes)
  const head = stream.update(init.head)
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength)
  const time = Number(view.getBigUint64(0))
  return { es, macKey: keys.macKey, in: stream, inLengths: () => lengthStream(keys, init.rekeyBytes), time, padding: view.getUint16(8) }
}

/** What the listener sends and keeps of its hello. */
export interface SentServerHello {
  bytes: Uint8Array
  /** The listener → initiator keystream, positioned after the hello. */
  out: KeyStream
  /** The listener → initiator length keystream (passthrough), made when the direction switches. */
  outLengths: () => KeyStream
}

/**
 * The listener's hello, once the initiator's has been verified. `x` is the
 * initiator's public key; null if it is a low-order point.
 */
export function serverHello (init: { es: Uint8Array, listener: Uint8Array, rx: Uint8Array, clientMac: Uint8Array, x: Uint8Array, secret: KeyObject, representative: Uint8Array, padding: number, rekeyBytes?: number | undefined }): SentServerHello | null {
  const ee = x25519(init.secret, init.x)
  if (ee == null) return null
  const keys = s2cKeys(init.es, ee, init.listener, init.rx, init.representative)
  ee.fill(0)
  const out = new KeyStream(keys.key, keys.nonce, init.rekeyBytes)
  const head = new Uint8Array(SERVER_HEAD_BYTES + init.padding)
  new DataView(head.buffer).setUint16(0, init.padding)
  const ct = out.update(head)
  const tag = mac(keys.macKey, init.clientMac, init.representative, ct)
  const bytes = new Uint8Array(KEY_BYTES + ct.byteLength + MAC_BYTES)
  bytes.set(init.representative, 0)
  bytes.set(ct, KEY_BYTES)
  bytes.set(tag, KEY_BYTES + ct.byteLength)
  return { bytes, out, outLengths: () => lengthStream(keys, init.rekeyBytes) }
}

/** The initiator's side of the listener's hello, after its first {@link SERVER_HEAD_BYTES} + 32 bytes. */
export interface OpenedServerHead {
  macKey: Uint8Array
  in: KeyStream
  inLengths: () => KeyStream
  padding: number
}

/** Decrypt the head of the listener's hello. `y` is the forward map of R_Y; null if it is a low-order point. */
export function openServerHead (init: { es: Uint8Array, secret: KeyObject, listener: Uint8Array, rx: Uint8Array, ry: Uint8Array, y: Uint8Array, head: Uint8Array, rekeyBytes?: number | undefined }): OpenedServerHead | null {
  const ee = x25519(init.secret, init.y)
  if (ee == null) return null
  const keys = s2cKeys(init.es, ee, init.listener, init.rx, init.ry)
  ee.fill(0)
  const stream = new KeyStream(keys.key, keys.nonce, init.rekeyBytes)
  const head = stream.update(init.head)
  return { macKey: keys.macKey, in: stream, inLengths: () => lengthStream(keys, init.rekeyBytes), padding: new DataView(head.buffer, head.byteOffset, head.byteLength).getUint16(0) }
}
