// The negotiation messages of a birthday punch (spec/proto/punch.proto,
// spec/direct-paths.md#negotiation): length-prefixed protobuf, bounded, every
// field checked before use.
import protobuf from 'protobufjs/light.js'
import { Uint8ArrayList } from 'uint8arraylist'
import { PUNCH } from '../../constants.ts'
import { ENDPOINT_BYTES, decodeEndpoint, encodeEndpoint } from './addr.ts'
import { descriptor } from './punch-proto.ts'
import type { Endpoint } from './addr.ts'
import type { NatKind } from './types.ts'
import type { AbortOptions, Stream } from '@libp2p/interface'

const root = protobuf.Root.fromJSON(descriptor as unknown as protobuf.INamespace)
const OfferType = root.lookupType('fara.punch.v1.Offer')
const AnswerType = root.lookupType('fara.punch.v1.Answer')
const TO_OBJECT: protobuf.IConversionOptions = { defaults: true, longs: Number, enums: Number }

/** Version of the negotiation this code speaks. */
export const PUNCH_VERSION = 1
export const NONCE_BYTES = 32

const KINDS: NatKind[] = ['unknown', 'consistent', 'random']
export const ANSWER_CODES = ['ok', 'not-applicable', 'busy', 'unsupported'] as const
export type AnswerCode = typeof ANSWER_CODES[number]

/** What each side tells the other. */
export interface Side {
  kind: NatKind
  endpoint: Endpoint | null
  nonce: Uint8Array
  streamId: number
}

/** Thrown when the peer's message is malformed, too large, or missing. */
export class NegotiationError extends Error {
  static override name = 'NegotiationError'
  override name = 'NegotiationError'
}

function frame (bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(2 + bytes.byteLength)
  new DataView(out.buffer).setUint16(0, bytes.byteLength)
  out.set(bytes, 2)
  return out
}

function fields (side: Side): Record<string, unknown> {
  return { kind: KINDS.indexOf(side.kind), endpoint: side.endpoint == null ? new Uint8Array(0) : encodeEndpoint(side.endpoint), nonce: side.nonce, streamId: side.streamId }
}

export function encodeOffer (side: Side): Uint8Array {
  return frame(OfferType.encode(OfferType.fromObject({ version: PUNCH_VERSION, ...fields(side) })).finish())
}

export function encodeAnswer (code: AnswerCode, side: Side): Uint8Array {
  return frame(AnswerType.encode(AnswerType.fromObject({ code: ANSWER_CODES.indexOf(code), ...fields(side) })).finish())
}

function sideOf (m: Record<string, unknown>): Side {
  const kind = KINDS[m.kind as number]
  const raw = m.endpoint as Uint8Array
  const endpoint = raw.byteLength === 0 ? null : decodeEndpoint(raw)
  const nonce = m.nonce as Uint8Array
  const streamId = m.streamId as number
  if (kind == null) throw new NegotiationError(`unknown NAT kind ${String(m.kind)}`)
  if (raw.byteLength !== 0 && (raw.byteLength !== ENDPOINT_BYTES || endpoint == null)) throw new NegotiationError('malformed endpoint')
  if (nonce.byteLength !== NONCE_BYTES) throw new NegotiationError(`nonce must be ${NONCE_BYTES} bytes, got ${nonce.byteLength}`)
  if (!(Number.isInteger(streamId) && streamId >= 1 && streamId <= 0xffffffff)) throw new NegotiationError('stream id must be 1 to 2^32 - 1')
  return { kind, endpoint, nonce: new Uint8Array(nonce), streamId }
}

export function decodeOffer (bytes: Uint8Array): Side & { version: number } {
  let m
  try { m = OfferType.toObject(OfferType.decode(bytes), TO_OBJECT) } catch (err) { throw new NegotiationError(`malformed offer: ${(err as Error).message}`) }
  return { version: m.version as number, ...sideOf(m) }
}

export function decodeAnswer (bytes: Uint8Array): Side & { code: AnswerCode } {
  let m
  try { m = AnswerType.toObject(AnswerType.decode(bytes), TO_OBJECT) } catch (err) { throw new NegotiationError(`malformed answer: ${(err as Error).message}`) }
  const code = ANSWER_CODES[m.code as number]
  if (code == null) throw new NegotiationError(`unknown answer code ${String(m.code)}`)
  if (code !== 'ok') return { code, kind: KINDS[m.kind as number] ?? 'unknown', endpoint: null, nonce: new Uint8Array(0), streamId: 0 }
  return { code, ...sideOf(m) }
}

/** Read one length-prefixed message of at most {@link PUNCH.maxMessageBytes} from `stream`. */
export async function readMessage (stream: Stream, options: AbortOptions = {}): Promise<Uint8Array> {
  const buf = new Uint8ArrayList()
  const onAbort = (): void => { stream.abort(new NegotiationError('the negotiation timed out')) }
  options.signal?.addEventListener('abort', onAbort, { once: true })
  try {
    for await (const chunk of stream) {
      buf.append(chunk)
      if (buf.byteLength >= 2) {
        const length = buf.getUint16(0)
        if (length > PUNCH.maxMessageBytes) throw new NegotiationError(`message of ${length} bytes, at most ${PUNCH.maxMessageBytes}`)
        if (buf.byteLength >= 2 + length) return buf.subarray(2, 2 + length)
      }
    }
  } finally {
    options.signal?.removeEventListener('abort', onAbort)
  }
  throw new NegotiationError('the stream ended before a whole message')
}
