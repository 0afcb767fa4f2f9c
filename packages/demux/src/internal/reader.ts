import { Uint8ArrayList } from 'uint8arraylist'
import { AssociationClosedError, AssociationResetError, FrameTooLargeError, MalformedFrameError } from '../errors.ts'
import type { Stream } from '@libp2p/interface'

/** Above this many unread bytes the stream is paused (Yamux stops granting window). */
const HIGH_WATER = 1 << 20
/** Below this the stream is resumed. */
const LOW_WATER = 256 << 10

/**
 * The one reader of an association's stream, attached when the association
 * is created so that no byte or end-of-stream event can be missed between
 * reading the open/accept frame and the application's first read. It buffers
 * at most about {@link HIGH_WATER} bytes, then pauses the stream.
 */
export class StreamReader {
  readonly #stream: Stream
  readonly #queue = new Uint8ArrayList()
  #ended = false
  #failure: Error | undefined
  #wake: (() => void) | undefined
  #paused = false
  /** No longer this association's path: what still arrives is dropped. */
  #detached = false

  constructor (stream: Stream) {
    this.#stream = stream
    stream.addEventListener('message', this.#onMessage as never)
    stream.addEventListener('close', this.#onClose as never)
    stream.addEventListener('remoteCloseWrite', this.#onEnd)
    if (stream.status === 'reset') {
      this.#failure = new AssociationResetError()
      this.#ended = true
    } else if (stream.status !== 'open' || stream.remoteWriteStatus === 'closed') {
      // bytes buffered before we listened are dispatched in a microtask that
      // addEventListener queued; this one runs after it
      queueMicrotask(this.#onEnd)
    }
  }

  /** Stop listening to the stream: it is no longer this association's path. */
  detach (): void {
    this.#stream.removeEventListener('message', this.#onMessage as never)
    this.#stream.removeEventListener('message', this.#onStray)
    this.#stream.removeEventListener('close', this.#onClose as never)
    this.#stream.removeEventListener('remoteCloseWrite', this.#onEnd)
    this.#detached = true
    this.#failure ??= new AssociationClosedError('path detached')
    this.#onEnd()
  }

  readonly #onMessage = (evt: { data: Uint8Array | Uint8ArrayList }): void => {
    this.#queue.append(evt.data)
    if (!this.#paused && this.#queue.byteLength > HIGH_WATER) {
      this.#paused = true
      // a stream that is already closing cannot be paused (nor needs to be)
      try { this.#stream.pause() } catch { /* closing: nothing more will arrive */ }
    }
    this.#wake?.()
  }

  /**
   * The frames continue from another source (a record path, after the peer's
   * MOVED frame): returns what appends that source's bytes. The stream still
   * ends or fails the reader; a byte on it from now on breaks the rules.
   */
  follow (): (data: Uint8Array) => void {
    if (this.#queue.byteLength > 0) throw new MalformedFrameError('bytes on the stream after its MOVED frame')
    this.#stream.removeEventListener('message', this.#onMessage as never)
    this.#stream.addEventListener('message', this.#onStray)
    this.#resumeStream()
    // the stream may have ended already: the records came before its end (they are not delayed by
    // Noise and Yamux), so they are still this path's last frames, read before the end is
    return (data) => {
      if (this.#detached) return
      this.#queue.append(data)
      this.#wake?.()
    }
  }

  readonly #onStray = (): void => {
    this.#failure ??= new MalformedFrameError('bytes on the stream after its MOVED frame')
    this.#onEnd()
  }

  readonly #onClose = (evt: Event & { error?: Error, local?: boolean }): void => {
    if (evt.error != null && this.#failure == null) {
      this.#failure = evt.local === false ? new AssociationResetError(undefined, { cause: evt.error }) : evt.error
    }
    this.#onEnd()
  }

  readonly #onEnd = (): void => {
    this.#ended = true
    this.#wake?.()
  }

  async #more (signal?: AbortSignal): Promise<void> {
    if (this.#ended) {
      throw this.#failure ?? new AssociationClosedError()
    }
    await new Promise<void>((resolve, reject) => {
      const onAbort = (): void => { reject(new AssociationClosedError('Timed out waiting for the frame')) }
      if (signal?.aborted === true) { onAbort(); return }
      signal?.addEventListener('abort', onAbort, { once: true })
      this.#wake = () => {
        signal?.removeEventListener('abort', onAbort)
        resolve()
      }
    })
    this.#wake = undefined
  }

  #consumed (): void {
    if (this.#queue.byteLength < LOW_WATER) this.#resumeStream()
  }

  #resumeStream (): void {
    if (!this.#paused) return
    this.#paused = false
    // the remote may have closed while we were paused: the buffered bytes are still ours to deliver
    try { this.#stream.resume() } catch { /* closed: nothing more will arrive */ }
  }

  #take (n: number): Uint8Array {
    const out = this.#queue.subarray(0, n)
    this.#queue.consume(n)
    this.#consumed()
    return out
  }

  /**
   * Read one frame: an unsigned-varint length, then that many bytes. A length
   * over `max` is refused as soon as it is read, before any body is buffered.
   */
  async readFrame (max: number, what: string, signal?: AbortSignal): Promise<Uint8Array> {
    return this.#take(await this.#frameLength(max, what, signal))
  }

  /**
   * {@link StreamReader.readFrame}, but the body as views of the received
   * chunks (a frame that spans several chunks is not copied together).
   */
  async readFrameList (max: number, what: string, signal?: AbortSignal): Promise<Uint8ArrayList> {
    const length = await this.#frameLength(max, what, signal)
    const out = this.#queue.sublist(0, length)
    this.#queue.consume(length)
    this.#consumed()
    return out
  }

  /**
   * The next frame's body if it is buffered whole, without waiting (frames
   * that arrived before a path broke are still the peer's last word);
   * undefined if it is not.
   */
  takeFrameList (max: number, what: string): Uint8ArrayList | undefined {
    const length = this.#bufferedFrame(max, what)
    if (length == null) return undefined
    const out = this.#queue.sublist(0, length)
    this.#queue.consume(length)
    this.#consumed()
    return out
  }

  /** If a whole frame is buffered: consume its length prefix and return the body's length. */
  #bufferedFrame (max: number, what: string): number | undefined {
    const maxPrefix = Math.max(1, Math.ceil(Math.log2(max + 1) / 7))
    let length = 0
    let prefix = 0
    let complete = false
    for (; prefix < this.#queue.byteLength && prefix < maxPrefix; prefix++) {
      const byte = this.#queue.get(prefix)
      length += (byte & 0x7f) * 2 ** (7 * prefix)
      if ((byte & 0x80) === 0) { complete = true; prefix++; break }
    }
    if (!complete && prefix >= maxPrefix) {
      throw new FrameTooLargeError(`${what} frame length prefix is longer than ${maxPrefix} bytes`)
    }
    if (!complete) return undefined
    if (length > max) throw new FrameTooLargeError(`${what} frame is ${length} bytes; at most ${max} allowed`)
    if (length === 0) throw new MalformedFrameError(`${what} frame is empty`)
    if (this.#queue.byteLength < prefix + length) return undefined
    this.#queue.consume(prefix)
    return length
  }

  /** Wait until a whole frame is buffered; consume its length prefix and return the body's length. */
  async #frameLength (max: number, what: string, signal?: AbortSignal): Promise<number> {
    while (true) {
      const length = this.#bufferedFrame(max, what)
      if (length != null) return length
      // what is queued is less than one frame (at most `max` and its prefix): if that is above
      // LOW_WATER the stream would stay paused and the frame never complete
      this.#resumeStream()
      try {
        await this.#more(signal)
      } catch (err) {
        if (err instanceof AssociationClosedError && this.#ended && this.#failure == null) {
          throw new AssociationClosedError(`Stream ended before the ${what} frame`)
        }
        throw err
      }
    }
  }

