// A libp2p connection under the unobservable layer: the hellos, then frames
// (spec/unobservable.md). It wraps the raw (TCP or relayed) connection the
// way @libp2p/pnet's BoxMessageStream does, and is what multistream-select,
// Noise and Yamux then run on.
import { randomInt, timingSafeEqual } from 'node:crypto'
import { AbstractMultiaddrConnection } from '@libp2p/utils'
import { Uint8ArrayList } from 'uint8arraylist'
import { representativeToPublicKey } from '../elligator2.ts'
import { HandshakeFailedError } from '../../errors.ts'
import { FrameDecoder, LengthMasker, NOISE_SELECT, NoiseTracker, encodeFrames } from './frames.ts'
import { UNOBSERVABLE } from '../../constants.ts'
import { CLIENT_HEAD_BYTES, SERVER_HEAD_BYTES, clientHello, openClientHead, openServerHead, serverHello } from './hello.ts'
import { KEY_BYTES, MAC_BYTES, mac } from './keys.ts'
import { Flights } from './flights.ts'
import { Records, wireConnections } from './records.ts'
import { takeEphemeral } from './key-pool.ts'
import type { OpenedClientHead, SentClientHello } from './hello.ts'
import type { InitiatorInit, ListenerInit, Padding, Refusal } from './init.ts'
import type { KeyStream } from './keys.ts'
import type { ReplayMemory, ReplayVerdict } from './replay.ts'
import type { AbortOptions, MultiaddrConnection } from '@libp2p/interface'
import type { SendResult } from '@libp2p/utils'
import type { KeyObject } from 'node:crypto'

export type { Padding, Refusal, InitiatorInit, ListenerInit } from './init.ts'

type State = 'hello' | 'frames' | 'refused'

export class WireConnection extends AbstractMultiaddrConnection {
  readonly #raw: MultiaddrConnection
  readonly #padding: Padding
  readonly #rekeyBytes: number | undefined
  readonly #decoder = new FrameDecoder()
  #state: State = 'hello'
  /** Raw bytes of a hello not yet complete. */
  #pending = new Uint8ArrayList()
  #in: KeyStream | undefined
  #out: KeyStream | undefined
  /** The first flights, gathered by turn of the event loop. */
  readonly #flights: Flights
  #padWrites: number
  /** Where libp2p's outgoing stream is, to know when this side may switch to passthrough. */
  readonly #tracker: NoiseTracker
  #outLengths: (() => KeyStream) | undefined
  #inLengths: (() => KeyStream) | undefined
  /**
   * The selection of `/noise` answered inside the layer (spec/unobservable.md#noise-selection):
   * the initiator hands itself the listener's answer once it has sent the selection, and the
   * listener drops its own answer, these many bytes of it still to come.
   */
  #answered = false
  #unanswered: number
  /** Set once this side has sent SWITCH / the remote's SWITCH has arrived. */
  #outMask: LengthMasker | undefined
  #inMask: LengthMasker | undefined
  /** The record side channel of this connection (spec/unobservable.md#records). */
  readonly records: Records

  // initiator
  readonly #listenerKey: Uint8Array | undefined
  #ephemeral: KeyObject | undefined
  #sent: SentClientHello | undefined

  // listener
  readonly #secret: KeyObject | undefined
  readonly #replay: ReplayMemory | undefined
  #head: OpenedClientHead | undefined
  #checking = false
  #rx: Uint8Array | undefined
  #x: Uint8Array | undefined
  #settle: { resolve: () => void, reject: (reason: Refusal) => void } | undefined
  /** Listener only: settles once the initiator's hello is verified (resolves) or refused, or the raw connection ends (rejects). */
  readonly verified: Promise<void>

