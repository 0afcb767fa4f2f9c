import { RecordStore } from './store.ts'
import { assertLookupKey, assertServiceName } from './record.ts'
import type { RecordStoreInit } from './store.ts'
import type { Rendezvous, RendezvousFactory } from './rendezvous.ts'
import type { AbortOptions } from '@libp2p/interface'

function check (options?: AbortOptions): void {
  options?.signal?.throwIfAborted()
}

/**
 * An in-memory rendezvous: the embedded default, and a test helper. Every
 * entity built from the same factory shares one store.
 *
 * @example
 * ```ts
 * const rendezvous = memoryRendezvous()
 * const a = await createEntity({ app: 'a', rendezvous })
 * const b = await createEntity({ app: 'b', rendezvous })
 * ```
 */
export function memoryRendezvous (init: RecordStoreInit = {}): RendezvousFactory {
  const store = new RecordStore(init)
  const rendezvous: Rendezvous = {
    async register (record, options) {
      check(options)
      await store.put(record)
    },
    async resolve (name, options) {
      assertServiceName(name)
      check(options)
      return store.get(name)
    },
    async unregister (tombstone, options) {
      check(options)
      await store.remove(tombstone)
    },
    async registerPrivate (record, options) {
      check(options)
      await store.putPrivate(record)
    },
    async resolvePrivate (lookupKey, options) {
      assertLookupKey(lookupKey)
      check(options)
      return store.getPrivate(lookupKey)
    },
    async unregisterPrivate (tombstone, options) {
      check(options)
      await store.removePrivate(tombstone)
    },
    async revoke (revocation, options) {
      check(options)
      await store.revoke(revocation)
    }
  }
  return () => rendezvous
}
