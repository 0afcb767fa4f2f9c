// Property tests of the files an identity is read from (spec/identity.md):
// the keystore file parser and decrypter, openKeystore on damaged or hostile
// files (typed error, file untouched), and the identity file loader. Plus the
// file types that must not hang a reader (a FIFO, a directory).
import { createCipheriv, createHash } from 'node:crypto'
import { execFileSync } from 'node:child_process'
import { chmod, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair, generateKeyPairFromSeed, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { rejectionIfAny, thrownIfAny } from '@fara/testkit'
import { IDENTITY_FILE_TYPE } from '../src/constants.ts'
import { createIdentity, loadIdentity, openKeystore, saveIdentity } from '../src/index.ts'
import { APP_NAME_PATTERN, KEYSTORE_FILE, NS_KEYSTORE_CHECKSUM } from '../src/constants.ts'
import { parseKeystore, unsealKeystore } from '../src/internal/keystore-file.ts'
import { PASSPHRASE, snapshot, unhex, vectors } from './helpers.ts'
import {
  appName, badAppName, budget, equalBytes, mutate, mutations, protobufSoup, propsFile, runs, settles
} from './arbitraries.ts'
import type { PrivateKey } from '@libp2p/interface'

propsFile('identity/keystore-props')

const KS = vectors.keystore
const FILE = unhex(KS.file)
const FILE_KEY = unhex(KS.fileKey)
const HEADER_BYTES = 42
const TAG_BYTES = 16
const CHECKSUM_BYTES = 32

/** The corruption checksum of spec/identity.md#keystore-file, over header || ciphertext || tag. */
function checksum (body: Uint8Array): Uint8Array {
  return createHash('sha256').update(NS_KEYSTORE_CHECKSUM).update(new Uint8Array([0])).update(body).digest()
}

/** A keystore file with the vector's header (salt, nonce, scrypt cost) around any plaintext, encrypted under the vector's file key. */
function sealRaw (plaintext: Uint8Array, header = FILE.subarray(0, HEADER_BYTES)): Uint8Array {
  const cipher = createCipheriv('chacha20-poly1305', FILE_KEY, header.subarray(HEADER_BYTES - 12), { authTagLength: TAG_BYTES })
  cipher.setAAD(header, { plaintextLength: plaintext.byteLength })
  const body = Buffer.concat([header, cipher.update(plaintext), cipher.final(), cipher.getAuthTag()])
  return Buffer.concat([body, checksum(body)])
}

/** The file with its body changed and the checksum made to match again: damage the checksum cannot see. */
function reChecksummed (file: Uint8Array, changes: Parameters<typeof mutate>[1]): Uint8Array {
  const body = mutate(file.subarray(0, file.byteLength - CHECKSUM_BYTES), changes)
  return Buffer.concat([body, checksum(body)])
}

let root: string

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'fara-keystore-props-'))
})

afterAll(async () => {
  await rm(root, { recursive: true, force: true })
})

