import { readFileSync } from 'node:fs'
import { chmod, readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { expect } from 'vitest'
import { KEYSTORE_FILE } from '../src/constants.ts'

/** Small scrypt cost so tests run fast; the parameters are stored in the file either way. */
export const FAST_KDF = { N: 2 ** 10, r: 8, p: 1 }

export const PASSPHRASE = 'correct horse battery staple'

/** The keystore file of a keystore directory. */
export function keystoreFile (dir: string): string {
  return join(dir, KEYSTORE_FILE)
}

/** Snapshot a file's bytes and mode, to check later that it was left exactly as it was. */
export async function snapshot (path: string): Promise<() => Promise<void>> {
  const bytes = await readFile(path)
  const mode = (await stat(path)).mode & 0o777
  return async () => {
    expect((await readFile(path)).equals(bytes)).toBe(true)
    expect((await stat(path)).mode & 0o777).toBe(mode)
  }
}

/** Write bytes over a keystore file, keeping mode 0600. */
export async function overwrite (path: string, bytes: Uint8Array): Promise<void> {
  await writeFile(path, bytes)
  await chmod(path, 0o600)
}

export const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex')
export const unhex = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'hex'))

/** spec/vectors/identity.json, written by spec/vectors/generate-identity.mjs. */
export interface IdentityVectors {
  device: { seed: string, publicKey: string, peerId: string }
  appKeys: Array<{ app: string, generation: number, info: string, seed: string, publicKey: string, peerId: string }>
  certificate: { app: string, generation: number, notBefore: number, notAfter: number, domain: string, certificate: string, signature: string, signed: string }
  revocation: { app: string, belowGeneration: number, issued: number, domain: string, revocation: string, signature: string, signed: string }
  names: {
    valid: Array<{ label: string, keyHash: string, checksum: string, version: number, name: string }>
    invalid: Array<{ name: string, reason: string }>
  }
  keystore: {
    passphrase: string, kdf: { N: number, r: number, p: number }, salt: string, nonce: string
    apps: Array<{ app: string, generation: number }>, contents: string, fileKey: string, file: string
  }
}

export const vectors: IdentityVectors = JSON.parse(readFileSync(new URL('../../../spec/vectors/identity.json', import.meta.url), 'utf8'))
