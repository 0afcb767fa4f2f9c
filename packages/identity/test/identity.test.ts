import { chmod, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair, privateKeyFromRaw, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPublicKey } from '@libp2p/peer-id'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { rejection } from '@fara/testkit'
import {
  assertAppName, createIdentity, domainMessage, ephemeralIdentity,
  identityPath, loadIdentity, loadOrCreateIdentity, saveIdentity, signDomain, verifyDomain
} from '../src/index.ts'
import { EPHEMERAL_APP, IDENTITY_FILE_MODE, IDENTITY_FILE_VERSION } from '../src/constants.ts'
import type { PrivateKey } from '@libp2p/interface'

const enc = new TextEncoder()

function fileBody (privateKey: PrivateKey, over: Record<string, unknown> = {}): string {
  return JSON.stringify({
    type: 'fara-identity',
    version: IDENTITY_FILE_VERSION,
    app: 'chat',
    privateKey: Buffer.from(privateKeyToProtobuf(privateKey)).toString('base64'),
    ...over
  })
}

let dir: string

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fara-identity-'))
})

afterEach(async () => {
  await rm(dir, { recursive: true, force: true })
})

/** Write `text` with mode 0600 and return its exact bytes. */
async function writeKeyFile (path: string, text: string | Uint8Array): Promise<Buffer> {
  await writeFile(path, text, { mode: 0o600 })
  await chmod(path, 0o600)
  return readFile(path)
}

describe('createIdentity', () => {
  it('creates an Ed25519 identity whose PeerId is derived from its own key', async () => {
    const id = await createIdentity({ app: 'chat' })
    expect(id.app).toBe('chat')
    expect(id.ephemeral).toBe(false)
    expect(id.privateKey.type).toBe('Ed25519')
    expect(id.publicKey.type).toBe('Ed25519')
    expect(id.publicKey.equals(id.privateKey.publicKey)).toBe(true)
    expect(id.peerId.type).toBe('Ed25519')
    expect(id.peerId.equals(peerIdFromPublicKey(id.publicKey))).toBe(true)
    expect(id.peerId.publicKey?.equals(id.publicKey)).toBe(true)
  })

  it('gives every application its own key, even two calls for the same name', async () => {
    const [chat, mail, chat2] = await Promise.all([
      createIdentity({ app: 'chat' }), createIdentity({ app: 'mail' }), createIdentity({ app: 'chat' })
    ])
    const peers = new Set([chat, mail, chat2].map(i => i.peerId.toString()))
    expect(peers.size).toBe(3)
    expect(chat.privateKey.equals(mail.privateKey)).toBe(false)
    expect(chat.privateKey.equals(chat2.privateKey)).toBe(false)
  })

  it('returns a frozen identity', async () => {
    const id = await createIdentity({ app: 'chat' })
    expect(Object.isFrozen(id)).toBe(true)
  })

  it('refuses a bad application name with a TypeError or RangeError', async () => {
    expect((await rejection(createIdentity({ app: 7 as unknown as string }))).name).toBe('TypeError')
    expect((await rejection(createIdentity(undefined as unknown as { app: string }))).name).toBe('TypeError')
    expect((await rejection(createIdentity({ app: 'Chat' }))).name).toBe('RangeError')
  })
})

describe('ephemeralIdentity', () => {
  it('is marked ephemeral and belongs to the ephemeral app', async () => {
    const id = await ephemeralIdentity()
    expect(id.ephemeral).toBe(true)
    expect(id.app).toBe(EPHEMERAL_APP)
    expect(id.privateKey.type).toBe('Ed25519')
    expect(id.peerId.equals(peerIdFromPublicKey(id.publicKey))).toBe(true)
  })

  it('is a fresh key every time', async () => {
    const ids = await Promise.all(Array.from({ length: 10 }, async () => ephemeralIdentity()))
    expect(new Set(ids.map(i => i.peerId.toString())).size).toBe(10)
  })

  it('is never saved: saveIdentity throws a TypeError and writes nothing', async () => {
    const id = await ephemeralIdentity()
    const err = await rejection(saveIdentity(id, join(dir, 'client.key')))
    expect(err.name).toBe('TypeError')
    expect(await readdir(dir)).toEqual([])
  })
})