describe('the keystore file format (properties)', () => {
  it('sealRaw reproduces the vector file, so the properties below speak about real files', () => {
    expect(equalBytes(sealRaw(unhex(KS.contents)), FILE)).toBe(true)
  })

  it('parseKeystore refuses arbitrary bytes and every damaged or truncated file with InvalidIdentityFileError only', () => {
    const input = fc.oneof(
      fc.uint8Array({ maxLength: 200 }),
      fc.uint8Array({ maxLength: 150 }).map(b => Uint8Array.from([...new TextEncoder().encode('FARAKEYS'), ...b])),
      mutations(6).map(m => mutate(FILE, m))
    )
    fc.assert(fc.property(input, bytes => {
      fc.pre(!equalBytes(bytes, FILE))
      expect(thrownIfAny(() => parseKeystore(bytes, '/k'))?.name).toBe('InvalidIdentityFileError')
    }), { numRuns: runs(3_000) })
  })

  it('a body changed behind a matching checksum is refused on parse, or on decryption (WrongPassphraseError): the header is authenticated', () => {
    fc.assert(fc.property(mutations(4), changes => {
      const file = reChecksummed(FILE, changes)
      fc.pre(!equalBytes(file, FILE))
      let parsed: ReturnType<typeof parseKeystore> | undefined
      const err = thrownIfAny(() => { parsed = parseKeystore(file, '/k') })
      if (err != null) {
        expect(err.name).toBe('InvalidIdentityFileError')
        return
      }
      // the scrypt cost it asks for stays within the bounds (the parse checked them)
      expect(128 * parsed!.params.N * parsed!.params.r).toBeLessThanOrEqual(512 * 1024 * 1024)
      expect(thrownIfAny(() => unsealKeystore(parsed!, FILE_KEY, '/k'))?.name).toBe('WrongPassphraseError')
    }), { numRuns: runs(3_000) })
  })

  it('decrypted contents of any shape give a valid device seed and app generations, or InvalidIdentityFileError', () => {
    const contents = fc.oneof(fc.uint8Array({ maxLength: 120 }), protobufSoup(3, 8, 40), mutations().map(m => mutate(unhex(KS.contents), m)))
    fc.assert(fc.property(contents, plaintext => {
      let out: ReturnType<typeof unsealKeystore> | undefined
      const err = thrownIfAny(() => { out = unsealKeystore(parseKeystore(sealRaw(plaintext), '/k'), FILE_KEY, '/k') })
      if (err != null) {
        expect(err.name).toBe('InvalidIdentityFileError')
        return
      }
      expect(out!.deviceSeed.byteLength).toBe(32)
      for (const [app, generation] of out!.apps) {
        expect(app).toMatch(APP_NAME_PATTERN)
        expect(Number.isInteger(generation) && generation >= 0 && generation <= 0xffffffff).toBe(true)
      }
    }), { numRuns: runs(3_000) })
  })
})

describe('openKeystore on damaged and hostile files (properties)', () => {
  it('refuses with InvalidIdentityFileError or WrongPassphraseError and leaves the file exactly as it was', async () => {
    const file = fc.oneof(
      { weight: 2, arbitrary: mutations(4).map(m => ({ bytes: mutate(FILE, m), passphrase: PASSPHRASE })) },
      { weight: 2, arbitrary: mutations(3).map(m => ({ bytes: reChecksummed(FILE, m), passphrase: PASSPHRASE })) },
      { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }).map(bytes => ({ bytes, passphrase: PASSPHRASE })) },
      { weight: 1, arbitrary: fc.string({ minLength: 1, maxLength: 30 }).filter(p => p.normalize('NFC') !== PASSPHRASE).map(passphrase => ({ bytes: FILE, passphrase })) }
    )
    let n = 0
    await fc.assert(fc.asyncProperty(file, async ({ bytes, passphrase }) => {
      fc.pre(!equalBytes(bytes, FILE) || passphrase !== PASSPHRASE)
      // a checksum-matching file may ask for any scrypt cost within the bounds: keep the runs quick
      const parsed = (() => { try { return parseKeystore(bytes, '/k') } catch { return undefined } })()
      fc.pre(parsed == null || parsed.params.N * parsed.params.r * parsed.params.p <= 2 ** 16)
      const dir = join(root, `open-${n++}`)
      await mkdir(dir, { mode: 0o700 })
      const path = join(dir, KEYSTORE_FILE)
      await writeFile(path, bytes, { mode: 0o600 })
      const untouched = await snapshot(path)
      const err = await settles(rejectionIfAny(openKeystore(dir, { passphrase })), 10_000, 'openKeystore')
      expect(['InvalidIdentityFileError', 'WrongPassphraseError']).toContain(err?.name)
      await untouched()
      expect(await readdir(dir)).toEqual([KEYSTORE_FILE])
    }), { numRuns: runs(60) })
  }, budget(30_000))
})

// ---- identity files ---------------------------------------------------------

interface Keys { ed: PrivateKey, other: PrivateKey, secp: PrivateKey, ecdsa: PrivateKey, rsa: PrivateKey }
const keys = {} as Keys

const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64')

