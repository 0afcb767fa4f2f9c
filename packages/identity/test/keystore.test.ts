import { createHash } from 'node:crypto'
import { chmod, copyFile, mkdir, mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { peerIdFromPublicKey } from '@libp2p/peer-id'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { rejection } from '@fara/testkit'
import { createKeystore, openKeystore, verifyCertificate } from '../src/index.ts'
import { KEYSTORE_FILE, NS_KEYSTORE_CHECKSUM } from '../src/constants.ts'
import { FAST_KDF, PASSPHRASE, keystoreFile, overwrite, snapshot } from './helpers.ts'
import type { Keystore } from '../src/index.ts'

let root: string
let dir: string

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'fara-keystore-'))
  dir = join(root, 'keystore')
})

afterEach(async () => {
  await rm(root, { recursive: true, force: true })
})

async function create (over: { passphrase?: string | Uint8Array } = {}): Promise<Keystore> {
  return createKeystore(dir, { passphrase: PASSPHRASE, kdf: FAST_KDF, ...over })
}

describe('createKeystore', () => {
  it('creates the directory with mode 0700 and one keystore file with mode 0600, leaving no temporary file', async () => {
    await create()
    expect((await stat(dir)).mode & 0o777).toBe(0o700)
    expect((await stat(keystoreFile(dir))).mode & 0o777).toBe(0o600)
    expect(await readdir(dir)).toEqual([KEYSTORE_FILE])
  })

  it('creates missing parent directories', async () => {
    dir = join(root, 'a', 'b', 'keystore')
    const ks = await create()
    expect((await openKeystore(dir, { passphrase: PASSPHRASE })).device.publicKey.equals(ks.device.publicKey)).toBe(true)
  })

  it('draws a new device key for every keystore', async () => {
    const a = await create()
    dir = join(root, 'other')
    const b = await create()
    expect(a.device.publicKey.equals(b.device.publicKey)).toBe(false)
    expect(a.device.peerId.equals(peerIdFromPublicKey(a.device.publicKey))).toBe(true)
  })

  it('never overwrites an existing keystore: KeystoreExistsError and the file is untouched', async () => {
    await create()
    const untouched = await snapshot(keystoreFile(dir))
    expect((await rejection(create())).name).toBe('KeystoreExistsError')
    await untouched()
    expect(await readdir(dir)).toEqual([KEYSTORE_FILE])
  })

  it('refuses an existing directory that others can access and writes nothing', async () => {
    await mkdir(dir)
    await chmod(dir, 0o755)
    expect((await rejection(create())).name).toBe('InsecureIdentityFileError')
    expect(await readdir(dir)).toEqual([])
  })

  it.each([
    ['an empty passphrase', { passphrase: '' }, 'RangeError'],
    ['a numeric passphrase', { passphrase: 42 }, 'TypeError'],
    ['N not a power of two', { kdf: { N: 1000 } }, 'RangeError'],
    ['N = 1', { kdf: { N: 1 } }, 'RangeError'],
    ['a memory cost over the limit', { kdf: { N: 2 ** 20, r: 8 } }, 'RangeError'],
    ['r = 0', { kdf: { r: 0 } }, 'RangeError'],
    ['p = 17', { kdf: { p: 17 } }, 'RangeError'],
    ['a zero certificate lifetime', { certificateLifetime: 0 }, 'RangeError']
  ])('refuses %s with a %s and writes nothing', async (_what, over, name) => {
    const err = await rejection(createKeystore(dir, { passphrase: PASSPHRASE, kdf: FAST_KDF, ...over } as never))
    expect(err.name).toBe(name)
    await expect(stat(dir)).rejects.toMatchObject({ code: 'ENOENT' })
  })

  it('honours an aborted signal and writes nothing', async () => {
    const err = await rejection(createKeystore(dir, { passphrase: PASSPHRASE, kdf: FAST_KDF, signal: AbortSignal.abort() }))
    expect(err.name).toBe('AbortError')
    await expect(stat(keystoreFile(dir))).rejects.toMatchObject({ code: 'ENOENT' })
  })
})