describe('saveIdentity / loadIdentity', () => {
  it('round-trips the key, app and PeerId', async () => {
    const id = await createIdentity({ app: 'chat' })
    const path = join(dir, 'chat.key')
    await saveIdentity(id, path)
    const loaded = await loadIdentity(path)
    expect(loaded.app).toBe('chat')
    expect(loaded.ephemeral).toBe(false)
    expect(loaded.privateKey.equals(id.privateKey)).toBe(true)
    expect(loaded.peerId.equals(id.peerId)).toBe(true)
  })

  it('writes the file with mode exactly 0600 and leaves no temporary file behind', async () => {
    const path = join(dir, 'chat.key')
    await saveIdentity(await createIdentity({ app: 'chat' }), path)
    expect((await stat(path)).mode & 0o777).toBe(IDENTITY_FILE_MODE)
    expect(IDENTITY_FILE_MODE).toBe(0o600)
    expect(await readdir(dir)).toEqual(['chat.key'])
  })

  it('creates missing parent directories', async () => {
    const path = join(dir, 'a', 'b', 'chat.key')
    const id = await createIdentity({ app: 'chat' })
    await saveIdentity(id, path)
    expect((await loadIdentity(path)).peerId.equals(id.peerId)).toBe(true)
  })

  it('replaces an existing file, tightening its mode to 0600', async () => {
    const path = join(dir, 'chat.key')
    await writeFile(path, 'old', { mode: 0o644 })
    await chmod(path, 0o644)
    const id = await createIdentity({ app: 'chat' })
    await saveIdentity(id, path)
    expect((await stat(path)).mode & 0o777).toBe(0o600)
    expect((await loadIdentity(path)).peerId.equals(id.peerId)).toBe(true)
  })

  it.each([0o644, 0o640, 0o604, 0o660, 0o700 | 0o002])('refuses a file with mode %o as insecure', async (mode) => {
    const path = join(dir, 'chat.key')
    await saveIdentity(await createIdentity({ app: 'chat' }), path)
    await chmod(path, mode)
    const err = await rejection(loadIdentity(path))
    expect(err.name).toBe('InsecureIdentityFileError')
  })

  it('rejects a missing file with the filesystem error, not a typed identity error', async () => {
    const err = await rejection(loadIdentity(join(dir, 'nope.key'))) as NodeJS.ErrnoException
    expect(err.code).toBe('ENOENT')
  })

  describe('refuses a damaged file with InvalidIdentityFileError and leaves it byte-for-byte untouched', () => {
    const cases: Array<[string, () => Promise<string | Uint8Array>]> = [
      ['corrupted JSON', async () => '{"type": "fara-identity", '],
      ['binary garbage', async () => new Uint8Array([0xff, 0x00, 0x7b, 0x80, 0x22])],
      ['a JSON string', async () => '"fara-identity"'],
      ['a JSON array', async () => '[]'],
      ['the wrong type', async () => fileBody(await generateKeyPair('Ed25519'), { type: 'ssh-key' })],
      ['an unknown version', async () => fileBody(await generateKeyPair('Ed25519'), { version: 2 })],
      ['a missing privateKey', async () => fileBody(await generateKeyPair('Ed25519'), { privateKey: undefined })],
      ['a non-string privateKey', async () => fileBody(await generateKeyPair('Ed25519'), { privateKey: 42 })],
      ['an invalid app name', async () => fileBody(await generateKeyPair('Ed25519'), { app: '../etc' })],
      ['an unreadable key', async () => fileBody(await generateKeyPair('Ed25519'), { privateKey: Buffer.from('not a key').toString('base64') })],
      ['a secp256k1 key', async () => fileBody(await generateKeyPair('secp256k1'))]
    ]

    it.each(cases)('%s', async (_what, make) => {
      const path = join(dir, 'chat.key')
      const before = await writeKeyFile(path, await make())
      const err = await rejection(loadIdentity(path))
      expect(err.name).toBe('InvalidIdentityFileError')
      expect((await readFile(path)).equals(before)).toBe(true)
      expect((await stat(path)).mode & 0o777).toBe(0o600)
    })

    it('a JSON null', async () => {
      const path = join(dir, 'chat.key')
      await writeKeyFile(path, 'null')
      expect((await rejection(loadIdentity(path))).name).toBe('InvalidIdentityFileError')
    })

    it('an Ed25519 key whose public half belongs to another key', async () => {
      const [a, b] = await Promise.all([generateKeyPair('Ed25519'), generateKeyPair('Ed25519')])
      const raw = new Uint8Array(a.raw)
      raw.set(b.publicKey.raw, 32)
      const path = join(dir, 'chat.key')
      await writeKeyFile(path, fileBody(privateKeyFromRaw(raw)))
      expect((await rejection(loadIdentity(path))).name).toBe('InvalidIdentityFileError')
    })
  })

  it('refuses a key saved for another application with IdentityAppMismatchError', async () => {
    const path = join(dir, 'chat.key')
    await saveIdentity(await createIdentity({ app: 'chat' }), path)
    const before = await readFile(path)
    const err = await rejection(loadIdentity(path, { app: 'mail' }))
    expect(err.name).toBe('IdentityAppMismatchError')
    expect((await readFile(path)).equals(before)).toBe(true)
    expect((await loadIdentity(path, { app: 'chat' })).app).toBe('chat')
  })
})

