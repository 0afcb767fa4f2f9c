import type { Rendezvous, RendezvousComponents, RendezvousFactory } from '@fara/rendezvous'

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
export function reportingRendezvous (base: RendezvousFactory, events: RegistrationEvents): RendezvousFactory {
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
    return {
      register: reported(rv.register.bind(rv)),
      resolve: rv.resolve.bind(rv),
      unregister: rv.unregister.bind(rv),
      ...(rv.registerPrivate == null ? {} : { registerPrivate: reported(rv.registerPrivate.bind(rv)) }),
      ...(rv.resolvePrivate == null ? {} : { resolvePrivate: rv.resolvePrivate.bind(rv) }),
      ...(rv.unregisterPrivate == null ? {} : { unregisterPrivate: rv.unregisterPrivate.bind(rv) }),
      ...(rv.revoke == null ? {} : { revoke: rv.revoke.bind(rv) })
    }
  }
  return Object.assign(factory, base.nodeServices == null ? {} : { nodeServices: base.nodeServices })
}
