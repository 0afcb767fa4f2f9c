/**
 * The libp2p inits that libp2p's transport compliance suite runs against:
 * the hopping TCP transport of @fara/port-hopping (with and without a
 * schedule) and plain @libp2p/tcp, each with Fara's connection protector when
 * @fara/transport exports it. Noise and Yamux as in libp2p's own TCP run.
 */
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { createHopParams, hopAddr, hopSchedules, hoppingTcp } from '@fara/port-hopping'
import { tcp } from '@libp2p/tcp'
import { TCP } from '@multiformats/multiaddr-matcher'
import type { TransportTestFixtures } from '@libp2p/interface-compliance-tests/transport'
import type { Libp2pInit } from 'libp2p'

/** What a run's libp2p inits share: the protector, if there is one. */
export interface Protection {
  /** Spread into every libp2p init of a run: `{ connectionProtector }`, or nothing. */
  init: Pick<Libp2pInit, 'connectionProtector'>
  /** For the run's name. */
  label: string
}

/**
 * Fara's connection protector (issue 14), `unobservable()` from
 * @fara/transport, if that package exports it; without it the runs are
 * unprotected. Each libp2p node calls the factory with its own components.
 */
export async function protection (): Promise<Protection> {
  const mod: Record<string, unknown> = await import('@fara/transport')
  const unobservable = mod.unobservable
  if (typeof unobservable !== 'function') return { init: {}, label: 'no protector (@fara/transport exports no unobservable)' }
  return { init: { connectionProtector: (unobservable as () => NonNullable<Libp2pInit['connectionProtector']>)() }, label: 'unobservable' }
}

const stack = { connectionEncrypters: [noise()], streamMuxers: [yamux()] }

/** Plain @libp2p/tcp, the run libp2p's own TCP package makes, with Fara's protector. */
export function plainTcp (protect: Protection): TransportTestFixtures {
  const dialer: Libp2pInit = { transports: [tcp()], ...stack, ...protect.init }
  return {
    dialer,
    listener: { ...dialer, addresses: { listen: ['/ip4/127.0.0.1/tcp/0', '/ip4/127.0.0.1/tcp/0'] } },
    dialMultiaddrMatcher: TCP,
    listenMultiaddrMatcher: TCP
  }
}

/** `hoppingTcp()` with no schedule on either side: plain TCP through the wrapper. */
export function hoppingPlain (protect: Protection): TransportTestFixtures {
  const dialer: Libp2pInit = { transports: [hoppingTcp()], ...stack, ...protect.init }
  return {
    dialer,
    listener: { ...dialer, addresses: { listen: ['/ip4/127.0.0.1/tcp/0', '/ip4/127.0.0.1/tcp/0'] } },
    dialMultiaddrMatcher: TCP,
    listenMultiaddrMatcher: TCP
  }
}

/** Two loopback hosts: one hopping listen address each (two on one host would hop onto the same ports). */
const HOP_HOSTS = ['127.0.0.1', '127.0.0.2']

/**
 * A hopping service: the listener hops on both hosts by one schedule
 * (default 30 s slots over 16384–32767) and, as the listener itself announces
 * nothing, announces the canonical hop address of each host, as a private
 * record would give it; the dialer holds the schedule for both hosts.
 */
export function hoppingScheduled (protect: Protection): TransportTestFixtures {
  const params = createHopParams()
  const schedules = hopSchedules()
  for (const host of HOP_HOSTS) schedules.set(host, params)
  return {
    dialer: { transports: [hoppingTcp({ schedules })], ...stack, ...protect.init },
    listener: {
      transports: [hoppingTcp({ listen: params })],
      ...stack,
      ...protect.init,
      addresses: {
        listen: HOP_HOSTS.map(host => `/ip4/${host}/tcp/0`),
        announce: HOP_HOSTS.map(host => hopAddr(host, params).toString())
      }
    },
    dialMultiaddrMatcher: TCP,
    listenMultiaddrMatcher: TCP
  }
}
