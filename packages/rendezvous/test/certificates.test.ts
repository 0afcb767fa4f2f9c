// Names that outlive application keys: records certified by a device key,
// rotation, revocation and self-certifying names, on both backends.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { createKeystore, selfCertifyingName } from '@fara/identity'
import { createNode } from '@fara/transport'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createRecord, createRendezvousPoint, memoryRendezvous, rendezvousPoint } from '../src/index.ts'
import type { Rendezvous, RendezvousPointHandle } from '../src/index.ts'
import type { Keystore } from '@fara/identity'
import type { Libp2p } from '@libp2p/interface'

const FAST_KDF = { N: 2 ** 10, r: 8, p: 1 }
const addrs = ['/ip4/127.0.0.1/tcp/40001']
const aid = new Uint8Array(8).fill(7)

const backends: Array<[string, () => Promise<{ rv: Rendezvous, close: () => Promise<void> }>]> = [
  ['memory', async () => {
    const node = await createNode({ privateKey: await generateKeyPair('Ed25519'), listen: [] })
    return { rv: memoryRendezvous()({ node }), close: async () => { await node.stop() } }
  }],
  ['rendezvous point', async () => {
    const point: RendezvousPointHandle = await createRendezvousPoint({ listen: ['/ip4/127.0.0.1/tcp/0'] })
    const node: Libp2p = await createNode({ privateKey: await generateKeyPair('Ed25519'), listen: [] })
    return { rv: rendezvousPoint(point.multiaddrs)({ node }), close: async () => { await node.stop(); await point.close() } }
  }]
]

for (const [backend, setup] of backends) {
  describe(`certified records (${backend})`, () => {
    let dir: string
    let rv: Rendezvous
    let close: () => Promise<void>
    let device: Keystore
    let other: Keystore

    beforeEach(async () => {
      dir = await mkdtemp(join(tmpdir(), 'fara-certs-'))
      device = await createKeystore(join(dir, 'a'), { passphrase: 'pw', kdf: FAST_KDF })
      other = await createKeystore(join(dir, 'b'), { passphrase: 'pw', kdf: FAST_KDF })
      ;({ rv, close } = await setup())
    })

    afterEach(async () => {
      await close()
      await rm(dir, { recursive: true, force: true })
    })

    it('keeps a name across an application key rotation, and refuses it to another device', async () => {
      const gen0 = await device.app('mail')
      await rv.register(await createRecord(gen0.privateKey, { name: 'mail', addrs, aid, certificate: gen0.certificate }))
      const gen1 = await device.rotate('mail')
      expect(gen1.publicKey.equals(gen0.publicKey)).toBe(false)
      await rv.register(await createRecord(gen1.privateKey, { name: 'mail', addrs, aid, certificate: gen1.certificate }))
      const got = await rv.resolve('mail')
      expect(got.publicKey.equals(gen1.publicKey)).toBe(true)
      expect(got.owner.equals(device.device.publicKey)).toBe(true)
      expect(got.certificate?.generation).toBe(1)
      const intruder = await other.app('mail')
      await expect(rv.register(await createRecord(intruder.privateKey, { name: 'mail', addrs, aid, certificate: intruder.certificate }))).rejects.toMatchObject({ name: 'NameTakenError' })
      // an uncertified key cannot take it either
      await expect(rv.register(await createRecord(await generateKeyPair('Ed25519'), { name: 'mail', addrs, aid }))).rejects.toMatchObject({ name: 'NameTakenError' })
    })

    it('refuses and drops records whose certificate the device revoked', async () => {
      const gen0 = await device.app('mail')
      await rv.register(await createRecord(gen0.privateKey, { name: 'mail', addrs, aid, certificate: gen0.certificate }))
      await device.rotate('mail')
      await rv.revoke!(await device.revoke('mail', 1))
      await expect(rv.resolve('mail')).rejects.toMatchObject({ name: 'NameNotFoundError' })
      await expect(rv.register(await createRecord(gen0.privateKey, { name: 'mail', addrs, aid, certificate: gen0.certificate }))).rejects.toMatchObject({ name: 'RevokedError' })
    })

    it('refuses a certificate that names another application key', async () => {
      const gen0 = await device.app('mail')
      const stranger = await generateKeyPair('Ed25519')
      await expect(rv.register(await createRecord(stranger, { name: 'mail', addrs, aid, certificate: gen0.certificate }))).rejects.toMatchObject({ name: 'InvalidRecordError' })
    })

    it('serves a self-certifying name only for the key it names', async () => {
      const app = await device.app('chat')
      const name = selfCertifyingName('chat', device.device.publicKey)
      await rv.register(await createRecord(app.privateKey, { name, addrs, aid, certificate: app.certificate }))
      expect((await rv.resolve(name)).owner.equals(device.device.publicKey)).toBe(true)
      // another device's certified key, or a bare key, cannot even register it
      const intruder = await other.app('chat')
      await expect(rv.register(await createRecord(intruder.privateKey, { name, addrs, aid, certificate: intruder.certificate }))).rejects.toMatchObject({ name: 'InvalidRecordError' })
      await expect(rv.register(await createRecord(await generateKeyPair('Ed25519'), { name, addrs, aid }))).rejects.toMatchObject({ name: 'InvalidRecordError' })
    })
  })
}
