// A persistent rendezvous point survives SIGKILL: same key, same address, every acknowledged registration, public and private.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startFixture, stopAll } from './helpers/process.ts'

describe('persistent rendezvous point', () => {
  let dir: string

  beforeAll(async () => { dir = await mkdtemp(join(tmpdir(), 'fara-persist-')) })
  afterAll(async () => {
    await stopAll()
    await rm(dir, { recursive: true, force: true })
  })

  it('keeps its key and every live registration across a SIGKILL and restart', async () => {
    const dataDir = join(dir, 'point')
    const first = startFixture('point', { dataDir })
    const ready = await first.next(l => l.event === 'ready')
    const names = ['persist-a', 'persist-b']
    const secret = 'persisted-invite'
    const services = [
      ...names.map(name => startFixture('service', { point: ready.multiaddrs, name })),
      startFixture('service', { point: ready.multiaddrs, name: 'persist-private', secret })
    ]
    for (const s of services) await s.next(l => l.event === 'ready')

    // no clean shutdown: whatever was acknowledged must already be on disk
    first.child.kill('SIGKILL')
    await first.exited
    const second = startFixture('point', { dataDir, port: ready.port })
    const again = await second.next(l => l.event === 'ready')
    expect(again.peerId).toBe(ready.peerId)
    expect(again.multiaddrs).toEqual(ready.multiaddrs)

    // the services did not re-register (their refresh is minutes away): the records came from disk
    for (const target of [...names.map(name => ({ name })), { name: 'persist-private', secret }]) {
      const client = startFixture('client', { point: again.multiaddrs, ...target, bytes: 64 * 1024 })
      const done = await client.next(l => l.event === 'done' || l.event === 'error', 60_000)
      expect(done).toMatchObject({ event: 'done', receivedBytes: 64 * 1024 })
      expect(done.receivedSha256).toBe(done.sentSha256)
    }
  })
})
