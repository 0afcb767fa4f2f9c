import { spawnSync } from 'node:child_process'
import { randomInt } from 'node:crypto'
import { connect, createServer } from 'node:net'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { createLibp2p } from 'libp2p'
import type { HopListener, HoppingTcpInit, PortRange } from '../src/index.ts'
import { hoppingTcp } from '../src/index.ts'
import type { Connection, Libp2p } from '@libp2p/interface'

export const ECHO = '/fara/test/echo/1'

/** A node with only the hopping transport, Noise and Yamux; `listener` is its first listener, once started. */
export interface TestNode {
  node: Libp2p
  listener: () => HopListener
}

export async function startNode (init: HoppingTcpInit, listen: string[] = ['/ip4/127.0.0.1/tcp/0']): Promise<TestNode> {
  const node = await createLibp2p({
    start: false,
    addresses: { listen },
    transports: [hoppingTcp(init)],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionMonitor: { enabled: false }
  })
  let listener: HopListener | undefined
  node.addEventListener('transport:listening', evt => { listener ??= evt.detail as unknown as HopListener })
  await node.handle(ECHO, async (stream) => {
    for await (const chunk of stream) stream.send(chunk)
    await stream.close()
  })
  await node.start()
  return {
    node,
    listener: () => {
      if (listener == null) throw new Error('the node has no listener')
      return listener
    }
  }
}

/** Send `text` on a new echo stream of `connection` and return what came back. */
export async function echo (connection: Connection, text: string): Promise<string> {
  const stream = await connection.newStream(ECHO)
  const reply = (async () => {
    const chunks: Uint8Array[] = []
    for await (const chunk of stream) chunks.push(chunk.subarray())
    return Buffer.concat(chunks).toString()
  })()
  stream.send(Buffer.from(text))
  await stream.close()
  return reply
}

export function portOf (connection: Connection): number {
  return Number(connection.remoteAddr.getComponents().find(c => c.name === 'tcp')?.value)
}

async function bindable (port: number): Promise<boolean> {
  return new Promise(resolve => {
    const server = createServer()
    server.once('error', () => { resolve(false) })
    server.listen(port, '127.0.0.1', () => { server.close(() => { resolve(true) }) })
  })
}

/**
 * A range of `size` ports on 127.0.0.1 that are all free right now, below the
 * Linux ephemeral range (32768+) where the OS-assigned ports of other tests live.
 */
export async function freeRange (size = 64): Promise<PortRange> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const start = randomInt(20_000, 32_000 - size)
    const ports = Array.from({ length: size }, (_, i) => start + i)
    if ((await Promise.all(ports.map(bindable))).every(Boolean)) return { start, end: start + size - 1 }
  }
  throw new Error('no free range of ports found on 127.0.0.1')
}

const hasSs = spawnSync('ss', ['-V']).status === 0

/**
 * Ports of `range` with a listening TCP socket on 127.0.0.1, as an observer on
 * the host sees them: `ss -ltn` (the kernel's socket table) where available,
 * else a TCP connect to each port (refused means closed).
 */
export async function listeningPorts (range: PortRange): Promise<number[]> {
  const inRange = (p: number): boolean => p >= range.start && p <= range.end
  if (hasSs) {
    const out = spawnSync('ss', ['-Hltn'], { encoding: 'utf8' }).stdout
    const ports = out.split('\n').map(line => line.trim().split(/\s+/)[3] ?? '')
      .filter(local => local.startsWith('127.0.0.1:'))
      .map(local => Number(local.slice(local.lastIndexOf(':') + 1)))
    return [...new Set(ports.filter(inRange))].sort((a, b) => a - b)
  }
  const all = Array.from({ length: range.end - range.start + 1 }, (_, i) => range.start + i)
  const open = await Promise.all(all.map(async port => new Promise<boolean>(resolve => {
    const socket = connect(port, '127.0.0.1')
    socket.once('connect', () => { socket.destroy(); resolve(true) })
    socket.once('error', () => { resolve(false) })
  })))
  return all.filter((_, i) => open[i])
}

export const sorted = (ports: number[]): number[] => [...ports].sort((a, b) => a - b)
