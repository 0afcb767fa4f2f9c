import { randomBytes, timingSafeEqual } from 'node:crypto'
import { constants as fsConstants } from 'node:fs'
import { lstat, open } from 'node:fs/promises'
import { join } from 'node:path'
import { peerIdFromPrivateKey, peerIdFromPublicKey } from '@libp2p/peer-id'
import {
  CERTIFICATE_BACKDATE, DEFAULT_CERTIFICATE_LIFETIME, DEFAULT_SCRYPT, IDENTITY_FILE_MODE, KEYSTORE_DIR_MODE, KEYSTORE_FILE,
  MAX_KEYSTORE_FILE_BYTES
} from './constants.ts'
import { InsecureIdentityFileError, InvalidIdentityFileError, KeystoreExistsError } from './errors.ts'
import { modeAllowsOthers } from './file-mode.ts'
import { assertAppName } from './identity.ts'
import { MAX_GENERATION, SEED_BYTES, deriveAppKey, keyFromSeed } from './internal/derive.ts'
import { assertOwnerOnly, makeDir, writeFileAtomic } from './internal/fs.ts'
import { issueCertificate, issueRevocation } from './internal/issue.ts'
import { deriveFileKey, newSalt, parseKeystore, scryptParamsProblem, sealKeystore, unsealKeystore } from './internal/keystore-file.ts'
import type { KeystoreContents, ScryptParams } from './internal/keystore-file.ts'
import type { SignedCertificate, SignedRevocation } from './certificate.ts'
import type { Identity } from './identity.ts'
import type { AbortOptions, Ed25519PrivateKey, Ed25519PublicKey, PeerId } from '@libp2p/interface'

export type { ScryptParams }

/** An application's identity from a keystore: its derived key and the device key's certificate for it. */
export interface AppIdentity extends Identity {
  /** Key generation: 0 at first, +1 on every {@link Keystore.rotate}. */
  readonly generation: number
  /** The device key that certifies this application key (names are pinned to it). */
  readonly devicePublicKey: Ed25519PublicKey
  /** The device key's signed certificate for this application key. */
  readonly certificate: SignedCertificate
}

/** The device a keystore belongs to; its private half never leaves the keystore. */
export interface Device {
  readonly publicKey: Ed25519PublicKey
  readonly peerId: PeerId
}

/** Options for {@link Keystore.app}. */
export interface AppOptions {
  /** Certificate lifetime in ms (default: the keystore's `certificateLifetime`). */
  lifetime?: number
  /** Issue time, ms since the epoch (default `Date.now()`); tests inject one. */
  now?: number
}

/** An open keystore: a device key and the per-application keys derived from it. */
export interface Keystore {
  /** The keystore directory. */
  readonly dir: string
  /** The device key's public half and peer id. */
  readonly device: Device
  /** The application's key at its current generation, with a fresh certificate. */
  app(name: string, options?: AppOptions): Promise<AppIdentity>
  /** The application's current key generation (0 if never rotated). */
  generation(name: string): number
  /**
   * Move the application to its next generation, persist it, and return the new key.
   *
   * @param options - as for {@link Keystore.app}, and `signal`, which aborts the
   * rotation until the new generation is written (it rejects with the signal's
   * reason and the file is left as it was); once written, the rotation completes.
   */
  rotate(name: string, options?: AppOptions & AbortOptions): Promise<AppIdentity>
  /** Sign a revocation of the application's certificates with `generation < belowGeneration` (1 to the current generation). */
  revoke(name: string, belowGeneration: number, options?: { now?: number }): Promise<SignedRevocation>
}

/** Options for {@link openKeystore}. */
export interface OpenKeystoreOptions {
  /** The passphrase the keystore is encrypted with (a string is NFC-normalised and UTF-8 encoded). */
  passphrase: string | Uint8Array
  /** Default certificate lifetime in ms (default {@link DEFAULT_CERTIFICATE_LIFETIME}, one year). */
  certificateLifetime?: number
  /**
   * Abort the opening (or creation): it rejects with the signal's reason at
   * once, even while scrypt runs, and nothing is written (a created keystore
   * directory stays, empty).
   */
  signal?: AbortSignal
}

