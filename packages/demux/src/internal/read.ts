import type { Stream } from '@libp2p/interface'

/**
 * Read a libp2p stream as Uint8Array chunks until the remote closes its
 * writable end. Unlike iterating the stream directly, this also ends when the
 * remote had already closed before reading began (the bytes it left buffered
 * are still delivered first).
 */
export async function * readStream (stream: Stream): AsyncGenerator<Uint8Array, void, undefined> {
  const queue: Uint8Array[] = []
  let ended = false
  let failure: Error | undefined
  let wake: (() => void) | undefined

  const onMessage = (evt: { data: { subarray: () => Uint8Array } }): void => {
    queue.push(evt.data.subarray())
    wake?.()
  }
  const onClose = (evt: Event & { error?: Error }): void => {
    ended = true
    failure = evt.error
    wake?.()
  }
  const onRemoteCloseWrite = (): void => {
    ended = true
    wake?.()
  }
  stream.addEventListener('message', onMessage as never)
  stream.addEventListener('close', onClose as never)
  stream.addEventListener('remoteCloseWrite', onRemoteCloseWrite)
  if (stream.remoteWriteStatus === 'closed' || stream.status !== 'open') {
    // buffered bytes are dispatched in a microtask queued by addEventListener;
    // this one is queued after it, so every byte is delivered before the end
    queueMicrotask(onRemoteCloseWrite)
  }
  try {
    while (true) {
      const chunk = queue.shift()
      if (chunk != null) {
        yield chunk
        continue
      }
      if (ended) {
        if (failure != null) throw failure
        return
      }
      await new Promise<void>(resolve => { wake = resolve })
      wake = undefined
    }
  } finally {
    stream.removeEventListener('message', onMessage as never)
    stream.removeEventListener('close', onClose as never)
    stream.removeEventListener('remoteCloseWrite', onRemoteCloseWrite)
  }
}
