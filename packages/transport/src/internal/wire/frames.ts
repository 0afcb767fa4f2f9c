// Frames of the unobservable layer (spec/unobservable.md#frames): after the
// hellos, each direction is a sequence of
//
//   header u16 BE (bits 15–14: type, bits 13–0: body length) ‖ body
//
// encrypted, header and body alike, by the direction's keystream. Types: data,
// padding (dropped by the receiver) and SWITCH (no body): after it, the
// direction carries libp2p-noise transport messages as they are, each behind
// its 2-byte length XORed with the direction's length keystream (§ Passthrough),
// and records between them, behind an escape (§ Records).
import { Uint8ArrayList } from 'uint8arraylist'
import { LAYER_RECORDS } from '../../constants.ts'
import { LayerRecordsError } from '../../errors.ts'
import type { KeyStream } from './keys.ts'

/** Length of a frame header. */
export const FRAME_HEADER_BYTES = 2
/** Largest frame body (14 bits). */
export const MAX_FRAME_BODY = 0x3fff
/** Frame types (the top two bits of the header). */
export const FRAME = { data: 0, padding: 1, switch: 2 } as const
const TYPE_SHIFT = 14

/**
 * Frame `data` (split into bodies of at most {@link MAX_FRAME_BODY}), follow
 * it with one padding frame of `padding` bytes if given and a SWITCH frame if
 * asked, and encrypt it all with `out`: one buffer, ready to write.
 */
export function encodeFrames (out: KeyStream, data: Uint8Array | Uint8ArrayList, padding?: number, switchAfter = false): Uint8Array {
  const length = data.byteLength
  const frames = Math.ceil(length / MAX_FRAME_BODY)
  const padded = padding == null ? 0 : FRAME_HEADER_BYTES + padding
  const plain = Buffer.allocUnsafe(length + frames * FRAME_HEADER_BYTES + padded + (switchAfter ? FRAME_HEADER_BYTES : 0))
  let at = 0
  let left = length
  const chunks = data instanceof Uint8Array ? [data] : data
  let body = 0 // bytes of the current frame's body still to copy
  for (const chunk of chunks) {
    let from = 0
    while (from < chunk.byteLength) {
      if (body === 0) {
        body = Math.min(MAX_FRAME_BODY, left)
        plain.writeUInt16BE(body, at)
        at += FRAME_HEADER_BYTES
      }
      const n = Math.min(body, chunk.byteLength - from)
      plain.set(chunk.subarray(from, from + n), at)
      at += n
      from += n
      body -= n
      left -= n
    }
  }
  if (padding != null) {
    plain.writeUInt16BE((FRAME.padding << TYPE_SHIFT) | padding, at)
    plain.fill(0, at + FRAME_HEADER_BYTES, at + padded)
    at += padded
  }
  if (switchAfter) plain.writeUInt16BE(FRAME.switch << TYPE_SHIFT, at)
  return out.update(plain)
}

/** What {@link FrameDecoder.decode} found in one chunk. */
export interface Decoded {
  /** Data bodies, views of the input. */
  bodies: Uint8Array[]
  /** Offset just after a SWITCH frame, if the chunk held one: what follows is passthrough. */
  switchedAt?: number
}

/** Thrown by the frame decoder for a header of the reserved type, or a SWITCH with a body. */
export class FrameError extends Error {
  static override name = 'FrameError'
  override name = 'FrameError'
}

/**
 * Reads frames out of decrypted bytes that arrive in any split: returns the
 * data bodies as views of its input (no copy), drops padding, stops at SWITCH.
 */
export class FrameDecoder {
  /** Body bytes of the current frame still to come. */
  #body = 0
  #padding = false
  /** First byte of a header split across two chunks, or -1. */
  #half = -1

