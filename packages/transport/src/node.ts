import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { DEFAULT_LISTEN, ENTITY_CONNECTION_LIMITS, WELL_KNOWN_PORT_LIMIT } from './constants.ts'
import type { Libp2p, PrivateKey, ServiceMap } from '@libp2p/interface'
import type { ConnectionManagerInit, Libp2pOptions } from 'libp2p'

/** Options for {@link createNode}. */
export interface NodeInit<S extends ServiceMap = ServiceMap> {
  /** The entity's own key: one node, one key, one application. */
  privateKey: PrivateKey
  /** TCP listen multiaddrs; port 0 (OS-assigned) unless `allowPinnedPort` (default {@link DEFAULT_LISTEN}). Pass `[]` for a dial-only node. */
  listen?: string[]
  /** Allow a fixed listening port at or above 1024, for a rendezvous point behind a firewall rule (default false). */
  allowPinnedPort?: boolean
  /** Connection-manager overrides (default {@link ENTITY_CONNECTION_LIMITS}). */
  connectionManager?: ConnectionManagerInit
  /** libp2p services to run on this node (the rendezvous point is one). */
  services?: Libp2pOptions<S>['services']
}

/**
 * Check listen addresses: only TCP, never a well-known port, and port 0 unless
 * pinning is allowed. Throws a RangeError that names the offending address.
 */
export function checkListenAddrs (addrs: string[], allowPinnedPort = false): void {
  for (const addr of addrs) {
    let components
    try {
      components = multiaddr(addr).getComponents()
    } catch (err) {
      throw new RangeError(`listen address ${JSON.stringify(addr)} is not a multiaddr: ${(err as Error).message}`)
    }
    const tcpPart = components.find(c => c.name === 'tcp')
    if (tcpPart == null) {
      throw new RangeError(`listen address ${addr} has no /tcp/ part`)
    }
    const port = Number(tcpPart.value)
    if (port === 0) continue
    if (port < WELL_KNOWN_PORT_LIMIT) {
      throw new RangeError(`listen address ${addr} uses well-known port ${port}; Fara never listens below ${WELL_KNOWN_PORT_LIMIT}`)
    }
    if (!allowPinnedPort) {
      throw new RangeError(`listen address ${addr} pins port ${port}; use port 0 (OS-assigned) or set allowPinnedPort`)
    }
  }
}

/**
 * Create and start one libp2p node for one entity: TCP on an OS-assigned
 * port, Noise, Yamux, and connection limits set on purpose. No identify, no
 * ping, no discovery: the node says nothing it does not have to.
 */
export async function createNode<S extends ServiceMap = ServiceMap> (init: NodeInit<S>): Promise<Libp2p<S>> {
  if (init?.privateKey == null) {
    throw new TypeError('privateKey is required: every entity has its own key')
  }
  const listen = init.listen ?? DEFAULT_LISTEN
  if (!Array.isArray(listen)) {
    throw new TypeError('listen must be an array of multiaddr strings')
  }
  checkListenAddrs(listen, init.allowPinnedPort)
  const options: Libp2pOptions<S> = {
    privateKey: init.privateKey,
    addresses: { listen },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionManager: { ...ENTITY_CONNECTION_LIMITS, ...init.connectionManager },
    connectionMonitor: { enabled: false }
  }
  if (init.services != null) {
    options.services = init.services
  }
  return createLibp2p(options)
}
