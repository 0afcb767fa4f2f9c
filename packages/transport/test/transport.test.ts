import { createServer } from 'node:net'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { multiaddr } from '@multiformats/multiaddr'
import { describe, expect, it } from 'vitest'
import { resources } from './resources.ts'
import { freePort, rejection } from '@fara/testkit'
import { checkListenAddrs, createNode, dialEntity, openStream } from '../src/index.ts'
import { WELL_KNOWN_PORT_LIMIT } from '../src/constants.ts'
import type { NodeInit } from '../src/index.ts'
import type { Libp2p } from '@libp2p/interface'

const LOCAL = ['/ip4/127.0.0.1/tcp/0']
const { nodes, servers, sockets } = resources()

async function node (init: Partial<NodeInit> = {}): Promise<Libp2p> {
  const n = await createNode({ privateKey: await generateKeyPair('Ed25519'), listen: LOCAL, ...init })
  nodes.push(n)
  return n
}

function tcpPort (n: Libp2p): number {
  const addrs = n.getMultiaddrs()
  expect(addrs.length).toBeGreaterThan(0)
  const port = addrs[0]!.getComponents().find(c => c.name === 'tcp')?.value
  return Number(port)
}

/** A TCP server on 127.0.0.1 that accepts connections and never says a word. */
async function silentServer (onConnection: () => void = () => {}): Promise<number> {
  const server = createServer(socket => { sockets.push(socket); onConnection() })
  servers.push(server)
  await new Promise<void>(resolve => { server.listen(0, '127.0.0.1', resolve) })
  return (server.address() as { port: number }).port
}

describe('checkListenAddrs', () => {
  it('accepts OS-assigned ports (port 0) on IPv4 and IPv6, and no addresses at all', () => {
    expect(() => { checkListenAddrs(['/ip4/0.0.0.0/tcp/0', '/ip4/127.0.0.1/tcp/0', '/ip6/::/tcp/0']) }).not.toThrow()
    expect(() => { checkListenAddrs([]) }).not.toThrow()
  })

  it.each(['/ip4/0.0.0.0/tcp/22', '/ip4/0.0.0.0/tcp/80', '/ip4/0.0.0.0/tcp/1', `/ip4/0.0.0.0/tcp/${WELL_KNOWN_PORT_LIMIT - 1}`])(
    'refuses the well-known port in %s with a RangeError, even with allowPinnedPort', (addr) => {
      expect(() => { checkListenAddrs([addr]) }).toThrow(RangeError)
      expect(() => { checkListenAddrs([addr], true) }).toThrow(RangeError)
      expect(() => { checkListenAddrs([addr], true) }).toThrow(addr)
    })

  it('refuses a pinned port such as 4001 with a RangeError unless allowPinnedPort', () => {
    expect(() => { checkListenAddrs(['/ip4/0.0.0.0/tcp/4001']) }).toThrow(RangeError)
    expect(() => { checkListenAddrs(['/ip4/0.0.0.0/tcp/4001']) }).toThrow('/ip4/0.0.0.0/tcp/4001')
    expect(() => { checkListenAddrs(['/ip4/0.0.0.0/tcp/4001'], true) }).not.toThrow()
    expect(() => { checkListenAddrs([`/ip4/0.0.0.0/tcp/${WELL_KNOWN_PORT_LIMIT}`], true) }).not.toThrow()
  })

  it('checks every address, not just the first', () => {
    expect(() => { checkListenAddrs(['/ip4/0.0.0.0/tcp/0', '/ip4/0.0.0.0/tcp/443']) }).toThrow(RangeError)
  })

  it.each(['/ip4/127.0.0.1/udp/0/quic-v1', '/ip4/127.0.0.1', '/dns4/example.com/udp/53', 'not a multiaddr', ''])(
    'refuses %j, which is not a TCP multiaddr, with a RangeError', (addr) => {
      expect(() => { checkListenAddrs([addr], true) }).toThrow(RangeError)
    })
})