describe('loadOrCreateIdentity', () => {
  it('creates a key on first use and loads the same key afterwards', async () => {
    const first = await loadOrCreateIdentity(dir, 'chat')
    expect(first.app).toBe('chat')
    expect((await stat(identityPath(dir, 'chat'))).mode & 0o777).toBe(0o600)
    const second = await loadOrCreateIdentity(dir, 'chat')
    expect(second.privateKey.equals(first.privateKey)).toBe(true)
    expect(second.peerId.equals(first.peerId)).toBe(true)
  })

  it('gives two applications in one keystore different keys and different files', async () => {
    const chat = await loadOrCreateIdentity(dir, 'chat')
    const mail = await loadOrCreateIdentity(dir, 'mail')
    expect(chat.peerId.equals(mail.peerId)).toBe(false)
    expect((await readdir(dir)).sort()).toEqual(['chat.key', 'mail.key'])
    expect((await loadOrCreateIdentity(dir, 'chat')).peerId.equals(chat.peerId)).toBe(true)
    expect((await loadOrCreateIdentity(dir, 'mail')).peerId.equals(mail.peerId)).toBe(true)
  })

  it('never overwrites a damaged key file: it throws and leaves the file as it was', async () => {
    const path = identityPath(dir, 'chat')
    const before = await writeKeyFile(path, '{ not json')
    expect((await rejection(loadOrCreateIdentity(dir, 'chat'))).name).toBe('InvalidIdentityFileError')
    expect((await readFile(path)).equals(before)).toBe(true)
  })

  it('never overwrites an insecure key file', async () => {
    const id = await loadOrCreateIdentity(dir, 'chat')
    const path = identityPath(dir, 'chat')
    await chmod(path, 0o644)
    expect((await rejection(loadOrCreateIdentity(dir, 'chat'))).name).toBe('InsecureIdentityFileError')
    await chmod(path, 0o600)
    expect((await loadIdentity(path)).peerId.equals(id.peerId)).toBe(true)
  })

  it('refuses a file that holds another application key under this application name', async () => {
    const path = identityPath(dir, 'mail')
    await saveIdentity(await createIdentity({ app: 'chat' }), path)
    const before = await readFile(path)
    expect((await rejection(loadOrCreateIdentity(dir, 'mail'))).name).toBe('IdentityAppMismatchError')
    expect((await readFile(path)).equals(before)).toBe(true)
  })

  it('refuses an application name that would escape the keystore', async () => {
    expect((await rejection(loadOrCreateIdentity(dir, '../evil'))).name).toBe('RangeError')
    expect(await readdir(dir)).toEqual([])
  })
})

describe('assertAppName', () => {
  it('accepts names of 1-63 characters from [a-z0-9._-] starting with a letter or digit', () => {
    for (const ok of ['a', '0', 'chat', 'my-app.v2_beta', 'a'.repeat(63)]) {
      expect(() => { assertAppName(ok) }).not.toThrow()
    }
  })

  it.each([7, null, undefined, {}, Symbol('x')])('throws a TypeError naming the parameter for %s', (value) => {
    expect(() => { assertAppName(value) }).toThrow(TypeError)
    expect(() => { assertAppName(value) }).toThrow(/^app must be a string, got /)
  })

  it.each(['', 'Chat', '-chat', '.chat', '_chat', 'a b', 'a/b', 'café', 'a'.repeat(64), 'chat\n'])(
    'throws a RangeError naming the parameter and the value for %j', (value) => {
      expect(() => { assertAppName(value) }).toThrow(RangeError)
      expect(() => { assertAppName(value) }).toThrow(/^app must match /)
      expect(() => { assertAppName(value) }).toThrow(JSON.stringify(value))
    })

  it('is applied by identityPath', () => {
    expect(identityPath('/keys', 'chat')).toBe(join('/keys', 'chat.key'))
    expect(() => identityPath('/keys', '..')).toThrow(RangeError)
  })
})

