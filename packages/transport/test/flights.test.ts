// A connection's first flights are gathered by turn of the event loop
// (internal/wire/flights.ts, bench/README.md § Connect latency); whatever was
// written before a close or a reset still reaches the peer, so a service that
// answers and then resets the connection at once (the guessing guard,
// spec/security.md#guessing) is heard.
import { generateKeyPair } from '@libp2p/crypto/keys'
import { describe, expect, it } from 'vitest'
import { createNode, openStream } from '../src/index.ts'
import { resources } from './resources.ts'
import type { Libp2p, Stream } from '@libp2p/interface'

const PROTOCOL = '/fara-test/last-words/1'

/** Everything `stream` delivers until it ends or fails, and how it ended. */
async function drain (stream: Stream): Promise<{ bytes: string, error: string | undefined }> {
  const parts: Uint8Array[] = []
  try {
    for await (const chunk of stream) parts.push(chunk.subarray())
    return { bytes: Buffer.concat(parts).toString(), error: undefined }
  } catch (err) {
    return { bytes: Buffer.concat(parts).toString(), error: (err as Error).name }
  }
}

describe('first flights', () => {
  const r = resources()

  async function listener (onStream: (stream: Stream, reset: () => void, close: () => void) => void): Promise<Libp2p> {
    const node = await createNode({ privateKey: await generateKeyPair('Ed25519'), listen: ['/ip4/127.0.0.1/tcp/0'] })
    r.nodes.push(node)
    await node.handle(PROTOCOL, async (stream, connection) => {
      // like a refusal: the answer goes once the opener's first message is in (with full selection,
      // libp2p cannot hand back data that came in one read with the selection's answer and a reset)
      for await (const _ of stream) break
      onStream(stream, () => { connection.abort(new Error('last words said')) }, () => { void connection.close() })
    })
    return node
  }

  async function client (): Promise<Libp2p> {
    const node = await createNode({ privateKey: await generateKeyPair('Ed25519'), listen: [] })
    r.nodes.push(node)
    return node
  }

  for (const optimistic of [false, true]) {
    it(`delivers what a listener wrote just before it reset the connection (${optimistic ? 'optimistic' : 'full'} selection)`, async () => {
      const server = await listener((stream, reset) => {
        stream.send(Buffer.from('refused: go away'))
        reset()
      })
      const stream = await openStream(await client(), server.peerId, server.getMultiaddrs(), PROTOCOL, { optimistic })
      stream.send(Buffer.from('hello'))
      const got = await drain(stream)
      expect(got.bytes).toBe('refused: go away')
    })
  }

  it('delivers what a listener wrote just before it closed the connection', async () => {
    const server = await listener((stream, _reset, close) => {
      stream.send(Buffer.from('goodbye'))
      close()
    })
    const stream = await openStream(await client(), server.peerId, server.getMultiaddrs(), PROTOCOL)
    stream.send(Buffer.from('hello'))
    expect((await drain(stream)).bytes).toBe('goodbye')
  })

  it('opens a stream on a new connection when the open one it took was closed by the remote', async () => {
    let calls = 0
    const server = await listener((stream, reset) => {
      calls++
      if (calls === 1) { stream.send(Buffer.from('first')); reset(); return }
      stream.send(Buffer.from('second'))
      void stream.close()
    })
    const node = await client()
    const first = await openStream(node, server.peerId, server.getMultiaddrs(), PROTOCOL)
    first.send(Buffer.from('hello'))
    expect((await drain(first)).bytes).toBe('first')
    // whether or not this node has noticed the reset yet, the next open works
    const second = await openStream(node, server.peerId, server.getMultiaddrs(), PROTOCOL)
    second.send(Buffer.from('hello'))
    expect((await drain(second)).bytes).toBe('second')
    expect(calls).toBe(2)
  })
})
