/**
 * Length-prefixed frames on a rendezvous stream (spec/rendezvous.md#rendezvous-point-protocol):
 * an unsigned varint byte count, then that many bytes. The reader is bounded:
 * a prefix longer than three bytes or announcing more than `maxBytes` is an
 * error before any of the body is buffered.
 */

/** The frames on a stream cannot be read any more (a bad or oversized length prefix). */
export class FrameError extends Error {
  static override name = 'FrameError'
  override name = 'FrameError'
}

/** Longest varint prefix read: 3 bytes hold 21 bits, more than any bound used here. */
const MAX_PREFIX_BYTES = 3

/** `body` with its varint length prefix, in one buffer (one write on the stream). */
export function frame (body: Uint8Array): Uint8Array {
  let n = body.byteLength
  let prefix = 1
  for (let v = n >>> 7; v > 0; v >>>= 7) prefix++
  const out = new Uint8Array(prefix + n)
  let i = 0
  while (n >= 0x80) {
    out[i++] = (n & 0x7f) | 0x80
    n >>>= 7
  }
  out[i++] = n
  out.set(body, i)
  return out
}

/** Something a stream's `message` event carries: a Uint8Array or a Uint8ArrayList. */
interface Chunk { readonly byteLength: number, subarray: () => Uint8Array }

/**
 * Collects the bytes of a stream and hands out whole frames. A frame that
 * arrived in one piece is returned as a view of that piece (no copy); callers
 * that keep the bytes must copy them.
 */
export class FrameReader {
  readonly #max: number
  #chunks: Uint8Array[] = []
  #buffered = 0

  constructor (maxBytes: number) {
    this.#max = maxBytes
  }

  /** Bytes received and not yet returned as a frame. */
  get buffered (): number {
    return this.#buffered
  }

  push (data: Uint8Array | Chunk): void {
    if (data.byteLength === 0) return
    this.#chunks.push(data instanceof Uint8Array ? data : data.subarray())
    this.#buffered += data.byteLength
  }

  /** The next whole frame's body, or undefined until one is complete; throws {@link FrameError} if the prefix is bad. */
  next (): Uint8Array | undefined {
    if (this.#buffered === 0) return undefined
    let head = this.#chunks[0]!
    if (head.byteLength < MAX_PREFIX_BYTES && this.#chunks.length > 1) head = this.#join()
    let length = 0
    let prefix = 0
    for (;;) {
      if (prefix >= head.byteLength) return undefined // prefix not complete yet
      const b = head[prefix]!
      length += (b & 0x7f) * 2 ** (7 * prefix)
      prefix++
      if ((b & 0x80) === 0) break
      if (prefix >= MAX_PREFIX_BYTES) throw new FrameError(`length prefix longer than ${MAX_PREFIX_BYTES} bytes`)
    }
    if (length > this.#max) throw new FrameError(`frame of ${length} bytes; at most ${this.#max}`)
    const total = prefix + length
    if (this.#buffered < total) return undefined
    if (head.byteLength < total) head = this.#join()
    const body = head.subarray(prefix, total)
    if (head.byteLength === total) this.#chunks.shift()
    else this.#chunks[0] = head.subarray(total)
    this.#buffered -= total
    return body
  }

  /** Drop everything buffered. */
  clear (): void {
    this.#chunks = []
    this.#buffered = 0
  }

  #join (): Uint8Array {
    const all = new Uint8Array(this.#buffered)
    let at = 0
    for (const c of this.#chunks) {
      all.set(c, at)
      at += c.byteLength
    }
    this.#chunks = [all]
    return all
  }
}