/** An Ed25519 private key protobuf whose public half is another key's. */
function mismatched (a: PrivateKey, b: PrivateKey): Uint8Array {
  const out = privateKeyToProtobuf(a)
  out.set(b.publicKey.raw, out.byteLength - 32)
  return out
}

type KeyField = 'ed' | 'mismatched' | 'secp' | 'ecdsa' | 'rsa' | 'truncated' | { junk: Uint8Array } | { text: string } | { value: unknown }
const keyField: fc.Arbitrary<KeyField> = fc.oneof(
  { weight: 6, arbitrary: fc.constant('ed' as const) },
  { weight: 1, arbitrary: fc.constantFrom('mismatched' as const, 'secp' as const, 'ecdsa' as const, 'rsa' as const, 'truncated' as const) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 80 }).map(junk => ({ junk })) },
  { weight: 1, arbitrary: fc.string({ maxLength: 40 }).map(text => ({ text })) },
  { weight: 1, arbitrary: fc.oneof(fc.integer(), fc.constant(null), fc.array(fc.integer(), { maxLength: 3 })).map(value => ({ value })) }
)

function keyText (k: KeyField): unknown {
  if (typeof k === 'object') return 'junk' in k ? b64(k.junk) : 'text' in k ? k.text : k.value
  switch (k) {
    case 'ed': return b64(privateKeyToProtobuf(keys.ed))
    case 'mismatched': return b64(mismatched(keys.ed, keys.other))
    case 'truncated': return b64(privateKeyToProtobuf(keys.ed).subarray(0, 40))
    default: return b64(privateKeyToProtobuf(keys[k]))
  }
}

/** Identity file bodies with every field right, missing or of the wrong type. */
const identityBody = fc.record({
  type: fc.oneof({ weight: 6, arbitrary: fc.constant(IDENTITY_FILE_TYPE) }, { weight: 1, arbitrary: fc.oneof(fc.string({ maxLength: 20 }), fc.integer(), fc.constant(null)) }),
  version: fc.oneof({ weight: 6, arbitrary: fc.constant<unknown>(1) }, { weight: 1, arbitrary: fc.constantFrom<unknown>(0, 2, '1', 1.5, null, true) }),
  app: fc.oneof({ weight: 6, arbitrary: appName as fc.Arbitrary<unknown> }, { weight: 1, arbitrary: badAppName as fc.Arbitrary<unknown> }, { weight: 1, arbitrary: fc.constantFrom<unknown>(7, null, ['chat']) }),
  privateKey: keyField
}, { requiredKeys: [] })

