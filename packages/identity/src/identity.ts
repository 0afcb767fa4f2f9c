import { constants as fsConstants } from 'node:fs'
import { open } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { generateKeyPair, generateKeyPairFromSeed, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { APP_NAME_PATTERN, EPHEMERAL_APP, IDENTITY_FILE_MODE, IDENTITY_FILE_TYPE, IDENTITY_FILE_VERSION, MAX_IDENTITY_FILE_BYTES } from './constants.ts'
import { IdentityAppMismatchError, InsecureIdentityFileError, InvalidIdentityFileError } from './errors.ts'
import { modeAllowsOthers } from './file-mode.ts'
import { makeDir, writeFileAtomic } from './internal/fs.ts'
import type { AbortOptions, Ed25519PrivateKey, Ed25519PublicKey, PeerId } from '@libp2p/interface'

/** An application's identity: its own Ed25519 key pair and the libp2p PeerId derived from it. */
export interface Identity {
  /** The application this key belongs to (`'(ephemeral)'` for a throwaway client key). */
  readonly app: string
  /** True for a fresh per-connection client key that is never saved. */
  readonly ephemeral: boolean
  readonly privateKey: Ed25519PrivateKey
  readonly publicKey: Ed25519PublicKey
  readonly peerId: PeerId
}

/** Options for {@link createIdentity}. */
export interface CreateIdentityInit {
  /** The application name (see {@link APP_NAME_PATTERN}). */
  app: string
}

/** Throws a RangeError unless `app` is a valid application name. */
export function assertAppName (app: unknown): asserts app is string {
  if (typeof app !== 'string') {
    throw new TypeError(`app must be a string, got ${typeof app}`)
  }
  if (!APP_NAME_PATTERN.test(app)) {
    throw new RangeError(`app must match ${String(APP_NAME_PATTERN)}, got ${JSON.stringify(app)}`)
  }
}

function fromKey (app: string, privateKey: Ed25519PrivateKey, ephemeral: boolean): Identity {
  return Object.freeze({ app, ephemeral, privateKey, publicKey: privateKey.publicKey, peerId: peerIdFromPrivateKey(privateKey) })
}

/** Create a new identity for an application, with a fresh key from the CSPRNG. */
export async function createIdentity (init: CreateIdentityInit): Promise<Identity> {
  assertAppName(init?.app)
  return fromKey(init.app, await generateKeyPair('Ed25519'), false)
}

/** Create a throwaway identity: clients use a fresh one for every association unless they opt into a stable one. */
export async function ephemeralIdentity (): Promise<Identity> {
  return fromKey(EPHEMERAL_APP, await generateKeyPair('Ed25519'), true)
}

interface IdentityFile {
  type: string
  version: number
  app: string
  /** base64 of the libp2p protobuf encoding of the private key */
  privateKey: string
}

/**
 * Save an identity to `path` with mode 0600. The file is written to a temporary
 * name and renamed, so a crash never leaves a half-written key.
 *
 * @param options - `signal` aborts the save: it rejects with the signal's
 * reason, and the temporary file is removed, unless the rename that puts the
 * new file in place has already happened (then the save completes).
 */
export async function saveIdentity (identity: Identity, path: string, options: AbortOptions = {}): Promise<void> {
  if (identity.ephemeral) {
    throw new TypeError('ephemeral identities are never saved')
  }
  options.signal?.throwIfAborted()
  const body: IdentityFile = {
    type: IDENTITY_FILE_TYPE,
    version: IDENTITY_FILE_VERSION,
    app: identity.app,
    privateKey: Buffer.from(privateKeyToProtobuf(identity.privateKey)).toString('base64')
  }
  await makeDir(dirname(path), 0o700)
  await writeFileAtomic(path, JSON.stringify(body, null, 2) + '\n', { mode: IDENTITY_FILE_MODE, ...(options.signal == null ? {} : { signal: options.signal }) })
}

/** Options for {@link loadIdentity}. */
export interface LoadIdentityOptions {
  /** Refuse the file unless it was saved for this application. */
  app?: string
  /** Abort the load: it rejects with the signal's reason, and the file is closed. */
  signal?: AbortSignal
}

/**
 * Load an identity saved by {@link saveIdentity}. Refuses files that other
 * users can read or write ({@link InsecureIdentityFileError}) and files that
 * do not hold an Ed25519 key ({@link InvalidIdentityFileError}).
 */
export async function loadIdentity (path: string, options: LoadIdentityOptions = {}): Promise<Identity> {
  options.signal?.throwIfAborted()
  let text: string
  try {
    text = await readIdentityFile(path, options.signal)
  } catch (err) {
    // an abort wins over what it caused (node's own AbortError) or what came at the same time
    options.signal?.throwIfAborted()
    throw err
  }
  let body: Partial<IdentityFile>
  try {
    body = JSON.parse(text) as Partial<IdentityFile>
  } catch {
    throw new InvalidIdentityFileError(`Identity file ${path} is not valid JSON`)
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new InvalidIdentityFileError(`Identity file ${path} does not hold a JSON object`)
  }
  if (body.type !== IDENTITY_FILE_TYPE || body.version !== IDENTITY_FILE_VERSION) {
    throw new InvalidIdentityFileError(`Identity file ${path} has unknown type/version ${String(body.type)}/${String(body.version)}`)
  }
  if (typeof body.app !== 'string' || !APP_NAME_PATTERN.test(body.app) || typeof body.privateKey !== 'string') {
    throw new InvalidIdentityFileError(`Identity file ${path} is missing its app or privateKey`)
  }
  if (options.app != null && options.app !== body.app) {
    throw new IdentityAppMismatchError(`Identity file ${path} belongs to app ${JSON.stringify(body.app)}, not ${JSON.stringify(options.app)}`)
  }
  let key
  try {
    key = privateKeyFromProtobuf(Buffer.from(body.privateKey, 'base64'))
  } catch (err) {
    throw new InvalidIdentityFileError(`Identity file ${path} holds an unreadable key: ${(err as Error).message}`)
  }
  if (key.type !== 'Ed25519') {
    throw new InvalidIdentityFileError(`Identity file ${path} holds a ${key.type} key; Fara identities are Ed25519`)
  }
  // the stored public half must be the one the seed derives, or the PeerId would name a key nobody holds
  const derived = await generateKeyPairFromSeed('Ed25519', key.raw.subarray(0, 32))
  if (!derived.publicKey.equals(key.publicKey)) {
    throw new InvalidIdentityFileError(`Identity file ${path} holds a key whose public half does not match its private half`)
  }
  options.signal?.throwIfAborted()
  return fromKey(body.app, key, false)
}

/**
 * Read an identity file through one handle: owner-only mode, a regular file,
 * bounded size. Opened with O_NONBLOCK, so a FIFO at the path cannot block the
 * open (and a thread of the pool) forever; it is then refused as no regular file.
 */
async function readIdentityFile (path: string, signal: AbortSignal | undefined): Promise<string> {
  const fh = await open(path, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK)
  try {
    signal?.throwIfAborted()
    const info = await fh.stat()
    if (modeAllowsOthers(info.mode)) {
      throw new InsecureIdentityFileError(`Identity file ${path} has mode ${(info.mode & 0o777).toString(8)}; expected 600`)
    }
    if (!info.isFile() || info.size > MAX_IDENTITY_FILE_BYTES) {
      throw new InvalidIdentityFileError(`Identity file ${path} is not a regular file of at most ${MAX_IDENTITY_FILE_BYTES} bytes`)
    }
    return await fh.readFile({ encoding: 'utf8', ...(signal == null ? {} : { signal }) })
  } finally {
    await fh.close()
  }
}

/** The file that holds `app`'s key inside a keystore directory: `<dir>/<app>.key`. */
export function identityPath (dir: string, app: string): string {
  assertAppName(app)
  return join(dir, `${app}.key`)
}

/**
 * Load the application's identity from a keystore directory, creating and
 * saving a fresh one on first use. Each application name has its own file and
 * its own key, so no two applications share a key.
 *
 * @param options - `signal` aborts the load or creation: it rejects with the
 * signal's reason, and a key not yet saved is never saved (see {@link saveIdentity}).
 */
export async function loadOrCreateIdentity (dir: string, app: string, options: AbortOptions = {}): Promise<Identity> {
  const path = identityPath(dir, app)
  const signal = options.signal == null ? {} : { signal: options.signal }
  try {
    return await loadIdentity(path, { app, ...signal })
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw err
    }
  }
  const identity = await createIdentity({ app })
  await saveIdentity(identity, path, signal)
  return identity
}
