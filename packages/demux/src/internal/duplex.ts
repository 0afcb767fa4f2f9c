import { Duplex } from 'node:stream'
import type { Association } from '../association.ts'
import type { Uint8ArrayList } from 'uint8arraylist'

/** A Node.js Duplex over an association, with backpressure in both directions. */
export function associationToDuplex (association: Association): Duplex {
  let reader: AsyncIterator<Uint8Array> | undefined
  let reading = false

  return new Duplex({
    allowHalfOpen: true,
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
      try {
        if (association.send(chunk)) {
          callback()
        } else {
          association.onDrain().then(() => { callback() }, callback)
        }
      } catch (err) {
        callback(err as Error)
      }
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