describe('signDomain / verifyDomain', () => {
  const data = enc.encode('record body')

  it('verifies a signature under the domain it was made for', async () => {
    const { privateKey, publicKey } = await createIdentity({ app: 'chat' })
    const sig = await signDomain(privateKey, 'fara/test/a/v1', data)
    expect(await verifyDomain(publicKey, 'fara/test/a/v1', data, sig)).toBe(true)
  })

  it('rejects a signature made under another domain', async () => {
    const { privateKey, publicKey } = await createIdentity({ app: 'chat' })
    const sig = await signDomain(privateKey, 'fara/test/a/v1', data)
    expect(await verifyDomain(publicKey, 'fara/test/b/v1', data, sig)).toBe(false)
    expect(await verifyDomain(publicKey, 'fara/test/a/v2', data, sig)).toBe(false)
  })

  it('does not let bytes move between the domain and the data', async () => {
    const { privateKey, publicKey } = await createIdentity({ app: 'chat' })
    const sig = await signDomain(privateKey, 'fara/ab', enc.encode('c'))
    expect(await verifyDomain(publicKey, 'fara/a', enc.encode('bc'), sig)).toBe(false)
  })

  it('is not a plain signature over the data', async () => {
    const { privateKey, publicKey } = await createIdentity({ app: 'chat' })
    const sig = await signDomain(privateKey, 'fara/test/a/v1', data)
    expect(await publicKey.verify(data, sig)).toBe(false)
    expect(await publicKey.verify(domainMessage('fara/test/a/v1', data), sig)).toBe(true)
  })

  it('rejects tampered data and a tampered signature', async () => {
    const { privateKey, publicKey } = await createIdentity({ app: 'chat' })
    const sig = await signDomain(privateKey, 'fara/test/a/v1', data)
    const badData = new Uint8Array(data)
    badData[0]! ^= 1
    expect(await verifyDomain(publicKey, 'fara/test/a/v1', badData, sig)).toBe(false)
    expect(await verifyDomain(publicKey, 'fara/test/a/v1', data.subarray(1), sig)).toBe(false)
    const badSig = new Uint8Array(sig)
    badSig[10]! ^= 0x80
    expect(await verifyDomain(publicKey, 'fara/test/a/v1', data, badSig)).toBe(false)
  })

  it('rejects a signature by another key', async () => {
    const [a, b] = await Promise.all([createIdentity({ app: 'a' }), createIdentity({ app: 'b' })])
    const sig = await signDomain(a.privateKey, 'fara/test/a/v1', data)
    expect(await verifyDomain(b.publicKey, 'fara/test/a/v1', data, sig)).toBe(false)
  })

  it('returns false and never throws for a garbage signature or a bad domain', async () => {
    const { privateKey, publicKey } = await createIdentity({ app: 'chat' })
    const sig = await signDomain(privateKey, 'fara/test/a/v1', data)
    for (const garbage of [new Uint8Array(0), new Uint8Array(3), new Uint8Array(64), new Uint8Array(65).fill(0xff), new Uint8Array(1024)]) {
      await expect(verifyDomain(publicKey, 'fara/test/a/v1', data, garbage)).resolves.toBe(false)
    }
    await expect(verifyDomain(publicKey, '', data, sig)).resolves.toBe(false)
    await expect(verifyDomain(publicKey, 'fara\0x', data, sig)).resolves.toBe(false)
    await expect(verifyDomain(publicKey, 'fara/test/a/v1', data, 'sig' as unknown as Uint8Array)).resolves.toBe(false)
  })

  it('agrees with the key\'s own verify for more keys than it keeps imported, and for other key types', async () => {
    const first = await generateKeyPair('Ed25519')
    const firstSig = await signDomain(first, 'fara/test/a/v1', data)
    for (let i = 0; i < 1100; i++) {
      const key = await generateKeyPair('Ed25519')
      const sig = await signDomain(key, 'fara/test/a/v1', data)
      const forged = new Uint8Array(sig)
      forged[i % 64]! ^= 1 << (i % 8)
      expect(await verifyDomain(key.publicKey, 'fara/test/a/v1', data, sig)).toBe(true)
      expect(await verifyDomain(key.publicKey, 'fara/test/a/v1', data, forged)).toBe(await key.publicKey.verify(domainMessage('fara/test/a/v1', data), forged))
    }
    // the first key was dropped from the imported ones long ago: imported again, same answer
    expect(await verifyDomain(first.publicKey, 'fara/test/a/v1', data, firstSig)).toBe(true)
    expect(await verifyDomain(first.publicKey, 'fara/test/b/v1', data, firstSig)).toBe(false)
    const secp = await generateKeyPair('secp256k1')
    const secpSig = await signDomain(secp, 'fara/test/a/v1', data)
    expect(await verifyDomain(secp.publicKey, 'fara/test/a/v1', data, secpSig)).toBe(true)
    expect(await verifyDomain(secp.publicKey, 'fara/test/b/v1', data, secpSig)).toBe(false)
  })

  it('builds the signed message as utf8(domain) || 0x00 || data', () => {
    expect(Array.from(domainMessage('ab', new Uint8Array([1, 2])))).toEqual([0x61, 0x62, 0x00, 1, 2])
    expect(Array.from(domainMessage('é', new Uint8Array(0)))).toEqual([0xc3, 0xa9, 0x00])
  })

  it.each(['', 'a\0b', 5])('refuses to sign under domain %j', async (domain) => {
    const { privateKey } = await createIdentity({ app: 'chat' })
    const err = await rejection(signDomain(privateKey, domain as string, data))
    expect(err.name).toBe('TypeError')
    expect(err.message).toMatch(/^domain /)
  })
})
