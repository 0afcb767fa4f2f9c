import type { PrivateRendezvous, Rendezvous, RendezvousComponents, RendezvousFactory } from '@fara/rendezvous'

/** Told about every registration the entity makes after it started serving. */
export interface RegistrationEvents {
  registered: () => void
  failed: (err: Error) => void
}

/**
 * A rendezvous that reports each registration (public or private) to
 * `events`: the SDK re-registers on its own (refresh, new address, relay slot
 * restored, retries with backoff), and this is how the command sees it.
 */
export async function reportingRendezvous (base: RendezvousFactory, events: RegistrationEvents): Promise<RendezvousFactory> {
  // loaded on first use, as the SDK is (lazy.ts)
  const { supportsPrivate } = await import('@fara/rendezvous')
  const factory = (components: RendezvousComponents): Rendezvous => {
    const rv = base(components)
    const reported = <A extends unknown[]>(call: (...a: A) => Promise<void>) => async (...a: A): Promise<void> => {
      try {
        await call(...a)
      } catch (err) {
        events.failed(err as Error)
        throw err
      }
      events.registered()
    }
    const wrapped: Rendezvous = {
      register: reported(rv.register.bind(rv)),
      resolve: rv.resolve.bind(rv),
      unregister: rv.unregister.bind(rv),
      ...(rv.revoke == null ? {} : { revoke: rv.revoke.bind(rv) })
    }
    if (!supportsPrivate(rv)) return wrapped
    const privately: PrivateRendezvous = {
      ...wrapped,
      registerPrivate: reported(rv.registerPrivate.bind(rv)),
      resolvePrivate: rv.resolvePrivate.bind(rv),
      unregisterPrivate: rv.unregisterPrivate.bind(rv)
    }
    return privately
  }
  return Object.assign(factory, base.nodeServices == null ? {} : { nodeServices: base.nodeServices })
}