describe('createNode', () => {
  it('listens on an OS-assigned port at or above 1024', async () => {
    const n = await node()
    expect(n.status).toBe('started')
    expect(tcpPort(n)).toBeGreaterThanOrEqual(WELL_KNOWN_PORT_LIMIT)
    expect(n.getMultiaddrs().every(a => a.toString().startsWith('/ip4/127.0.0.1/tcp/'))).toBe(true)
  })

  it('gives two nodes different ports', async () => {
    const [a, b] = await Promise.all([node(), node()])
    expect(tcpPort(a)).not.toBe(tcpPort(b))
  })

  it('listens on a new port after a restart with the same key', async () => {
    const privateKey = await generateKeyPair('Ed25519')
    const first = await node({ privateKey })
    const before = tcpPort(first)
    await first.stop()
    const second = await node({ privateKey })
    expect(second.peerId.equals(first.peerId)).toBe(true)
    expect(tcpPort(second)).not.toBe(before)
  })

  it('uses the given key as the node identity', async () => {
    const privateKey = await generateKeyPair('Ed25519')
    const n = await node({ privateKey })
    expect(n.peerId.publicKey?.equals(privateKey.publicKey)).toBe(true)
  })

  it('creates a dial-only node for listen: []', async () => {
    const n = await node({ listen: [] })
    expect(n.getMultiaddrs()).toEqual([])
  })

  it('refuses to start without a privateKey with a TypeError', async () => {
    expect((await rejection(createNode({} as NodeInit))).name).toBe('TypeError')
    expect((await rejection(createNode(undefined as unknown as NodeInit))).name).toBe('TypeError')
  })

  it('refuses a listen option that is not an array with a TypeError', async () => {
    const privateKey = await generateKeyPair('Ed25519')
    const err = await rejection(createNode({ privateKey, listen: '/ip4/127.0.0.1/tcp/0' as unknown as string[] }))
    expect(err.name).toBe('TypeError')
  })

  it('refuses a well-known or pinned listen port with a RangeError before starting anything', async () => {
    const privateKey = await generateKeyPair('Ed25519')
    expect((await rejection(createNode({ privateKey, listen: ['/ip4/127.0.0.1/tcp/22'], allowPinnedPort: true }))).name).toBe('RangeError')
    expect((await rejection(createNode({ privateKey, listen: ['/ip4/127.0.0.1/tcp/4001'] }))).name).toBe('RangeError')
  })

  it('listens on a pinned port at or above 1024 when allowed', async () => {
    const port = await freePort()
    const n = await node({ listen: [`/ip4/127.0.0.1/tcp/${port}`], allowPinnedPort: true })
    expect(tcpPort(n)).toBe(port)
  })
})

describe('dialEntity', () => {
  it('connects to the expected peer, authenticated by Noise', async () => {
    const [server, client] = await Promise.all([node(), node({ listen: [] })])
    const connection = await dialEntity(client, server.peerId, server.getMultiaddrs())
    expect(connection.remotePeer.equals(server.peerId)).toBe(true)
    expect(connection.encryption).toBe('/noise')
    expect(connection.multiplexer).toBe('/yamux/1.0.0')
  })

  it('accepts addresses as strings without a /p2p/ part', async () => {
    const [server, client] = await Promise.all([node(), node({ listen: [] })])
    const bare = `/ip4/127.0.0.1/tcp/${tcpPort(server)}`
    const connection = await dialEntity(client, server.peerId, [bare])
    expect(connection.remotePeer.equals(server.peerId)).toBe(true)
  })

  it('fails with DialFailedError on a closed port', async () => {
    const [server, client] = await Promise.all([node(), node({ listen: [] })])
    const port = await freePort()
    const err = await rejection(dialEntity(client, server.peerId, [`/ip4/127.0.0.1/tcp/${port}`]))
    expect(err.name).toBe('DialFailedError')
    expect(err.cause).toBeDefined()
  })

  it('fails with DialFailedError when given no addresses', async () => {
    const [server, client] = await Promise.all([node(), node({ listen: [] })])
    expect((await rejection(dialEntity(client, server.peerId, []))).name).toBe('DialFailedError')
  })

  it('fails with DialFailedError on an address that does not parse', async () => {
    const [server, client] = await Promise.all([node(), node({ listen: [] })])
    expect((await rejection(dialEntity(client, server.peerId, ['/ip4/not-an-ip/tcp/1']))).name).toBe('DialFailedError')
  })

  it('fails with DialFailedError and keeps no connection when the key at the right address is another peer\'s (the listener stays silent)', async () => {
    const quick = { unobservable: { silentClose: { min: 100, max: 200 } } }
    const [server, other, client] = await Promise.all([node(quick), node(), node({ listen: [] })])
    const bare = server.getMultiaddrs().map(a => a.decapsulateCode(421))
    const err = await rejection(dialEntity(client, other.peerId, bare))
    expect(err.name).toBe('DialFailedError')
    expect(client.getConnections(server.peerId)).toEqual([])
    expect(client.getConnections(other.peerId)).toEqual([])
    expect(client.getConnections()).toEqual([])
  })

  it('fails with PeerMismatchError when the address names another peer in its /p2p/ part', async () => {
    const [server, other, client] = await Promise.all([node(), node(), node({ listen: [] })])
    const err = await rejection(dialEntity(client, other.peerId, server.getMultiaddrs()))
    expect(err.name).toBe('PeerMismatchError')
    expect(client.getConnections(server.peerId)).toEqual([])
  })

  it('rejects with DialFailedError when the signal is already aborted', async () => {
    const [server, client] = await Promise.all([node(), node({ listen: [] })])
    const err = await rejection(dialEntity(client, server.peerId, server.getMultiaddrs(), { signal: AbortSignal.abort() }))
    expect(err.name).toBe('DialFailedError')
    expect(client.getConnections()).toEqual([])
  })

  it('rejects with DialFailedError when aborted during the handshake, without waiting for the dial timeout', async () => {
    // a dial timeout far beyond the test's own: only the abort can end this dial in time
    const [server, client] = await Promise.all([node(), node({ listen: [], connectionManager: { dialTimeout: 3_600_000 } })])
    const controller = new AbortController()
    const port = await silentServer(() => { controller.abort() })
    const err = await rejection(dialEntity(client, server.peerId, [`/ip4/127.0.0.1/tcp/${port}`], { signal: controller.signal }))
    expect(err.name).toBe('DialFailedError')
    expect(controller.signal.aborted).toBe(true)
  })

  it('fails with DialFailedError when the remote never completes the handshake within the dial timeout', async () => {
    const [server, client] = await Promise.all([node(), node({ listen: [], connectionManager: { dialTimeout: 300 } })])
    const port = await silentServer()
    const err = await rejection(dialEntity(client, server.peerId, [`/ip4/127.0.0.1/tcp/${port}`]))
    expect(err.name).toBe('DialFailedError')
  })
})

