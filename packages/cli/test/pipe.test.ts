import { randomBytes, createHash } from 'node:crypto'
import { once } from 'node:events'
import { createConnection, createServer } from 'node:net'
import { PassThrough, Duplex } from 'node:stream'
import { afterEach, describe, expect, it } from 'vitest'
import { bridge, bridgeStdio } from '../src/internal/pipe.ts'
import type { AddressInfo, Server, Socket } from 'node:net'

const servers: Server[] = []
afterEach(() => { for (const s of servers.splice(0)) s.close() })

/** A connected TCP pair on loopback, both ends half-open capable: [accepted, dialled]. */
async function socketPair (): Promise<[Socket, Socket]> {
  const server = createServer({ allowHalfOpen: true })
  servers.push(server)
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const accepted = once(server, 'connection') as Promise<[Socket]>
  const dialled = createConnection({ port: (server.address() as AddressInfo).port, host: '127.0.0.1', allowHalfOpen: true })
  await once(dialled, 'connect')
  return [(await accepted)[0], dialled]
}

/** Everything `s` sends until its end, leaving it open for writing (plain `for await` would destroy it). */
async function readAll (s: Socket | Duplex): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const c of s.iterator({ destroyOnReturn: false })) chunks.push(c as Buffer)
  return Buffer.concat(chunks)
}

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex')

describe('bridge', () => {
  it('carries bytes both ways and passes a half-close on, keeping the other direction open', async () => {
    // client ⇄ [a | bridge | b] ⇄ service
    const [a, client] = await socketPair()
    const [service, b] = await socketPair()
    const bridged = bridge(a, b)
    const request = randomBytes(3 * 1024 * 1024)
    client.end(request)
    // the service sees the whole request and then EOF, and only then answers
    const got = await readAll(service)
    expect(sha(got)).toBe(sha(request))
    const reply = randomBytes(1024 * 1024)
    service.end(reply)
    expect(sha(await readAll(client))).toBe(sha(reply))
    expect(await bridged).toEqual({ sent: request.byteLength, received: reply.byteLength })
  })

  it('destroys the other side when one side fails, and rejects with the error', async () => {
    const [a, client] = await socketPair()
    const [service, b] = await socketPair()
    service.on('error', () => {})
    const bridged = bridge(a, b)
    const ended = once(service, 'end')
    client.resetAndDestroy()
    await expect(bridged).rejects.toThrow('ECONNRESET')
    expect(b.destroyed).toBe(true)
    // the service is told: its connection ends
    await ended
  })

  it('honours backpressure: a reader that does not drain pauses the sender, which is read no further', async () => {
    let produced = 0
    const source = new Duplex({
      read () { produced += 65536; this.push(Buffer.alloc(65536)) },
      write (_chunk, _enc, cb) { cb() }
    })
    // a reader that never finishes a write: nothing may pile up in between
    const stuck = new Duplex({ highWaterMark: 65536, read () {}, write () {} })
    const bridged = bridge(source, stuck).catch(() => {})
    await once(source, 'pause')
    const atPause = produced
    expect(atPause).toBeLessThan(1024 * 1024)
    source.destroy()
    stuck.destroy()
    await bridged
    expect(produced).toBe(atPause)
  })
})

describe('bridgeStdio', () => {
  it('sends stdin, half-closes at its end, and finishes when the remote ends', async () => {
    const stdin = new PassThrough()
    const stdout = new PassThrough()
    const [remote, service] = await socketPair()
    const done = bridgeStdio(stdin, stdout, remote)
    stdin.end('ping')
    expect((await readAll(service)).toString()).toBe('ping')
    service.end('pong')
    const result = await done
    expect(stdout.read()?.toString()).toBe('pong')
    expect(result).toEqual({ sent: 4, received: 4 })
  })

  it('finishes when the remote ends even though stdin never does (a terminal)', async () => {
    const stdin = new PassThrough()
    const stdout = new PassThrough()
    const [remote, service] = await socketPair()
    const done = bridgeStdio(stdin, stdout, remote)
    stdin.write('hello')
    // the service reads the first bytes, answers and closes
    const [first] = await once(service, 'data') as [Buffer]
    expect(first.toString()).toBe('hello')
    service.end('bye')
    await expect(done).resolves.toEqual({ sent: 5, received: 3 })
    expect(stdout.read()?.toString()).toBe('bye')
  })

  it('rejects when the remote is reset', async () => {
    const stdin = new PassThrough()
    const stdout = new PassThrough()
    const [remote, service] = await socketPair()
    remote.on('error', () => {})
    const done = bridgeStdio(stdin, stdout, remote)
    service.resetAndDestroy()
    await expect(done).rejects.toThrow()
  })
})
