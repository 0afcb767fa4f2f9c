import type { Multiaddr } from '@multiformats/multiaddr'

/** Whether `addr` goes through a relay (has a `/p2p-circuit` part). */
export function isRelayed (addr: Multiaddr): boolean {
  return addr.getComponents().some(c => c.name === 'p2p-circuit')
}

/** The peer id of the relay in `…/p2p/<relay>/p2p-circuit/…`, or undefined for a direct address. */
export function relayIdOf (addr: Multiaddr): string | undefined {
  const components = addr.getComponents()
  const circuit = components.findIndex(c => c.name === 'p2p-circuit')
  if (circuit < 1) return undefined
  const relay = components[circuit - 1]
  return relay?.name === 'p2p' ? relay.value : undefined
}

/** The last `/p2p/` part of `addr`: the peer the address leads to. */
export function lastPeerOf (addr: Multiaddr): string | undefined {
  return addr.getComponents().findLast(c => c.name === 'p2p')?.value
}
