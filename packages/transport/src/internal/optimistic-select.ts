// Optimistic multistream-select for the streams `openStream` opens
// (spec/transport.md#dialling-and-typed-errors): the proposal leaves with the
// stream's first data, and the answer is checked when it arrives instead of
// being waited for. libp2p 3's `newStream` always waits (its multistream-select
// ignores `negotiateFully: false`), which costs a round trip before the first
// byte of every association. The bytes on the wire are the ones a full
// negotiation sends, in the same order: a listener sees no difference.
import { UnsupportedProtocolError } from '@libp2p/interface'
import type { AbortOptions, CreateStreamOptions, MessageStream, Stream, StreamMuxer, StreamMuxerFactory } from '@libp2p/interface'
import type { Uint8ArrayList } from 'uint8arraylist'

/** The option `openStream` passes through `newStream` to the muxer to ask for an optimistic selection. */
export const OPTIMISTIC_SELECT = Symbol.for('@fara/transport/optimistic-select')

/** Set by `openStream`: select `protocol` optimistically (only with a single protocol). */
export interface OptimisticStreamOptions extends CreateStreamOptions {
  [OPTIMISTIC_SELECT]?: boolean
}

const MULTISTREAM = '/multistream/1.0.0'
const encoder = new TextEncoder()

/** A multistream-select message: unsigned LEB128 length ‖ text ‖ "\n" (spec: multistream-select 1.0.0). */
function message (text: string): Uint8Array {
  const body = encoder.encode(`${text}\n`)
  const prefix: number[] = []
  let n = body.byteLength
  do {
    prefix.push((n & 0x7f) | (n > 0x7f ? 0x80 : 0))
    n >>>= 7
  } while (n > 0)
  const out = new Uint8Array(prefix.length + body.byteLength)
  out.set(prefix)
  out.set(body, prefix.length)
  return out
}

/** What `select` writes first and a listener that takes `protocol` answers: the header, then the protocol. */
function selection (protocol: string): Uint8Array {
  const header = message(MULTISTREAM)
  const proposal = message(protocol)
  const out = new Uint8Array(header.byteLength + proposal.byteLength)
  out.set(header)
  out.set(proposal, header.byteLength)
  return out
}

/**
 * Propose `protocol` on a new outbound stream without waiting: write the
 * selection now (before any data of the caller), mark the stream as
 * negotiated, and take the answer off the front of what arrives. An answer
 * that is not exactly the selection echoed (a listener that does not speak
 * `protocol` answers `na`) aborts the stream with `UnsupportedProtocolError`:
 * the caller's first read fails.
 */
export function selectOptimistically (muxed: Stream, protocol: string): void {
  // every muxer's stream is an AbstractStream: its muxer hands it what arrives through onData,
  // and its close() ends the writing side with sendCloseWrite
  const stream = muxed as Stream & { onData: (data: Uint8Array | Uint8ArrayList) => void, sendCloseWrite: (options?: AbortOptions) => Promise<void> }
  const expected = selection(protocol)
  stream.send(expected)
  stream.protocol = protocol
  const deliver = stream.onData.bind(stream)
  const closeWrite = stream.sendCloseWrite.bind(stream)
  let answered!: () => void
  const answer = new Promise<void>((resolve) => { answered = resolve })
  const settle = (): void => {
    stream.onData = deliver
    stream.sendCloseWrite = closeWrite
    answered()
  }
  stream.addEventListener('close', settle, { once: true })
  let matched = 0
  stream.onData = (data: Uint8Array | Uint8ArrayList): void => {
    const bytes = data.subarray()
    const n = Math.min(bytes.byteLength, expected.byteLength - matched)
    for (let i = 0; i < n; i++) {
      if (bytes[i] !== expected[matched + i]) {
        settle()
        stream.abort(new UnsupportedProtocolError(`Protocol selection failed - the remote does not take ${protocol}`))
        return
      }
    }
    matched += n
    if (matched === expected.byteLength) settle()
    if (bytes.byteLength > n) deliver(bytes.subarray(n))
  }
  // the end of the writing side waits for the answer: a listener whose libp2p gets the selection, the
  // data and the end in one read resets the stream (multistream-select cannot hand data back to a stream
  // whose remote has finished writing), and would lose the data
  stream.sendCloseWrite = async (options?: AbortOptions): Promise<void> => {
    const signal = options?.signal
    await new Promise<void>((resolve, reject) => {
      if (signal?.aborted === true) { reject(signal.reason); return }
      const onAbort = (): void => { reject(signal?.reason) }
      signal?.addEventListener('abort', onAbort, { once: true })
      void answer.then(() => { signal?.removeEventListener('abort', onAbort); resolve() })
    })
    if (stream.status === 'open') await closeWrite(options)
  }
}

/**
 * A stream muxer whose `createStream` selects optimistically when asked to
 * ({@link OPTIMISTIC_SELECT} and a single `protocol`); every other stream is
 * negotiated by libp2p as before.
 */
export function optimisticSelect<F extends (components: any) => StreamMuxerFactory> (factory: F): F { // eslint-disable-line @typescript-eslint/no-explicit-any
  return ((components: unknown) => {
    const inner = factory(components)
    const createStreamMuxer = inner.createStreamMuxer.bind(inner)
    inner.createStreamMuxer = (maConn: MessageStream): StreamMuxer => {
      const muxer = createStreamMuxer(maConn)
      const createStream = muxer.createStream.bind(muxer)
      muxer.createStream = async (options?: OptimisticStreamOptions): Promise<Stream> => {
        const stream = await createStream(options)
        if (options?.[OPTIMISTIC_SELECT] === true && options.protocol != null && options.protocol !== '') selectOptimistically(stream, options.protocol)
        return stream
      }
      return muxer
    }
    return inner
  }) as F
}
