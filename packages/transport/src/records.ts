import { wireConnections } from './internal/wire/records.ts'
import type { AbortOptions, Connection } from '@libp2p/interface'
import type { Uint8ArrayList } from 'uint8arraylist'

/**
 * The record side channel of one connection under the unobservable layer
 * (spec/unobservable.md#records): opaque records written straight onto the
 * socket between Noise's messages, bypassing Noise and Yamux, for bulk data
 * that the caller has already encrypted and authenticated (the layer only
 * hides their framing; it neither encrypts nor authenticates them).
 *
 * Records go one way per call and each direction is independent: the
 * receiver picks a channel ({@link LayerRecords.newChannel}), listens to it,
 * and tells the sender (over a stream). Records of one direction arrive
 * whole and in the order they were sent; nothing orders them against the
 * connection's streams.
 *
 * @example
 * ```ts
 * import { layerRecords } from '@fara/transport'
 * import type { Connection } from '@libp2p/interface'
 *
 * declare const connection: Connection
 * declare const sealed: Uint8Array[] // records the caller encrypted, 1 to LAYER_RECORDS.maxRecordBytes bytes each
 *
 * const records = layerRecords(connection) // undefined without the layer (a WebRTC path)
 * if (records != null) {
 *   // receiver: pick a channel, listen, and tell the sender the number over a stream
 *   const channel = records.newChannel()
 *   const stop = records.listen(channel, (record) => { console.log('record of', record.byteLength, 'bytes') })
 *
 *   // sender (on the other end, with the number it was told): once its direction is in passthrough
 *   if (records.sending) {
 *     for (const record of sealed) {
 *       if (!records.send(channel, record)) await records.onDrain()
 *     }
 *   }
 *   stop()
 * }
 * ```
 */
export interface LayerRecords {
  /** This side's sending direction is in passthrough and the connection is open: `send` may be called. */
  readonly sending: boolean
  /** A fresh random channel number (u32) not listened to on this connection yet (it is not reserved: listen to it). */
  newChannel (): number
  /**
   * Receive the records of `channel`, in wire order, synchronously as each
   * completes; a record's bytes are views of what the socket read (no copy)
   * and are the listener's to keep. A listener that throws has its error
   * logged, and the records keep coming. Returns a function that stops
   * listening. Throws `LayerRecordsError` (`channel-in-use`) if the channel
   * is listened to already, `RangeError` for a channel outside 0 to 2^32 - 1.
   */
  listen (channel: number, onRecord: (record: Uint8ArrayList) => void): () => void
  /**
   * Send one record of 1 to `LAYER_RECORDS.maxRecordBytes` bytes (its bytes are
   * not copied: leave them unchanged). Throws `RangeError` for a size or
   * channel out of range, `LayerRecordsError` (`not-passthrough`) if `sending`
   * is false, (`closed`) if the connection is not open. Returns false when the
   * socket asks the caller to wait for {@link LayerRecords.onDrain}, as a
   * libp2p stream's `send` does.
   */
  send (channel: number, record: Uint8Array | Uint8ArrayList): boolean
  /** Resolves when the socket drained (at once if it is not blocked); rejects with `LayerRecordsError` (`closed`) if the connection closes first, or with the signal's reason. */
  onDrain (options?: AbortOptions): Promise<void>
  /** Records dropped because nobody listened to their channel. */
  readonly dropped: number
}

/**
 * The record side channel of a libp2p connection, or undefined when it is
 * not under the unobservable layer (a direct WebRTC or UDX path, or a node
 * without the layer).
 */
export function layerRecords (connection: Connection): LayerRecords | undefined {
  // libp2p's Connection keeps the raw connection the protector wrapped (not part of its interface:
  // a test checks it on a real connection, so that a libp2p upgrade that changes it fails loudly)
  const raw = (connection as { maConn?: unknown } | null)?.maConn
  if (raw == null || typeof raw !== 'object') return undefined
  return wireConnections.get(raw)?.records
}