describe('openKeystore', () => {
  it('gives the same device key and the same application keys after reopening', async () => {
    const ks = await create()
    const chat = await ks.app('chat')
    const again = await openKeystore(dir, { passphrase: PASSPHRASE })
    expect(again.device.publicKey.equals(ks.device.publicKey)).toBe(true)
    expect(again.device.peerId.equals(ks.device.peerId)).toBe(true)
    const chat2 = await again.app('chat')
    expect(chat2.privateKey.equals(chat.privateKey)).toBe(true)
    expect(chat2.peerId.equals(chat.peerId)).toBe(true)
  })

  it('uses the scrypt parameters stored in the file', async () => {
    await createKeystore(dir, { passphrase: PASSPHRASE, kdf: { N: 2 ** 11, r: 4, p: 2 } })
    expect((await openKeystore(dir, { passphrase: PASSPHRASE })).device.publicKey.type).toBe('Ed25519')
    expect(Array.from((await readFile(keystoreFile(dir))).subarray(8, 14))).toEqual([1, 1, 11, 4, 2, 1])
  })

  it('accepts the passphrase as bytes, and a string in any Unicode normal form', async () => {
    const ks = await create({ passphrase: 'caf\u00e9 cr\u00e8me' })
    expect((await openKeystore(dir, { passphrase: 'cafe\u0301 cre\u0300me' })).device.publicKey.equals(ks.device.publicKey)).toBe(true)
    expect((await openKeystore(dir, { passphrase: new TextEncoder().encode('caf\u00e9 cr\u00e8me') })).device.publicKey.equals(ks.device.publicKey)).toBe(true)
  })

  it('refuses a wrong passphrase with WrongPassphraseError and leaves the file untouched', async () => {
    await create()
    const untouched = await snapshot(keystoreFile(dir))
    for (const passphrase of ['correct horse battery stapler', 'Correct horse battery staple', 'x']) {
      expect((await rejection(openKeystore(dir, { passphrase }))).name).toBe('WrongPassphraseError')
    }
    await untouched()
  })

  it('refuses a file with any single byte changed with InvalidIdentityFileError and leaves it untouched', async () => {
    await create()
    const path = keystoreFile(dir)
    const original = await readFile(path)
    for (let i = 0; i < original.byteLength; i++) {
      const tampered = Buffer.from(original)
      tampered[i]! ^= 0x01
      await overwrite(path, tampered)
      const untouched = await snapshot(path)
      const err = await rejection(openKeystore(dir, { passphrase: PASSPHRASE }))
      expect(err.name, `byte ${i}`).toBe('InvalidIdentityFileError')
      await untouched()
    }
  })

  it.each([0, 1, 8, 42, 89, -1, -32, -33])('refuses a file truncated to %i bytes with InvalidIdentityFileError and leaves it untouched', async (end) => {
    await create()
    const path = keystoreFile(dir)
    const original = await readFile(path)
    await overwrite(path, original.subarray(0, end < 0 ? original.byteLength + end : end))
    const untouched = await snapshot(path)
    expect((await rejection(openKeystore(dir, { passphrase: PASSPHRASE }))).name).toBe('InvalidIdentityFileError')
    await untouched()
  })

  it('refuses a file with bytes appended', async () => {
    await create()
    const path = keystoreFile(dir)
    await overwrite(path, Buffer.concat([await readFile(path), Buffer.from([0])]))
    expect((await rejection(openKeystore(dir, { passphrase: PASSPHRASE }))).name).toBe('InvalidIdentityFileError')
  })

  it('reports a deliberately re-checksummed ciphertext as a wrong passphrase: the two cannot be told apart', async () => {
    await create()
    const path = keystoreFile(dir)
    const original = await readFile(path)
    const body = Buffer.from(original.subarray(0, original.byteLength - 32))
    body[50]! ^= 0x01
    const sum = createHash('sha256').update(NS_KEYSTORE_CHECKSUM).update(Buffer.from([0])).update(body).digest()
    await overwrite(path, Buffer.concat([body, sum]))
    expect((await rejection(openKeystore(dir, { passphrase: PASSPHRASE }))).name).toBe('WrongPassphraseError')
  })

  it.each([0o644, 0o640, 0o604, 0o660])('refuses a keystore file with mode %o as insecure and leaves it untouched', async (mode) => {
    await create()
    await chmod(keystoreFile(dir), mode)
    const untouched = await snapshot(keystoreFile(dir))
    expect((await rejection(openKeystore(dir, { passphrase: PASSPHRASE }))).name).toBe('InsecureIdentityFileError')
    await untouched()
  })

  it.each([0o755, 0o750, 0o701, 0o707])('refuses a keystore directory with mode %o as insecure', async (mode) => {
    await create()
    await chmod(dir, mode)
    expect((await rejection(openKeystore(dir, { passphrase: PASSPHRASE }))).name).toBe('InsecureIdentityFileError')
  })

  it('rejects a missing keystore with the file system error', async () => {
    await mkdir(dir, { mode: 0o700 })
    expect((await rejection(openKeystore(dir, { passphrase: PASSPHRASE })) as NodeJS.ErrnoException).code).toBe('ENOENT')
  })

  it('refuses something other than a regular file', async () => {
    await mkdir(keystoreFile(dir), { recursive: true, mode: 0o700 })
    await chmod(dir, 0o700)
    expect((await rejection(openKeystore(dir, { passphrase: PASSPHRASE }))).name).toBe('InvalidIdentityFileError')
  })
})

