import { MAX_POINT_MESSAGE_BYTES } from '../constants.ts'
import { FrameError, FrameReader, frame } from '../internal/frames.ts'
import { deferred } from '../internal/deferred.ts'
import { MAX_SESSION_BUFFER } from '../constants.ts'
import type { Stream } from '@libp2p/interface'

/** What the point does with the requests of a session. */
export interface SessionServer {
  /** The encoded answer to one request (rate limit, decoding and refusals included); never rejects. */
  answer: (request: Uint8Array) => Promise<Uint8Array>
  /** A request over the bound, broken framing, or one not complete in time: the session is reset. */
  refused: (err: Error) => void
  /** The answer could not be written (the client reset or stopped reading): the session is reset. */
  undelivered: (err: Error) => void
  /** How long the point waits for each next request to be complete (ms); an idle session is closed after it. */
  timeout: number
}

/**
 * Serve a session stream (spec/rendezvous.md#sessions): read requests in
 * order and answer each before reading the next. The point stops reading
 * while more than {@link MAX_SESSION_BUFFER} bytes wait, so a client that
 * pipelines too much is slowed by Yamux's window, not buffered without bound.
 * Each request must be complete within `timeout` of the point being ready for
 * it; a session with nothing pending then is closed in order (the client
 * opens a new one), one stuck within a request is reset.
 */
export function serveSession (stream: Stream, server: SessionServer): void {
  const reader = new FrameReader(MAX_POINT_MESSAGE_BYTES)
  let busy = false
  let done = false
  let paused = false
  let deadline: ReturnType<typeof setTimeout> | undefined

  const finish = (): void => {
    done = true
    clearTimeout(deadline)
    reader.clear()
    stream.removeEventListener('message', onMessage)
    stream.removeEventListener('end', onEnd)
    stream.removeEventListener('close', onClose)
  }
  const reset = (err: Error, report: (err: Error) => void): void => {
    if (done) return
    finish()
    report(err)
    stream.abort(err)
  }
  // in order: every request read was answered, none will be read after this
  const close = (): void => {
    if (done) return
    finish()
    stream.close({ signal: AbortSignal.timeout(server.timeout) }).catch((err: unknown) => {
      stream.abort(err instanceof Error ? err : new Error('session close failed'))
    })
  }
  const expire = (): void => {
    deadline = undefined
    if (done || busy) return
    if (reader.buffered > 0 || stream.readBufferLength > 0) {
      reset(new FrameError(`request not complete within ${server.timeout} ms`), server.refused)
    } else {
      close()
    }
  }
  const arm = (): void => {
    deadline ??= setTimeout(expire, server.timeout)
  }

  const pump = async (): Promise<void> => {
    if (busy || done) return
    busy = true
    try {
      for (;;) {
        let request
        try {
          request = reader.next()
        } catch (err) {
          reset(err as Error, server.refused)
          return
        }
        if (request == null) break
        // a whole request: the next one gets its own full timeout once this is answered
        clearTimeout(deadline)
        deadline = undefined
        if (paused && reader.buffered <= MAX_SESSION_BUFFER) {
          paused = false
          if (stream.readStatus === 'paused') stream.resume()
        }
        try {
          const answer = await server.answer(request)
          if (done) return
          if (!stream.send(frame(answer))) {
            await waitForDrain(stream, server.timeout)
          }
        } catch (err) {
          // answer() does not reject by contract; a send to a stream the client reset does
          reset(err instanceof Error ? err : new Error('answer not delivered'), server.undelivered)
          return
        }
        if (done) return
      }
    } finally {
      busy = false
    }
    if (stream.remoteWriteStatus !== 'writable' && stream.readBufferLength === 0) {
      onEnd()
      return
    }
    arm()
  }

  const onMessage = (evt: { data: Uint8Array | { byteLength: number, subarray: () => Uint8Array } }): void => {
    if (done) return
    reader.push(evt.data)
    if (!paused && reader.buffered > MAX_SESSION_BUFFER && stream.readStatus === 'readable') {
      paused = true
      stream.pause()
    }
    void pump()
  }
  // the client closed its side; whatever it sent before has been dispatched
  const onEnd = (): void => {
    if (done || busy) return
    if (reader.buffered > 0) reset(new FrameError('session closed within a request'), server.refused)
    else close()
  }
  const onClose = (): void => { finish() }

  stream.addEventListener('message', onMessage)
  stream.addEventListener('end', onEnd)
  stream.addEventListener('close', onClose)
  arm()
}

async function waitForDrain (stream: Stream, timeout: number): Promise<void> {
  const { promise, resolve, reject } = deferred<void>()
  const timer = setTimeout(() => { reject(new Error(`answer not read within ${timeout} ms`)) }, timeout)
  const onDrain = (): void => { resolve() }
  const onClose = (): void => { reject(new Error('session closed before its answer was read')) }
  stream.addEventListener('drain', onDrain, { once: true })
  stream.addEventListener('close', onClose, { once: true })
  try {
    await promise
  } finally {
    clearTimeout(timer)
    stream.removeEventListener('drain', onDrain)
    stream.removeEventListener('close', onClose)
  }
}