describe('openStream', () => {
  it('opens a stream on a protocol the remote handles and carries data both ways', async () => {
    const [server, client] = await Promise.all([node(), node({ listen: [] })])
    await server.handle('/fara/a/1', async (stream) => {
      for await (const chunk of stream) stream.send(chunk)
      await stream.close()
    })
    const stream = await openStream(client, server.peerId, server.getMultiaddrs(), '/fara/a/1')
    expect(stream.protocol).toBe('/fara/a/1')
    const reply = (async () => {
      const chunks: Uint8Array[] = []
      for await (const chunk of stream) chunks.push(chunk.subarray())
      return Buffer.concat(chunks).toString()
    })()
    stream.send(Buffer.from('hello'))
    await stream.close()
    expect(await reply).toBe('hello')
  })

  it('selects optimistically: the stream is negotiated at once, and the answer never reaches the reader', async () => {
    const [server, client] = await Promise.all([node(), node({ listen: [] })])
    await server.handle('/fara/a/1', async (stream) => {
      const first = await stream[Symbol.asyncIterator]().next()
      expect(Buffer.from((first.value as Uint8Array).subarray()).toString()).toBe('ping')
      stream.send(Buffer.from('pong'))
      await stream.close()
    })
    const stream = await openStream(client, server.peerId, server.getMultiaddrs(), '/fara/a/1', { optimistic: true })
    // nothing has come back yet: the selection is sent, not answered
    expect(stream.protocol).toBe('/fara/a/1')
    expect((stream as unknown as { readBuffer: { byteLength: number } }).readBuffer.byteLength).toBe(0)
    stream.send(Buffer.from('ping'))
    const chunks: Uint8Array[] = []
    for await (const chunk of stream) chunks.push(chunk.subarray())
    expect(Buffer.concat(chunks).toString()).toBe('pong')
  })

  it('aborts an optimistic stream on the first read when the remote does not take the protocol', async () => {
    const [server, client] = await Promise.all([node(), node({ listen: [] })])
    const stream = await openStream(client, server.peerId, server.getMultiaddrs(), '/fara/none/1', { optimistic: true })
    stream.send(Buffer.from('lost'))
    const err = await rejection((async () => { for await (const chunk of stream) void chunk })())
    expect(err.name).toBe('UnsupportedProtocolError')
    expect(stream.status).not.toBe('open')
  })

  it('fails with StreamOpenError for a protocol the remote does not handle, when negotiating fully', async () => {
    const [server, client] = await Promise.all([node(), node({ listen: [] })])
    const err = await rejection(openStream(client, server.peerId, server.getMultiaddrs(), '/fara/none/1', { optimistic: false }))
    expect(err.name).toBe('StreamOpenError')
  })

  it('passes dial failures through typed', async () => {
    const [server, client] = await Promise.all([node(), node({ listen: [] })])
    const port = await freePort()
    const err = await rejection(openStream(client, server.peerId, [multiaddr(`/ip4/127.0.0.1/tcp/${port}`)], '/fara/a/1'))
    expect(err.name).toBe('DialFailedError')
  })
})
