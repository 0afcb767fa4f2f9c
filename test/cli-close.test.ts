// Ctrl-C ends associations at once (issue 16): an entity that closes on purpose
// aborts its live associations with a reason, so the other side learns it
// immediately (AssociationResetError) instead of waiting 30 s for a resumption
// that cannot come (ResumeFailedError). Real processes: `fara rendezvous`,
// `fara serve` in front of an endless TCP source, `fara connect --listen`, and a
// TCP client reading through it; then SIGINT to one side.
import { once } from 'node:events'
import { mkdtemp, rm } from 'node:fs/promises'
import { connect as tcpConnect, createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startFara, stopAllPrograms } from './fixtures/cli-process.ts'
import type { Program } from './fixtures/cli-process.ts'
import type { AddressInfo, Server, Socket } from 'node:net'

describe('SIGINT ends the associations it carries, with a reason the other side sees at once', () => {
  let dir: string
  let env: Record<string, string>
  let source: Server
  let sourcePort: number
  const backends = new Set<Socket>()

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fara-cli-close-'))
    env = { PATH: process.env.PATH ?? '', HOME: dir, XDG_CONFIG_HOME: join(dir, 'config'), FARA_KEYSTORE: join(dir, 'keys') }
    const point = startFara('fara rendezvous', ['rendezvous', '--data-dir', join(dir, 'rv'), '--listen', '/ip4/127.0.0.1/tcp/0', '--json'], env)
    env.FARA_RENDEZVOUS = ((await point.event('ready')).multiaddrs as string[]).join(',')
    // an endless download: writes as fast as the reader takes it, until the connection goes
    source = createServer((socket) => {
      backends.add(socket)
      socket.on('error', () => {})
      socket.on('close', () => { backends.delete(socket) })
      const chunk = Buffer.alloc(64 * 1024, 7)
      const pump = (): void => { while (!socket.destroyed && socket.write(chunk)) { /* until the buffer is full */ } }
      socket.on('drain', pump)
      pump()
    })
    source.listen(0, '127.0.0.1')
    await once(source, 'listening')
    sourcePort = (source.address() as AddressInfo).port
  })

  afterAll(async () => {
    await stopAllPrograms()
    source?.close()
    for (const s of backends) s.destroy()
    await rm(dir, { recursive: true, force: true })
  })

  /** serve + connect + a client that has read some of the download. */
  async function downloading (name: string): Promise<{ serve: Program, connect: Program, client: Socket }> {
    const serve = startFara(`fara serve ${name}`, ['serve', name, '--forward', `127.0.0.1:${sourcePort}`, '--listen', '/ip4/127.0.0.1/tcp/0', '--json'], env)
    await serve.event('registered')
    const connect = startFara(`fara connect ${name}`, ['connect', name, '--listen', '127.0.0.1:0', '--json'], env)
    const port = (await connect.event('listening')).port as number
    const client = tcpConnect({ host: '127.0.0.1', port })
    client.on('error', () => {})
    await once(client, 'data') // bytes flow end to end
    await serve.event('association')
    return { serve, connect, client }
  }

  it('SIGINT to `fara serve` mid-download: `fara connect` reports the association reset by the service, and the client is closed', async () => {
    const { serve, connect, client } = await downloading('stream-a')
    const clientClosed = new Promise(resolve => { client.once('close', resolve) })
    expect(await serve.stop('SIGINT')).toBe(130)
    const failed = await connect.event('connection-failed', undefined, 20_000)
    expect(failed.error, connect.transcript()).toBe('AssociationResetError')
    await clientClosed
    await connect.stop()
  })

  it('SIGINT to `fara connect` mid-download: `fara serve` reports the association reset by the client and closes the backend connection', async () => {
    const { serve, connect } = await downloading('stream-b')
    expect(backends.size).toBeGreaterThan(0)
    const backendClosed = Promise.all([...backends].map(async s => { if (!s.destroyed) await new Promise(resolve => { s.once('close', resolve) }) }))
    expect(await connect.stop('SIGINT')).toBe(130)
    const closed = await serve.event('closed', j => j.error != null, 20_000)
    expect(closed.error, serve.transcript()).toBe('AssociationResetError')
    await backendClosed
    await serve.stop()
  })
})
