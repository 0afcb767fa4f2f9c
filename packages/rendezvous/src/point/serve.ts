import { lpStream } from '@libp2p/utils'
import { sourceOf } from '@fara/transport'
import { MAX_POINT_MESSAGE_BYTES, MAX_SESSION_STREAMS, RENDEZVOUS_PROTOCOL, RENDEZVOUS_SESSION_PROTOCOL } from '../constants.ts'
import { serveSession } from './session-server.ts'
import type { Sender } from './answerer.ts'
import type { SourcePrefixes } from '@fara/transport'
import type { Connection, Logger, Stream } from '@libp2p/interface'
import type { Registrar } from '@libp2p/interface-internal'
import type { LengthPrefixedStream } from '@libp2p/utils'

/** What answers the requests read from a point's streams: the answerer itself, or (in a worker) a link to it. */
export interface ServeBackend {
  /** A token for one request, or the answer that refuses it; a worker lets every request through to its primary, which takes the token. */
  admit: (sender: Sender) => Uint8Array | undefined
  /** The encoded answer to a request that was let through; never rejects. */
  respond: (request: Uint8Array, sender: Sender) => Promise<Uint8Array>
  /** Count a stream or session dropped before an answer (`refused`: the client's doing) or that failed (`failed`). */
  count: (what: 'refused' | 'failed') => void
}

/** How the protocol handlers read and answer. */
export interface ServeOptions {
  timeout: number
  maxInboundStreams: number
  prefixes: Required<SourcePrefixes>
}

/**
 * Handle both protocols of the point on `registrar`: a stream per request
 * (`/fara/rendezvous/1.0.0`) and sessions (spec/rendezvous.md#sessions).
 */
export async function handleProtocols (registrar: Registrar, backend: ServeBackend, log: Logger, options: ServeOptions): Promise<void> {
  const senderOf = (connection: Connection): Sender =>
    ({ peer: connection.remotePeer.toString(), source: sourceOf(connection.remoteAddr, options.prefixes) })
  await registrar.handle(RENDEZVOUS_PROTOCOL, (stream, connection) => {
    serve(stream, senderOf(connection), backend, log, options.timeout).catch(err => {
      backend.count('failed')
      log.error('rendezvous stream failed - %e', err)
      stream.abort(err)
    })
  }, { maxInboundStreams: options.maxInboundStreams })
  await registrar.handle(RENDEZVOUS_SESSION_PROTOCOL, (stream, connection) => {
    const sender = senderOf(connection)
    serveSession(stream, {
      answer: async (request) => backend.admit(sender) ?? backend.respond(request, sender),
      refused: (err) => {
        backend.count('refused')
        log('dropping rendezvous session - %e', err)
      },
      undelivered: (err) => { log('answer not delivered - %e', err) },
      timeout: options.timeout
    })
  }, { maxInboundStreams: MAX_SESSION_STREAMS })
}

/** Stop handling the point's protocols. */
export async function unhandleProtocols (registrar: Registrar): Promise<void> {
  await registrar.unhandle(RENDEZVOUS_SESSION_PROTOCOL)
  await registrar.unhandle(RENDEZVOUS_PROTOCOL)
}

async function serve (stream: Stream, sender: Sender, backend: ServeBackend, log: Logger, timeout: number): Promise<void> {
  const signal = AbortSignal.timeout(timeout)
  const refused = backend.admit(sender)
  if (refused != null) {
    // answered without reading the request: a flood costs the point one small write per stream
    const lp = lpStream(stream, { maxDataLength: MAX_POINT_MESSAGE_BYTES })
    await deliver(stream, lp, refused, log, signal)
    return
  }
  const lp = lpStream(stream, { maxDataLength: MAX_POINT_MESSAGE_BYTES })
  let bytes
  try {
    bytes = (await lp.read({ signal })).subarray()
  } catch (err) {
    // oversized, truncated or late: one line in the log, the stream dropped, the point keeps serving
    backend.count('refused')
    log('dropping rendezvous stream - %e', err)
    stream.abort(err as Error)
    return
  }
  await deliver(stream, lp, await backend.respond(bytes, sender), log, signal)
}

/**
 * Write the answer and close. A peer that reset the stream or went away
 * before its answer (or does not read it in time) costs one debug line:
 * that is its doing, not a failure of the point.
 */
async function deliver (stream: Stream, lp: LengthPrefixedStream<Stream>, answer: Uint8Array, log: Logger, signal: AbortSignal): Promise<void> {
  try {
    await lp.write(answer, { signal })
    await stream.close({ signal })
  } catch (err) {
    log('answer not delivered - %e', err)
    // libp2p may reject with the stream's close Event rather than an Error
    stream.abort(err instanceof Error ? err : new Error('answer not delivered'))
  }
}