  /** Every byte after the frames, until the remote closes its writable end. */
  async * chunks (): AsyncGenerator<Uint8Array, void, undefined> {
    while (true) {
      if (this.#queue.byteLength > 0) {
        const chunk = takeChunk(this.#queue)
        this.#consumed()
        yield chunk
        continue
      }
      if (this.#ended) {
        if (this.#failure != null) throw this.#failure
        return
      }
      await this.#more()
    }
  }
}

/** Chunks smaller than this are gathered (copied) into one when several are queued; larger ones are handed on as they are. */
const GATHER_BYTES = 16 << 10

/**
 * Take the next chunk to hand to the application from `list`: its first
 * buffer as it is (a view, no copy), or several small buffers copied into one.
 */
export function takeChunk (list: Uint8ArrayList): Uint8Array {
  let first: Uint8Array | undefined
  let length = 0
  let count = 0
  for (const buf of list) {
    if (buf.byteLength === 0) continue // consume() drops empty buffers it passes over
    first ??= buf
    if (length >= GATHER_BYTES || buf.byteLength >= GATHER_BYTES) break
    length += buf.byteLength
    count++
  }
  if (count <= 1) {
    list.consume(first!.byteLength)
    return first!
  }
  const out = list.subarray(0, length)
  list.consume(length)
  return out
}

/** Unsigned-varint length prefix + body, as one buffer. */
export function lengthPrefixed (body: Uint8Array): Uint8Array {
  const prefix: number[] = []
  let n = body.byteLength
  do {
    let byte = n & 0x7f
    n = Math.floor(n / 128)
    if (n > 0) byte |= 0x80
    prefix.push(byte)
  } while (n > 0)
  const out = new Uint8Array(prefix.length + body.byteLength)
  out.set(prefix, 0)
  out.set(body, prefix.length)
  return out
}
