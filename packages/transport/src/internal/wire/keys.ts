// Key derivations of the unobservable layer (spec/unobservable.md#keys).
// Every derivation is domain-separated by a named constant; every secret
// this module creates and no longer needs is wiped.
import { createCipheriv, createHmac, createPrivateKey, createPublicKey, diffieHellman, hkdfSync } from 'node:crypto'
import { ed25519 } from '@noble/curves/ed25519.js'
import type { Cipheriv, KeyObject } from 'node:crypto'

/** HKDF salt of every derivation, and the prefix of every label (spec/unobservable.md#keys). */
export const NS_WIRE = 'fara/unobservable/v1'
/** HKDF info label of the initiator → listener direction. */
export const NS_C2S = `${NS_WIRE}/c2s`
/** HKDF info label of the listener → initiator direction. */
export const NS_S2C = `${NS_WIRE}/s2c`
/** HMAC label of the key ratchet (spec/unobservable.md#keys). */
export const NS_REKEY = `${NS_WIRE}/rekey`
/** HMAC label of a direction's length keystream (spec/unobservable.md#passthrough). */
export const NS_LENGTHS = `${NS_WIRE}/lengths`

/** Length of an Elligator2 representative and of an X25519 key. */
export const KEY_BYTES = 32
/** Length of a hello's MAC (truncated HMAC-SHA256). */
export const MAC_BYTES = 16
/** Bytes of keystream after which a direction's key is ratcheted (64 GiB; ChaCha20's 32-bit block counter allows 256 GiB). */
export const REKEY_BYTES = 2 ** 36

const SALT = Buffer.from(NS_WIRE)
const PKCS8_X25519 = Buffer.from('302e020100300506032b656e04220420', 'hex')
const SPKI_X25519 = Buffer.from('302a300506032b656e032100', 'hex')

/** One direction's secrets: ChaCha20 key and nonce, and the key of its hello MAC. */
export interface DirectionKeys {
  key: Uint8Array
  nonce: Uint8Array
  macKey: Uint8Array
}

/** An X25519 secret key, imported once (node:crypto does the scalar multiplication). */
export function x25519Secret (secret: Uint8Array): KeyObject {
  return createPrivateKey({ key: Buffer.concat([PKCS8_X25519, secret]), format: 'der', type: 'pkcs8' })
}

/**
 * X25519(secret, u). Returns null for a peer point whose result is all zero
 * (a low-order point: RFC 7748 §6.1 lets the check be skipped, a listener
 * must not, or a prober could make the keys predictable).
 */
export function x25519 (secret: KeyObject, u: Uint8Array | KeyObject): Uint8Array | null {
  try {
    const publicKey = u instanceof Uint8Array ? createPublicKey({ key: Buffer.concat([SPKI_X25519, u]), format: 'der', type: 'spki' }) : u
    const shared = diffieHellman({ privateKey: secret, publicKey })
    return shared.every(b => b === 0) ? null : shared
  } catch {
    return null // OpenSSL refuses an all-zero result itself
  }
}

/** Listeners' static keys as imported for X25519, for every connection of the process to them (public data only). */
const LISTENER_KEYS = 1024
const listenerKeys = new Map<string, KeyObject | null>()

/**
 * A listener's static X25519 public key `u` imported once per process: an
 * initiator dials the same services again and again, and the import costs as
 * much as the scalar multiplication. Null if node:crypto refuses the point.
 */
export function listenerPublicKey (u: Uint8Array): KeyObject | null {
  const id = Buffer.from(u).toString('base64')
  let key = listenerKeys.get(id)
  if (key === undefined) {
    try {
      key = createPublicKey({ key: Buffer.concat([SPKI_X25519, u]), format: 'der', type: 'spki' })
    } catch {
      key = null
    }
    if (listenerKeys.size >= LISTENER_KEYS) listenerKeys.delete(listenerKeys.keys().next().value!)
    listenerKeys.set(id, key)
  }
  return key
}

/**
 * The listener's static X25519 key pair, from its Ed25519 identity key
 * (RFC 8032 §5.1.5 secret scalar; RFC 7748 §4.1 birational map): a client that
 * knows the peer id knows the public half, nobody else learns anything new.
 */