/** Options for {@link createKeystore}. */
export interface CreateKeystoreInit extends OpenKeystoreOptions {
  /** scrypt cost (default {@link DEFAULT_SCRYPT}: N = 2^17, r = 8, p = 1); stored in the file. */
  kdf?: Partial<ScryptParams>
}

function passphraseBytes (passphrase: unknown): Uint8Array {
  let bytes: Uint8Array
  if (typeof passphrase === 'string') bytes = new TextEncoder().encode(passphrase.normalize('NFC'))
  else if (passphrase instanceof Uint8Array) bytes = new Uint8Array(passphrase)
  else throw new TypeError(`passphrase must be a string or Uint8Array, got ${typeof passphrase}`)
  if (bytes.byteLength === 0) throw new RangeError('passphrase must not be empty')
  return bytes
}

function assertLifetime (lifetime: unknown, what: string): asserts lifetime is number {
  if (typeof lifetime !== 'number' || !Number.isSafeInteger(lifetime) || lifetime <= 0) {
    throw new RangeError(`${what} must be a positive integer number of ms, got ${String(lifetime)}`)
  }
}

function assertDir (dir: unknown): asserts dir is string {
  if (typeof dir !== 'string' || dir.length === 0) throw new TypeError(`dir must be a non-empty string, got ${typeof dir}`)
}

/**
 * Read the keystore file through one handle: owner-only mode, regular file,
 * bounded size. O_NONBLOCK: a FIFO at the path must not block the open forever.
 */
async function readKeystoreFile (path: string): Promise<Uint8Array> {
  const fh = await open(path, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK)
  try {
    const info = await fh.stat()
    if (modeAllowsOthers(info.mode)) {
      throw new InsecureIdentityFileError(`Keystore file ${path} has mode ${(info.mode & 0o777).toString(8)}; expected 600`)
    }
    if (!info.isFile() || info.size > MAX_KEYSTORE_FILE_BYTES) {
      throw new InvalidIdentityFileError(`Keystore file ${path} is not a regular file of at most ${MAX_KEYSTORE_FILE_BYTES} bytes`)
    }
    return await fh.readFile()
  } finally {
    await fh.close()
  }
}

class DefaultKeystore implements Keystore {
  readonly dir: string
  readonly device: Device
  readonly #path: string
  readonly #deviceKey: Ed25519PrivateKey
  readonly #fileKey: Uint8Array
  readonly #params: ScryptParams
  readonly #salt: Uint8Array
  readonly #apps: Map<string, number>
  readonly #lifetime: number
  #writing: Promise<unknown> = Promise.resolve()

  constructor (dir: string, deviceKey: Ed25519PrivateKey, file: { key: Uint8Array, params: ScryptParams, salt: Uint8Array, apps: Map<string, number> }, lifetime: number) {
    this.dir = dir
    this.#path = join(dir, KEYSTORE_FILE)
    this.#deviceKey = deviceKey
    this.device = Object.freeze({ publicKey: deviceKey.publicKey, peerId: peerIdFromPublicKey(deviceKey.publicKey) })
    this.#fileKey = file.key
    this.#params = file.params
    this.#salt = file.salt
    this.#apps = file.apps
    this.#lifetime = lifetime
  }

