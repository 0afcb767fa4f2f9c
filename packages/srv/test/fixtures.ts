// Shared by the unit tests: a seeded random source and a scripted DNS server.
import { createSocket } from 'node:dgram'
import { createServer } from 'node:net'
import type { Server, Socket } from 'node:net'
import type { Socket as UdpSocket } from 'node:dgram'

/** mulberry32: a small seeded PRNG with uniform output in [0, 1), so distribution tests are deterministic. */
export function seeded (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** What a scripted server answers to one request: response bytes, several datagrams, or nothing. */
export type Answer = Uint8Array | Uint8Array[] | undefined

/** A DNS server on 127.0.0.1 (UDP and TCP on one port) whose answers the test decides. */
export interface FakeServer {
  server: string
  /** Every request received, with its transport. */
  requests: Array<{ transport: 'udp' | 'tcp', bytes: Uint8Array }>
  close: () => Promise<void>
}

export async function fakeServer (answer: (request: Uint8Array, transport: 'udp' | 'tcp') => Answer): Promise<FakeServer> {
  const requests: FakeServer['requests'] = []
  const sockets = new Set<Socket>()
  const tcp: Server = createServer((socket: Socket) => {
    sockets.add(socket)
    let buf = Buffer.alloc(0)
    socket.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d])
      while (buf.byteLength >= 2 && buf.byteLength >= 2 + buf.readUInt16BE(0)) {
        const request = new Uint8Array(buf.subarray(2, 2 + buf.readUInt16BE(0)))
        buf = buf.subarray(2 + request.byteLength)
        requests.push({ transport: 'tcp', bytes: request })
        const out = answer(request, 'tcp')
        for (const a of out == null ? [] : Array.isArray(out) ? out : [out]) {
          socket.write(Buffer.concat([Buffer.from([a.byteLength >> 8, a.byteLength & 0xff]), a]))
        }
      }
    })
    socket.on('error', () => {})
  })
  const port = await new Promise<number>(resolve => tcp.listen(0, '127.0.0.1', () => { resolve((tcp.address() as { port: number }).port) }))
  const udp: UdpSocket = createSocket('udp4')
  await new Promise<void>((resolve, reject) => { udp.once('error', reject); udp.bind(port, '127.0.0.1', () => { resolve() }) })
  udp.on('message', (msg, rinfo) => {
    const request = new Uint8Array(msg)
    requests.push({ transport: 'udp', bytes: request })
    const out = answer(request, 'udp')
    for (const a of out == null ? [] : Array.isArray(out) ? out : [out]) udp.send(a, rinfo.port, rinfo.address)
  })
  return {
    server: `127.0.0.1:${port}`,
    requests,
    close: async () => {
      await new Promise<void>(resolve => { udp.close(() => { resolve() }) })
      for (const s of sockets) s.destroy()
      await new Promise<void>(resolve => { tcp.close(() => { resolve() }) })
    }
  }
}
