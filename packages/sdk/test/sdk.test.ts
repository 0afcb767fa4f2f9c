import { createHash, randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createKeystore, openKeystore } from '@fara/identity'
import { pipeline } from 'node:stream/promises'
import { Readable, Writable } from 'node:stream'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { pipe } from 'it-pipe'
import { createRecord } from '@fara/rendezvous'
import { describe, expect, it } from 'vitest'
import { readAll } from '@fara/testkit'
import { createEntity, memoryRendezvous } from '../src/index.ts'
import { echo } from './echo.ts'
import { entityPool, LOOPBACK } from './entities.ts'
import type { Entity, RendezvousFactory } from '../src/index.ts'

describe('sdk', () => {
  const pool = entityPool()
  const { entity } = pool

  it('connects by name and echoes data', async () => {
    const server = await entity('echo')
    await server.serve('echo', echo)
    const client = await entity('client', [])
    const association = await client.connect('echo')
    const payload = randomBytes(300_000)
    association.send(payload)
    await association.close()
    const got = await readAll(association)
    expect(createHash('sha256').update(got).digest('hex')).toBe(createHash('sha256').update(payload).digest('hex'))
    expect(association.remoteAid).toHaveLength(8)
    expect(association.remotePeer.equals(server.peerId)).toBe(true)
  })

  it('gives the client a fresh identity for every association unless it asks for a stable one', async () => {
    const server = await entity('whoami')
    const seen: string[] = []
    await server.serve('whoami', async (a) => { seen.push(a.remotePeer.toString()); await a.close() })
    const client = await entity('client', [])
    for (let i = 0; i < 2; i++) {
      const a = await client.connect('whoami')
      await a.close()
      await readAll(a)
    }
    const stable = await client.connect('whoami', { stableIdentity: true })
    await stable.close()
    await readAll(stable)
    expect(seen).toHaveLength(3)
    expect(seen[0]).not.toBe(seen[1])
    expect(seen[0]).not.toBe(client.peerId.toString())
    expect(seen[2]).toBe(client.peerId.toString())
  })

  it('gives each application its own key and a different random port', async () => {
    const a = await entity('app-a')
    const b = await entity('app-b')
    expect(a.peerId.equals(b.peerId)).toBe(false)
    const port = (e: Entity): number => Number(e.multiaddrs[0]?.getComponents().find(c => c.name === 'tcp')?.value)
    expect(port(a)).toBeGreaterThanOrEqual(1024)
    expect(port(a)).not.toBe(port(b))
  })

  it('rejects an unknown name with NameNotFoundError', async () => {
    const client = await entity('client', [])
    await expect(client.connect('nobody-here')).rejects.toMatchObject({ name: 'NameNotFoundError' })
  })

  it('refuses to connect when the key at the address is not the key in the record', async () => {
    const real = await entity('real')
    const mallory = await generateKeyPair('Ed25519')
    // a validly signed record that points at another entity's address
    const record = await createRecord(mallory, { name: 'spoofed', addrs: real.multiaddrs, aid: new Uint8Array(8) })
    const client = await entity('client', [])
    await pool.rendezvous({ node: client.node }).register(record)
    await expect(client.connect('spoofed')).rejects.toMatchObject({ name: 'PeerMismatchError' })
  })

  it('stops serving a name once its service is closed', async () => {
    const server = await entity('gone')
    const service = await server.serve('gone', echo)
    await service.close()
    const client = await entity('client', [])
    await expect(client.connect('gone')).rejects.toMatchObject({ name: 'NameNotFoundError' })
  })

  it('refuses to serve one name twice on one entity', async () => {
    const server = await entity('twice')
    await server.serve('twice', echo)
    await expect(server.serve('twice', echo)).rejects.toMatchObject({ name: 'AlreadyServingError' })
  })

  it('keeps serving after a handler throws', async () => {
    const server = await entity('flaky')
    let calls = 0
    await server.serve('flaky', async (a) => {
      if (calls++ === 0) throw new Error('handler bug')
      await echo(a)
    })
    const client = await entity('client', [])
    const first = await client.connect('flaky')
    await expect(readAll(first)).rejects.toMatchObject({ name: 'AssociationResetError' })
    const second = await client.connect('flaky')
    second.send(Buffer.from('ok'))
    await second.close()
    expect((await readAll(second)).toString()).toBe('ok')
  })

  it('composes with it-pipe as a { source, sink } duplex', async () => {
    const server = await entity('upper')
    // echo through a transform, it-pipe style
    await server.serve('upper', async (a) => {
      await pipe(a, async function * (source) {
        for await (const chunk of source) yield Buffer.from(chunk).toString().toUpperCase()
      }, async function * (source) {
        for await (const text of source) yield Buffer.from(text)
      }, a)
    })
    const client = await entity('client', [])
    const association = await client.connect('upper')
    const [, got] = await Promise.all([
      pipe([Buffer.from('hello '), Buffer.from('pipes')], association),
      readAll(association)
    ])
    expect(got.toString()).toBe('HELLO PIPES')
  })

  it('works as a Node.js duplex', async () => {
    const server = await entity('duplex')
    await server.serve('duplex', async (a) => { await pipeline(a.toDuplex(), a.toDuplex()) })
    const client = await entity('client', [])
    const association = await client.connect('duplex')
    const payload = randomBytes(1 << 20)
    const chunks: Buffer[] = []
    const duplex = association.toDuplex()
    await Promise.all([
      pipeline(Readable.from([payload]), duplex),
      pipeline(duplex, new Writable({ write (chunk: Buffer, _e, cb) { chunks.push(chunk); cb() } }))
    ])
    expect(Buffer.concat(chunks).equals(payload)).toBe(true)
  })

  it('re-registers its record before it expires, and keeps retrying after failures', async () => {
    const inner = memoryRendezvous()
    const registered: number[] = []
    let fail = 0
    let third!: () => void
    const thirdRegistration = new Promise<void>(resolve => { third = resolve })
    // a rendezvous that refuses the first refresh and the first retry, then works again
    const flaky: RendezvousFactory = (components) => {
      const rv = inner(components)
      return {
        ...rv,
        register: async (record, options) => {
          if (registered.length >= 1 && fail < 2) { fail++; throw new Error('rendezvous down') }
          await rv.register(record, options)
          registered.push(Date.now())
          if (registered.length === 3) third()
        }
      }
    }
    const server = await createEntity({ app: 'refresh', rendezvous: flaky, listen: LOOPBACK })
    pool.track(server)
    const service = await server.serve('refresh', echo, { ttl: 1_000 })
    const first = service.record!
    await thirdRegistration
    expect(fail).toBe(2)
    const now = await inner({ node: server.node }).resolve('refresh')
    expect(now.seq).toBeGreaterThan(first.seq)
    expect(now.expires).toBeGreaterThan(first.expires)
  })

  it('keeps its name across an application key rotation with an encrypted keystore', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fara-sdk-keystore-'))
    try {
      const { rendezvous } = pool
      const keystore = { dir, passphrase: 'pw' }
      await createKeystore(dir, { passphrase: 'pw', kdf: { N: 2 ** 10, r: 8, p: 1 } })
      const first = await createEntity({ app: 'mail', rendezvous, keystore, listen: LOOPBACK })
      await first.serve('mail', echo)
      // the entity stops without withdrawing (a crash); its record stays live until it expires
      await first.node.stop()
      await (await openKeystore(dir, { passphrase: 'pw' })).rotate('mail')
      const second = await createEntity({ app: 'mail', rendezvous, keystore, listen: LOOPBACK })
      pool.track(second)
      expect(second.peerId.equals(first.peerId)).toBe(false)
      const service = await second.serve('mail', echo)
      const client = await entity('client', [])
      const a = await client.connect('mail')
      await a.close()
      await readAll(a)
      expect(a.remotePeer.equals(second.peerId)).toBe(true)
      // another device cannot take the name
      const intruder = await entity('mail')
      await expect(intruder.serve('mail', echo)).rejects.toMatchObject({ name: 'NameTakenError' })
      // the certified key withdraws the name with a certified tombstone
      await service.close()
      await expect(client.resolve('mail')).rejects.toMatchObject({ name: 'NameNotFoundError' })
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('throws EntityClosedError after close and validates its arguments', async () => {
    const e = await entity('closing')
    await expect(e.serve('closing', 'nope' as never)).rejects.toThrow(TypeError)
    await expect(e.serve('Bad Name!', echo)).rejects.toThrow(RangeError)
    await e.close()
    await expect(e.connect('x')).rejects.toMatchObject({ name: 'EntityClosedError' })
  })
})
