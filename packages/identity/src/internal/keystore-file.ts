// The keystore file (spec/identity.md#keystore-file):
//   header (42 bytes, the AEAD's associated data) || ciphertext || tag (16) || checksum (32)
// header = "FARAKEYS" | version | kdf | log2(N) | r | p | aead | salt (16) | nonce (12)
import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes, scrypt, timingSafeEqual } from 'node:crypto'
import { APP_NAME_PATTERN, KEYSTORE_FILE_VERSION, MAX_SCRYPT_MEMORY, NS_KEYSTORE_CHECKSUM, NS_KEYSTORE_KEY } from '../constants.ts'
import { InvalidIdentityFileError, WrongPassphraseError } from '../errors.ts'
import { KeystoreContentsType, bytesOf, tryDecode } from './codec.ts'
import { MAX_GENERATION, SEED_BYTES } from './derive.ts'

/** scrypt cost parameters (RFC 7914). */
export interface ScryptParams { N: number, r: number, p: number }

/** What a keystore file holds once decrypted. */
export interface KeystoreContents {
  /** The device secret: the device key's Ed25519 seed. */
  deviceSeed: Uint8Array
  /** Current generation of every application rotated at least once. */
  apps: Map<string, number>
}

/** A keystore file split into its parts; nothing is decrypted yet. */
export interface KeystoreFile {
  params: ScryptParams
  salt: Uint8Array
  header: Uint8Array
  ciphertext: Uint8Array
  tag: Uint8Array
}

const MAGIC = new TextEncoder().encode('FARAKEYS')
const KDF_SCRYPT = 1
const AEAD_CHACHA20_POLY1305 = 1
const SALT_BYTES = 16
const NONCE_BYTES = 12
const TAG_BYTES = 16
const CHECKSUM_BYTES = 32
const KEY_BYTES = 32
const HEADER_BYTES = MAGIC.byteLength + 6 + SALT_BYTES + NONCE_BYTES
const MAX_R = 32
const MAX_P = 16

/** Why `params` are out of range, or undefined if they are acceptable. */
export function scryptParamsProblem (params: ScryptParams): string | undefined {
  const { N, r, p } = params
  if (!Number.isSafeInteger(N) || N < 2 || (N & (N - 1)) !== 0) return `N must be a power of two >= 2, got ${N}`
  if (!Number.isSafeInteger(r) || r < 1 || r > MAX_R) return `r must be an integer from 1 to ${MAX_R}, got ${r}`
  if (!Number.isSafeInteger(p) || p < 1 || p > MAX_P) return `p must be an integer from 1 to ${MAX_P}, got ${p}`
  if (128 * N * r > MAX_SCRYPT_MEMORY) return `128 * N * r must be at most ${MAX_SCRYPT_MEMORY} bytes, got ${128 * N * r}`
  return undefined
}

/** A fresh random scrypt salt. */
export function newSalt (): Uint8Array {
  return new Uint8Array(randomBytes(SALT_BYTES))
}

/**
 * The file encryption key: HKDF-SHA256(ikm = scrypt(passphrase, salt, N, r, p, 32),
 * salt = none, info = utf8(NS_KEYSTORE_KEY), L = 32). The scrypt output is wiped.
 * An abort of `signal` rejects at once with its reason; scrypt cannot be
 * stopped in its thread, so its output is wiped when it arrives.
 */
export async function deriveFileKey (passphrase: Uint8Array, salt: Uint8Array, params: ScryptParams, signal?: AbortSignal): Promise<Uint8Array> {
  signal?.throwIfAborted()
  const stretched = await new Promise<Buffer>((resolve, reject) => {
    const onAbort = (): void => { reject(signal?.reason) }
    signal?.addEventListener('abort', onAbort, { once: true })
    scrypt(passphrase, salt, KEY_BYTES, { ...params, maxmem: 2 * MAX_SCRYPT_MEMORY }, (err, key) => {
      signal?.removeEventListener('abort', onAbort)
      if (signal?.aborted === true) key?.fill(0)
      else if (err != null) reject(err)
      else resolve(key)
    })
  })
  try {
    return new Uint8Array(hkdfSync('sha256', stretched, new Uint8Array(0), new TextEncoder().encode(NS_KEYSTORE_KEY), KEY_BYTES))
  } finally {
    stretched.fill(0)
  }
}

function checksum (body: Uint8Array): Uint8Array {
  return createHash('sha256').update(NS_KEYSTORE_CHECKSUM).update(new Uint8Array([0])).update(body).digest()
}

function encodeContents (contents: KeystoreContents): Uint8Array {
  const apps = [...contents.apps].filter(([, generation]) => generation > 0).sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0)
  return KeystoreContentsType.encode({ deviceSeed: contents.deviceSeed, apps: apps.map(([app, generation]) => ({ app, generation })) }).finish()
}