export function staticKeyFromEd25519 (seed: Uint8Array): { secret: KeyObject, publicKey: Uint8Array } {
  const scalar = ed25519.utils.toMontgomerySecret(seed)
  const secret = x25519Secret(scalar)
  scalar.fill(0)
  // X25519(s, 9) is the birational image of the Ed25519 public key s·B: the same point, one fast
  // scalar multiplication by node:crypto instead of noble's Ed25519 one and a conversion
  const publicKey = new Uint8Array(createPublicKey(secret).export({ format: 'der', type: 'spki' }).subarray(SPKI_X25519.byteLength))
  return { secret, publicKey }
}

/** The X25519 public key of an Ed25519 public key (a peer id's key). */
export function staticPublicFromEd25519 (publicKey: Uint8Array): Uint8Array {
  return ed25519.utils.toMontgomery(publicKey)
}

function expand (ikm: Uint8Array, info: Uint8Array[]): DirectionKeys {
  const okm = new Uint8Array(hkdfSync('sha256', ikm, SALT, Buffer.concat(info), 32 + 12 + 32))
  return { key: okm.subarray(0, 32), nonce: okm.subarray(32, 44), macKey: okm.subarray(44, 76) }
}

/**
 * Initiator → listener keys: from es = X25519(x, B) only, so that the
 * initiator can send its first frames with its hello (no round trip is added).
 */
export function c2sKeys (es: Uint8Array, listener: Uint8Array, rx: Uint8Array): DirectionKeys {
  return expand(es, [Buffer.from(NS_C2S), listener, rx])
}

/** Listener → initiator keys: from es and ee = X25519(y, X). */
export function s2cKeys (es: Uint8Array, ee: Uint8Array, listener: Uint8Array, rx: Uint8Array, ry: Uint8Array): DirectionKeys {
  const ikm = Buffer.concat([es, ee])
  try {
    return expand(ikm, [Buffer.from(NS_S2C), listener, rx, ry])
  } finally {
    ikm.fill(0)
  }
}

/** A direction's length keystream: ChaCha20 under HMAC-SHA256(key, NS_LENGTHS), the same nonce. */
export function lengthStream (keys: DirectionKeys, rekeyBytes?: number): KeyStream {
  const key = new Uint8Array(createHmac('sha256', keys.key).update(NS_LENGTHS).digest())
  try {
    return new KeyStream(key, keys.nonce, rekeyBytes)
  } finally {
    key.fill(0)
  }
}

/** HMAC-SHA256 truncated to {@link MAC_BYTES}. */
export function mac (key: Uint8Array, ...parts: Uint8Array[]): Uint8Array {
  const h = createHmac('sha256', key)
  for (const p of parts) h.update(p)
  return new Uint8Array(h.digest().subarray(0, MAC_BYTES))
}

/**
 * One direction's keystream: ChaCha20 (RFC 8439, node:crypto) continued over
 * every byte of the direction, ratcheted every {@link REKEY_BYTES} with
 * key' = HMAC-SHA256(key, NS_REKEY) at exactly that offset on both sides.
 */
export class KeyStream {
  #key: Uint8Array
  readonly #nonce: Uint8Array
  readonly #rekeyBytes: number
  #cipher: Cipheriv
  #left: number

  constructor (key: Uint8Array, nonce: Uint8Array, rekeyBytes = REKEY_BYTES) {
    this.#key = new Uint8Array(key)
    this.#nonce = new Uint8Array(nonce)
    this.#rekeyBytes = rekeyBytes
    this.#left = rekeyBytes
    this.#cipher = this.#open()
  }

  #open (): Cipheriv {
    // node's chacha20 iv: 32-bit little-endian block counter, then the 96-bit nonce
    return createCipheriv('chacha20', this.#key, Buffer.concat([Buffer.alloc(4), this.#nonce]))
  }

  /** XOR `data` with the next bytes of keystream; returns a new buffer. */
  update (data: Uint8Array): Uint8Array {
    if (data.byteLength < this.#left) {
      this.#left -= data.byteLength
      return this.#cipher.update(data)
    }
    const head = this.#cipher.update(data.subarray(0, this.#left))
    const rest = data.subarray(this.#left)
    const next = new Uint8Array(createHmac('sha256', this.#key).update(NS_REKEY).digest())
    this.#key.fill(0)
    this.#key = next
    this.#cipher = this.#open()
    this.#left = this.#rekeyBytes
    return Buffer.concat([head, this.update(rest)])
  }
}
