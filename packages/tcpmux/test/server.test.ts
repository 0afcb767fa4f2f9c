import { once } from 'node:events'
import { connect } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { until } from '@fara/testkit'
import { createTcpmuxServer } from '../src/index.ts'
import { firstChunk, raw, silent } from './helpers.ts'
import type { TcpmuxServer, TcpmuxServerInit } from '../src/index.ts'
import type { Socket } from 'node:net'

const echo = (socket: Socket): void => { socket.pipe(socket) }

const servers: TcpmuxServer[] = []
afterEach(async () => { await Promise.all(servers.splice(0).map(async s => s.close())) })

async function start (init: TcpmuxServerInit = {}): Promise<{ server: TcpmuxServer, port: number }> {
  const server = createTcpmuxServer({ host: '127.0.0.1', port: 0, services: { echo }, ...init })
  servers.push(server)
  await server.listen()
  return { server, port: server.address!.port }
}

describe('server: RFC 1078 requests', () => {
  it('answers + for a registered name in any case and hands over the bytes sent after the line in the same write', async () => {
    const { port } = await start()
    const got = await raw(port, 'EcHo\r\nhello, world')
    expect(got.text).toBe('+\r\nhello, world')
  })

  it('accepts a bare LF as the end of the line', async () => {
    const { port } = await start()
    expect((await raw(port, 'echo\nabc')).text).toBe('+\r\nabc')
  })

  it('sends the registered message after +', async () => {
    const { server, port } = await start()
    server.register('Greeter', (socket) => { socket.end('hi') }, { message: 'Go ahead' })
    expect((await raw(port, 'greeter\r\n')).text).toBe('+Go ahead\r\nhi')
  })

  it('tells the handler the registered spelling of the name', async () => {
    const { server, port } = await start()
    const seen: string[] = []
    server.register('MixedCase', (socket, request) => { seen.push(request.name); socket.end() })
    await raw(port, 'MIXEDCASE\r\n')
    expect(seen).toEqual(['MixedCase'])
  })

  it('answers -Service not available for an unknown name and closes', async () => {
    const { port } = await start()
    const got = await raw(port, 'nosuch\r\n', { end: false })
    expect(got.text).toBe('-Service not available\r\n')
  })

  it('refuses an empty line, a name with a space and a control character as an invalid name', async () => {
    const { port } = await start()
    for (const line of ['\r\n', 'echo two\r\n', 'ec\x01ho\r\n', '\xff\r\n']) {
      expect((await raw(port, line, { end: false })).text).toBe('-Invalid service name\r\n')
    }
  })

  it('stops serving a name once it is unregistered', async () => {
    const { server, port } = await start()
    expect(server.unregister('ECHO')).toBe(true)
    expect(server.unregister('echo')).toBe(false)
    expect((await raw(port, 'echo\r\n', { end: false })).text).toBe('-Service not available\r\n')
  })

  it('passes a client\'s half-close to the handler and can still answer after it', async () => {
    const { server, port } = await start()
    server.register('count', (socket) => {
      let n = 0
      socket.on('data', (c: Buffer) => { n += c.length })
      socket.on('end', () => { socket.end(`${n} bytes`) })
    })
    expect((await raw(port, `count\r\n${'x'.repeat(100_000)}`)).text).toBe('+\r\n100000 bytes')
  })
})

describe('server: HELP', () => {
  it('refuses HELP by default with the very bytes of an unknown name (it does not even say HELP exists)', async () => {
    const { port } = await start()
    const help = await raw(port, 'HELP\r\n', { end: false })
    const unknown = await raw(port, 'nosuch\r\n', { end: false })
    expect(help.text).toBe(unknown.text)
  })

  it('lists every name, one per CRLF line, without a status line, then closes, when turned on', async () => {
    const { server, port } = await start({ help: true })
    server.register('Time', (socket) => { socket.end() })
    expect((await raw(port, 'help\r\n', { end: false })).text).toBe('echo\r\nTime\r\n')
  })
})

