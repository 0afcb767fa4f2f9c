// createEntity hands its AbortSignal on (issue 17): to the key directory or
// keystore it loads the key from, and to the node it starts, so an abort in
// either saves no key and leaves nothing running, without waiting for the step.
import { once } from 'node:events'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createEntity, memoryRendezvous } from '../src/index.ts'
import type { Server, Socket } from 'node:net'

let dir: string
const servers: Server[] = []
const sockets: Socket[] = []

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fara-sdk-abort-'))
})

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy()
  await Promise.all(servers.splice(0).map(async s => new Promise<void>(resolve => { s.close(() => { resolve() }) })))
  await rm(dir, { recursive: true, force: true })
})

describe('createEntity and AbortSignal, half way', () => {
  it('aborted while it looks for its key in a key directory, rejects with the reason and saves no key', async () => {
    const controller = new AbortController()
    const reason = new Error('changed my mind')
    const pending = createEntity({ app: 'keyed', keystore: dir, rendezvous: memoryRendezvous(), listen: ['/ip4/127.0.0.1/tcp/0'], signal: controller.signal })
    controller.abort(reason)
    await expect(pending).rejects.toBe(reason)
    expect(await readdir(dir)).toEqual([])
  })

  it('aborted while it opens a keystore, rejects with the reason and creates no keystore file', async () => {
    const controller = new AbortController()
    const reason = new Error('changed my mind')
    const keystore = { dir: join(dir, 'keystore'), passphrase: 'correct horse battery staple' }
    const pending = createEntity({ app: 'sealed', keystore, rendezvous: memoryRendezvous(), listen: ['/ip4/127.0.0.1/tcp/0'], signal: controller.signal })
    controller.abort(reason)
    await expect(pending).rejects.toBe(reason)
    const made = await readdir(dir)
    expect(made.includes('keystore') ? await readdir(keystore.dir) : []).toEqual([])
  })

  it('aborted while its node waits for a relay slot, rejects with the reason at once and closes the connection', async () => {
    const controller = new AbortController()
    const reason = new Error('changed my mind')
    let relaySide: Socket | undefined
    // a relay that accepts the connection and never answers: the reservation would wait for its timeout
    const server = createServer(socket => { sockets.push(socket); relaySide = socket; controller.abort(reason) })
    servers.push(server)
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    const relay = `/ip4/127.0.0.1/tcp/${(server.address() as { port: number }).port}/p2p/${peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()}`
    await expect(createEntity({ app: 'relayed', rendezvous: memoryRendezvous(), listen: [], relays: [relay], signal: controller.signal })).rejects.toBe(reason)
    if (relaySide == null) throw new Error('the entity never dialled its relay')
    if (!relaySide.closed) await once(relaySide, 'close')
  })
})
