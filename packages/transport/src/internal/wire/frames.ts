// Frames of the unobservable layer (spec/unobservable.md#frames): after the
// hellos, each direction is a sequence of
//
//   header u16 BE (bit 15: padding, bits 0–14: body length) ‖ body
//
// encrypted, header and body alike, by the direction's keystream. Padding
// bodies are dropped by the receiver. Nothing here is in clear on the wire.
import type { KeyStream } from './keys.ts'
import type { Uint8ArrayList } from 'uint8arraylist'

/** Length of a frame header. */
export const FRAME_HEADER_BYTES = 2
/** Largest frame body (15 bits). */
export const MAX_FRAME_BODY = 0x7fff
const PADDING_BIT = 0x8000

/**
 * Frame `data` (split into bodies of at most {@link MAX_FRAME_BODY}), follow
 * it with one padding frame of `padding` bytes if given, and encrypt it all
 * with `out`: one buffer, ready to write.
 */
export function encodeFrames (out: KeyStream, data: Uint8Array | Uint8ArrayList, padding?: number): Uint8Array {
  const length = data.byteLength
  const frames = Math.ceil(length / MAX_FRAME_BODY)
  const padded = padding == null ? 0 : FRAME_HEADER_BYTES + padding
  const plain = Buffer.allocUnsafe(length + frames * FRAME_HEADER_BYTES + padded)
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
    plain.writeUInt16BE(PADDING_BIT | padding, at)
    plain.fill(0, at + FRAME_HEADER_BYTES, at + padded)
  }
  return out.update(plain)
}

/**
 * Reads frames out of decrypted bytes that arrive in any split: returns the
 * data bodies as views of its input (no copy), drops padding.
 */
export class FrameDecoder {
  /** Body bytes of the current frame still to come. */
  #body = 0
  #padding = false
  /** First byte of a header split across two chunks, or -1. */
  #half = -1

  decode (plain: Uint8Array): Uint8Array[] {
    const out: Uint8Array[] = []
    let at = 0
    while (at < plain.byteLength) {
      if (this.#body > 0) {
        const n = Math.min(this.#body, plain.byteLength - at)
        if (!this.#padding) out.push(plain.subarray(at, at + n))
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
      this.#padding = (header & PADDING_BIT) !== 0
      this.#body = header & MAX_FRAME_BODY
    }
    return out
  }
}
