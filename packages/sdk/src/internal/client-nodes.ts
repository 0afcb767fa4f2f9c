import { SPARE_NODE_DELAY_MS } from '../constants.ts'
import type { Libp2p, Logger } from '@libp2p/interface'

/** A dial-only node with its own fresh identity, and what it resolves through. */
export interface ClientNode<R> {
  node: Libp2p
  rendezvous: R
}

/**
 * The dial-only nodes that `connect()` uses, one per association, each with a
 * fresh identity (spec/architecture.md, invariant 4). Creating one (a key pair and a
 * libp2p node) takes about a millisecond of CPU, so one is kept ready: a
 * connect takes the spare, and asks for the next one ({@link refill}) once it
 * has its association; the spare is made a little later, so that making it
 * does not compete with the dial or the association's first exchange. `prepare` runs on every new node
 * (e.g. opening its connection to the rendezvous point ahead of a lookup).
 * A spare is only ever handed to one association, so keeping one ahead links
 * nothing.
 */
export class ClientNodes<R> {
  readonly #create: () => Promise<ClientNode<R>>
  readonly #prepare: (client: ClientNode<R>) => void
  readonly #log: Logger
  /** Every node made and not yet stopped, the spare included. */
  readonly #live = new Set<Libp2p>()
  #spare: Promise<ClientNode<R>> | undefined
  #refill: ReturnType<typeof setTimeout> | undefined
  #closed = false

  constructor (create: () => Promise<ClientNode<R>>, prepare: (client: ClientNode<R>) => void, log: Logger) {
    this.#create = create
    this.#prepare = prepare
    this.#log = log
  }

  /** A fresh node for one association: the spare if there is one, else a new one. */
  async take (): Promise<ClientNode<R>> {
    const spare = this.#spare
    this.#spare = undefined
    let client = spare == null ? undefined : await spare.catch(() => undefined)
    client ??= await this.#make()
    return client
  }

  /** Stop a node taken with {@link take} (its association is over). */
  release (node: Libp2p): void {
    if (!this.#live.delete(node)) return
    Promise.resolve(node.stop()).catch((err: unknown) => { this.#log.error('stopping client node failed - %e', err) })
  }

  async close (): Promise<void> {
    this.#closed = true
    clearTimeout(this.#refill)
    this.#spare = undefined
    const nodes = [...this.#live]
    this.#live.clear()
    await Promise.allSettled(nodes.map(async n => n.stop()))
  }

  async #make (): Promise<ClientNode<R>> {
    const client = await this.#create()
    if (this.#closed) {
      await client.node.stop()
      throw new Error('entity closed')
    }
    this.#live.add(client.node)
    return client
  }

  /** Make the next spare, {@link SPARE_NODE_DELAY_MS} from now. */
  refill (): void {
    if (this.#closed || this.#spare != null || this.#refill != null) return
    this.#refill = setTimeout(() => {
      this.#refill = undefined
      if (this.#closed || this.#spare != null) return
      const spare = this.#make()
      this.#spare = spare
      spare.then(client => { this.#prepare(client) }, (err: Error) => {
        if (this.#spare === spare) this.#spare = undefined
        if (!this.#closed) this.#log.error('making a spare client node failed - %e', err)
      })
    }, SPARE_NODE_DELAY_MS)
    this.#refill.unref()
  }
}
