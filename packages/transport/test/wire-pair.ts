// Two ends of the unobservable layer over an in-memory connection pair, for
// the tests of the layer's connection (wire-connection, layer-records,
// passthrough-writes): made, taken through the hellos and Noise's handshake
// messages, and read.
import { randomBytes } from 'node:crypto'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { defaultLogger } from '@libp2p/logger'
import { multiaddrConnectionPair } from '@libp2p/utils'
import { WireConnection } from '../src/internal/wire/connection.ts'
import { staticKeyFromEd25519 } from '../src/internal/wire/keys.ts'
import { ReplayFilter } from '../src/internal/wire/replay.ts'
import type { MultiaddrConnection } from '@libp2p/interface'
import type { Uint8ArrayList } from 'uint8arraylist'

const log = defaultLogger().forComponent('test:wire')

/** What libp2p writes first: multistream-select's header and the proposal of `/noise`. */
export const select = Buffer.from('\x13/multistream/1.0.0\n\x07/noise\n', 'latin1')

/** A Noise-shaped message: a 2-byte length and `n` random bytes. */
export const noiseMessage = (n: number): Buffer => Buffer.concat([Buffer.from([n >> 8, n & 0xff]), randomBytes(n)])

/** One turn of the event loop. */
export const turn = async (): Promise<void> => { await new Promise(resolve => setImmediate(resolve)) }

/**
 * An initiator and a listener over a fresh pair, `writes` padded writes each;
 * `onSend` sees each of the initiator's writes to its raw connection first.
 */
export async function wirePair (writes: number, onSend?: (data: Uint8Array | Uint8ArrayList) => void): Promise<{ initiator: WireConnection, listener: WireConnection }> {
  const key = await generateKeyPair('Ed25519')
  const { secret, publicKey } = staticKeyFromEd25519(key.raw.subarray(0, 32))
  const [outbound, inbound]: MultiaddrConnection[] = multiaddrConnectionPair()
  if (onSend != null) {
    const rawSend = outbound.send.bind(outbound)
    outbound.send = (data) => { onSend(data); return rawSend(data) }
  }
  const replay = new ReplayFilter(60_000, 100) // made before the initiator's hello, as a listener's is
  const padding = { hello: 64, writes, frame: 32 }
  const initiator = new WireConnection({ raw: outbound, log, padding, listener: publicKey })
  const listener = new WireConnection({ raw: inbound, log, padding, secret, publicKey, replay })
  return { initiator, listener }
}

/** The hellos, then Noise's three handshake messages (as libp2p writes them): with no padded writes, both directions are then ready for passthrough. */
export async function handshake (initiator: WireConnection, listener: WireConnection): Promise<void> {
  initiator.send(Buffer.concat([select, noiseMessage(32)]))
  await listener.verified
  listener.send(Buffer.concat([select, noiseMessage(150)]))
  await turn()
  initiator.send(noiseMessage(200))
  await turn()
}

/** The libp2p stream bytes `conn` hands up, until `bytes` of them. */
export async function collect (conn: WireConnection, bytes: number): Promise<Buffer> {
  const parts: Uint8Array[] = []
  let n = 0
  if (bytes === 0) return Buffer.alloc(0)
  for await (const chunk of conn) {
    parts.push(chunk.subarray())
    n += chunk.byteLength
    if (n >= bytes) break
  }
  return Buffer.concat(parts)
}