  decode (plain: Uint8Array): Decoded {
    const bodies: Uint8Array[] = []
    let at = 0
    while (at < plain.byteLength) {
      if (this.#body > 0) {
        const n = Math.min(this.#body, plain.byteLength - at)
        if (!this.#padding) bodies.push(plain.subarray(at, at + n))
        this.#body -= n
        at += n
        continue
      }
      let header: number
      if (this.#half >= 0) {
        header = (this.#half << 8) | plain[at]!
        this.#half = -1
        at += 1
      } else if (at + 1 < plain.byteLength) {
        header = (plain[at]! << 8) | plain[at + 1]!
        at += 2
      } else {
        this.#half = plain[at]!
        at += 1
        continue
      }
      const type = header >>> TYPE_SHIFT
      const length = header & MAX_FRAME_BODY
      if (type === FRAME.switch) {
        if (length !== 0) throw new FrameError(`a SWITCH frame has no body, got ${length} bytes`)
        return { bodies, switchedAt: at }
      }
      if (type !== FRAME.data && type !== FRAME.padding) throw new FrameError(`frame type ${type} is reserved`)
      this.#padding = type === FRAME.padding
      this.#body = length
    }
    return { bodies }
  }
}

/** The bytes every Fara connection starts with inside the layer: multistream-select of `/noise` (the same both ways). */
export const NOISE_SELECT: Uint8Array = Buffer.from('\x13/multistream/1.0.0\n\x07/noise\n', 'latin1')

/**
 * Follows libp2p's stream through the layer, one direction: the
 * multistream-select of `/noise`, then libp2p-noise messages (u16 BE length ‖
 * body), counting them. It tells the sender when the Noise handshake is over
 * and the stream sits at a message boundary, the only place a SWITCH may go;
 * anything unexpected turns it off for good (the direction then stays framed,
 * which is always safe).
 */
export class NoiseTracker {
  readonly #handshakeMessages: number
  /** Bytes of {@link NOISE_SELECT} matched, then -1 once in Noise framing; -2: off. */
  #select = 0
  #messages = 0
  #body = 0
  #half = -1

  /** `handshakeMessages`: Noise XX messages this side sends (initiator 2, responder 1). */
  constructor (handshakeMessages: number) {
    this.#handshakeMessages = handshakeMessages
  }

  /** True once the stream has begun with exactly {@link NOISE_SELECT}. */
  get selected (): boolean {
    return this.#select === -1
  }

  /** True when the next byte written starts a Noise transport message. */
  get atTransportBoundary (): boolean {
    return this.#select === -1 && this.#body === 0 && this.#half < 0 && this.#messages >= this.#handshakeMessages
  }

  observe (data: Uint8Array | Uint8ArrayList): void {
    for (const chunk of data instanceof Uint8Array ? [data] : data) {
      let at = 0
      while (at < chunk.byteLength && this.#select !== -2) {
        if (this.#select >= 0) {
          if (chunk[at] !== NOISE_SELECT[this.#select]) { this.#select = -2; return }
          at++
          if (++this.#select === NOISE_SELECT.byteLength) this.#select = -1
          continue
        }
        if (this.#body > 0) {
          const n = Math.min(this.#body, chunk.byteLength - at)
          this.#body -= n
          at += n
          if (this.#body === 0) this.#messages++
          continue
        }
        if (this.#half < 0) {
          this.#half = chunk[at]!
          at++
          continue
        }
        this.#body = (this.#half << 8) | chunk[at]!
        this.#half = -1
        at++
        if (this.#body === 0) this.#messages++
      }
    }
  }
}

/**
 * Records on a passthrough direction (spec/unobservable.md#records): the
 * sender puts them out with {@link LengthMasker.record}, the receiver hands
 * each complete one to `onRecord`. A direction with records carries no Noise
 * message shorter than {@link MIN_NOISE_MESSAGE} (none ever is).
 */
export interface MaskerRecords {
  /** Receiver: a complete record, in wire order; its bytes are views of the input. */
  onRecord?: (channel: number, record: Uint8ArrayList) => void
}

/** A libp2p-noise transport message is never shorter than its 16-byte tag: the plain lengths below are free, 0 is the record escape. */
export const MIN_NOISE_MESSAGE = 16
/** A record's header: the escape (a plain length of 0), channel u32 BE, length u32 BE, all masked. */
export const RECORD_HEADER_BYTES = 10

/**
 * Passthrough, one direction (spec/unobservable.md#passthrough): libp2p-noise
 * messages pass as they are (their ChaCha20-Poly1305 ciphertext is already
 * pseudorandom) and only each 2-byte length is XORed with the next two bytes
 * of the direction's length keystream. `mask` on the sender, `unmask` on the
 * receiver. Returns new buffers for the lengths and views of the input for
 * the bodies, in order: the sender's connection regroups them before the
 * socket (flights.ts, joinWrites), so that a length never leaves on its own.
 * With `records`, the direction also carries records between the messages
 * (spec/unobservable.md#records).
 */
export class LengthMasker {
  readonly #lengths: KeyStream
  readonly #unmask: boolean
  readonly #records: MaskerRecords | undefined
  #block: Uint8Array = new Uint8Array(0)
  #used = 0
  /** Body bytes of the current message still to pass. */
  #body = 0
  /** The plaintext first byte of a length split across chunks, or -1. */
  #first = -1
  #secondMask = 0
  /** Receiver with records: the unmasked bytes of the length or record header being read. */
  readonly #head = new Uint8Array(RECORD_HEADER_BYTES)
  #headAt = 0
  /** Receiver with records: the record being gathered, its channel, and its bytes still to come. */
  #record = new Uint8ArrayList()
  #channel = 0
  #recordLeft = 0
  /** Sender: records waiting for the end of the Noise message libp2p is writing. */
  #queued: Array<{ channel: number, body: Uint8Array | Uint8ArrayList }> = []

  constructor (lengths: KeyStream, mode: 'mask' | 'unmask', records?: MaskerRecords) {
    this.#lengths = lengths
    this.#unmask = mode === 'unmask'
    this.#records = records
  }

  /** The next mask byte; the keystream is drawn in blocks (the same bytes, in the same order, on both sides). */
  #mask (): number {
    if (this.#used === this.#block.byteLength) {
      this.#block = this.#lengths.update(new Uint8Array(1024))
      this.#used = 0
    }
    return this.#block[this.#used++]!
  }

  /** Sender: the next byte written starts a message (or a record). */
  get atBoundary (): boolean {
    return this.#body === 0 && this.#first < 0
  }

  /**
   * Sender: one record of 1 to 2^32 - 1 bytes on `channel` (the caller checks
   * the bounds). At a message boundary, returns its bytes to write now (the
   * masked header, then views of `body`, which the connection regroups as
   * libp2p's bytes); inside a message libp2p wrote in
   * part, queues it to go out, in order, where that message ends, and returns
   * an empty array. `body` is not copied.
   */
  record (channel: number, body: Uint8Array | Uint8ArrayList): Uint8Array[] {
    if (!this.atBoundary || this.#queued.length > 0) {
      this.#queued.push({ channel, body })
      return []
    }
    const out: Uint8Array[] = []
    this.#putRecord(out, channel, body)
    return out
  }

  #putRecord (out: Uint8Array[], channel: number, body: Uint8Array | Uint8ArrayList): void {
    const header = Buffer.allocUnsafe(RECORD_HEADER_BYTES)
    header.writeUInt16BE(0, 0)
    header.writeUInt32BE(channel, 2)
    header.writeUInt32BE(body.byteLength, 6)
    for (let i = 0; i < RECORD_HEADER_BYTES; i++) header[i]! ^= this.#mask()
    // the header is a buffer of its own here: the connection's writes join it with the first bytes
    // of the body (flights.ts, joinWrites), so that it never leaves as a 10-byte segment
    out.push(header)
    if (body instanceof Uint8Array) out.push(body)
    else for (const chunk of body) out.push(chunk)
  }

  /** Sender: a message ended: the records that waited for it go now. */
  #ended (out: Uint8Array[]): void {
    for (const { channel, body } of this.#queued) this.#putRecord(out, channel, body)
    this.#queued = []
  }

  /** A length was read: with records, none may be below {@link MIN_NOISE_MESSAGE} (the sender's guard; the receiver has its own). */
  #checkLength (): void {
    if (this.#records != null && this.#body < MIN_NOISE_MESSAGE) {
      throw new FrameError(`a Noise message of ${this.#body} bytes cannot share a direction with records`)
    }
  }

  transform (data: Uint8Array | Uint8ArrayList): Uint8Array[] {
    const out: Uint8Array[] = []
    const records = this.#unmask && this.#records != null
    for (const chunk of data instanceof Uint8Array ? [data] : data) {
      if (records) {
        this.#unmaskRecords(chunk, out)
        continue
      }
      let at = 0
      while (at < chunk.byteLength) {
        if (this.#body > 0) {
          const n = Math.min(this.#body, chunk.byteLength - at)
          out.push(chunk.subarray(at, at + n))
          this.#body -= n
          at += n
          if (this.#body === 0 && this.#queued.length > 0) this.#ended(out)
        } else if (this.#first >= 0) {
          const wire = chunk[at++]!
          const other = wire ^ this.#secondMask
          out.push(Uint8Array.of(other))
          this.#body = (this.#first << 8) | (this.#unmask ? other : wire)
          this.#first = -1
          this.#checkLength()
        } else if (at + 1 < chunk.byteLength) {
          const a = chunk[at]!
          const b = chunk[at + 1]!
          const length = Uint8Array.of(a ^ this.#mask(), b ^ this.#mask())
          out.push(length)
          this.#body = this.#unmask ? (length[0]! << 8) | length[1]! : (a << 8) | b
          at += 2
          this.#checkLength()
        } else {
          const a = chunk[at++]!
          const other = a ^ this.#mask()
          this.#secondMask = this.#mask()
          out.push(Uint8Array.of(other))
          this.#first = this.#unmask ? other : a
        }
      }
    }
    return out
  }

  /**
   * Receiver with records: Noise messages as without them (a length is
   * handed on once both of its bytes are in, to tell it from the escape);
   * records gathered as views of the input and handed to `onRecord`.
   */
  #unmaskRecords (chunk: Uint8Array, out: Uint8Array[]): void {
    const head = this.#head
    let at = 0
    while (at < chunk.byteLength) {
      if (this.#body > 0) {
        const n = Math.min(this.#body, chunk.byteLength - at)
        out.push(chunk.subarray(at, at + n))
        this.#body -= n
        at += n
        continue
      }
      if (this.#recordLeft > 0) {
        const n = Math.min(this.#recordLeft, chunk.byteLength - at)
        this.#record.append(chunk.subarray(at, at + n))
        this.#recordLeft -= n
        at += n
        if (this.#recordLeft === 0) {
          const record = this.#record
          this.#record = new Uint8ArrayList()
          this.#records!.onRecord?.(this.#channel, record)
        }
        continue
      }
      // a length (2 bytes), or, after the escape, the rest of a record header
      const want = this.#headAt < 2 ? 2 : RECORD_HEADER_BYTES
      while (this.#headAt < want && at < chunk.byteLength) head[this.#headAt++] = chunk[at++]! ^ this.#mask()
      if (this.#headAt < want) break
      if (want === 2) {
        const length = (head[0]! << 8) | head[1]!
        if (length === 0) continue // a record: its channel and length follow
        if (length < MIN_NOISE_MESSAGE) throw new LayerRecordsError(`a masked length of ${length} bytes: no Noise message is shorter than ${MIN_NOISE_MESSAGE}`, { reason: 'malformed' })
        out.push(head.slice(0, 2))
        this.#body = length
        this.#headAt = 0
        continue
      }
      const view = new DataView(head.buffer, head.byteOffset, RECORD_HEADER_BYTES)
      const size = view.getUint32(6)
      if (size === 0 || size > LAYER_RECORDS.maxRecordBytes) throw new LayerRecordsError(`a record of ${size} bytes: 1 to ${LAYER_RECORDS.maxRecordBytes} are allowed`, { reason: 'malformed' })
      this.#channel = view.getUint32(2)
      this.#recordLeft = size
      this.#headAt = 0
    }
  }
}