  constructor (init: InitiatorInit | ListenerInit) {
    super({ log: init.log, remoteAddr: init.raw.remoteAddr, direction: init.raw.direction, inactivityTimeout: 0 })
    this.#raw = init.raw
    this.#padding = init.padding
    this.#rekeyBytes = init.rekeyBytes
    this.#padWrites = init.padding.writes
    this.#flights = new Flights(init.raw)
    this.records = new Records({
      raw: init.raw,
      log: init.log,
      open: () => this.status === 'open' && init.raw.status === 'open',
      passthrough: () => this.#outMask != null,
      write: (channel, record) => this.#writeRecord(channel, record)
    })
    // libp2p's Connection holds the raw connection: layerRecords() finds this one by it
    wireConnections.set(init.raw, this)
    // libp2p closes and resets a connection through the raw connection under this layer (its
    // Connection holds that one): what the layer still gathers goes out first, so nothing written
    // before a reset is lost to it (a refusal's answer before the guessing guard's reset)
    const { abort, close } = init.raw
    init.raw.abort = (err: Error): void => { this.#flights.flush(); abort.call(init.raw, err) }
    init.raw.close = async (options?: AbortOptions): Promise<void> => { this.#flights.flush(); await close.call(init.raw, options) }
    // Noise XX: the initiator sends messages 1 and 3, the listener message 2
    this.#tracker = new NoiseTracker('listener' in init ? 2 : 1)
    this.#unanswered = 'listener' in init ? 0 : NOISE_SELECT.byteLength
    if ('listener' in init) {
      this.#listenerKey = init.listener
      this.verified = Promise.resolve()
      this.#startInitiator(init.listener)
    } else {
      this.#secret = init.secret
      this.#listenerKey = init.publicKey
      this.#replay = init.replay
      this.verified = new Promise((resolve, reject) => { this.#settle = { resolve, reject } })
      this.verified.catch(() => {}) // the protector awaits it; a refusal is not an unhandled rejection meanwhile
    }
    this.#raw.addEventListener('message', (evt) => {
      const data = evt.data
      if (data instanceof Uint8Array) this.#receive(data)
      else for (const chunk of data) this.#receive(chunk)
    })
    this.#raw.addEventListener('drain', () => { this.onMuxerDrain() })
    this.#raw.addEventListener('close', (evt) => {
      this.#settle?.reject('closed')
      this.#settle = undefined
      if (evt.error != null) {
        if (evt.local === true) this.abort(evt.error)
        else this.onRemoteReset()
      } else {
        this.onTransportClosed()
      }
    })
  }

  #startInitiator (listener: Uint8Array): void {
    const ephemeral = takeEphemeral()
    const sent = clientHello({
      listener,
      secret: ephemeral.secret,
      representative: ephemeral.representative,
      time: Date.now(),
      padding: randomInt(this.#padding.hello),
      rekeyBytes: this.#rekeyBytes
    })
    if (sent == null) throw new HandshakeFailedError('the listener\'s key is a low-order point')
    this.#ephemeral = ephemeral.secret
    this.#sent = sent
    this.#out = sent.out
    this.#outLengths = sent.outLengths
    this.#flights.gather(sent.bytes)
  }

  #receive (chunk: Uint8Array): void {
    if (this.#state === 'frames') {
      this.#deliver(chunk)
      return
    }
    if (this.#state === 'refused') return // read and dropped until the close
    this.#pending.append(chunk)
    if (this.#secret != null) this.#listenerStep()
    else this.#initiatorStep()
  }

  #deliver (ciphertext: Uint8Array): void {
    let bodies: Uint8Array[]
    if (this.#inMask != null) {
      const unmasked = this.#unmask(ciphertext)
      if (unmasked == null) return
      bodies = unmasked
    } else {
      let decoded
      try {
        decoded = this.#decoder.decode(this.#in!.update(ciphertext))
      } catch (err) {
        this.#state = 'refused'
        this.abort(err as Error)
        return
      }
      bodies = decoded.bodies
      if (decoded.switchedAt != null) {
        // the rest of this chunk, and all that follows, is passthrough: the frame keystream is done with
        this.#inMask = new LengthMasker(this.#inLengths!(), 'unmask', { onRecord: (channel, record) => { this.records.deliver(channel, record) } })
        const unmasked = this.#unmask(ciphertext.subarray(decoded.switchedAt))
        if (unmasked == null) return
        bodies.push(...unmasked)
      }
    }
    if (bodies.length === 1) this.onData(bodies[0]!)
    else if (bodies.length > 1) this.onData(new Uint8ArrayList(...bodies)) // one message event per chunk read, as without the layer
  }

