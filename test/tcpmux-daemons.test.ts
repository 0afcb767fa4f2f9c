// Fara's TCPMUX client against the real daemons Debian ships: xinetd
// (services of type TCPMUX and TCPMUXPLUS) and inetutils-inetd
// (`tcpmux/+name` and `tcpmux/name`), each in the foreground as a child, on a
// free unprivileged port, with its configuration in a temporary directory.
// The raw-socket tests pin down the quirks the client copes with
// (spec/adapters.md#tcpmux-quirks-of-real-implementations): if a daemon changes, they say so.
import { spawnSync } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { freePort } from '@fara/testkit'
import { tcpmuxConnect, tcpmuxHelp } from '@fara/tcpmux'
import { stopAllPrograms } from './fixtures/cli-process.ts'
import { XINETD, startDaemon, which, xinetdConfig } from './helpers/daemons.ts'
const inetd = which(['inetutils-inetd', '/usr/sbin/inetutils-inetd'])
const isRoot = process.getuid?.() === 0
const hasUnshare = spawnSync('unshare', ['--version']).status === 0
const missing = [
  isRoot ? '' : 'root (the daemons switch to user nobody; inetd needs a private mount of /etc/services)',
  XINETD == null ? 'xinetd' : '',
  inetd == null ? 'inetutils-inetd' : '',
  hasUnshare ? '' : 'unshare (util-linux)'
].filter(Boolean).join(', ')
if (missing !== '') {
  if (process.env.FARA_REQUIRE_DAEMONS === '1') throw new Error(`TCPMUX daemon tests required (FARA_REQUIRE_DAEMONS=1) but missing: ${missing}`)
  console.warn(`SKIPPING TCPMUX daemon tests: missing ${missing}`)
}

const host = '127.0.0.1'
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex')

/** Raw exchange: write `send` in one write, optionally `later` once the first bytes came back, collect to close. */
async function raw (port: number, send: string, later?: string): Promise<string> {
  const socket = connect({ host, port, allowHalfOpen: true })
  socket.on('error', () => {})
  const chunks: Buffer[] = []
  socket.on('data', (c: Buffer) => {
    chunks.push(c)
    if (later != null && chunks.length === 1) socket.end(later)
  })
  socket.on('end', () => { socket.end() })
  socket.on('connect', () => { socket.write(send) })
  if (later == null) socket.once('connect', () => { socket.end() })
  await new Promise(resolve => socket.once('close', resolve))
  return Buffer.concat(chunks).toString('latin1')
}

/** Send `data` through the service `name` behind `port` with Fara's client; the echo and the status message. */
async function echo (port: number, name: string, data: Buffer, options: { stripNul?: boolean } = {}): Promise<{ message: string, echoed: Buffer }> {
  const { socket, message } = await tcpmuxConnect({ host, port, name, ...options })
  const chunks: Buffer[] = []
  socket.on('data', (c: Buffer) => chunks.push(c))
  const closed = new Promise(resolve => socket.once('close', resolve))
  socket.end(data)
  await closed
  return { message, echoed: Buffer.concat(chunks) }
}

// a service program for the non-plus types: it must send the positive reply itself
const BACKEND = '#!/bin/sh\nprintf \'+Fara backend\\r\\n\'\nexec cat\n'

