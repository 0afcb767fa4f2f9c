import { Duplex } from 'node:stream'
import { MAX_DATA_PAYLOAD_BYTES } from '../constants.ts'
import type { Association } from '../association.ts'
import type { Uint8ArrayList } from 'uint8arraylist'

/**
 * High-water mark of both sides of {@link associationToDuplex}: the largest
 * DATA frame's payload. Node's default (64 KiB) stops a pipe after one TCP
 * read's worth; with this much, a corked pipe (the CLI's bridge) hands the
 * association the reads of a whole event-loop turn in one write (`writev`),
 * which it sends as few large frames (bench/README.md, "Throughput through
 * the command-line tunnel").
 */
const DUPLEX_HIGH_WATER_MARK = MAX_DATA_PAYLOAD_BYTES

/** A Node.js Duplex over an association, with backpressure in both directions. */
export function associationToDuplex (association: Association): Duplex {
  let reader: AsyncIterator<Uint8Array> | undefined
  let reading = false
  /**
   * Hand `chunks` (from `at`) to the association in order, waiting for it to
   * drain whenever it asks to before the next one (as one write at a time
   * would: never more than one chunk past its window); then `callback`.
   */
  const send = (chunks: Uint8Array[], callback: (err?: Error | null) => void, at = 0): void => {
    try {
      for (let i = at; i < chunks.length; i++) {
        if (association.send(chunks[i]!)) continue
        association.onDrain().then(() => {
          if (i + 1 < chunks.length) send(chunks, callback, i + 1)
          else callback()
        }, callback)
        return
      }
      callback()
    } catch (err) {
      callback(err as Error)
    }
  }

  return new Duplex({
    allowHalfOpen: true,
    highWaterMark: DUPLEX_HIGH_WATER_MARK,
    read (this: Duplex) {
      if (reading) return
      reading = true
      reader ??= association[Symbol.asyncIterator]()
      const pump = async (): Promise<void> => {
        while (true) {
          const next = await reader!.next()
          if (next.done === true) {
            this.push(null)
            return
          }
          if (!this.push(next.value)) {
            return
          }
        }
      }
      pump().then(() => { reading = false }, (err: Error) => { reading = false; this.destroy(err) })
    },
    write (chunk: Uint8Array, _encoding, callback) {
      send([chunk], callback)
    },
    writev (chunks, callback) {
      send(chunks.map(c => c.chunk as Uint8Array), callback)
    },
    final (callback) {
      association.close().then(() => { callback() }, callback)
    },
    destroy (err, callback) {
      if (err != null) association.abort(err)
      void reader?.return?.()
      callback(err)
    }
  })
}

/** What `sink` takes: chunks from any (async) iterable. */
export type SinkSource = AsyncIterable<Uint8Array | Uint8ArrayList> | Iterable<Uint8Array | Uint8ArrayList>

/** Send every chunk of `source` on `association` (honouring backpressure), then half-close; abort it on an error. */
export async function sinkInto (association: Pick<Association, 'send' | 'onDrain' | 'close' | 'abort'>, source: SinkSource): Promise<void> {
  try {
    for await (const chunk of source) {
      if (!association.send(chunk)) await association.onDrain()
    }
    await association.close()
  } catch (err) {
    association.abort(err as Error)
    throw err
  }
}
