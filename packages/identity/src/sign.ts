import type { PrivateKey, PublicKey } from '@libp2p/interface'

const encoder = new TextEncoder()

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
    return await key.verify(domainMessage(domain, data), signature)
  } catch {
    return false
  }
}
