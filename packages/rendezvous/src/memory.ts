import { RecordStore } from './store.ts'
import { assertServiceName } from '@fara/identity'
import { assertLookupKey } from './record.ts'
import type { RecordStoreInit } from './store.ts'
import type { PrivateRendezvous, RendezvousFactory } from './rendezvous.ts'
import type { AbortOptions } from '@libp2p/interface'

function check (options?: AbortOptions): void {
  options?.signal?.throwIfAborted()
}

/**
 * An in-memory rendezvous: the embedded default, and a test helper. Every
 * entity built from the same factory shares one store.
 *
 * The backend's calls reject as every backend's do (the store's rules,
 * spec/rendezvous.md); the factory itself only checks `init`.
 *
 * @example
 * ```ts
 * import { memoryRendezvous } from '@fara/rendezvous'
 * import { createEntity } from '@fara/sdk'
 *
 * const rendezvous = memoryRendezvous() // one store, shared by every entity given this factory
 * const server = await createEntity({ app: 'echo', rendezvous, listen: ['/ip4/127.0.0.1/tcp/0'] })
 * await server.serve('echo', async (association) => { await association.close() })
 * const client = await createEntity({ app: 'echo-client', rendezvous, listen: [] })
 * console.log((await client.resolve('echo')).peerId.toString()) // the server's key
 * await Promise.all([client.close(), server.close()])
 * ```
 *
 * @throws {@link NameNotFoundError} when `resolve` (or `unregister`) finds no live record for the name.
 * @throws {@link NameTakenError} when `register` meets a live record for the name held by another key.
 * @throws {@link StaleRecordError} when a record or tombstone is not newer than the one stored, or was withdrawn.
 * @throws {@link InvalidSignatureError} when a record is not signed by the key it names.
 * @throws {@link InvalidRecordError} when a record breaks a field rule (name, key, addresses, AId, lifetime, certificate).
 * @throws {@link ExpiredRecordError} when a record (or its certificate) has expired.
 * @throws {@link RecordTooLargeError} when a record is larger than {@link @fara/rendezvous!constants.MAX_RECORD_BYTES | MAX_RECORD_BYTES}.
 * @throws {@link RevokedError} when a record's certificate was revoked by its device key.
 * @throws {@link TooManyRegistrationsError} when the key already holds `maxRecordsPerKey` names.
 * @throws {@link StoreFullError} when the store holds `maxRecords` records.
 * @throws `RangeError` when a limit in `init` is not a positive integer, or a name is not a service name.
 */
export function memoryRendezvous (init: RecordStoreInit = {}): RendezvousFactory<PrivateRendezvous> {
  const store = new RecordStore(init)
  const rendezvous: PrivateRendezvous = {
    async register (record, options) {
      check(options)
      await store.put(record, options)
    },
    async resolve (name, options) {
      assertServiceName(name)
      check(options)
      return store.get(name)
    },
    async unregister (tombstone, options) {
      check(options)
      await store.remove(tombstone, options)
    },
    async registerPrivate (record, options) {
      check(options)
      await store.putPrivate(record, options)
    },
    async resolvePrivate (lookupKey, options) {
      assertLookupKey(lookupKey)
      check(options)
      return store.getPrivate(lookupKey)
    },
    async unregisterPrivate (tombstone, options) {
      check(options)
      await store.removePrivate(tombstone, options)
    },
    async revoke (revocation, options) {
      check(options)
      await store.revoke(revocation, options)
    }
  }
  return () => rendezvous
}
