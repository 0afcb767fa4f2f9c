// The baselines a user would pick instead of Fara: a raw TCP socket, and a raw
// libp2p node (TCP + Noise + Yamux, default config), the same node under
// Fara's unobservable layer (to isolate what the layer costs), and the
// byte-counting protocols every transport in the bench speaks.
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { tcp } from '@libp2p/tcp'
import { createLibp2p } from 'libp2p'
import type { YamuxMuxerInit } from '@chainsafe/libp2p-yamux'
import type { Libp2p, Stream } from '@libp2p/interface'
import type { Libp2pOptions } from 'libp2p'
import type { unobservable } from '@fara/transport'

/** Protocol of the sink: read everything, then answer the byte count (8 bytes, big-endian) and close. */
export const SINK_PROTOCOL = '/bench/sink/1'

/** Protocol of the echo: send back every chunk, close when the other side does. */
export const ECHO_PROTOCOL = '/bench/echo/1'

/**
 * The one non-default setting of the baseline node: libp2p refuses more than
 * 5 new inbound connections per second per host by default, which the
 * 200-connect latency loop exceeds. Fara's entities raise it too
 * (ENTITY_CONNECTION_LIMITS); it does not touch the data path.
 */
export const BASELINE_CONNECTION_LIMITS = { inboundConnectionThreshold: 10_000, maxIncomingPendingConnections: 256 }

/**
 * A raw libp2p node: TCP + Noise + Yamux, default config (but see
 * {@link BASELINE_CONNECTION_LIMITS}). With `connectionProtector:
 * unobservable()` it is the same node under Fara's unobservable layer
 * (spec/unobservable.md), and nothing else changes: the figures that compare
 * the two isolate the layer. Such a node dials only addresses that end in
 * `/p2p/<peer id>` (the layer needs the listener's key before its first byte).
 */
export async function baselineNode (init: {
  listen?: string[]
  transports?: Libp2pOptions['transports']
  yamux?: YamuxMuxerInit
  connectionProtector?: ReturnType<typeof unobservable>
} = {}): Promise<Libp2p> {
  return createLibp2p({
    addresses: { listen: init.listen ?? [] },
    transports: init.transports ?? [tcp()],
    ...(init.connectionProtector == null ? {} : { connectionProtector: init.connectionProtector }),
    connectionEncrypters: [noise()],
    streamMuxers: [yamux(init.yamux)],
    connectionManager: BASELINE_CONNECTION_LIMITS
  })
}

/** Anything that reads like a libp2p v3 stream (a libp2p stream or a Fara association). */
export interface Duplex extends AsyncIterable<Uint8Array | { subarray: () => Uint8Array, byteLength: number }> {
  send: (data: Uint8Array) => boolean
  onDrain: () => Promise<void>
  close: () => Promise<void>
}

/** The sink's side: count until the end, answer the count, close. */
export async function sink (stream: Duplex): Promise<number> {
  let bytes = 0
  for await (const chunk of stream) bytes += chunk.byteLength
  const answer = new Uint8Array(8)
  new DataView(answer.buffer).setBigUint64(0, BigInt(bytes))
  stream.send(answer)
  await stream.close()
  return bytes
}

/** The echo's side. */
export async function echo (stream: Duplex): Promise<void> {
  for await (const chunk of stream) {
    const bytes = chunk instanceof Uint8Array ? chunk : chunk.subarray()
    if (!stream.send(bytes)) await stream.onDrain()
  }
  await stream.close()
}

/** The sender's side: send `total` bytes in `chunk`-sized writes with backpressure, half-close, and return the sink's count. */
export async function sendAndCount (stream: Duplex, total: number, chunk: Uint8Array): Promise<number> {
  for (let sent = 0; sent < total; sent += chunk.byteLength) {
    const piece = total - sent >= chunk.byteLength ? chunk : chunk.subarray(0, total - sent)
    if (!stream.send(piece)) await stream.onDrain()
  }
  await stream.close()
  const answer: Uint8Array[] = []
  for await (const c of stream) answer.push(c instanceof Uint8Array ? c : c.subarray())
  const bytes = Buffer.concat(answer)
  if (bytes.byteLength !== 8) throw new Error(`sink answered ${bytes.byteLength} bytes, expected 8`)
  return Number(bytes.readBigUInt64BE(0))
}

/** Handle the sink and echo protocols on a raw libp2p node. */
export async function handleBaseline (node: Libp2p): Promise<void> {
  await node.handle(SINK_PROTOCOL, (stream: Stream) => { sink(stream).catch((err: Error) => { stream.abort(err) }) })
  await node.handle(ECHO_PROTOCOL, (stream: Stream) => { echo(stream).catch((err: Error) => { stream.abort(err) }) })
}
