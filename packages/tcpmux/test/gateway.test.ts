// The gateway with an injected connect (the real one, through Fara, is in test/tcpmux-gateway.test.ts).
import { createHash, randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { Duplex } from 'node:stream'
import { afterEach, describe, expect, it } from 'vitest'
import { until } from '@fara/testkit'
import { createTcpmuxGateway, tcpmuxConnect } from '../src/index.ts'
import { collect, raw, silent } from './helpers.ts'
import type { GatewayConnect, TcpmuxGateway, TcpmuxGatewayInit } from '../src/index.ts'

const host = '127.0.0.1'

/** An in-memory echo service with half-close: what it reads it writes back, and it ends when its writer ends. */
function echoStream (): Duplex {
  return new Duplex({
    allowHalfOpen: true,
    read () {},
    write (chunk: Buffer, _encoding, callback) { this.push(chunk); callback() },
    final (callback) { this.push(null); callback() }
  })
}

const gateways: TcpmuxGateway[] = []
afterEach(async () => { await Promise.all(gateways.splice(0).map(async g => g.close())) })

async function start (connect: GatewayConnect, init: Omit<TcpmuxGatewayInit, 'connect'> = {}): Promise<number> {
  const gateway = createTcpmuxGateway({ host, port: 0, connect, ...init })
  gateways.push(gateway)
  await gateway.listen()
  return gateway.address!.port
}

class NameNotFoundError extends Error {
  override name = 'NameNotFoundError'
}

describe('gateway', () => {
  it('connects to the lower-cased name, answers + and carries bytes both ways with half-close', async () => {
    const asked: string[] = []
    const port = await start(async (name) => { asked.push(name); return echoStream() })
    const data = randomBytes(256 * 1024)
    const { socket } = await tcpmuxConnect({ host, port, name: 'Echo' })
    socket.end(data)
    const got = await collect(socket)
    expect(createHash('sha256').update(got.bytes).digest('hex')).toBe(createHash('sha256').update(data).digest('hex'))
    expect(asked).toEqual(['echo'])
  })

  it('carries the bytes a client sent right after its line, before the +', async () => {
    const port = await start(async () => echoStream())
    expect((await raw(port, 'echo\r\nearly bytes')).text).toBe('+\r\nearly bytes')
  })

  it('answers every failure with the same -Service not available, tells onError the real reason, and keeps serving', async () => {
    const errors: Error[] = []
    const port = await start(async (name) => {
      if (name === 'echo') return echoStream()
      throw new NameNotFoundError(`no record for ${name} at /ip4/10.0.0.7/tcp/4001/p2p/12D3KooSecretPeer`)
    }, { onError: (err) => { errors.push(err) } })
    const got = await raw(port, 'missing\r\n', { end: false })
    expect(got.text).toBe('-Service not available\r\n')
    expect(got.text).not.toMatch(/10\.0\.0\.7|12D3|record/)
    expect(errors.map(e => e.name)).toEqual(['NameNotFoundError'])
    expect((await raw(port, 'echo\r\nstill')).text).toBe('+\r\nstill')
  })

  it('forwards only the listed names when given names, and HELP (when on) lists exactly them', async () => {
    const asked: string[] = []
    const port = await start(async (name) => { asked.push(name); return echoStream() }, { names: ['Echo', 'chat'], help: true })
    expect((await raw(port, 'other\r\n', { end: false })).text).toBe('-Service not available\r\n')
    expect((await raw(port, 'ECHO\r\nx')).text).toBe('+\r\nx')
    expect((await raw(port, 'help\r\n', { end: false })).text).toBe('Echo\r\nchat\r\n')
    expect(asked).toEqual(['echo'])
  })

  it('refuses HELP by default without calling connect', async () => {
    const asked: string[] = []
    const port = await start(async (name) => { asked.push(name); return echoStream() })
    expect((await raw(port, 'HELP\r\n', { end: false })).text).toBe('-Service not available\r\n')
    expect(asked).toEqual([])
  })

  it('refuses when connect outlives connectTimeoutMs, and destroys the stream that comes late', async () => {
    let release: (() => void) | undefined
    const late = echoStream()
    let signalled: AbortSignal | undefined
    const port = await start(async (_name, { signal }) => {
      signalled = signal
      // ignores the signal on purpose
      await new Promise<void>(resolve => { release = resolve })
      return late
    }, { connectTimeoutMs: 100 })
    expect((await raw(port, 'slow\r\n', { end: false })).text).toBe('-Service not available\r\n')
    expect(signalled?.aborted).toBe(true)
    release!()
    await until(() => late.destroyed, 'the late stream to be destroyed')
  })

  it('aborts connect when the client leaves, and destroys the stream if it comes anyway', async () => {
    let aborted: Promise<unknown> | undefined
    let release: (() => void) | undefined
    const late = echoStream()
    const port = await start(async (_name, { signal }) => {
      aborted = once(signal, 'abort')
      await new Promise<void>(resolve => { release = resolve })
      return late
    })
    const socket = await silent(port)
    socket.write('echo\r\n')
    await until(() => release != null, 'connect to be called')
    // a reset: a FIN alone is a half-close, and the client may still want the answer
    socket.resetAndDestroy()
    await aborted
    release!()
    await until(() => late.destroyed, 'the stream to be destroyed')
  })

  it('tears the client connection down when the service stream fails, and reports the error', async () => {
    const errors: string[] = []
    const stream = echoStream()
    const port = await start(async () => stream, { onError: (err) => { errors.push(err.message) } })
    const { socket } = await tcpmuxConnect({ host, port, name: 'echo' })
    const closed = collect(socket)
    stream.destroy(new Error('association reset'))
    // a reset, not a clean FIN that would pass truncated data for complete
    expect((await closed).hadError).toBe(true)
    expect(errors).toEqual(['association reset'])
  })

  it('destroys the service stream when the client resets', async () => {
    const stream = echoStream()
    const port = await start(async () => stream)
    const { socket } = await tcpmuxConnect({ host, port, name: 'echo' })
    socket.resetAndDestroy()
    await until(() => stream.destroyed, 'the stream to be destroyed')
  })

  it('close() destroys carried connections and their streams', async () => {
    const stream = echoStream()
    const gateway = createTcpmuxGateway({ host, port: 0, connect: async () => stream })
    await gateway.listen()
    const { socket } = await tcpmuxConnect({ host, port: gateway.address!.port, name: 'echo' })
    const ended = new Promise(resolve => { socket.once('end', resolve); socket.once('close', resolve) })
    socket.resume()
    await gateway.close()
    await ended
    await until(() => stream.destroyed, 'the stream to be destroyed')
    expect(gateway.connections).toBe(0)
  })

  it('listens on loopback unless told otherwise (its clear-text hop carries the name)', async () => {
    const gateway = createTcpmuxGateway({ port: 0, connect: async () => echoStream() })
    gateways.push(gateway)
    await gateway.listen()
    expect(gateway.address?.host).toBe('127.0.0.1')
  })

  it('validates its options, naming the parameter', () => {
    expect(() => createTcpmuxGateway({} as TcpmuxGatewayInit)).toThrow(/init.connect must be a function/)
    expect(() => createTcpmuxGateway({ connect: async () => echoStream(), names: ['ok', 'not ok'] })).toThrow(/init.names/)
    expect(() => createTcpmuxGateway({ connect: async () => echoStream(), names: ['HELP'] })).toThrow(/reserved/)
    expect(() => createTcpmuxGateway({ connect: async () => echoStream(), connectTimeoutMs: 0 })).toThrow(/init.connectTimeoutMs/)
  })
})
