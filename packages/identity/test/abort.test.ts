// Every async function of @fara/identity that touches the disk honours an
// AbortSignal (issue 17): an aborted signal rejects with its reason, and an
// abort while the files are being read or written leaves no key file behind.
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createIdentity, createKeystore, identityPath, loadIdentity, loadOrCreateIdentity, openKeystore, saveIdentity } from '../src/index.ts'
import { KEYSTORE_FILE } from '../src/constants.ts'
import { FAST_KDF, PASSPHRASE, keystoreFile, snapshot } from './helpers.ts'

let root: string

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'fara-identity-abort-'))
})

afterEach(async () => {
  await rm(root, { recursive: true, force: true })
})

/** Call `start` with a signal, abort it right after (the first file operation is then in flight), and return the promise. */
function abortedAfterStart<T> (start: (signal: AbortSignal) => Promise<T>, reason: Error): Promise<T> {
  const controller = new AbortController()
  const pending = start(controller.signal)
  controller.abort(reason)
  return pending
}

describe('saveIdentity', () => {
  it('rejects with the reason of an aborted signal and creates nothing, not even the directory', async () => {
    const reason = new Error('not now')
    const dir = join(root, 'keys')
    await expect(saveIdentity(await createIdentity({ app: 'chat' }), join(dir, 'chat.key'), { signal: AbortSignal.abort(reason) })).rejects.toBe(reason)
    await expect(readdir(root)).resolves.toEqual([])
  })

  it('aborted while writing, rejects with the reason and leaves neither the key file nor a temporary file', async () => {
    const reason = new Error('changed my mind')
    const path = join(root, 'chat.key')
    const identity = await createIdentity({ app: 'chat' })
    await expect(abortedAfterStart(async signal => saveIdentity(identity, path, { signal }), reason)).rejects.toBe(reason)
    expect(await readdir(root)).toEqual([])
  })
})

describe('loadIdentity', () => {
  it('rejects with the reason of an aborted signal', async () => {
    const path = join(root, 'chat.key')
    await saveIdentity(await createIdentity({ app: 'chat' }), path)
    const reason = new Error('not now')
    await expect(loadIdentity(path, { signal: AbortSignal.abort(reason) })).rejects.toBe(reason)
  })

  it('aborted while reading, rejects with the reason (not the file system\'s AbortError)', async () => {
    const path = join(root, 'chat.key')
    await saveIdentity(await createIdentity({ app: 'chat' }), path)
    const reason = new Error('changed my mind')
    await expect(abortedAfterStart(async signal => loadIdentity(path, { app: 'chat', signal }), reason)).rejects.toBe(reason)
    // the same file loads without a signal
    expect((await loadIdentity(path, { app: 'chat' })).app).toBe('chat')
  })
})

describe('loadOrCreateIdentity', () => {
  it('rejects with the reason of an aborted signal and creates no key', async () => {
    const reason = new Error('not now')
    await expect(loadOrCreateIdentity(root, 'chat', { signal: AbortSignal.abort(reason) })).rejects.toBe(reason)
    expect(await readdir(root)).toEqual([])
  })

  it('aborted while it looks for the key, rejects with the reason and saves no new key', async () => {
    const reason = new Error('changed my mind')
    await expect(abortedAfterStart(async signal => loadOrCreateIdentity(root, 'chat', { signal }), reason)).rejects.toBe(reason)
    expect(await readdir(root)).toEqual([])
    // without a signal, the first use creates it as always
    const created = await loadOrCreateIdentity(root, 'chat')
    expect(await readdir(root)).toEqual(['chat.key'])
    expect((await loadIdentity(identityPath(root, 'chat'))).peerId.equals(created.peerId)).toBe(true)
  })

  it('aborted while loading an existing key, rejects with the reason and leaves the key as it was', async () => {
    const created = await loadOrCreateIdentity(root, 'chat')
    const unchanged = await snapshot(identityPath(root, 'chat'))
    const reason = new Error('changed my mind')
    await expect(abortedAfterStart(async signal => loadOrCreateIdentity(root, 'chat', { signal }), reason)).rejects.toBe(reason)
    await unchanged()
    expect((await loadOrCreateIdentity(root, 'chat')).peerId.equals(created.peerId)).toBe(true)
  })
})

describe('keystore', () => {
  it('openKeystore rejects with the reason of an aborted signal', async () => {
    const dir = join(root, 'keystore')
    await createKeystore(dir, { passphrase: PASSPHRASE, kdf: FAST_KDF })
    const reason = new Error('not now')
    await expect(openKeystore(dir, { passphrase: PASSPHRASE, signal: AbortSignal.abort(reason) })).rejects.toBe(reason)
  })

  it('openKeystore aborted while it reads and derives, rejects with the reason', async () => {
    const dir = join(root, 'keystore')
    await createKeystore(dir, { passphrase: PASSPHRASE, kdf: FAST_KDF })
    const reason = new Error('changed my mind')
    await expect(abortedAfterStart(async signal => openKeystore(dir, { passphrase: PASSPHRASE, signal }), reason)).rejects.toBe(reason)
  })

  it('createKeystore aborted while it works, rejects with the reason and writes no keystore file', async () => {
    const dir = join(root, 'keystore')
    const reason = new Error('changed my mind')
    await expect(abortedAfterStart(async signal => createKeystore(dir, { passphrase: PASSPHRASE, kdf: FAST_KDF, signal }), reason)).rejects.toBe(reason)
    expect(await readdir(root).then(async names => names.includes('keystore') ? readdir(dir) : [])).toEqual([])
    // nothing is in the way of creating it now
    await createKeystore(dir, { passphrase: PASSPHRASE, kdf: FAST_KDF })
    expect(await readdir(dir)).toEqual([KEYSTORE_FILE])
  })

  it('rotate aborted before the new generation is written rejects with the reason and changes nothing', async () => {
    const dir = join(root, 'keystore')
    const keystore = await createKeystore(dir, { passphrase: PASSPHRASE, kdf: FAST_KDF })
    const unchanged = await snapshot(keystoreFile(dir))
    const reason = new Error('changed my mind')
    await expect(abortedAfterStart(async signal => keystore.rotate('chat', { signal }), reason)).rejects.toBe(reason)
    await unchanged()
    expect(keystore.generation('chat')).toBe(0)
    expect(await readdir(dir)).toEqual([KEYSTORE_FILE])
    // and a rotation without a signal still works after it
    expect((await keystore.rotate('chat')).generation).toBe(1)
  })

  it('rotate rejects with the reason of an aborted signal without waiting for the rotations before it', async () => {
    const dir = join(root, 'keystore')
    const keystore = await createKeystore(dir, { passphrase: PASSPHRASE, kdf: FAST_KDF })
    const reason = new Error('not now')
    const order: string[] = []
    const first = keystore.rotate('chat').then((app) => { order.push('first'); return app })
    const second = keystore.rotate('chat', { signal: AbortSignal.abort(reason) }).catch((err: unknown) => { order.push('second'); return err })
    expect(await second).toBe(reason)
    expect((await first).generation).toBe(1)
    // the abort did not queue behind the first rotation's write
    expect(order).toEqual(['second', 'first'])
  })
})
