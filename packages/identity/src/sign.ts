import { createPublicKey, verify } from 'node:crypto'
import type { PrivateKey, PublicKey } from '@libp2p/interface'
import type { KeyObject } from 'node:crypto'

const encoder = new TextEncoder()

/** DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410): the 32 raw bytes follow. */
const SPKI_ED25519 = Buffer.from('302a300506032b6570032100', 'hex')
/** Ed25519 public keys imported into node:crypto, most recently used last (a client checks the same owners' records again and again). */
const IMPORTED = new Map<string, KeyObject>()
/** At most this many imported keys are kept. */
const MAX_IMPORTED = 1024

/**
 * `key` as a node:crypto key. libp2p's Ed25519 `verify` imports the key
 * (from JWK) on every call, about a fifth of a verification's CPU; a resolve
 * checks a record's signature, so this keeps the last
 * {@link MAX_IMPORTED} keys imported.
 */
function imported (key: PublicKey): KeyObject {
  const id = Buffer.from(key.raw).toString('base64')
  let object = IMPORTED.get(id)
  if (object != null) {
    IMPORTED.delete(id)
  } else {
    object = createPublicKey({ key: Buffer.concat([SPKI_ED25519, key.raw]), format: 'der', type: 'spki' })
    if (IMPORTED.size >= MAX_IMPORTED) IMPORTED.delete(IMPORTED.keys().next().value!)
  }
  IMPORTED.set(id, object)
  return object
}

/**
 * The bytes that are signed for `data` under `domain`: `utf8(domain) || 0x00 || data`.
 * Every signature Fara makes is domain-separated this way (spec/identity.md).
 */
export function domainMessage (domain: string, data: Uint8Array): Uint8Array {
  if (typeof domain !== 'string' || domain.length === 0 || domain.includes('\0')) {
    throw new TypeError(`domain must be a non-empty string without NUL, got ${JSON.stringify(domain)}`)
  }
  const prefix = encoder.encode(domain)
  const out = new Uint8Array(prefix.byteLength + 1 + data.byteLength)
  out.set(prefix, 0)
  out.set(data, prefix.byteLength + 1)
  return out
}

/** Sign `data` under a named domain with `key`. */
export async function signDomain (key: PrivateKey, domain: string, data: Uint8Array): Promise<Uint8Array> {
  return key.sign(domainMessage(domain, data))
}

/** Verify a signature made by {@link signDomain}. Returns false for any mismatch, never throws for a bad signature. */
export async function verifyDomain (key: PublicKey, domain: string, data: Uint8Array, signature: Uint8Array): Promise<boolean> {
  try {
    const message = domainMessage(domain, data)
    if (key.type === 'Ed25519' && key.raw.byteLength === 32) return verify(null, message, imported(key), signature)
    return await key.verify(message, signature)
  } catch {
    return false
  }
}
