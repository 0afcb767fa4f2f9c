// One worker process of a rendezvous point with several (spec/rendezvous.md#workers),
// forked by its primary through node:cluster: a libp2p node with the point's key on
// the point's shared listening socket, which serves the point's protocols and
// forwards every request, batched, to the primary that answers them all.
import { privateKeyFromProtobuf } from '@libp2p/crypto/keys'
import { createNode } from '@fara/transport'
import { RENDEZVOUS_CONNECTION_LIMITS } from '@fara/transport/constants'
import { Socket } from 'node:net'
import { handleProtocols, unhandleProtocols } from './serve.ts'
import { LINK_FD } from './cluster.ts'
import { HELLO_CHECK, Link, VERDICTS, helloParts, requestParts } from './link.ts'
import type { FromWorker, ToWorker, WorkerConfig } from './cluster.ts'
import type { Sender } from './answerer.ts'
import type { ServeBackend } from './serve.ts'
import type { ComponentLogger, Libp2p, Startable } from '@libp2p/interface'
import type { ReplayMemory, ReplayVerdict } from '@fara/transport'
import type { Registrar } from '@libp2p/interface-internal'

function send (msg: FromWorker): void {
  if (process.connected) process.send!(msg)
}

/** Requests go to the primary over the link, one write per turn of the event loop; answers come back the same way. */
class Forwarder implements ServeBackend {
  #next = 0
  readonly #pending = new Map<number, (answer: Uint8Array) => void>()
  readonly #link = new Link(new Socket({ fd: LINK_FD, readable: true, writable: true }), (id, body) => {
    const resolve = this.#pending.get(id)
    this.#pending.delete(id)
    resolve?.(body)
  })

  admit (): undefined {
    // the primary takes the token, so that a source's rate is one across workers
    return undefined
  }

  async respond (request: Uint8Array, sender: Sender): Promise<Uint8Array> {
    return new Promise(resolve => {
      const id = this.#id()
      this.#pending.set(id, resolve)
      this.#link.send(id, requestParts(sender, request))
    })
  }

  /** The point's one replay memory, at the primary, answers on every hello a worker receives. */
  readonly replayMemory: ReplayMemory = {
    check: async (time, tag) => new Promise<ReplayVerdict>(resolve => {
      const id = (this.#id() | HELLO_CHECK) >>> 0
      this.#pending.set(id, (answer) => { resolve(answer.byteLength === 1 && answer[0]! < VERDICTS.length ? VERDICTS[answer[0]!]! : 'full') })
      this.#link.send(id, helloParts(time, tag))
    })
  }

  #id (): number {
    const id = this.#next
    this.#next = (this.#next + 1) % HELLO_CHECK
    return id
  }

  count (what: 'refused' | 'failed'): void {
    send({ t: 'count', what })
  }
}

const forwarder = new Forwarder()

class ForwardingService implements Startable {
  readonly #registrar: Registrar
  readonly #logger: ComponentLogger
  readonly #config: WorkerConfig

  constructor (components: { registrar: Registrar, logger: ComponentLogger }, config: WorkerConfig) {
    this.#registrar = components.registrar
    this.#logger = components.logger
    this.#config = config
  }

  async start (): Promise<void> {
    const { timeout, maxInboundStreams, prefixes } = this.#config
    await handleProtocols(this.#registrar, forwarder, this.#logger.forComponent('fara:rendezvous:worker'), { timeout, maxInboundStreams, prefixes })
  }

  async stop (): Promise<void> {
    await unhandleProtocols(this.#registrar)
  }
}

let node: Libp2p | undefined
let stopping = false

async function start (config: WorkerConfig): Promise<void> {
  try {
    node = await createNode({
      privateKey: privateKeyFromProtobuf(config.key),
      listen: config.listen,
      allowPinnedPort: config.allowPinnedPort,
      connectionManager: { ...RENDEZVOUS_CONNECTION_LIMITS, ...config.connections },
      unobservable: { replayMemory: forwarder.replayMemory },
      services: { rendezvous: (components: { registrar: Registrar, logger: ComponentLogger }) => new ForwardingService(components, config) }
    })
    send({ t: 'ready', multiaddrs: node.getMultiaddrs().map(String) })
  } catch (err) {
    send({ t: 'failed', message: (err as Error).message })
    process.exit(1)
  }
}

async function stop (): Promise<void> {
  if (stopping) return
  stopping = true
  await Promise.resolve(node?.stop()).catch(() => {})
  process.exit(0)
}

process.on('message', (msg: ToWorker) => {
  switch (msg.t) {
    case 'start': void start(msg.config); break
    case 'stop': void stop(); break
  }
})
// the primary is gone: nothing can be answered any more
process.on('disconnect', () => { void stop() })
process.on('SIGTERM', () => { void stop() })
// a terminal's Ctrl-C reaches the whole process group: the primary decides, and stops its workers
process.on('SIGINT', () => {})
