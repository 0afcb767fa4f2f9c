// The record path of a resumable association (spec/resumption.md#records):
// its frames go as AEAD records (AES-256-GCM or ChaCha20-Poly1305, as the Open
// and Reply agreed: record-cipher.ts) on the connection's record side
// channel (the unobservable layer's, spec/unobservable.md#records) instead of
// through Noise and Yamux. One direction at a time: the receiving end offers
// a channel and a salt (RECORDS), the sending end moves (MOVED, its last frame
// on the stream) once its side of the connection can send records.
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto'
import { Uint8ArrayList } from 'uint8arraylist'
import { MAX_SEND_WINDOW_BYTES, RECORDS_SALT_BYTES, RECORD_PLAINTEXT_BYTES } from '../constants.ts'
import { MalformedFrameError, RecordFailedError } from '../errors.ts'
import { movedFrame, recordsFrame } from './data-frames.ts'
import type { RecordCipher } from './record-cipher.ts'
import type { AbortOptions, Stream } from '@libp2p/interface'
import type { CipherChaCha20Poly1305, CipherGCM, DecipherChaCha20Poly1305, DecipherGCM } from 'node:crypto'

/**
 * The record side channel of the connection a path's stream runs on (what
 * `@fara/transport`'s `layerRecords` returns): opaque records, routed by a
 * 32-bit channel number, in order, on the same socket as the stream.
 */
export interface RecordLink {
  /** This end may send records now (its direction of the connection is in passthrough). */
  readonly sending: boolean
  /** A fresh channel number nobody listens to on this connection. */
  newChannel: () => number
  /** Receive `channel`'s records, in order, as each completes; returns what stops it. */
  listen: (channel: number, onRecord: (record: Uint8ArrayList) => void) => () => void
  /** Send one record; false asks the caller to wait for `onDrain`. */
  send: (channel: number, record: Uint8Array | Uint8ArrayList) => boolean
  onDrain: (options?: AbortOptions) => Promise<void>
}

/** Where a stream's records go, if its connection has a record side channel (undefined: the stream only). */
export type RecordsOf = (stream: Stream) => RecordLink | undefined

const TAG_BYTES = 16
/** HKDF's info per cipher: a key is bound to the one cipher it is used with. */
const INFO: Record<RecordCipher, Uint8Array> = {
  'chacha20-poly1305': new TextEncoder().encode('fara/records/1'),
  'aes-256-gcm': new TextEncoder().encode('fara/records/aes-256-gcm/1')
}

/** The key of one direction of one path: HKDF-SHA256 of the resumption key with the offer's salt. */
function recordKey (key: Uint8Array, salt: Uint8Array, cipher: RecordCipher): Buffer {
  return Buffer.from(hkdfSync('sha256', key, salt, INFO[cipher], 32))
}

/** A cipher for record `n` of a direction (the overloads of node:crypto take one algorithm at a time). */
function sealer (cipher: RecordCipher, key: Buffer, n: number): CipherGCM | CipherChaCha20Poly1305 {
  return cipher === 'aes-256-gcm'
    ? createCipheriv('aes-256-gcm', key, nonce(n), { authTagLength: TAG_BYTES })
    : createCipheriv('chacha20-poly1305', key, nonce(n), { authTagLength: TAG_BYTES })
}

/** The decipher of record `n` of a direction. */
function opener (cipher: RecordCipher, key: Buffer, n: number): DecipherGCM | DecipherChaCha20Poly1305 {
  return cipher === 'aes-256-gcm'
    ? createDecipheriv('aes-256-gcm', key, nonce(n), { authTagLength: TAG_BYTES })
    : createDecipheriv('chacha20-poly1305', key, nonce(n), { authTagLength: TAG_BYTES })
}

/** Record n's nonce: 4 zero bytes, then n (a 64-bit big-endian counter). */
function nonce (n: number): Buffer {
  const out = Buffer.alloc(12)
  out.writeBigUInt64BE(BigInt(n), 4)
  return out
}

/** A scratch buffer for gathering a record's bytes before one cipher call (JavaScript runs one call at a time). */
let scratch = Buffer.allocUnsafeSlow(RECORD_PLAINTEXT_BYTES + 64 * 1024)

/** The first `length` bytes of `list` as one buffer: its only chunk, or a view of the scratch buffer they are copied into (valid until the next call). */
function gather (list: Uint8ArrayList, length: number): Uint8Array {
  for (const first of list) {
    if (first.byteLength >= length) return first.subarray(0, length)
    break
  }
  if (scratch.byteLength < length) scratch = Buffer.allocUnsafeSlow(length)
  let at = 0
  for (const chunk of list) {
    const n = Math.min(chunk.byteLength, length - at)
    scratch.set(n === chunk.byteLength ? chunk : chunk.subarray(0, n), at)
    at += n
    if (at === length) break
  }
  return scratch.subarray(0, length)
}

/**
 * What a record path adds to one path of an association, at one end: the
 * channel this end offered (and what arrives on it), and the peer's offer
 * this end moves its own frames onto.
 */
