// The client against scripted servers that behave as real ones do
// (spec/adapters.md#tcpmux-quirks-of-real-implementations) and as broken or hostile ones might.
import { afterEach, describe, expect, it } from 'vitest'
import { createTcpmuxServer, tcpmuxConnect, tcpmuxHelp } from '../src/index.ts'
import { collect, firstChunk, scripted } from './helpers.ts'
import type { TcpmuxServer } from '../src/index.ts'
import type { Socket } from 'node:net'

const host = '127.0.0.1'

/** Everything the service sends after `message`, once the client sent `data` and FIN. */
async function talk (socket: Socket, data: string): Promise<string> {
  socket.end(data)
  return (await collect(socket)).text
}

/** A server that answers every request with `reply` and then echoes. */
async function replying (reply: string | Buffer): Promise<number> {
  return scripted((socket) => {
    socket.once('data', () => {
      socket.write(reply)
      socket.pipe(socket)
    })
  })
}

const servers: TcpmuxServer[] = []
afterEach(async () => { await Promise.all(servers.splice(0).map(async s => s.close())) })

describe('tcpmuxConnect', () => {
  it('reaches a service of a Fara server and carries bytes both ways', async () => {
    const server = createTcpmuxServer({ host, port: 0, services: { echo: (s) => { s.pipe(s) } } })
    servers.push(server)
    await server.listen()
    const { socket, message } = await tcpmuxConnect({ host, port: server.address!.port, name: 'ECHO' })
    expect(message).toBe('')
    expect(await talk(socket, 'hello')).toBe('hello')
  })

  it('sends exactly name CRLF in one write and nothing more before the answer (xinetd and inetutils-inetd need it alone)', async () => {
    const first: Buffer[] = []
    const later: Buffer[] = []
    const port = await scripted((socket) => {
      socket.once('data', (c: Buffer) => {
        first.push(c)
        socket.on('data', (d: Buffer) => later.push(d))
        // answer only after a round trip of the event loop: a client that wrote more would have been seen
        setImmediate(() => { socket.write('+Go\r\n') })
      })
    })
    const { socket } = await tcpmuxConnect({ host, port, name: 'svc' })
    expect(Buffer.concat(first).toString('latin1')).toBe('svc\r\n')
    expect(later).toEqual([])
    socket.destroy()
  })

  it('drops the NUL that xinetd writes after +Go CRLF, and keeps it when told to', async () => {
    const port = await replying(Buffer.from('+Go\r\n\0', 'latin1'))
    const a = await tcpmuxConnect({ host, port, name: 'svc' })
    expect(a.message).toBe('Go')
    expect(await talk(a.socket, 'data')).toBe('data')
    const b = await tcpmuxConnect({ host, port, name: 'svc', stripNul: false })
    expect(await talk(b.socket, 'data')).toBe('\0data')
  })

  it('keeps the bytes a server sends after its status line in the same write (nothing lost)', async () => {
    const port = await scripted((socket) => { socket.once('data', () => { socket.end('+OK backend\r\nbanner line\r\n') }) })
    const { socket, message } = await tcpmuxConnect({ host, port, name: 'svc' })
    expect(message).toBe('OK backend')
    expect(await talk(socket, '')).toBe('banner line\r\n')
  })

  it('reads a status line that arrives one byte at a time', async () => {
    const port = await scripted((socket) => {
      socket.setNoDelay(true)
      socket.once('data', () => {
        const bytes = [...'+slow\r\nrest']
        const next = (): void => {
          const b = bytes.shift()
          if (b == null) { socket.end(); return }
          socket.write(b, () => setImmediate(next))
        }
        next()
      })
    })
    const { socket, message } = await tcpmuxConnect({ host, port, name: 'svc' })
    expect(message).toBe('slow')
    expect(await talk(socket, '')).toBe('rest')
  })

  it('rejects - with ServiceRefusedError carrying the server\'s message', async () => {
    const port = await replying('-Service name not found\r\n\0')
    await expect(tcpmuxConnect({ host, port, name: 'nosuch' })).rejects.toMatchObject({ name: 'ServiceRefusedError', reason: 'Service name not found' })
  })

  it('rejects a reply that is not a status line with MalformedReplyError', async () => {
    const port = await replying('HTTP/1.1 400 Bad Request\r\n\r\n')
    await expect(tcpmuxConnect({ host, port, name: 'svc' })).rejects.toMatchObject({ name: 'MalformedReplyError' })
  })

  it('rejects a status line longer than maxReplyBytes with ReplyTooLongError without waiting for its end', async () => {
    const port = await scripted((socket) => { socket.once('data', () => { socket.write(`+${'a'.repeat(10_000)}`) }) })
    await expect(tcpmuxConnect({ host, port, name: 'svc', maxReplyBytes: 100 })).rejects.toMatchObject({ name: 'ReplyTooLongError' })
  })

  it('rejects with ConnectionClosedError when the server closes without a reply (xinetd on a request it cannot parse)', async () => {
    const port = await scripted((socket) => { socket.once('data', () => { socket.end() }) })
    await expect(tcpmuxConnect({ host, port, name: 'svc' })).rejects.toMatchObject({ name: 'ConnectionClosedError' })
    const half = await scripted((socket) => { socket.once('data', () => { socket.end('+Go') }) })
    await expect(tcpmuxConnect({ host, port: half, name: 'svc' })).rejects.toMatchObject({ name: 'ConnectionClosedError', message: expect.stringMatching(/middle/) })
  })

  it('rejects with ReplyTimeoutError when the server says nothing', async () => {
    const port = await scripted(() => {})
    await expect(tcpmuxConnect({ host, port, name: 'svc', timeoutMs: 150 })).rejects.toMatchObject({ name: 'ReplyTimeoutError' })
  })

  it('rejects with the signal\'s reason when aborted, before or during the exchange', async () => {
    const port = await scripted(() => {})
    const before = new Error('before')
    await expect(tcpmuxConnect({ host, port, name: 'svc', signal: AbortSignal.abort(before) })).rejects.toBe(before)
    const controller = new AbortController()
    const during = new Error('during')
    const aborting = await scripted(() => { controller.abort(during) })
    await expect(tcpmuxConnect({ host, port: aborting, name: 'svc', signal: controller.signal })).rejects.toBe(during)
  })

  it('rejects with the socket error when nothing listens', async () => {
    const server = createTcpmuxServer({ host, port: 0 })
    await server.listen()
    const closedPort = server.address!.port
    await server.close()
    await expect(tcpmuxConnect({ host, port: closedPort, name: 'svc' })).rejects.toMatchObject({ code: 'ECONNREFUSED' })
  })

  it('validates its options, naming the parameter', async () => {
    await expect(tcpmuxConnect({ host, name: 'a b' })).rejects.toThrow(/options.name/)
    await expect(tcpmuxConnect({ host, name: '' })).rejects.toThrow(RangeError)
    await expect(tcpmuxConnect({ name: 'x' } as unknown as { host: string, name: string })).rejects.toThrow(/options.host/)
    await expect(tcpmuxConnect({ host, port: -1, name: 'x' })).rejects.toThrow(/options.port/)
    await expect(tcpmuxConnect({ host, name: 'x', timeoutMs: 0 })).rejects.toThrow(/options.timeoutMs/)
    await expect(tcpmuxConnect(null as unknown as { host: string, name: string })).rejects.toThrow(TypeError)
  })
})

