// Ordinary TCP clients (OpenBSD nc, socat) against Fara's TCPMUX server:
// they know nothing of TCPMUX beyond typing the name line.
import { spawn, spawnSync } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTcpmuxServer } from '@fara/tcpmux'
import type { TcpmuxServer } from '@fara/tcpmux'

const hasNc = spawnSync('sh', ['-c', 'command -v nc']).status === 0
const hasSocat = spawnSync('socat', ['-V']).status === 0
const missing = [hasNc ? '' : 'nc (netcat-openbsd)', hasSocat ? '' : 'socat'].filter(Boolean).join(' and ')
if (missing !== '') {
  if (process.env.FARA_REQUIRE_DAEMONS === '1') throw new Error(`TCPMUX client tests required (FARA_REQUIRE_DAEMONS=1) but ${missing} missing`)
  console.warn(`SKIPPING TCPMUX nc/socat tests: ${missing} missing`)
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex')

/** Run `argv` with `input` on stdin (then EOF); its stdout once it exits. */
async function run (argv: string[], input: Buffer | string): Promise<{ code: number | null, stdout: Buffer }> {
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'inherit'] })
  const chunks: Buffer[] = []
  child.stdout.on('data', (c: Buffer) => chunks.push(c))
  child.stdin.end(input)
  const code = await new Promise<number | null>(resolve => child.once('exit', resolve))
  return { code, stdout: Buffer.concat(chunks) }
}

describe.skipIf(missing !== '')('nc and socat against Fara\'s TCPMUX server', () => {
  let server: TcpmuxServer
  let port: number
  // -N: shut the socket down for writing at EOF on stdin, then read until the server closes
  const nc = (input: string): Promise<{ code: number | null, stdout: Buffer }> => run(['nc', '-N', '127.0.0.1', String(port)], input)

  beforeAll(async () => {
    server = createTcpmuxServer({ host: '127.0.0.1', port: 0, help: true })
    server.register('echo', (socket) => { socket.pipe(socket) })
    server.register('Daytime', (socket) => { socket.end('Tue Nov 24 16:00:00 2026\r\n') })
    await server.listen()
    port = server.address!.port
  })

  afterAll(async () => { await server?.close() })

  it('nc: the name line and data in one packet get + and the echo of every byte after the line', async () => {
    const { code, stdout } = await nc('echo\r\nhello from nc')
    expect(code).toBe(0)
    expect(stdout.toString('latin1')).toBe('+\r\nhello from nc')
  })

  it('nc: a bare LF and another case work too', async () => {
    expect((await nc('ECHO\nhi')).stdout.toString('latin1')).toBe('+\r\nhi')
    expect((await nc('daytime\r\n')).stdout.toString('latin1')).toBe('+\r\nTue Nov 24 16:00:00 2026\r\n')
  })

  it('nc: an unknown name gets -Service not available and the connection is closed', async () => {
    const { code, stdout } = await nc('nosuch\r\n')
    expect(code).toBe(0)
    expect(stdout.toString('latin1')).toBe('-Service not available\r\n')
  })

  it('nc: HELP (turned on here) lists the names, one per line', async () => {
    expect((await nc('help\r\n')).stdout.toString('latin1')).toBe('echo\r\nDaytime\r\n')
  })

  it('socat: 1 MiB after the name line comes back intact', async () => {
    const data = randomBytes(1024 * 1024)
    // -t 30: after stdin's EOF, wait up to 30 s for the server to finish (it closes as soon as the echo is done)
    const { code, stdout } = await run(['socat', '-t', '30', '-', 'TCP:127.0.0.1:' + String(port)], Buffer.concat([Buffer.from('echo\r\n'), data]))
    expect(code).toBe(0)
    expect(stdout.subarray(0, 3).toString('latin1')).toBe('+\r\n')
    expect(stdout.length).toBe(3 + data.length)
    expect(sha(stdout.subarray(3))).toBe(sha(data))
  })

  it('socat: a line longer than the bound is refused and the server keeps serving', async () => {
    const { stdout } = await run(['socat', '-t', '30', '-', 'TCP:127.0.0.1:' + String(port)], `${'x'.repeat(10_000)}\r\n`)
    expect(stdout.toString('latin1')).toBe('-Request line too long\r\n')
    expect((await nc('echo\r\nagain')).stdout.toString('latin1')).toBe('+\r\nagain')
  })
})
