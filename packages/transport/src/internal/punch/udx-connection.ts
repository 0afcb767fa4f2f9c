// A udx-native stream (reliable, ordered, congestion-controlled, over one UDP
// socket pair) as a libp2p MultiaddrConnection, so that the node's own
// upgrader runs on it: the unobservable layer, Noise XX, Yamux
// (spec/direct-paths.md#the-connection). Modelled on @libp2p/tcp's socket
// wrapper; the lab prototype is ../shared/research/birthday-punch/udx-libp2p.mjs.
import { AbstractMultiaddrConnection } from '@libp2p/utils'
import type { AbortOptions, Logger } from '@libp2p/interface'
import type { SendResult } from '@libp2p/utils'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { Uint8ArrayList } from 'uint8arraylist'
import type { Duplex } from 'node:stream'

export interface UdxConnectionInit {
  /** A connected udx-native stream (a streamx Duplex: typed here as node's, whose methods it has). */
  stream: Duplex
  direction: 'inbound' | 'outbound'
  remoteAddr: Multiaddr
  log: Logger
  /** Called once the stream is closed, to release the socket under it. */
  onClose?: () => void
}

export class UdxConnection extends AbstractMultiaddrConnection {
  readonly #stream: Duplex

  constructor (init: UdxConnectionInit) {
    super({ log: init.log, remoteAddr: init.remoteAddr, direction: init.direction, inactivityTimeout: 0 })
    const stream = this.#stream = init.stream
    stream.on('data', (chunk: Uint8Array) => { this.onData(chunk) })
    stream.on('drain', () => { this.safeDispatchEvent('drain') })
    stream.on('error', (err: Error) => { this.abort(err) })
    stream.once('end', () => {
      // the remote ended its side: end ours too (as a TCP socket without half-open does), then tear down
      if (!stream.destroyed) stream.end()
      this.onTransportClosed()
    })
    stream.once('close', () => {
      this.onTransportClosed()
      init.onClose?.()
    })
  }

  sendData (data: Uint8ArrayList): SendResult {
    let sentBytes = 0
    let canSendMore = true
    for (const buf of data) {
      sentBytes += buf.byteLength
      canSendMore = this.#stream.write(buf)
      if (!canSendMore) break
    }
    return { sentBytes, canSendMore }
  }

  async sendClose (options?: AbortOptions): Promise<void> {
    if (this.#stream.destroyed) return
    const closed = new Promise<void>(resolve => { this.#stream.once('close', () => { resolve() }) })
    this.#stream.end()
    const aborted = new Promise<void>((resolve) => { options?.signal?.addEventListener('abort', () => { resolve() }, { once: true }) })
    await Promise.race([closed, aborted])
    if (!this.#stream.destroyed) this.#stream.destroy()
  }

  sendReset (): void {
    this.#stream.destroy()
  }

  sendPause (): void {
    this.#stream.pause()
  }

  sendResume (): void {
    this.#stream.resume()
  }
}