describe('Keystore.app', () => {
  it('derives a per-application key certified by the device key', async () => {
    const ks = await create()
    const chat = await ks.app('chat')
    expect(chat.app).toBe('chat')
    expect(chat.ephemeral).toBe(false)
    expect(chat.generation).toBe(0)
    expect(chat.privateKey.type).toBe('Ed25519')
    expect(chat.peerId.equals(peerIdFromPublicKey(chat.publicKey))).toBe(true)
    expect(chat.devicePublicKey.equals(ks.device.publicKey)).toBe(true)
    expect(chat.publicKey.equals(ks.device.publicKey)).toBe(false)
    expect(Object.isFrozen(chat)).toBe(true)
    const cert = await verifyCertificate(chat.certificate, { devicePublicKey: ks.device.publicKey })
    expect(cert.app).toBe('chat')
    expect(cert.generation).toBe(0)
    expect(cert.appPublicKey.equals(chat.publicKey)).toBe(true)
  })

  it('is deterministic for the same application and generation, and different per application', async () => {
    const ks = await create()
    const [chat, chat2, mail] = await Promise.all([ks.app('chat'), ks.app('chat'), ks.app('mail')])
    expect(chat.privateKey.equals(chat2.privateKey)).toBe(true)
    expect(chat.privateKey.equals(mail.privateKey)).toBe(false)
  })

  it('refuses an invalid application name with a RangeError', async () => {
    const ks = await create()
    expect((await rejection(ks.app('../chat'))).name).toBe('RangeError')
    expect((await rejection(ks.app(7 as unknown as string))).name).toBe('TypeError')
  })
})

describe('Keystore.rotate', () => {
  it('moves to the next generation with a different key, and reopening keeps it', async () => {
    const ks = await create()
    const before = await ks.app('chat')
    const mail = await ks.app('mail')
    const rotated = await ks.rotate('chat')
    expect(rotated.generation).toBe(1)
    expect(ks.generation('chat')).toBe(1)
    expect(rotated.privateKey.equals(before.privateKey)).toBe(false)
    expect((await ks.app('chat')).privateKey.equals(rotated.privateKey)).toBe(true)

    const again = await openKeystore(dir, { passphrase: PASSPHRASE })
    expect(again.generation('chat')).toBe(1)
    expect((await again.app('chat')).privateKey.equals(rotated.privateKey)).toBe(true)
    expect((await again.app('mail')).privateKey.equals(mail.privateKey)).toBe(true)
    expect((await stat(keystoreFile(dir))).mode & 0o777).toBe(0o600)
    expect(await readdir(dir)).toEqual([KEYSTORE_FILE])
  })

  it('serialises concurrent rotations of one keystore', async () => {
    const ks = await create()
    const [a, b] = await Promise.all([ks.rotate('chat'), ks.rotate('chat')])
    expect([a.generation, b.generation]).toEqual([1, 2])
    expect((await openKeystore(dir, { passphrase: PASSPHRASE })).generation('chat')).toBe(2)
  })

  it('keeps rotations another process made since it opened: a generation never goes back', async () => {
    await create()
    const a = await openKeystore(dir, { passphrase: PASSPHRASE })
    const b = await openKeystore(dir, { passphrase: PASSPHRASE })
    await a.rotate('chat')
    await b.rotate('mail')
    expect((await b.rotate('chat')).generation).toBe(2)
    const c = await openKeystore(dir, { passphrase: PASSPHRASE })
    expect([c.generation('chat'), c.generation('mail')]).toEqual([2, 1])
  })

  it('checks its options before writing: a bad lifetime rotates nothing', async () => {
    const ks = await create()
    const untouched = await snapshot(keystoreFile(dir))
    expect((await rejection(ks.rotate('chat', { lifetime: -1 }))).name).toBe('RangeError')
    await untouched()
    expect(ks.generation('chat')).toBe(0)
  })

  it('honours an aborted signal and leaves the file untouched', async () => {
    const ks = await create()
    const untouched = await snapshot(keystoreFile(dir))
    expect((await rejection(ks.rotate('chat', { signal: AbortSignal.abort() }))).name).toBe('AbortError')
    await untouched()
    expect(ks.generation('chat')).toBe(0)
    expect((await ks.rotate('chat')).generation).toBe(1)
  })

  it('refuses to write over a keystore that was replaced since it was opened', async () => {
    const ks = await create()
    const otherDir = dir
    dir = join(root, 'other')
    await create()
    await copyFile(keystoreFile(dir), keystoreFile(otherDir))
    const untouched = await snapshot(keystoreFile(otherDir))
    expect((await rejection(ks.rotate('chat'))).name).toBe('InvalidIdentityFileError')
    await untouched()
    expect(ks.generation('chat')).toBe(0)
  })
})

describe('Keystore.revoke', () => {
  it('refuses a belowGeneration outside 1 to the current generation with a RangeError', async () => {
    const ks = await create()
    expect((await rejection(ks.revoke('chat', 1))).name).toBe('RangeError')
    await ks.rotate('chat')
    for (const bad of [0, 2, 1.5, -1]) {
      expect((await rejection(ks.revoke('chat', bad))).name).toBe('RangeError')
    }
    expect((await ks.revoke('chat', 1)).signature.byteLength).toBe(64)
  })
})
