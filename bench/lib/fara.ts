// Fara as a user would use it in the bench: names, a record cache.
import type { Rendezvous, RendezvousFactory, ServiceRecord } from '@fara/sdk'

/** The names the bench's services register. */
export const NAMES = {
  sink: 'bench-sink',
  echo: 'bench-echo',
  relayedSink: 'bench-sink-relayed',
  hopSink: 'bench-sink-hop'
} as const

/**
 * A user-side record cache around a rendezvous: the first resolve of a name
 * asks the backend, later ones return the verified record already held (until
 * it expires). This is what "connect with a cached record" measures: the SDK
 * itself resolves on every connect.
 */
export function cachedRendezvous (base: RendezvousFactory): RendezvousFactory & { clear: () => void } {
  const cache = new Map<string, ServiceRecord>()
  const factory = (components: Parameters<RendezvousFactory>[0]): Rendezvous => {
    const rv = base(components)
    return {
      register: rv.register.bind(rv),
      unregister: rv.unregister.bind(rv),
      async resolve (name, options) {
        const held = cache.get(name)
        if (held != null && held.expires > Date.now()) return held
        const record = await rv.resolve(name, options)
        cache.set(name, record)
        return record
      }
    }
  }
  return Object.assign(factory, {
    clear: () => { cache.clear() },
    ...(base.nodeServices == null ? {} : { nodeServices: base.nodeServices })
  })
}
