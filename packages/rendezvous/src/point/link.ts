import type { Sender } from './answerer.ts'
import type { ReplayVerdict } from '@fara/transport'
import type { Duplex } from 'node:stream'

/**
 * The link between a point's primary and one of its workers
 * (spec/rendezvous.md#workers): a private pipe (the worker's fd 4, made by
 * the primary at fork, never a path others could open) carrying frames, each
 * `u32 length | u32 id | body`. A request's body is
 * `u8 n | peer id | u8 n | source address | u8 n | source prefix | request`
 * (lengths 0 for a relayed connection: no source); an answer's body is the
 * encoded answer. A turn of the event loop's frames go in one write.
 */
export class Link {
  readonly #pipe: Duplex
  #chunks: Buffer[] = []
  #buffered = 0
  #queued: Uint8Array[] = []

  constructor (pipe: Duplex, onFrame: (id: number, body: Buffer) => void) {
    this.#pipe = pipe
    pipe.on('data', (chunk: Buffer) => {
      this.#chunks.push(chunk)
      this.#buffered += chunk.byteLength
      if (this.#buffered < 8) return
      let data = this.#chunks.length === 1 ? this.#chunks[0]! : Buffer.concat(this.#chunks)
      let at = 0
      while (data.byteLength - at >= 8) {
        const length = data.readUInt32LE(at)
        if (data.byteLength - at - 4 < length) break
        onFrame(data.readUInt32LE(at + 4), data.subarray(at + 8, at + 4 + length))
        at += 4 + length
      }
      data = data.subarray(at)
      this.#chunks = data.byteLength === 0 ? [] : [data]
      this.#buffered = data.byteLength
    })
    // the other end is gone: its process exits, which its owner handles
    pipe.on('error', () => {})
  }

  /** Queue a frame of `id` and `parts`; written together with the others of this turn. */
  send (id: number, parts: Uint8Array[]): void {
    const head = Buffer.allocUnsafe(8)
    head.writeUInt32LE(4 + parts.reduce((n, p) => n + p.byteLength, 0), 0)
    head.writeUInt32LE(id, 4)
    if (this.#queued.push(head, ...parts) === 1 + parts.length) setImmediate(this.#flush)
  }

  readonly #flush = (): void => {
    const queued = this.#queued
    this.#queued = []
    if (!this.#pipe.destroyed) this.#pipe.write(queued.length === 1 ? queued[0] : Buffer.concat(queued))
  }

  close (): void {
    this.#pipe.destroy()
  }
}

const EMPTY = new Uint8Array(0)

/** The parts of a request frame's body. */
export function requestParts (sender: Sender, request: Uint8Array): Uint8Array[] {
  const peer = Buffer.from(sender.peer)
  const address = sender.source == null ? EMPTY : Buffer.from(sender.source.address)
  const prefix = sender.source == null ? EMPTY : Buffer.from(sender.source.prefix)
  return [Uint8Array.of(peer.byteLength), peer, Uint8Array.of(address.byteLength), address, Uint8Array.of(prefix.byteLength), prefix, request]
}

/** A request frame's body: who sent it, and its bytes. */
export function decodeRequestBody (body: Buffer): { sender: Sender, request: Uint8Array } {
  let at = 0
  const field = (): string => {
    const n = body[at]!
    const value = body.toString('utf8', at + 1, at + 1 + n)
    at += 1 + n
    return value
  }
  const peer = field()
  const address = field()
  const prefix = field()
  return { sender: { peer, source: address === '' ? undefined : { address, prefix } }, request: body.subarray(at) }
}

/**
 * The high bit of a frame's id marks a hello check: the worker asks the
 * primary's one replay memory (spec/unobservable.md#replay) about a hello's
 * time and tag, `f64 time | tag`; the answer is one byte, an index of
 * {@link VERDICTS}. Request ids stay below it.
 */
export const HELLO_CHECK = 0x80000000
export const VERDICTS: readonly ReplayVerdict[] = [null, 'stale', 'replay', 'full']

/** A hello check frame's body. */
export function helloParts (time: number, tag: Uint8Array): Uint8Array[] {
  const head = Buffer.allocUnsafe(8)
  head.writeDoubleLE(time, 0)
  return [head, tag]
}

/** A hello check frame's time and tag. */
export function decodeHello (body: Buffer): { time: number, tag: Uint8Array } {
  return { time: body.readDoubleLE(0), tag: body.subarray(8) }
}
