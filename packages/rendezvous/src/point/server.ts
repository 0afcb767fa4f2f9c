import { lpStream } from '@libp2p/utils'
import { APP_NAME_PATTERN } from '@fara/identity'
import { DEFAULT_REQUEST_TIMEOUT_MS, MAX_INBOUND_STREAMS, MAX_MESSAGE_BYTES, RENDEZVOUS_PROTOCOL, Status } from '../constants.ts'
import { InvalidRequestError, RendezvousError } from '../errors.ts'
import { RequestKind, decodeRequest, encodeResponse } from '../internal/messages.ts'
import { RecordStore } from '../store.ts'
import type { Response } from '../internal/messages.ts'
import type { RecordStoreInit } from '../store.ts'
import type { ComponentLogger, Logger, Startable, Stream } from '@libp2p/interface'
import type { Registrar } from '@libp2p/interface-internal'

/** Options for {@link rendezvousServer}. */
export interface RendezvousServerInit extends RecordStoreInit {
  /** How long to wait for a request on a new stream (default {@link DEFAULT_REQUEST_TIMEOUT_MS}). */
  requestTimeout?: number
  /** Concurrent rendezvous streams per connection (default {@link MAX_INBOUND_STREAMS}). */
  maxInboundStreams?: number
}

/** What the server needs from its libp2p node. */
export interface RendezvousServerComponents {
  registrar: Registrar
  logger: ComponentLogger
}

/** The rendezvous point service running inside a libp2p node. */
export interface RendezvousServer {
  /** The records it holds. */
  readonly store: RecordStore
  /** Requests answered, by outcome, since start. */
  readonly stats: { requests: number, refused: number, failed: number }
}

class RendezvousServerService implements RendezvousServer, Startable {
  readonly store: RecordStore
  readonly stats = { requests: 0, refused: 0, failed: 0 }
  readonly #registrar: Registrar
  readonly #log: Logger
  readonly #timeout: number
  readonly #maxInboundStreams: number

  constructor (components: RendezvousServerComponents, init: RendezvousServerInit) {
    this.store = new RecordStore(init)
    this.#registrar = components.registrar
    this.#log = components.logger.forComponent('fara:rendezvous:server')
    this.#timeout = init.requestTimeout ?? DEFAULT_REQUEST_TIMEOUT_MS
    this.#maxInboundStreams = init.maxInboundStreams ?? MAX_INBOUND_STREAMS
  }

  async start (): Promise<void> {
    await this.#registrar.handle(RENDEZVOUS_PROTOCOL, (stream) => {
      this.#serve(stream).catch(err => {
        this.stats.failed++
        this.#log.error('rendezvous stream failed - %e', err)
        stream.abort(err)
      })
    }, { maxInboundStreams: this.#maxInboundStreams })
  }

  async stop (): Promise<void> {
    await this.#registrar.unhandle(RENDEZVOUS_PROTOCOL)
  }

  async #answer (bytes: Uint8Array): Promise<Response> {
    const req = decodeRequest(bytes)
    switch (req.type) {
      case RequestKind.REGISTER:
        if (req.record == null) throw new InvalidRequestError('REGISTER without a record')
        await this.store.put(req.record)
        return { status: Status.OK, message: '' }
      case RequestKind.RESOLVE: {
        if (!APP_NAME_PATTERN.test(req.name)) throw new InvalidRequestError(`invalid service name ${JSON.stringify(req.name.slice(0, 64))}`)
        const record = await this.store.get(req.name)
        return { status: Status.OK, message: '', record: record.signed }
      }
      case RequestKind.UNREGISTER:
        if (req.record == null) throw new InvalidRequestError('UNREGISTER without a tombstone')
        await this.store.remove(req.record)
        return { status: Status.OK, message: '' }
      default:
        throw new InvalidRequestError(`unknown request type ${req.type}`)
    }
  }

  async #serve (stream: Stream): Promise<void> {
    const signal = AbortSignal.timeout(this.#timeout)
    const lp = lpStream(stream, { maxDataLength: MAX_MESSAGE_BYTES })
    let response: Response
    let bytes
    try {
      bytes = (await lp.read({ signal })).subarray()
    } catch (err) {
      // oversized, truncated or late: one line in the log, the stream dropped, the point keeps serving
      this.stats.refused++
      this.#log('dropping rendezvous stream - %e', err)
      stream.abort(err as Error)
      return
    }
    this.stats.requests++
    try {
      response = await this.#answer(bytes)
    } catch (err) {
      if (err instanceof RendezvousError || (err as Error)?.name in Status) {
        this.stats.refused++
        response = { status: (err as RendezvousError).code, message: (err as Error).message }
      } else {
        this.stats.failed++
        this.#log.error('rendezvous request failed - %e', err)
        response = { status: Status.INTERNAL, message: 'internal error' }
      }
    }
    await lp.write(encodeResponse(response), { signal })
    await stream.close({ signal })
  }
}

/**
 * The rendezvous point as a libp2p service: add it to a node's `services`
 * (or use `createRendezvousPoint`).
 */
export function rendezvousServer (init: RendezvousServerInit = {}): (components: RendezvousServerComponents) => RendezvousServer {
  return (components) => new RendezvousServerService(components, init)
}
