import { Uint8ArrayList } from 'uint8arraylist'
import { MAX_DATA_PAYLOAD_BYTES, MAX_REASON_BYTES, RECORDS_SALT_BYTES } from '../constants.ts'
import { MalformedFrameError } from '../errors.ts'
import { truncateUtf8 } from '../framing.ts'
import { lengthPrefixed } from './reader.ts'

// The data phase of a resumable association (spec/resumption.md#data-frames):
// each frame is an unsigned-varint length, then a type byte and its body.
export const FrameType = { DATA: 0, ACK: 1, FIN: 2, ABORT: 3, RECORDS: 4, MOVED: 5 } as const

/** Largest frame body (type byte included) a reader accepts. */
export const MAX_DATA_FRAME_BYTES = 1 + MAX_DATA_PAYLOAD_BYTES

/** A decoded data-phase frame. */
export type DataPhaseFrame =
  | { type: typeof FrameType.DATA, payload: Uint8Array }
  | { type: typeof FrameType.ACK, received: number, fin: boolean }
  | { type: typeof FrameType.FIN, total: number }
  | { type: typeof FrameType.ABORT, reason: string }
  /** Send me this path's frames as records on `channel`, keyed with `salt` (spec/resumption.md#records). */
  | { type: typeof FrameType.RECORDS, channel: number, salt: Uint8Array }
  /** This end's frames on this path continue as records: the last frame it writes on the stream. */
  | { type: typeof FrameType.MOVED }

function varint (n: number): number[] {
  const out: number[] = []
  do {
    let byte = n % 128
    n = Math.floor(n / 128)
    if (n > 0) byte |= 0x80
    out.push(byte)
  } while (n > 0)
  return out
}

function header (type: number, bodyLength: number): Uint8Array {
  return Uint8Array.from([...varint(bodyLength + 1), type])
}

/** Append one DATA frame to `out`; the payload is not copied. */
export function appendDataFrame (out: Uint8ArrayList, payload: Uint8Array | Uint8ArrayList): void {
  out.append(header(FrameType.DATA, payload.byteLength), payload)
}

export function ackFrame (received: number, fin: boolean): Uint8Array {
  return lengthPrefixed(Uint8Array.from([FrameType.ACK, ...varint(received), fin ? 1 : 0]))
}

export function finFrame (total: number): Uint8Array {
  return lengthPrefixed(Uint8Array.from([FrameType.FIN, ...varint(total)]))
}

export function abortFrame (reason: string): Uint8Array {
  return lengthPrefixed(Uint8Array.from([FrameType.ABORT, ...new TextEncoder().encode(truncateUtf8(reason, MAX_REASON_BYTES))]))
}

export function recordsFrame (channel: number, salt: Uint8Array): Uint8Array {
  const body = new Uint8Array(1 + 4 + RECORDS_SALT_BYTES)
  body[0] = FrameType.RECORDS
  new DataView(body.buffer).setUint32(1, channel)
  body.set(salt, 5)
  return lengthPrefixed(body)
}

export function movedFrame (): Uint8Array {
  return lengthPrefixed(Uint8Array.of(FrameType.MOVED))
}

/** Read an unsigned varint of at most 8 bytes (below 2^53) at `offset`; returns [value, next offset]. */
function readVarint (body: Uint8Array, offset: number, what: string): [number, number] {
  let value = 0
  for (let i = 0; i < 8; i++) {
    const byte = body[offset + i]
    if (byte == null) throw new MalformedFrameError(`${what} frame ends inside its byte count`)
    value += (byte & 0x7f) * 2 ** (7 * i)
    if ((byte & 0x80) === 0) {
      if (!Number.isSafeInteger(value)) break
      return [value, offset + i + 1]
    }
  }
  throw new MalformedFrameError(`${what} frame byte count is out of range`)
}

/**
 * If `body` is a DATA frame, its payload as views of the same chunks (no
 * copy); undefined for any other type, to be decoded by {@link decodeDataPhaseFrame}.
 */
export function dataPayload (body: Uint8ArrayList): Uint8ArrayList | undefined {
  if (body.get(0) !== FrameType.DATA) return undefined
  if (body.byteLength < 2) throw new MalformedFrameError('DATA frame is empty')
  body.consume(1)
  return body
}

/** Decode one frame body (after its length prefix). Every rule broken is a MalformedFrameError. */
export function decodeDataPhaseFrame (body: Uint8Array): DataPhaseFrame {
  switch (body[0]) {
    case FrameType.DATA:
      if (body.byteLength < 2) throw new MalformedFrameError('DATA frame is empty')
      return { type: FrameType.DATA, payload: body.subarray(1) }
    case FrameType.ACK: {
      const [received, next] = readVarint(body, 1, 'ACK')
      if (body.byteLength !== next + 1 || (body[next]! & ~1) !== 0) throw new MalformedFrameError('ACK frame has a bad flags byte')
      return { type: FrameType.ACK, received, fin: body[next] === 1 }
    }
    case FrameType.FIN: {
      const [total, next] = readVarint(body, 1, 'FIN')
      if (next !== body.byteLength) throw new MalformedFrameError('FIN frame has trailing bytes')
      return { type: FrameType.FIN, total }
    }
    case FrameType.ABORT: {
      if (body.byteLength - 1 > MAX_REASON_BYTES) throw new MalformedFrameError(`ABORT reason is longer than ${MAX_REASON_BYTES} bytes`)
      return { type: FrameType.ABORT, reason: new TextDecoder().decode(body.subarray(1)) }
    }
    case FrameType.RECORDS:
      if (body.byteLength !== 1 + 4 + RECORDS_SALT_BYTES) throw new MalformedFrameError(`RECORDS frame is ${body.byteLength} bytes, not ${1 + 4 + RECORDS_SALT_BYTES}`)
      return { type: FrameType.RECORDS, channel: new DataView(body.buffer, body.byteOffset, body.byteLength).getUint32(1), salt: body.slice(5) }
    case FrameType.MOVED:
      if (body.byteLength !== 1) throw new MalformedFrameError('MOVED frame has a body')
      return { type: FrameType.MOVED }
    default:
      throw new MalformedFrameError(`unknown data-phase frame type ${body[0]}`)
  }
}