export class PathRecords {
  readonly #stream: Stream
  readonly #link: RecordLink
  readonly #key: Uint8Array
  readonly #cipher: RecordCipher
  // receiving: this end's offer
  #unlisten: (() => void) | undefined
  #inKey: Buffer | undefined
  #inCount = 0
  /** Plaintext that arrived before the peer's MOVED was read from the stream. */
  readonly #early = new Uint8ArrayList()
  #deliver: ((plaintext: Uint8Array) => void) | undefined
  #fail: ((err: Error) => void) | undefined
  #failure: Error | undefined
  // sending: the peer's offer
  #out: { channel: number, key: Buffer } | undefined
  #outCount = 0
  #moved = false

  constructor (stream: Stream, link: RecordLink, key: Uint8Array, cipher: RecordCipher) {
    this.#stream = stream
    this.#link = link
    this.#key = key
    this.#cipher = cipher
  }

  /** This end's frames go as records now. */
  get moved (): boolean { return this.#moved }

  /** Listen on a fresh channel and return the RECORDS frame that offers it to the peer. */
  offer (): Uint8Array {
    const channel = this.#link.newChannel()
    const salt = randomBytes(RECORDS_SALT_BYTES)
    this.#inKey = recordKey(this.#key, salt, this.#cipher)
    this.#unlisten = this.#link.listen(channel, (record) => { this.#onRecord(record) })
    return recordsFrame(channel, salt)
  }

  /** The peer's RECORDS frame: this end may move its frames to that channel. A second offer on one path breaks the rules. */
  accept (channel: number, salt: Uint8Array): void {
    if (this.#out != null) throw new MalformedFrameError('a second RECORDS frame on one path')
    this.#out = { channel, key: recordKey(this.#key, salt, this.#cipher) }
  }

  /**
   * The peer's MOVED frame was read: what follows on this path comes as
   * records. `deliver` takes their plaintext in order (what came early at
   * once); `fail` ends the path (a record that does not authenticate).
   */
  follow (deliver: (plaintext: Uint8Array) => void, fail: (err: Error) => void): void {
    if (this.#inKey == null) throw new MalformedFrameError('MOVED, but this end offered no records')
    if (this.#deliver != null) throw new MalformedFrameError('a second MOVED frame on one path')
    this.#fail = fail
    if (this.#failure != null) { fail(this.#failure); return }
    for (const chunk of this.#early) deliver(chunk)
    this.#early.consume(this.#early.byteLength)
    this.#deliver = deliver
  }

  #onRecord (record: Uint8ArrayList): void {
    if (this.#failure != null) return
    let plaintext: Buffer
    try {
      if (record.byteLength < TAG_BYTES) throw new Error('shorter than its tag')
      const decipher = opener(this.#cipher, this.#inKey!, this.#inCount++)
      decipher.setAuthTag(record.subarray(record.byteLength - TAG_BYTES))
      // one cipher call over the record gathered in a scratch buffer: one allocation (the
      // plaintext), not one per socket read the record spans
      plaintext = decipher.update(gather(record, record.byteLength - TAG_BYTES))
      decipher.final()
    } catch (err) {
      // as a Noise message that fails its tag: the path is broken (resumed elsewhere), nothing is delivered
      this.#failure = new RecordFailedError(`a record on this path does not authenticate: ${(err as Error).message}`)
      this.release()
      this.#fail?.(this.#failure)
      return
    }
    if (plaintext.byteLength === 0) return
    if (this.#deliver != null) {
      this.#deliver(plaintext)
      return
    }
    this.#early.append(plaintext)
    // the sender's window bounds what it may send before the MOVED it wrote first arrives
    if (this.#early.byteLength > MAX_SEND_WINDOW_BYTES + 2 * RECORD_PLAINTEXT_BYTES) {
      this.#failure = new MalformedFrameError(`${this.#early.byteLength} bytes of records before the MOVED frame, more than any send window`)
      this.release()
      this.#fail?.(this.#failure)
    }
  }

  /**
   * Write `data` (whole frames) on this path: as records once moved, or once
   * the peer offered and this end's connection can send them (MOVED goes
   * first, on the stream), else on the stream. Returns what the carrier's
   * send returned.
   */
  send (data: Uint8Array | Uint8ArrayList): boolean {
    if (!this.#moved) {
      if (this.#out == null || !this.#link.sending) return this.#stream.send(data)
      this.#stream.send(movedFrame())
      this.#moved = true
    }
    const { channel, key } = this.#out!
    let ok = true
    const list = data instanceof Uint8Array ? new Uint8ArrayList(data) : data
    for (let at = 0; at < list.byteLength; at += RECORD_PLAINTEXT_BYTES) {
      const part = list.sublist(at, Math.min(list.byteLength, at + RECORD_PLAINTEXT_BYTES))
      const cipher = sealer(this.#cipher, key, this.#outCount++)
      const ciphertext = cipher.update(gather(part, part.byteLength))
      cipher.final()
      // the layer writes its header with the start of the record, the tag with its end (no small write)
      ok = this.#link.send(channel, new Uint8ArrayList(ciphertext, cipher.getAuthTag()))
    }
    return ok
  }

  /** Wait until the carrier (the stream, or the connection once moved) takes more. */
  async onDrain (options?: AbortOptions): Promise<void> {
    if (this.#moved) await this.#link.onDrain(options)
    else await this.#stream.onDrain(options)
  }

  /** Stop listening: the path is gone (what still arrives on the channel is dropped). */
  release (): void {
    this.#unlisten?.()
    this.#unlisten = undefined
    this.#deliver = undefined
  }
}
