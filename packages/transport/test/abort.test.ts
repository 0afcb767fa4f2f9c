// createNode honours an AbortSignal (issue 17): an aborted creation rejects
// with the signal's reason and leaves no node running, even while the node
// waits for its first relay reservations.
import { once } from 'node:events'
import { createServer } from 'node:net'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { afterEach, describe, expect, it } from 'vitest'
import { connectError, freePort } from '@fara/testkit'
import { createNode } from '../src/index.ts'
import type { Server, Socket } from 'node:net'

const servers: Server[] = []
const sockets: Socket[] = []

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy()
  await Promise.all(servers.splice(0).map(async s => new Promise<void>(resolve => { s.close(() => { resolve() }) })))
})

/** A relay address that accepts TCP connections and never answers: a reservation on it waits for its timeout. */
async function silentRelay (onConnection: (socket: Socket) => void): Promise<string> {
  const server = createServer(socket => { sockets.push(socket); onConnection(socket) })
  servers.push(server)
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const id = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
  return `/ip4/127.0.0.1/tcp/${(server.address() as { port: number }).port}/p2p/${id.toString()}`
}

describe('createNode and AbortSignal', () => {
  it('rejects with the reason of an aborted signal and listens nowhere', async () => {
    const port = await freePort()
    const reason = new Error('not now')
    await expect(createNode({
      privateKey: await generateKeyPair('Ed25519'), listen: [`/ip4/127.0.0.1/tcp/${port}`], allowPinnedPort: true, signal: AbortSignal.abort(reason)
    })).rejects.toBe(reason)
    expect(await connectError(port)).toBe('ECONNREFUSED')
  })

  it('aborted while it waits for a relay reservation, rejects with the reason at once and closes its sockets', async () => {
    const port = await freePort()
    const controller = new AbortController()
    const reason = new Error('changed my mind')
    let relaySide: Socket | undefined
    // the node dials its relay once it listens: abort right when that connection arrives
    const relay = await silentRelay((socket) => { relaySide = socket; controller.abort(reason) })
    await expect(createNode({
      privateKey: await generateKeyPair('Ed25519'), listen: [`/ip4/127.0.0.1/tcp/${port}`], allowPinnedPort: true, relays: [relay], signal: controller.signal
    })).rejects.toBe(reason)
    // the node was stopped: its connection to the relay closes, and its listening port is free again
    if (relaySide == null) throw new Error('the node never dialled its relay')
    if (!relaySide.closed) await once(relaySide, 'close')
    expect(await connectError(port)).toBe('ECONNREFUSED')
  })
})