describe('loadIdentity on damaged and hostile files (properties)', () => {
  beforeAll(async () => {
    keys.ed = await generateKeyPair('Ed25519')
    keys.other = await generateKeyPair('Ed25519')
    keys.secp = await generateKeyPair('secp256k1')
    keys.ecdsa = await generateKeyPair('ECDSA')
    keys.rsa = await generateKeyPair('RSA', 1024)
  })

  it('loads exactly the well-formed Ed25519 identities and refuses the rest with a typed error, leaving the file untouched', async () => {
    let n = 0
    await fc.assert(fc.asyncProperty(identityBody, fc.option(appName, { nil: undefined }), async (body, expectApp) => {
      const json: Record<string, unknown> = { ...body, ...(body.privateKey === undefined ? {} : { privateKey: keyText(body.privateKey) }) }
      const path = join(root, `identity-${n++}.key`)
      await writeFile(path, JSON.stringify(json), { mode: 0o600 })
      const untouched = await snapshot(path)
      const wellFormed = body.type === IDENTITY_FILE_TYPE && body.version === 1 && typeof body.app === 'string' && APP_NAME_PATTERN.test(body.app) && typeof json.privateKey === 'string'
      let identity: Awaited<ReturnType<typeof loadIdentity>> | undefined
      const err = await rejectionIfAny(loadIdentity(path, expectApp == null ? {} : { app: expectApp }).then(i => { identity = i }))
      if (!wellFormed) expect(err?.name).toBe('InvalidIdentityFileError')
      else if (expectApp != null && expectApp !== body.app) expect(err?.name).toBe('IdentityAppMismatchError')
      else if (body.privateKey === 'ed') {
        expect(err).toBeUndefined()
        expect(identity!.app).toBe(body.app)
        expect(identity!.publicKey.equals(keys.ed.publicKey)).toBe(true)
      } else if (typeof body.privateKey === 'object' && 'junk' in body.privateKey && err == null) {
        // random bytes that happen to be an Ed25519 key: then it must be a consistent one
        const derived = await generateKeyPairFromSeed('Ed25519', identity!.privateKey.raw.subarray(0, 32))
        expect(derived.publicKey.equals(identity!.publicKey)).toBe(true)
      } else {
        expect(err?.name).toBe('InvalidIdentityFileError')
      }
      await untouched()
    }), { numRuns: runs(500) })
  }, budget(30_000))

  it('refuses a saved identity with any bytes changed, unless the change leaves an equivalent file, with typed errors only', async () => {
    const identity = await createIdentity({ app: 'chat' })
    const original = join(root, 'original.key')
    await saveIdentity(identity, original)
    const text = new TextEncoder().encode(JSON.stringify({ type: IDENTITY_FILE_TYPE, version: 1, app: 'chat', privateKey: b64(privateKeyToProtobuf(identity.privateKey)) }))
    let n = 0
    await fc.assert(fc.asyncProperty(fc.oneof(mutations(4).map(m => mutate(text, m)), fc.uint8Array({ maxLength: 300 })), async bytes => {
      const path = join(root, `mutated-${n++}.key`)
      await writeFile(path, bytes, { mode: 0o600 })
      const untouched = await snapshot(path)
      let loaded: Awaited<ReturnType<typeof loadIdentity>> | undefined
      const err = await rejectionIfAny(loadIdentity(path, { app: 'chat' }).then(i => { loaded = i }))
      if (err != null) expect(['InvalidIdentityFileError', 'IdentityAppMismatchError']).toContain(err.name)
      else {
        // accepted: then it is a consistent Ed25519 identity for 'chat' (base64 and JSON tolerate some changes)
        const derived = await generateKeyPairFromSeed('Ed25519', loaded!.privateKey.raw.subarray(0, 32))
        expect(loaded!.app === 'chat' && derived.publicKey.equals(loaded!.publicKey)).toBe(true)
      }
      await untouched()
    }), { numRuns: runs(500) })
  }, budget(30_000))
})

describe('files that are no regular file, or too large', () => {
  const canMkfifo = process.platform !== 'win32'

  it.skipIf(!canMkfifo)('refuses a FIFO at an identity path or a keystore path with InvalidIdentityFileError instead of blocking forever', async () => {
    const dir = join(root, 'fifo')
    await mkdir(dir, { mode: 0o700 })
    execFileSync('mkfifo', ['-m', '600', join(dir, 'app.key'), join(dir, KEYSTORE_FILE)])
    expect((await settles(rejectionIfAny(loadIdentity(join(dir, 'app.key'))), 5_000, 'loadIdentity of a FIFO'))?.name).toBe('InvalidIdentityFileError')
    expect((await settles(rejectionIfAny(openKeystore(dir, { passphrase: PASSPHRASE })), 5_000, 'openKeystore of a FIFO'))?.name).toBe('InvalidIdentityFileError')
  })

  it('refuses a directory, and a file over 64 KiB, at an identity path with InvalidIdentityFileError', async () => {
    const dir = join(root, 'shapes')
    await mkdir(join(dir, 'dir.key'), { recursive: true, mode: 0o700 })
    expect((await rejectionIfAny(loadIdentity(join(dir, 'dir.key'))))?.name).toBe('InvalidIdentityFileError')
    const big = join(dir, 'big.key')
    await writeFile(big, ' '.repeat(64 * 1024 + 1) + '{}', { mode: 0o600 })
    await chmod(big, 0o600)
    expect((await rejectionIfAny(loadIdentity(big)))?.name).toBe('InvalidIdentityFileError')
  })
})