  /** The device seed, which the caller wipes. */
  #seed (): Uint8Array {
    return this.#deviceKey.raw.slice(0, SEED_BYTES)
  }

  generation (name: string): number {
    assertAppName(name)
    return this.#apps.get(name) ?? 0
  }

  async app (name: string, options: AppOptions = {}): Promise<AppIdentity> {
    const generation = this.generation(name)
    return this.#appAt(name, generation, this.#validity(options))
  }

  /** The certificate validity window for `options`, checked before anything is written. */
  #validity (options: AppOptions): { notBefore: number, notAfter: number } {
    const lifetime = options.lifetime ?? this.#lifetime
    assertLifetime(lifetime, 'options.lifetime')
    const now = options.now ?? Date.now()
    if (!Number.isSafeInteger(now) || now < 0) throw new RangeError(`options.now must be a non-negative safe integer, got ${String(now)}`)
    return { notBefore: Math.max(0, now - CERTIFICATE_BACKDATE), notAfter: now + lifetime }
  }

  async #appAt (name: string, generation: number, validity: { notBefore: number, notAfter: number }): Promise<AppIdentity> {
    const seed = this.#seed()
    let privateKey: Ed25519PrivateKey
    try {
      privateKey = await deriveAppKey(seed, name, generation)
    } finally {
      seed.fill(0)
    }
    const certificate = await issueCertificate(this.#deviceKey, { appPublicKey: privateKey.publicKey, app: name, generation, ...validity })
    return Object.freeze({
      app: name,
      ephemeral: false,
      privateKey,
      publicKey: privateKey.publicKey,
      peerId: peerIdFromPrivateKey(privateKey),
      generation,
      devicePublicKey: this.device.publicKey,
      certificate
    })
  }

  async rotate (name: string, options: AppOptions & AbortOptions = {}): Promise<AppIdentity> {
    assertAppName(name)
    const { signal, ...appOptions } = options
    const validity = this.#validity(appOptions)
    signal?.throwIfAborted()
    const write = this.#writing.then(async () => {
      signal?.throwIfAborted()
      const apps = await this.#reread()
      const next = (apps.get(name) ?? 0) + 1
      if (next > MAX_GENERATION) throw new RangeError(`application ${JSON.stringify(name)} has no generation after ${MAX_GENERATION}`)
      apps.set(name, next)
      const seed = this.#seed()
      try {
        signal?.throwIfAborted()
        await writeFileAtomic(this.#path, sealKeystore({ deviceSeed: seed, apps }, this.#fileKey, this.#params, this.#salt), { mode: IDENTITY_FILE_MODE, ...(signal == null ? {} : { signal }) })
      } finally {
        seed.fill(0)
      }
      for (const [app, generation] of apps) this.#apps.set(app, generation)
      return next
    })
    this.#writing = write.catch(() => {})
    return this.#appAt(name, await write, validity)
  }

  /**
   * Generations as stored now, merged with ours by maximum: another process
   * may have rotated an application since we opened the keystore, and a
   * generation must never go back (an old, revoked key would return).
   */
  async #reread (): Promise<Map<string, number>> {
    const file = parseKeystore(await readKeystoreFile(this.#path), this.#path)
    let contents: KeystoreContents
    try {
      if (!timingSafeEqual(file.salt, this.#salt)) throw new Error('salt changed')
      contents = unsealKeystore(file, this.#fileKey, this.#path)
    } catch {
      throw new InvalidIdentityFileError(`Keystore file ${this.#path} was replaced since it was opened; reopen it`)
    }
    const seed = this.#seed()
    const same = timingSafeEqual(seed, contents.deviceSeed)
    seed.fill(0)
    contents.deviceSeed.fill(0)
    if (!same) throw new InvalidIdentityFileError(`Keystore file ${this.#path} now holds another device key; reopen it`)
    const apps = new Map(this.#apps)
    for (const [app, generation] of contents.apps) apps.set(app, Math.max(generation, apps.get(app) ?? 0))
    return apps
  }

  async revoke (name: string, belowGeneration: number, options: { now?: number } = {}): Promise<SignedRevocation> {
    const current = this.generation(name)
    if (!Number.isInteger(belowGeneration) || belowGeneration < 1 || belowGeneration > current) {
      throw new RangeError(`belowGeneration must be an integer from 1 to the current generation ${current} of ${JSON.stringify(name)}, got ${String(belowGeneration)}`)
    }
    const issued = options.now ?? Date.now()
    if (!Number.isSafeInteger(issued)) throw new RangeError(`options.now must be a safe integer, got ${String(issued)}`)
    return issueRevocation(this.#deviceKey, { app: name, belowGeneration, issued })
  }
}

/**
 * Unlock the keystore in `dir` with its passphrase. Refuses a directory or
 * file that others can access ({@link InsecureIdentityFileError}), a wrong
 * passphrase ({@link WrongPassphraseError}) and a damaged file
 * ({@link InvalidIdentityFileError}); the file is never modified.
 */
export async function openKeystore (dir: string, options: OpenKeystoreOptions): Promise<Keystore> {
  assertDir(dir)
  const lifetime = options?.certificateLifetime ?? DEFAULT_CERTIFICATE_LIFETIME
  assertLifetime(lifetime, 'certificateLifetime')
  const passphrase = passphraseBytes(options?.passphrase)
  try {
    options.signal?.throwIfAborted()
    await assertOwnerOnly(dir, 'Keystore directory')
    const path = join(dir, KEYSTORE_FILE)
    const file = parseKeystore(await readKeystoreFile(path), path)
    const key = await deriveFileKey(passphrase, file.salt, file.params, options.signal)
    try {
      options.signal?.throwIfAborted()
      const contents = unsealKeystore(file, key, path)
      const deviceKey = await keyFromSeed(contents.deviceSeed)
      return new DefaultKeystore(dir, deviceKey, { key, params: file.params, salt: file.salt, apps: contents.apps }, lifetime)
    } catch (err) {
      key.fill(0)
      throw err
    }
  } finally {
    passphrase.fill(0)
  }
}

/**
 * Create a keystore in `dir` (mode 0700, created if missing) with a new
 * device key from the CSPRNG, encrypted under `passphrase`. Throws
 * {@link KeystoreExistsError} if `dir` already holds a keystore (it is never
 * overwritten) and {@link InsecureIdentityFileError} if others can access `dir`.
 */
export async function createKeystore (dir: string, init: CreateKeystoreInit): Promise<Keystore> {
  assertDir(dir)
  const params = { ...DEFAULT_SCRYPT, ...init?.kdf }
  const problem = scryptParamsProblem(params)
  if (problem != null) throw new RangeError(`kdf: ${problem}`)
  const lifetime = init?.certificateLifetime ?? DEFAULT_CERTIFICATE_LIFETIME
  assertLifetime(lifetime, 'certificateLifetime')
  const passphrase = passphraseBytes(init?.passphrase)
  const seed = new Uint8Array(randomBytes(SEED_BYTES))
  try {
    init.signal?.throwIfAborted()
    await makeDir(dir, KEYSTORE_DIR_MODE)
    await assertOwnerOnly(dir, 'Keystore directory')
    const path = join(dir, KEYSTORE_FILE)
    const exists = (): KeystoreExistsError => new KeystoreExistsError(`${path} already exists; open it, or remove it to start over`)
    if (await lstat(path).then(() => true, () => false)) throw exists() // before paying for scrypt
    const salt = newSalt()
    const key = await deriveFileKey(passphrase, salt, params, init.signal)
    try {
      init.signal?.throwIfAborted()
      const apps = new Map<string, number>()
      const file = sealKeystore({ deviceSeed: seed, apps }, key, params, salt)
      await writeFileAtomic(path, file, { mode: IDENTITY_FILE_MODE, exclusive: true, ...(init.signal == null ? {} : { signal: init.signal }) }).catch((err: NodeJS.ErrnoException) => {
        throw err.code === 'EEXIST' ? exists() : err
      })
      return new DefaultKeystore(dir, await keyFromSeed(seed), { key, params, salt, apps }, lifetime)
    } catch (err) {
      key.fill(0)
      throw err
    }
  } finally {
    passphrase.fill(0)
    seed.fill(0)
  }
}
