import { associationToDuplex, sinkInto } from './internal/duplex.ts'
import type { SinkSource } from './internal/duplex.ts'
import type { AbortOptions, PeerId, Stream } from '@libp2p/interface'
import type { StreamReader } from './internal/reader.ts'
import type { Duplex } from 'node:stream'
import type { Uint8ArrayList } from 'uint8arraylist'

/**
 * One end of an association: an encrypted, multiplexed stream between two
 * entities, named at each end by a random AId. It reads and writes like a
 * libp2p v3 stream (`send` / `onDrain` / async iteration / `close` / `abort`),
 * exposes the underlying libp2p `Stream`, and converts to a Node.js Duplex.
 */
export interface Association extends AsyncIterable<Uint8Array> {
  /** `outbound` at the initiator, `inbound` at the responder. */
  readonly direction: 'outbound' | 'inbound'
  /** This end's id for the association (fresh, random, 8 bytes). */
  readonly localAid: Uint8Array
  /** The other end's id; at the initiator, known once {@link Association.accepted} resolves. */
  readonly remoteAid: Uint8Array | undefined
  /** The Noise-authenticated key (PeerId) of the other entity. */
  readonly remotePeer: PeerId
  /**
   * The underlying libp2p stream (of a resumable association: the current
   * path's), for its metadata. Read and write through the association itself:
   * it holds the stream's only reader, and a resumable one frames its data.
   */
  readonly stream: Stream
  /** True if the association survives the loss of its path (spec/resumption.md). */
  readonly resumable: boolean
  /** How many times the association moved to a new path. */
  readonly resumptions: number
  /**
   * True while this end's frames go as encrypted records on the current
   * path's connection instead of through its stream (spec/resumption.md#records):
   * a resumable association moves there once the other end offered it and the
   * connection can carry records. Always false for a plain association.
   */
  readonly onRecords: boolean
  /**
   * Resolves when the association is over: both ends closed and (resumable)
   * everything sent was acknowledged. Rejects with the error that ended it otherwise.
   */
  readonly finished: Promise<void>
  /**
   * Resolves when the responder accepted; rejects with
   * `AssociationRejectedError` (or another typed error) otherwise. The first
   * read rejects the same way, so most code never needs to await this.
   */
  readonly accepted: Promise<void>
  /** Queue bytes; returns false when the caller should `await onDrain()` before sending more. */
  send (data: Uint8Array | Uint8ArrayList): boolean
  /** Resolves when more data can be sent. */
  onDrain (options?: AbortOptions): Promise<void>
  /** Close the writable end gracefully (half-close); reading continues until the remote closes. */
  close (options?: AbortOptions): Promise<void>
  /** Close both ends at once with an error (resets the stream). */
  abort (err: Error): void
  /**
   * Resumable initiator only (a no-op otherwise): leave the current path now
   * and resume on a new one, e.g. once a direct path to the peer exists.
   * Bytes in flight on the old path are sent again on the new one.
   */
  repath (): void
  /** A Node.js Duplex over this association (backpressure honoured both ways). */
  toDuplex (): Duplex
  /** The bytes the other end sends: the association's own iterator, for it-pipe style `{ source, sink }` composition. */
  readonly source: AsyncGenerator<Uint8Array, void, undefined>
  /** Send every chunk of `source` (honouring backpressure), then half-close: `pipe(association, transform, association)`. */
  sink (source: AsyncIterable<Uint8Array | Uint8ArrayList> | Iterable<Uint8Array | Uint8ArrayList>): Promise<void>
}

/** Internal: how an association is built by the demux. */
export interface AssociationInit {
  stream: Stream
  direction: 'outbound' | 'inbound'
  localAid: Uint8Array
  remoteAid?: Uint8Array
  remotePeer: PeerId
  reader: StreamReader
  /** Resolves to the remote AId once the exchange completed. */
  established: Promise<Uint8Array>
}

export class StreamAssociation implements Association {
  readonly direction: 'outbound' | 'inbound'
  readonly localAid: Uint8Array
  readonly remotePeer: PeerId
  readonly stream: Stream
  readonly accepted: Promise<void>
  readonly finished: Promise<void>
  readonly resumable = false
  readonly resumptions = 0
  readonly onRecords = false
  #remoteAid: Uint8Array | undefined
  readonly #reader: StreamReader

  constructor (init: AssociationInit) {
    this.#reader = init.reader
    this.stream = init.stream
    this.direction = init.direction
    this.localAid = init.localAid
    this.remotePeer = init.remotePeer
    this.#remoteAid = init.remoteAid
    this.accepted = init.established.then(aid => { this.#remoteAid = aid })
    // a refusal is reported on the first read; never as an unhandled rejection
    this.accepted.catch(() => {})
    this.finished = new Promise<void>((resolve, reject) => {
      const onClose = (evt: Event & { error?: Error }): void => { if (evt.error == null) resolve(); else reject(evt.error) }
      if (init.stream.status !== 'open') resolve()
      else init.stream.addEventListener('close', onClose as never, { once: true })
    })
    this.finished.catch(() => {})
  }

  get remoteAid (): Uint8Array | undefined {
    return this.#remoteAid
  }

  async * [Symbol.asyncIterator] (): AsyncGenerator<Uint8Array, void, undefined> {
    await this.accepted
    yield * this.#reader.chunks()
  }

  send (data: Uint8Array | Uint8ArrayList): boolean {
    return this.stream.send(data)
  }

  async onDrain (options?: AbortOptions): Promise<void> {
    await this.stream.onDrain(options)
  }

  async close (options?: AbortOptions): Promise<void> {
    await this.stream.close(options)
  }

  abort (err: Error): void {
    this.stream.abort(err)
  }

  repath (): void {}

  toDuplex (): Duplex {
    return associationToDuplex(this)
  }

  get source (): AsyncGenerator<Uint8Array, void, undefined> {
    return this[Symbol.asyncIterator]()
  }

  /** Bound to this association: it-pipe calls `sink` detached from its object. */
  readonly sink = async (source: SinkSource): Promise<void> => { await sinkInto(this, source) }
}