describe('server: limits (untrusted clients)', () => {
  it('refuses a line longer than maxLineBytes and closes; the server keeps serving', async () => {
    const { port } = await start({ maxLineBytes: 64 })
    const got = await raw(port, Buffer.alloc(100_000, 0x61), { end: false })
    expect(got.text).toBe('-Request line too long\r\n')
    expect((await raw(port, 'echo\r\nstill here')).text).toBe('+\r\nstill here')
  })

  it('accepts a line of exactly maxLineBytes with its CRLF', async () => {
    const { server, port } = await start({ maxLineBytes: 10 })
    server.register('abcdefgh', (socket) => { socket.end('ok') })
    expect((await raw(port, 'abcdefgh\r\n')).text).toBe('+\r\nok')
  })

  it('drops a client that sends nothing when the read deadline passes', async () => {
    const { server, port } = await start({ readTimeoutMs: 200 })
    const socket = await silent(port)
    const chunks: Buffer[] = []
    socket.on('data', (c: Buffer) => chunks.push(c))
    await once(socket, 'close')
    expect(Buffer.concat(chunks).length).toBe(0)
    await until(() => server.pending === 0, 'the server to forget the socket')
  })

  it('drops a client that never finishes its line, counting the deadline from accept', async () => {
    const { port } = await start({ readTimeoutMs: 200 })
    const socket = await silent(port)
    socket.write('ec')
    const chunks: Buffer[] = []
    socket.on('data', (c: Buffer) => chunks.push(c))
    await once(socket, 'close')
    expect(chunks).toEqual([])
  })

  it('beyond maxPending drops the connection that has been reading its line the longest, so slow clients cannot keep others out', async () => {
    const { server, port } = await start({ maxPending: 2 })
    const a = await silent(port)
    const b = await silent(port)
    await until(() => server.pending === 2, 'two pending handshakes')
    const aDropped = once(a, 'close')
    expect((await raw(port, 'echo\r\nx')).text).toBe('+\r\nx')
    await aDropped
    expect(b.destroyed).toBe(false)
    b.destroy()
  })

  it('beyond maxPending closes a new connection at once when no pending one is still reading its line', async () => {
    const { server, port } = await start({ maxPending: 2 })
    // refused, and lingering: they never close their side
    const lingering = await Promise.all([0, 1].map(async () => {
      const socket = connect({ host: '127.0.0.1', port })
      socket.on('error', () => {})
      socket.write('nosuch\r\n')
      expect((await firstChunk(socket)).toString('latin1')).toBe('-Service not available\r\n')
      return socket
    }))
    await until(() => server.pending === 2, 'two lingering refusals')
    expect((await raw(port, 'echo\r\nx')).text).toBe('')
    for (const socket of lingering) socket.destroy()
    await until(() => server.pending === 0, 'the refusals gone')
    expect((await raw(port, 'echo\r\ny')).text).toBe('+\r\ny')
  })

  it('destroys the socket of a handler that throws or rejects, reports the error and keeps serving', async () => {
    const errors: string[] = []
    const { server, port } = await start({ onError: (err) => { errors.push(err.message) } })
    server.register('throws', () => { throw new Error('sync boom') })
    server.register('rejects', async () => { throw new Error('async boom') })
    expect((await raw(port, 'throws\r\n', { end: false })).text).toBe('+\r\n')
    expect((await raw(port, 'rejects\r\n', { end: false })).text).toBe('+\r\n')
    expect(errors).toEqual(['sync boom', 'async boom'])
    expect((await raw(port, 'echo\r\nz')).text).toBe('+\r\nz')
  })
})

describe('server: life cycle and API boundary', () => {
  it('close() destroys pending and handed-over connections, and listen() cannot run twice', async () => {
    const { server, port } = await start()
    const pending = await silent(port)
    const carried = await silent(port)
    carried.write('echo\r\n')
    carried.resume() // read, so that the server's close is seen
    await until(() => server.connections === 2 && server.pending === 1, 'one carried and one pending connection')
    const closed = Promise.all([once(pending, 'close'), once(carried, 'close')])
    await server.close()
    await closed
    expect(server.address).toBeNull()
    await expect(server.listen()).rejects.toMatchObject({ name: 'ServerStateError' })
  })

  it('rejects listen() on a busy port with the OS error and with an aborted signal with its reason', async () => {
    const { port } = await start()
    await expect(createTcpmuxServer({ host: '127.0.0.1', port }).listen()).rejects.toMatchObject({ code: 'EADDRINUSE' })
    const reason = new Error('stop')
    await expect(createTcpmuxServer({ host: '127.0.0.1', port: 0 }).listen({ signal: AbortSignal.abort(reason) })).rejects.toBe(reason)
  })

  it('validates names, handlers and options, naming the parameter', () => {
    const server = createTcpmuxServer({ port: 0 })
    expect(() => server.register('a b', echo)).toThrow(RangeError)
    expect(() => server.register('', echo)).toThrow(/name must be 1 to 254/)
    expect(() => server.register('x'.repeat(255), echo)).toThrow(RangeError)
    expect(() => server.register(42 as unknown as string, echo)).toThrow(TypeError)
    expect(() => server.register('help', echo)).toThrow(/reserved/)
    expect(() => server.register('ok', 'nope' as unknown as typeof echo)).toThrow(/handler must be a function/)
    expect(() => server.register('ok', echo, { message: 'two\r\nlines' })).toThrow(/options.message/)
    server.register('Echo', echo)
    expect(() => server.register('ECHO', echo)).toThrow(expect.objectContaining({ name: 'ServiceExistsError' }))
    expect(server.services).toEqual(['Echo'])
    expect(() => createTcpmuxServer({ port: 70_000 })).toThrow(/init.port/)
    expect(() => createTcpmuxServer({ maxLineBytes: 2 })).toThrow(/init.maxLineBytes/)
    expect(() => createTcpmuxServer({ readTimeoutMs: 1.5 })).toThrow(RangeError)
    expect(() => createTcpmuxServer({ help: 'yes' as unknown as boolean })).toThrow(/init.help must be a boolean/)
    expect(() => createTcpmuxServer({ services: { 'bad name': echo } })).toThrow(RangeError)
  })
})
