import { identify } from '@libp2p/identify'
import { serviceCapabilities } from '@libp2p/interface'
import type { Identify, IdentifyComponents } from '@libp2p/identify'
import type { Connection, IdentifyResult, NewStreamOptions } from '@libp2p/interface'

/**
 * Identify that asks only when called and answers nobody.
 *
 * `@libp2p/circuit-relay-v2`'s transport declares identify as a required
 * capability (for its relay discovery, which Fara does not use: relays are
 * configured), so createLibp2p refuses a node with the relay transport and no
 * identify. Fara's relay path needs no identify at all: the reservation and
 * the circuit are opened on protocols the relay is known to speak. So this
 * service registers no handler (nobody can ask the node for its addresses,
 * protocols or agent version), does not run on new connections, and only
 * queries a peer if some code calls {@link QuietIdentify.identify}.
 */
class QuietIdentify {
  readonly [serviceCapabilities] = ['@libp2p/identify']
  readonly [Symbol.toStringTag] = '@fara/quiet-identify'
  readonly #identify: Identify

  constructor (components: IdentifyComponents) {
    // not started: starting would register the /ipfs/id/1.0.0 handler
    this.#identify = identify({ runOnConnectionOpen: false })(components)
  }

  async identify (connection: Connection, options?: NewStreamOptions): Promise<IdentifyResult> {
    return this.#identify.identify(connection, options)
  }
}

/** The identify capability without identify's answers: see {@link QuietIdentify}. */
export function quietIdentify (): (components: IdentifyComponents) => Identify {
  return (components) => new QuietIdentify(components)
}
