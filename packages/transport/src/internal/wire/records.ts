// The record side channel of one connection under the unobservable layer
// (spec/unobservable.md#records): the checks at the API boundary, the
// listeners by channel, and the drain. The bytes on the wire are the
// LengthMasker's (frames.ts); the connection (connection.ts) joins the two.
import { randomInt } from 'node:crypto'
import { LAYER_RECORDS } from '../../constants.ts'
import { LayerRecordsError } from '../../errors.ts'
import type { LayerRecords } from '../../records.ts'
import type { AbortOptions, Logger, MultiaddrConnection } from '@libp2p/interface'
import type { Uint8ArrayList } from 'uint8arraylist'

/** What the side channel needs of its connection. */
export interface RecordPort {
  /** The raw connection under the layer: its status, backpressure, 'drain' and 'close'. */
  readonly raw: MultiaddrConnection
  /** Both the layer's connection and the raw one are open. */
  open: () => boolean
  /** This side's sending direction is in passthrough. */
  passthrough: () => boolean
  /** Put one checked record out (or behind the Noise message being written); the raw connection's backpressure. */
  write: (channel: number, record: Uint8Array | Uint8ArrayList) => boolean
  readonly log: Logger
}

/**
 * The layer's connection of each raw connection under it, for
 * {@link layerRecords}: libp2p's Connection keeps the raw one (`maConn`), not
 * the one the protector returned.
 */
export const wireConnections = new WeakMap<object, { readonly records: Records }>()

const MAX_CHANNEL = 2 ** 32 - 1

function checkChannel (channel: number): void {
  if (typeof channel !== 'number') throw new TypeError(`channel must be a number, got ${typeof channel}`)
  if (!Number.isInteger(channel) || channel < 0 || channel > MAX_CHANNEL) {
    throw new RangeError(`channel must be an integer from 0 to ${MAX_CHANNEL}, got ${channel}`)
  }
}

export class Records implements LayerRecords {
  readonly #port: RecordPort
  readonly #listeners = new Map<number, (record: Uint8ArrayList) => void>()
  #dropped = 0

  constructor (port: RecordPort) {
    this.#port = port
  }

  get sending (): boolean {
    return this.#port.passthrough() && this.#port.open()
  }

  get dropped (): number {
    return this.#dropped
  }

  newChannel (): number {
    for (;;) {
      const channel = randomInt(MAX_CHANNEL + 1)
      if (!this.#listeners.has(channel)) return channel
    }
  }

  listen (channel: number, onRecord: (record: Uint8ArrayList) => void): () => void {
    checkChannel(channel)
    if (typeof onRecord !== 'function') throw new TypeError(`onRecord must be a function, got ${typeof onRecord}`)
    if (this.#listeners.has(channel)) throw new LayerRecordsError(`channel ${channel} is listened to already`, { reason: 'channel-in-use' })
    this.#listeners.set(channel, onRecord)
    return () => {
      if (this.#listeners.get(channel) === onRecord) this.#listeners.delete(channel)
    }
  }

  send (channel: number, record: Uint8Array | Uint8ArrayList): boolean {
    checkChannel(channel)
    if (!(record instanceof Uint8Array) && typeof (record as Partial<Uint8ArrayList> | null)?.sublist !== 'function') {
      throw new TypeError('record must be a Uint8Array or a Uint8ArrayList')
    }
    const size = record.byteLength
    if (size < 1 || size > LAYER_RECORDS.maxRecordBytes) {
      throw new RangeError(`a record has 1 to ${LAYER_RECORDS.maxRecordBytes} bytes, got ${size}`)
    }
    if (!this.#port.open()) throw new LayerRecordsError('the connection is closed', { reason: 'closed' })
    if (!this.#port.passthrough()) {
      throw new LayerRecordsError('this side\'s sending direction is not in passthrough yet: records may be sent once `sending` is true', { reason: 'not-passthrough' })
    }
    return this.#port.write(channel, record)
  }

  async onDrain (options?: AbortOptions): Promise<void> {
    options?.signal?.throwIfAborted()
    if (!this.#port.open()) throw new LayerRecordsError('the connection is closed', { reason: 'closed' })
    const raw = this.#port.raw
    if (!raw.writableNeedsDrain) return
    await new Promise<void>((resolve, reject) => {
      const signal = options?.signal
      const done = (err?: unknown): void => {
        raw.removeEventListener('drain', onDrained)
        raw.removeEventListener('close', onClose)
        signal?.removeEventListener('abort', onAbort)
        if (err == null) resolve()
        else reject(err instanceof Error ? err : new Error(String(err)))
      }
      const onDrained = (): void => { done() }
      const onClose = (): void => { done(new LayerRecordsError('the connection closed before the socket drained', { reason: 'closed' })) }
      const onAbort = (): void => { done(signal?.reason ?? new Error('aborted')) }
      raw.addEventListener('drain', onDrained)
      raw.addEventListener('close', onClose)
      signal?.addEventListener('abort', onAbort)
    })
  }

  /** The receiver: one complete record from the wire. A listener's error is logged, and the records keep coming. */
  deliver (channel: number, record: Uint8ArrayList): void {
    const onRecord = this.#listeners.get(channel)
    if (onRecord == null) {
      this.#dropped++
      return
    }
    try {
      onRecord(record)
    } catch (err) {
      this.#port.log.error('the listener of record channel %d threw - %e', channel, err)
    }
  }
}
