import { generateKeyPair } from '@libp2p/crypto/keys'
import { afterEach, describe, expect, it } from 'vitest'
import { createNode, openStream } from '../src/index.ts'
import { YAMUX_STREAM } from '../src/constants.ts'
import type { Libp2p, Stream } from '@libp2p/interface'

const PROTOCOL = '/fara-test/backpressure/1'
const CHUNK = new Uint8Array(64 * 1024).fill(7)

describe('stream backpressure (spec/transport.md#limits)', () => {
  const nodes: Libp2p[] = []
  afterEach(async () => { await Promise.all(nodes.splice(0).map(async n => n.stop())) })

  it('holds the sender back while the reader is paused, beyond libp2p\'s 4 MiB read buffer, and loses nothing', async () => {
    const receiver = await createNode({ privateKey: await generateKeyPair('Ed25519'), listen: ['/ip4/127.0.0.1/tcp/0'] })
    const sender = await createNode({ privateKey: await generateKeyPair('Ed25519'), listen: [] })
    nodes.push(receiver, sender)
    const inbound = new Promise<Stream>((resolve) => { void receiver.handle(PROTOCOL, (stream) => { resolve(stream) }) })
    const total = 40 * 1024 * 1024
    const stream = await openStream(sender, receiver.peerId, receiver.getMultiaddrs(), PROTOCOL)
    let sent = 0
    const sending = (async () => {
      while (sent < total) {
        sent += CHUNK.byteLength
        if (!stream.send(CHUNK)) await stream.onDrain()
      }
      await stream.close()
    })()
    const remote = await inbound
    // read 2 MiB (Yamux grows the window while the reader keeps up), then stop reading
    const it = remote[Symbol.asyncIterator]()
    let received = 0
    while (received < 2 * 1024 * 1024) {
      const next = await it.next()
      if (next.done === true) throw new Error('ended early')
      received += next.value.byteLength
    }
    remote.pause()
    // the paused stream buffers what the grown window lets in: more than libp2p's default 4 MiB limit
    const buffered = remote as unknown as { readBuffer: { byteLength: number }, status: string }
    const over = 4 * 1024 * 1024 + 64 * 1024
    await expect.poll(() => buffered.status !== 'open' || buffered.readBuffer.byteLength > over, { timeout: 20_000, interval: 50 }).toBe(true)
    expect(buffered.status).toBe('open') // with libp2p's defaults: reset with StreamBufferError
    expect(buffered.readBuffer.byteLength).toBeGreaterThan(over)
    expect(buffered.readBuffer.byteLength).toBeLessThanOrEqual(YAMUX_STREAM.maxReadBufferLength)
    remote.resume()
    for (let next = await it.next(); next.done !== true; next = await it.next()) received += next.value.byteLength
    await sending
    expect(received).toBe(total)
  })
})