/** Encrypt `contents` under `key` with a fresh random nonce (tests inject one) and return the whole file. The plaintext is wiped. */
export function sealKeystore (contents: KeystoreContents, key: Uint8Array, params: ScryptParams, salt: Uint8Array, nonce: Uint8Array = randomBytes(NONCE_BYTES)): Uint8Array {
  const header = new Uint8Array(HEADER_BYTES)
  header.set(MAGIC, 0)
  header.set([KEYSTORE_FILE_VERSION, KDF_SCRYPT, Math.log2(params.N), params.r, params.p, AEAD_CHACHA20_POLY1305], MAGIC.byteLength)
  header.set(salt, MAGIC.byteLength + 6)
  header.set(nonce, MAGIC.byteLength + 6 + SALT_BYTES)
  const plaintext = encodeContents(contents)
  try {
    const cipher = createCipheriv('chacha20-poly1305', key, header.subarray(HEADER_BYTES - NONCE_BYTES), { authTagLength: TAG_BYTES })
    cipher.setAAD(header, { plaintextLength: plaintext.byteLength })
    const body = Buffer.concat([header, cipher.update(plaintext), cipher.final(), cipher.getAuthTag()])
    return Buffer.concat([body, checksum(body)])
  } finally {
    plaintext.fill(0)
  }
}

/**
 * Split a keystore file into its parts, checking its framing, format
 * identifiers, parameter bounds and checksum; throws
 * {@link InvalidIdentityFileError} if any is wrong. Costs no key derivation.
 */
export function parseKeystore (bytes: Uint8Array, path: string): KeystoreFile {
  const invalid = (why: string): InvalidIdentityFileError => new InvalidIdentityFileError(`Keystore file ${path} ${why}`)
  if (bytes.byteLength < HEADER_BYTES + TAG_BYTES + CHECKSUM_BYTES) throw invalid(`is truncated (${bytes.byteLength} bytes)`)
  if (!timingSafeEqual(bytes.subarray(0, MAGIC.byteLength), MAGIC)) throw invalid('is not a Fara keystore')
  const body = bytes.subarray(0, bytes.byteLength - CHECKSUM_BYTES)
  if (!timingSafeEqual(checksum(body), bytes.subarray(body.byteLength))) throw invalid('is corrupted or truncated (checksum mismatch)')
  const [version, kdf, log2N, r, p, aead] = bytes.subarray(MAGIC.byteLength, MAGIC.byteLength + 6)
  if (version !== KEYSTORE_FILE_VERSION) throw invalid(`has unknown version ${String(version)}`)
  if (kdf !== KDF_SCRYPT || aead !== AEAD_CHACHA20_POLY1305) throw invalid(`has unknown kdf/aead ${String(kdf)}/${String(aead)}`)
  const params = { N: 2 ** (log2N ?? 0), r: r ?? 0, p: p ?? 0 }
  const problem = scryptParamsProblem(params)
  if (problem != null) throw invalid(`has out-of-range scrypt parameters: ${problem}`)
  return {
    params,
    salt: bytes.slice(MAGIC.byteLength + 6, MAGIC.byteLength + 6 + SALT_BYTES),
    header: bytes.slice(0, HEADER_BYTES),
    ciphertext: bytes.slice(HEADER_BYTES, body.byteLength - TAG_BYTES),
    tag: bytes.slice(body.byteLength - TAG_BYTES, body.byteLength)
  }
}

interface RawContents { deviceSeed: unknown, apps: Array<{ app: string, generation: number }> }

/**
 * Decrypt and decode a parsed keystore file. A tag that does not verify
 * means a wrong passphrase ({@link WrongPassphraseError}): accidental damage
 * was already caught by the checksum. The plaintext is wiped.
 */
export function unsealKeystore (file: KeystoreFile, key: Uint8Array, path: string): KeystoreContents {
  const decipher = createDecipheriv('chacha20-poly1305', key, file.header.subarray(HEADER_BYTES - NONCE_BYTES), { authTagLength: TAG_BYTES })
  decipher.setAAD(file.header, { plaintextLength: file.ciphertext.byteLength })
  decipher.setAuthTag(file.tag)
  const plaintext = decipher.update(file.ciphertext)
  try {
    try {
      decipher.final()
    } catch {
      throw new WrongPassphraseError(`Wrong passphrase for keystore ${path}`)
    }
    const raw = tryDecode<RawContents>(KeystoreContentsType, plaintext)
    const deviceSeed = bytesOf(raw?.deviceSeed)
    if (raw == null || deviceSeed.byteLength !== SEED_BYTES) {
      deviceSeed.fill(0)
      throw new InvalidIdentityFileError(`Keystore file ${path} decrypts to malformed contents`)
    }
    const apps = new Map<string, number>()
    for (const { app, generation } of raw.apps) {
      if (!APP_NAME_PATTERN.test(app) || apps.has(app) || !Number.isInteger(generation) || generation < 0 || generation > MAX_GENERATION) {
        deviceSeed.fill(0)
        throw new InvalidIdentityFileError(`Keystore file ${path} holds an invalid or duplicate application entry`)
      }
      apps.set(app, generation)
    }
    return { deviceSeed, apps }
  } finally {
    plaintext.fill(0)
  }
}