describe('tcpmuxHelp', () => {
  it('lists the names of a Fara server with HELP on', async () => {
    const server = createTcpmuxServer({ host, port: 0, help: true, services: { echo: (s) => { s.end() }, Time: (s) => { s.end() } } })
    servers.push(server)
    await server.listen()
    expect(await tcpmuxHelp({ host, port: server.address!.port })).toEqual(['echo', 'Time'])
  })

  it('sends HELP CRLF and reads names without a status line (RFC 1078, inetutils-inetd)', async () => {
    let request = ''
    const port = await scripted((socket) => {
      void firstChunk(socket).then((c) => { request = c.toString('latin1'); socket.end('echo1\r\necho2\r\n') })
    })
    expect(await tcpmuxHelp({ host, port })).toEqual(['echo1', 'echo2'])
    expect(request).toBe('HELP\r\n')
  })

  it('skips a + status line before the list', async () => {
    const port = await scripted((socket) => { socket.once('data', () => { socket.end('+Services:\r\nalpha\r\nbeta\r\n') }) })
    expect(await tcpmuxHelp({ host, port })).toEqual(['alpha', 'beta'])
  })

  it('rejects with ServiceRefusedError when the server has no HELP and answers - (xinetd)', async () => {
    const port = await scripted((socket) => { socket.once('data', () => { socket.end('-Service name not found\r\n\0') }) })
    await expect(tcpmuxHelp({ host, port })).rejects.toMatchObject({ name: 'ServiceRefusedError', reason: 'Service name not found' })
  })

  it('resolves an empty list when the server closes without answering', async () => {
    const port = await scripted((socket) => { socket.once('data', () => { socket.end() }) })
    expect(await tcpmuxHelp({ host, port })).toEqual([])
  })

  it('rejects an answer larger than maxBytes and a server that never closes', async () => {
    const big = await scripted((socket) => { socket.once('data', () => { socket.write(`${'name\r\n'.repeat(1000)}`) }) })
    await expect(tcpmuxHelp({ host, port: big, maxBytes: 512 })).rejects.toMatchObject({ name: 'ReplyTooLongError' })
    const open = await scripted((socket) => { socket.once('data', () => { socket.write('alpha\r\n') }) })
    await expect(tcpmuxHelp({ host, port: open, timeoutMs: 150 })).rejects.toMatchObject({ name: 'ReplyTimeoutError' })
  })

  it('rejects a list with binary garbage with MalformedReplyError', async () => {
    const port = await scripted((socket) => { socket.once('data', () => { socket.end(Buffer.from([0x61, 0x0d, 0x0a, 0x1b, 0x5b, 0x32, 0x4a])) }) })
    await expect(tcpmuxHelp({ host, port })).rejects.toMatchObject({ name: 'MalformedReplyError' })
  })
})
