// The pure parts of `fara tcpmux` and `fara connect tcpmux://`: URLs, --map, --allow, routing,
// and the byte-counting stream (over a real TCP connection). End to end: test/cli-tcpmux.test.ts.
import { once } from 'node:events'
import { createServer, connect } from 'node:net'
import { describe, expect, it } from 'vitest'
import { describeTcpmuxFailure, isTcpmuxUrl, parseTcpmuxUrl } from '../src/internal/tcpmux-connect.ts'
import { counted, parseAllow, parseMap, routeOf } from '../src/internal/tcpmux-gateway.ts'
import type { Carried } from '../src/internal/tcpmux-gateway.ts'
import type { AddressInfo, Socket } from 'node:net'

function usage (fn: () => unknown): string {
  try {
    fn()
  } catch (err) {
    expect((err as Error).name).toBe('UsageError')
    return (err as Error).message
  }
  throw new Error('expected a UsageError')
}

describe('tcpmux:// URLs', () => {
  it('takes host, port (1 by default) and service name', () => {
    expect(parseTcpmuxUrl('connect', 'tcpmux://127.0.0.1/echo')).toEqual({ host: '127.0.0.1', port: 1, name: 'echo', url: 'tcpmux://127.0.0.1:1/echo' })
    expect(parseTcpmuxUrl('connect', 'TCPMUX://[::1]:7001/Fara-Plus')).toEqual({ host: '::1', port: 7001, name: 'Fara-Plus', url: 'tcpmux://[::1]:7001/Fara-Plus' })
    expect(parseTcpmuxUrl('connect', 'tcpmux://mux.example.org/a%2Bb').name).toBe('a+b')
  })

  it('tells a tcpmux: URL from a Fara name (which never holds a colon)', () => {
    expect(isTcpmuxUrl('tcpmux://h/x')).toBe(true)
    expect(isTcpmuxUrl('tcpmux:x')).toBe(true)
    expect(isTcpmuxUrl('web')).toBe(false)
    expect(isTcpmuxUrl(undefined)).toBe(false)
  })

  it('refuses what a TCPMUX request could not carry, naming the problem', () => {
    expect(usage(() => parseTcpmuxUrl('connect', 'tcpmux://[nope]/x'))).toContain('not an IPv6 address')
    expect(usage(() => parseTcpmuxUrl('connect', 'tcpmux://h:0/x'))).toContain('port must be 1 to 65535')
    expect(usage(() => parseTcpmuxUrl('connect', 'tcpmux://h/a%20b'))).toContain('visible ASCII')
    expect(usage(() => parseTcpmuxUrl('connect', 'tcpmux://h/%zz'))).toContain('%-escape')
    expect(usage(() => parseTcpmuxUrl('connect', `tcpmux://h/${'a'.repeat(255)}`))).toContain('1 to 254')
    expect(usage(() => parseTcpmuxUrl('connect', 'tcpmux://h/x#y'))).toContain('query or fragment')
  })
})

describe('failures of a TCPMUX request', () => {
  const target = parseTcpmuxUrl('connect', 'tcpmux://127.0.0.1:7001/echo')
  it('a `-` answer is exit 5 with the server\'s reason; no server is exit 4', () => {
    const refused = Object.assign(new Error('x'), { name: 'ServiceRefusedError', reason: 'Service name not found' })
    expect(describeTcpmuxFailure(refused, target)).toMatchObject({ exit: 5, message: '127.0.0.1:7001 refused "echo": Service name not found' })
    expect(describeTcpmuxFailure(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), target).exit).toBe(4)
    expect(describeTcpmuxFailure(Object.assign(new Error('late'), { name: 'ReplyTimeoutError' }), target).exit).toBe(4)
    expect(describeTcpmuxFailure(Object.assign(new Error('bad'), { name: 'MalformedReplyError' }), target).exit).toBe(1)
  })
})

describe('--map and --allow', () => {
  it('maps TCPMUX names in any case to Fara names', () => {
    const map = parseMap('tcpmux', ['WWW=web', 'shell=ssh'])
    expect([...map]).toEqual([['www', 'web'], ['shell', 'ssh']])
    const routes = { map, allow: undefined }
    expect(routeOf(routes, 'www')).toEqual({ fara: 'web' })
    expect(routeOf(routes, 'db')).toEqual({ fara: 'db' })
    expect(routeOf(routes, 'bad!')).toEqual({ fara: 'bad!', refused: 'invalid-name' })
  })

  it('--allow names Fara names, after --map: both the alias and the name itself get through', () => {
    const map = parseMap('tcpmux', ['www=web'])
    const routes = { map, allow: parseAllow('tcpmux', ['web'], map) }
    expect(routeOf(routes, 'www')).toEqual({ fara: 'web' })
    expect(routeOf(routes, 'web')).toEqual({ fara: 'web' })
    expect(routeOf(routes, 'ssh')).toEqual({ fara: 'ssh', refused: 'not-allowed' })
    expect(parseAllow('tcpmux', undefined, map)).toBeUndefined()
  })

  it('refuses a map that --allow would make useless', () => {
    expect(usage(() => parseAllow('tcpmux', ['ssh'], parseMap('tcpmux', ['www=web'])))).toContain('add --allow web')
  })
})

/** A connected pair of TCP sockets on loopback. */
async function socketPair (): Promise<[Socket, Socket]> {
  const server = createServer({ allowHalfOpen: true })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const accepted = once(server, 'connection') as Promise<[Socket]>
  const client = connect({ port: (server.address() as AddressInfo).port, host: '127.0.0.1', allowHalfOpen: true })
  const [remote] = await accepted
  await once(client, 'connect')
  server.close()
  return [client, remote]
}

describe('counted', () => {
  it('carries both ways with half-close and reports the bytes once, without an error', async () => {
    const [inner, far] = await socketPair()
    const reports: Carried[] = []
    const stream = counted(inner, new WeakSet(), (c) => { reports.push(c) })
    far.write('early') // before anyone reads the wrapper: kept
    const got: Buffer[] = []
    stream.on('data', (c: Buffer) => got.push(c))
    const farGot: Buffer[] = []
    far.on('data', (c: Buffer) => farGot.push(c))
    stream.end('hello there')
    await once(far, 'end')
    far.end(' and back')
    await once(stream, 'close')
    expect(Buffer.concat(got).toString()).toBe('early and back')
    expect(Buffer.concat(farGot).toString()).toBe('hello there')
    expect(reports).toEqual([{ toService: 11, toClient: 14 }])
  })

  it('a reset of the inner side ends the wrapper with an error it has seen', async () => {
    const [inner, far] = await socketPair()
    const seen = new WeakSet<Error>()
    const reports: Carried[] = []
    const stream = counted(inner, seen, (c) => { reports.push(c) })
    let failure: Error | undefined
    stream.on('error', (err) => { failure = err })
    stream.resume()
    const closed = new Promise(resolve => stream.once('close', resolve)) // events.once would reject on the 'error'
    far.resetAndDestroy()
    await closed
    expect(reports).toHaveLength(1)
    expect(reports[0]!.error?.message).toContain('ECONNRESET')
    expect(failure).toBe(reports[0]!.error)
    expect(seen.has(failure!)).toBe(true)
  })
})
