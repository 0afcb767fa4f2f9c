import { hkdfSync } from 'node:crypto'
import { generateKeyPairFromSeed } from '@libp2p/crypto/keys'
import { NS_APP_IDENTITY } from '../constants.ts'
import type { Ed25519PrivateKey } from '@libp2p/interface'

const encoder = new TextEncoder()

/** Bytes of an Ed25519 seed, the device secret. */
export const SEED_BYTES = 32

/** Largest key generation: generations are uint32 (spec/proto/identity.proto). */
export const MAX_GENERATION = 0xffffffff

/**
 * The HKDF-SHA256 `info` of an application key:
 * `utf8(NS_APP_IDENTITY) || 0x00 || utf8(app) || 0x00 || uint32be(generation)`.
 * Neither the domain nor an application name contains 0x00, so no two
 * (app, generation) pairs share an info.
 */
export function appKeyInfo (app: string, generation: number): Uint8Array {
  const ns = encoder.encode(NS_APP_IDENTITY)
  const name = encoder.encode(app)
  const info = new Uint8Array(ns.byteLength + 1 + name.byteLength + 1 + 4)
  info.set(ns, 0)
  info.set(name, ns.byteLength + 1)
  new DataView(info.buffer).setUint32(info.byteLength - 4, generation)
  return info
}

/**
 * The 32-byte Ed25519 seed of an application key (spec/identity.md#application-keys):
 * HKDF-SHA256(ikm = device seed, salt = none, info = {@link appKeyInfo}, L = 32).
 * The caller wipes the result.
 */
export function deriveAppSeed (deviceSeed: Uint8Array, app: string, generation: number): Uint8Array {
  return new Uint8Array(hkdfSync('sha256', deviceSeed, new Uint8Array(0), appKeyInfo(app, generation), SEED_BYTES))
}

/** The Ed25519 key of an Ed25519 seed; the seed is wiped once the key is made. */
export async function keyFromSeed (seed: Uint8Array): Promise<Ed25519PrivateKey> {
  try {
    return await generateKeyPairFromSeed('Ed25519', seed)
  } finally {
    seed.fill(0)
  }
}

/** The application key of a device seed, application name and generation. */
export async function deriveAppKey (deviceSeed: Uint8Array, app: string, generation: number): Promise<Ed25519PrivateKey> {
  return keyFromSeed(deriveAppSeed(deviceSeed, app, generation))
}
