// The one place the SDK makes a libp2p node: the entity's own, and the
// dial-only client nodes `connect()` uses, one per association. Both dial
// relayed addresses, follow the hop schedules the connector learns from
// records, and carry the services the rendezvous backend needs; only the
// entity's own node listens, holds relay slots and hops.
import { createNode } from '@fara/transport'
import { hoppingTcp } from '@fara/port-hopping'
import type { DirectPathsInit, NodeInit } from '@fara/transport'
import type { HopEvent, HopParams, HopSchedules } from '@fara/port-hopping'
import type { RendezvousFactory } from '@fara/rendezvous'
import type { Libp2p } from '@libp2p/interface'

/** Which node: the entity's own (listens, may hold relay slots and hop ports), or a dial-only one with a fresh key for one association. */
export type NodeKind = 'entity' | 'client'

/** What every node of one entity shares. */
export interface NodeSettings {
  /** The hop schedules its dials follow: one book per entity, filled by the connector (`schedules.learn`). */
  schedules: HopSchedules
  /** The backend whose `nodeServices` every node that talks to it runs. */
  rendezvous: RendezvousFactory
  /** Direct paths (WebRTC, birthday punch), as given to `createEntity`. */
  direct?: DirectPathsInit
  /** Liveness checks, as given to `createEntity`. */
  liveness?: NodeInit['liveness']
}

/** Options of {@link buildNode}. */
export interface BuildNodeInit extends NodeSettings {
  /** The node's own key: the entity's, or a fresh one per client node. */
  privateKey: NodeInit['privateKey']
  /** `entity` only: TCP listen multiaddrs (default that of `createNode`). */
  listen?: string[]
  /** `entity` only: relays to hold a slot on. */
  relays?: string[]
  /** `entity` only: hop along this schedule, and report each move of the window to `onHop`. */
  hop?: { params: HopParams, onHop: (event: HopEvent) => void }
  /** `entity` only: abort the creation. */
  signal?: AbortSignal
}

/** Make a node of the entity; a `client` node listens on nothing, whatever `init` says. */
export async function buildNode (kind: NodeKind, init: BuildNodeInit): Promise<Libp2p> {
  const own = kind === 'entity'
  const hop = own ? init.hop : undefined
  return createNode({
    tcp: hop == null ? hoppingTcp({ schedules: init.schedules }) : reportingHops(hoppingTcp({ schedules: init.schedules, listen: hop.params }), hop.onHop),
    privateKey: init.privateKey,
    ...(!own ? { listen: [] } : init.listen == null ? {} : { listen: init.listen }),
    ...(!own || init.relays == null ? {} : { relays: init.relays }),
    // every node of an entity can reach a service that is only reachable through a relay
    dialRelayed: true,
    ...(init.direct == null ? {} : { direct: init.direct }),
    ...(init.liveness == null ? {} : { liveness: init.liveness }),
    ...(init.rendezvous.nodeServices == null ? {} : { services: init.rendezvous.nodeServices }),
    ...(!own || init.signal == null ? {} : { signal: init.signal })
  })
}

/** A hopping transport whose listeners report each move to `onHop`. */
function reportingHops (factory: ReturnType<typeof hoppingTcp>, onHop: (event: HopEvent) => void): ReturnType<typeof hoppingTcp> {
  return (components) => {
    const transport = factory(components)
    const createListener = transport.createListener.bind(transport)
    transport.createListener = (options) => {
      const listener = createListener(options)
      listener.addEventListener('hop', (evt) => { onHop(evt.detail) })
      return listener
    }
    return transport
  }
}