  /** Passthrough bytes unmasked, records handed to their listeners; a malformed record aborts the connection (undefined). */
  #unmask (bytes: Uint8Array): Uint8Array[] | undefined {
    try {
      return this.#inMask!.transform(bytes)
    } catch (err) {
      this.#state = 'refused'
      this.abort(err as Error)
      return undefined
    }
  }

  /** The listener reads R_X ‖ head, then padding ‖ MAC_C; any failure is silence. */
  #listenerStep (): void {
    if (this.#checking) return // a shared replay memory is answering: the rest waits in #pending
    const pending = this.#pending
    if (this.#head == null) {
      if (pending.byteLength < KEY_BYTES + CLIENT_HEAD_BYTES) return
      const rx = pending.subarray(0, KEY_BYTES)
      const x = representativeToPublicKey(rx)
      const head = openClientHead({ secret: this.#secret!, listener: this.#listenerKey!, rx, x, head: pending.subarray(KEY_BYTES, KEY_BYTES + CLIENT_HEAD_BYTES), rekeyBytes: this.#rekeyBytes })
      if (head == null) { this.#refuse('low-order'); return }
      if (head.padding >= UNOBSERVABLE.maxHelloPadding) { this.#refuse('padding'); return }
      this.#head = head
      this.#rx = rx
      this.#x = x
    }
    const head = this.#head
    const end = KEY_BYTES + CLIENT_HEAD_BYTES + head.padding
    if (pending.byteLength < end + MAC_BYTES) return
    const ct = pending.subarray(KEY_BYTES, end)
    head.in.update(ct.subarray(CLIENT_HEAD_BYTES)) // keep the keystream in step: the padding is dropped
    const tag = mac(head.macKey, this.#rx!, ct)
    if (!timingSafeEqual(tag, pending.subarray(end, end + MAC_BYTES))) { this.#refuse('mac'); return }
    const verdict = this.#replay!.check(head.time, tag)
    if (!(verdict instanceof Promise)) { this.#checked(verdict, head, tag, end); return }
    this.#checking = true
    const later = (v: ReplayVerdict): void => { this.#checking = false; if (this.#raw.status === 'open') this.#checked(v, head, tag, end) }
    verdict.then(later, () => { later('full') })
  }

  /** The replay memory's answer on an authenticated hello: refuse it, or answer and start the frames. */
  #checked (refused: ReplayVerdict, head: OpenedClientHead, tag: Uint8Array, end: number): void {
    if (this.#state === 'refused') return
    if (refused != null) { this.#refuse(refused); return }
    const pending = this.#pending
    const ephemeral = takeEphemeral()
    const sent = serverHello({
      es: head.es,
      listener: this.#listenerKey!,
      rx: this.#rx!,
      clientMac: tag,
      x: this.#x!,
      secret: ephemeral.secret,
      representative: ephemeral.representative,
      padding: randomInt(this.#padding.hello),
      rekeyBytes: this.#rekeyBytes
    })
    head.es.fill(0)
    if (sent == null) { this.#refuse('low-order'); return }
    this.#in = head.in
    this.#inLengths = head.inLengths
    this.#out = sent.out
    this.#outLengths = sent.outLengths
    this.#head = undefined
    this.#state = 'frames'
    const rest = pending.subarray(end + MAC_BYTES)
    this.#pending = new Uint8ArrayList()
    this.#flights.gather(sent.bytes)
    this.#settle?.resolve()
    this.#settle = undefined
    if (rest.byteLength > 0) this.#deliver(rest)
  }

  #refuse (reason: Refusal): void {
    this.#state = 'refused'
    this.#pending = new Uint8ArrayList()
    this.#head = undefined
    this.#settle?.reject(reason)
    this.#settle = undefined
  }

  /** The initiator reads R_Y ‖ head, then padding ‖ MAC_S; a failure aborts with {@link HandshakeFailedError}. */
  #initiatorStep (): void {
    const pending = this.#pending
    if (pending.byteLength < KEY_BYTES + SERVER_HEAD_BYTES) return
    const ry = pending.subarray(0, KEY_BYTES)
    const sent = this.#sent!
    const head = openServerHead({ es: sent.es, secret: this.#ephemeral!, listener: this.#listenerKey!, rx: sent.rx, ry, y: representativeToPublicKey(ry), head: pending.subarray(KEY_BYTES, KEY_BYTES + SERVER_HEAD_BYTES), rekeyBytes: this.#rekeyBytes })
    if (head == null || head.padding >= UNOBSERVABLE.maxHelloPadding) {
      this.#fail('the listener\'s hello is malformed')
      return
    }
    const end = KEY_BYTES + SERVER_HEAD_BYTES + head.padding
    if (pending.byteLength < end + MAC_BYTES) return
    const ct = pending.subarray(KEY_BYTES, end)
    head.in.update(ct.subarray(SERVER_HEAD_BYTES))
    if (!timingSafeEqual(mac(head.macKey, sent.mac, ry, ct), pending.subarray(end, end + MAC_BYTES))) {
      this.#fail('the listener\'s hello failed its MAC: not the key in the address, or altered on the way')
      return
    }
    sent.es.fill(0)
    this.#ephemeral = undefined
    this.#in = head.in
    this.#inLengths = head.inLengths
    this.#state = 'frames'
    const rest = pending.subarray(end + MAC_BYTES)
    this.#pending = new Uint8ArrayList()
    if (rest.byteLength > 0) this.#deliver(rest)
  }

  #fail (message: string): void {
    this.#state = 'refused'
    this.#pending = new Uint8ArrayList()
    this.abort(new HandshakeFailedError(message))
  }

  sendData (written: Uint8ArrayList): SendResult {
    const sentBytes = written.byteLength
    let data = written
    const out = new Uint8ArrayList()
    if (this.#outMask == null && this.#padWrites === 0 && this.#tracker.atTransportBoundary) {
      // the Noise handshake is over and padded writes are spent: from here on Noise's own
      // ciphertext goes as it is, behind masked lengths (spec/unobservable.md#passthrough)
      out.append(encodeFrames(this.#out!, new Uint8Array(0), undefined, true))
      this.#outMask = new LengthMasker(this.#outLengths!(), 'mask', {})
    }
    if (this.#outMask != null) {
      out.append(...this.#outMask.transform(data))
    } else {
      this.#tracker.observe(data)
      if (this.#unanswered > 0) {
        // the listener's answer to the selection of /noise: the initiator has it already
        const n = Math.min(this.#unanswered, data.byteLength)
        const at = NOISE_SELECT.byteLength - this.#unanswered
        if (!Buffer.from(data.subarray(0, n)).equals(NOISE_SELECT.subarray(at, at + n))) {
          this.abort(new HandshakeFailedError('libp2p did not select /noise, which the initiator was told'))
          return { sentBytes, canSendMore: false }
        }
        this.#unanswered -= n
        data = data.sublist(n)
      }
      if (data.byteLength > 0) {
        let padding: number | undefined
        if (this.#padWrites > 0) {
          this.#padWrites--
          padding = randomInt(this.#padding.frame)
        }
        out.append(encodeFrames(this.#out!, data, padding))
      }
      if (!this.#answered && this.#secret == null && this.#tracker.selected) {
        // the initiator: the listener selects /noise (it is a Fara node), so its answer is handed
        // over here instead of after a round trip; the listener drops the one its libp2p sends
        this.#answered = true
        queueMicrotask(() => { if (this.status === 'open') this.onData(new Uint8Array(NOISE_SELECT)) })
      }
    }
    // all of it was the dropped answer: nothing to send
    if (out.byteLength === 0) return { sentBytes, canSendMore: true }
    // the flights regroup `out` (the SWITCH frame, masked lengths, Noise's pieces: its Yamux header's
    // ciphertext, its tag) so that no short buffer reaches the socket alone (flights.ts, joinWrites)
    return { sentBytes, canSendMore: this.#flights.send(out) }
  }

  /**
   * One record the side channel checked, in the same flights as libp2p's bytes (so that the
   * order holds): now at a Noise message boundary, or else queued by the masker and sent by the
   * sendData that ends the message libp2p is part way through.
   */
  #writeRecord (channel: number, record: Uint8Array | Uint8ArrayList): boolean {
    const parts = this.#outMask!.record(channel, record)
    if (parts.length === 0) return !this.#raw.writableNeedsDrain
    return this.#flights.send(new Uint8ArrayList(...parts))
  }

  // the raw connection's close and abort send what the first flights gathered first (see the constructor)
  async sendClose (options?: AbortOptions): Promise<void> {
    await this.#raw.close(options)
  }

  sendReset (err: Error): void {
    this.#raw.abort(err)
  }

  sendPause (): void {
    this.#raw.pause()
  }

  sendResume (): void {
    this.#raw.resume()
  }

  /** Whether each direction has switched to passthrough (spec/unobservable.md#passthrough). */
  get passthrough (): { sending: boolean, receiving: boolean } {
    return { sending: this.#outMask != null, receiving: this.#inMask != null }
  }

  /** Listener: close a refused connection the way an idle one is closed (a FIN, after all it sent was read). */
  async closeRaw (): Promise<void> {
    await this.#raw.close().catch(() => { this.#raw.abort(new Error('closed')) })
  }
}