describe.skipIf(missing !== '')('TCPMUX against real daemons', () => {
  let dir: string
  let xinetdPort: number
  let inetdPort: number
  const data = randomBytes(1024 * 1024)

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fara-tcpmux-'))
    await chmod(dir, 0o755) // the services run as nobody
    const backend = join(dir, 'backend.sh')
    await writeFile(backend, BACKEND, { mode: 0o755 })

    xinetdPort = await freePort()
    const xinetdConf = join(dir, 'xinetd.conf')
    await writeFile(xinetdConf, xinetdConfig({ dir, port: xinetdPort, plus: 'fara-plus', backend }))
    await startDaemon('xinetd', [XINETD!, '-dontfork', '-f', xinetdConf, '-pidfile', join(dir, 'xinetd.pid')], xinetdPort, { log: join(dir, 'xinetd.log') })

    // inetutils-inetd takes the tcpmux port from /etc/services only: give it its own, in a private mount namespace
    inetdPort = await freePort()
    const services = join(dir, 'services')
    const etc = await readFile('/etc/services', 'utf8')
    await writeFile(services, `${etc.split('\n').filter(l => !/^tcpmux\s/.test(l)).join('\n')}\ntcpmux ${inetdPort}/tcp\n`)
    const inetdConf = join(dir, 'inetd.conf')
    await writeFile(inetdConf, [
      `${host}:tcpmux stream tcp nowait root internal`,
      'tcpmux/+fara-plus stream tcp nowait nobody /bin/cat cat',
      `tcpmux/fara-self stream tcp nowait nobody ${backend} backend.sh`,
      ''
    ].join('\n'))
    await startDaemon('inetutils-inetd', ['unshare', '-m', '--propagation', 'private', 'sh', '-c', 'mount --bind "$1" /etc/services && exec "$2" -d --rate=10000 --pidfile="$3" "$4"',
      'sh', services, inetd!, join(dir, 'inetd.pid'), inetdConf], inetdPort)
  })

  afterAll(async () => {
    await stopAllPrograms()
    if (dir != null) await rm(dir, { recursive: true, force: true })
  })

  describe('xinetd', () => {
    it('TCPMUXPLUS: xinetd answers +Go, the client drops xinetd\'s stray NUL and 1 MiB echoes intact (name in another case)', async () => {
      const { message, echoed } = await echo(xinetdPort, 'FARA-PLUS', data)
      expect(message).toBe('Go')
      expect(echoed.length).toBe(data.length)
      expect(sha(echoed)).toBe(sha(data))
    })

    it('TCPMUXPLUS: the NUL is real: without stripNul the application reads it first', async () => {
      const { echoed } = await echo(xinetdPort, 'fara-plus', Buffer.from('abc'), { stripNul: false })
      expect(echoed.toString('latin1')).toBe('\0abc')
    })

    it('TCPMUX: the program sends the + line itself and the client hands over after it', async () => {
      const { message, echoed } = await echo(xinetdPort, 'fara-self', data)
      expect(message).toBe('Fara backend')
      expect(sha(echoed)).toBe(sha(data))
    })

    it('refuses an unknown name: ServiceRefusedError with xinetd\'s message', async () => {
      await expect(tcpmuxConnect({ host, port: xinetdPort, name: 'no-such' })).rejects.toMatchObject({ name: 'ServiceRefusedError', reason: 'Service name not found' })
    })

    it('has no HELP: tcpmuxHelp rejects with its - answer', async () => {
      await expect(tcpmuxHelp({ host, port: xinetdPort })).rejects.toMatchObject({ name: 'ServiceRefusedError', reason: 'Service name not found' })
    })

    it('quirks on the wire: NUL after each status line; silent close on a bare LF or on data in the same read as the name', async () => {
      expect(await raw(xinetdPort, 'fara-plus\r\n')).toBe('+Go\r\n\0')
      expect(await raw(xinetdPort, 'no-such\r\n')).toBe('-Service name not found\r\n\0')
      expect(await raw(xinetdPort, 'fara-plus\n')).toBe('')
      expect(await raw(xinetdPort, 'fara-plus\r\nearly data\r\n')).toBe('-Service name not found\r\n\0')
      expect(await raw(xinetdPort, 'fara-plus\r\nearly')).toBe('')
    })
  })

  describe('inetutils-inetd', () => {
    it('tcpmux/+name: inetd answers +Go and 1 MiB echoes intact (name in another case)', async () => {
      const { message, echoed } = await echo(inetdPort, 'Fara-Plus', data)
      expect(message).toBe('Go')
      expect(sha(echoed)).toBe(sha(data))
    })

    it('tcpmux/name: the program sends the + line itself', async () => {
      const { message, echoed } = await echo(inetdPort, 'fara-self', data)
      expect(message).toBe('Fara backend')
      expect(sha(echoed)).toBe(sha(data))
    })

    it('refuses an unknown name: ServiceRefusedError with inetd\'s message', async () => {
      await expect(tcpmuxConnect({ host, port: inetdPort, name: 'no-such' })).rejects.toMatchObject({ name: 'ServiceRefusedError', reason: 'Service not available' })
    })

    it('answers HELP with the names and no status line, which tcpmuxHelp reads', async () => {
      expect((await tcpmuxHelp({ host, port: inetdPort })).sort()).toEqual(['fara-plus', 'fara-self'])
      expect(await raw(inetdPort, 'help\r\n')).toMatch(/^(fara-self\r\nfara-plus\r\n|fara-plus\r\nfara-self\r\n)$/)
    })

    it('quirks on the wire: a bare LF is accepted; bytes sent with the name line are lost', async () => {
      expect(await raw(inetdPort, 'fara-plus\n')).toBe('+Go\r\n')
      // "early" rides in the same segment as the name: inetd reads it with the line and throws it away
      expect(await raw(inetdPort, 'fara-plus\r\nearly', 'late')).toBe('+Go\r\nlate')
    })
  })
})
