// Datagrams over an association's byte stream (spec/udp.md): the framing, one
// flow (its queue, its idle timer, its state) and the bounded table of flows.
import { UdpFrameError } from '../errors.ts'
import type { Duplex } from 'node:stream'

/** What each end writes first on its direction of the stream (spec/udp.md#stream-format). */
export const UDP_PREAMBLE: Uint8Array = new TextEncoder().encode('fara/udp/1')

/** Largest datagram carried: 65,535 − 20 (IPv4 header) − 8 (UDP header), RFC 768 and RFC 791. */
export const MAX_DATAGRAM_BYTES = 65_507

/** Bytes of the length before each datagram: 16 bits, big-endian (as RFC 1035 §4.2.2, RFC 4571 §2). */
export const FRAME_LENGTH_BYTES = 2

/** Default idle timeout of a flow, in seconds (spec/udp.md#limits-and-timers). */
export const DEFAULT_UDP_IDLE_S = 60

/** Default most flows one `fara connect --listen-udp` carries at once. */
export const DEFAULT_MAX_FLOWS = 256

/** Most bytes one flow holds back in one direction; beyond it datagrams are dropped. */
export const UDP_QUEUE_BYTES = 256 * 1024

/** How long a closed flow waits for the other end to finish the association before aborting it (ms). */
export const UDP_CLOSE_GRACE_MS = 5_000

/** `length || datagram` for one datagram (at most {@link MAX_DATAGRAM_BYTES}). */
export function encodeDatagram (datagram: Uint8Array): Uint8Array {
  if (!(datagram instanceof Uint8Array)) throw new TypeError(`datagram must be a Uint8Array, got ${typeof datagram}`)
  const n = datagram.byteLength
  if (n > MAX_DATAGRAM_BYTES) throw new RangeError(`datagram must be at most ${MAX_DATAGRAM_BYTES} bytes, got ${n}`)
  const frame = new Uint8Array(FRAME_LENGTH_BYTES + n)
  frame[0] = n >>> 8
  frame[1] = n & 0xff
  frame.set(datagram, FRAME_LENGTH_BYTES)
  return frame
}

/**
 * Reads `preamble frame*` from a stream arriving in chunks of any size. Holds
 * at most one partial frame; the first bad byte throws {@link UdpFrameError},
 * and so does every later push.
 */
export class DatagramDecoder {
  readonly #chunks: Uint8Array[] = []
  #buffered = 0
  #state: 'preamble' | 'frames' | 'failed' = 'preamble'

  /** Bytes received and not yet delivered. */
  get buffered (): number { return this.#buffered }

  /** Add `chunk`; every datagram it completes goes to `deliver`, in order, before any error is thrown. */
  push (chunk: Uint8Array, deliver: (datagram: Uint8Array) => void): void {
    if (this.#state === 'failed') throw new UdpFrameError('the UDP stream already failed')
    if (chunk.byteLength > 0) {
      this.#chunks.push(chunk)
      this.#buffered += chunk.byteLength
    }
    while (true) {
      if (this.#state === 'preamble') {
        const seen = this.#peek(Math.min(this.#buffered, UDP_PREAMBLE.byteLength))
        if (!seen.every((b, i) => b === UDP_PREAMBLE[i])) {
          this.#fail('the stream is not UDP: it lacks the "fara/udp/1" preamble (is the other end `fara serve --forward-udp` / `fara connect --listen-udp`?)')
        }
        if (seen.byteLength < UDP_PREAMBLE.byteLength) return
        this.#take(UDP_PREAMBLE.byteLength)
        this.#state = 'frames'
      }
      if (this.#buffered < FRAME_LENGTH_BYTES) return
      const head = this.#peek(FRAME_LENGTH_BYTES)
      const length = (head[0]! << 8) | head[1]!
      if (length > MAX_DATAGRAM_BYTES) this.#fail(`a frame announced ${length} bytes; a datagram holds at most ${MAX_DATAGRAM_BYTES}`)
      if (this.#buffered < FRAME_LENGTH_BYTES + length) return
      this.#take(FRAME_LENGTH_BYTES)
      deliver(this.#take(length))
    }
  }

  #fail (message: string): never {
    this.#state = 'failed'
    this.#chunks.length = 0
    this.#buffered = 0
    throw new UdpFrameError(message)
  }

  /** The first `n` buffered bytes, left in place. */
  #peek (n: number): Uint8Array {
    const out = new Uint8Array(n)
    let off = 0
    for (const c of this.#chunks) {
      if (off === n) break
      const k = Math.min(c.byteLength, n - off)
      out.set(c.subarray(0, k), off)
      off += k
    }
    return out
  }

  /** Remove and return the first `n` buffered bytes (a view when one chunk holds them). */
  #take (n: number): Uint8Array {
    this.#buffered -= n
    const first = this.#chunks[0]
    if (first != null && first.byteLength >= n) {
      if (first.byteLength === n) this.#chunks.shift()
      else this.#chunks[0] = first.subarray(n)
      return first.subarray(0, n)
    }
    const out = new Uint8Array(n)
    let off = 0
    let used = 0 // whole chunks consumed, removed at once (one shift per chunk would be quadratic)
    while (off < n) {
      const c = this.#chunks[used]!
      const k = Math.min(c.byteLength, n - off)
      out.set(c.subarray(0, k), off)
      off += k
      if (k === c.byteLength) used++
      else this.#chunks[used] = c.subarray(k)
    }
    this.#chunks.splice(0, used)
    return out
  }
}

/** `opening`: the association is not there yet (datagrams wait, bounded); `open`: datagrams flow; `closed`: final. */
export type FlowState = 'opening' | 'open' | 'closed'

/** Why a flow closed: no datagram for the idle timeout, the other end closed, an error, or this end stopping. */
export type FlowCloseReason = 'idle' | 'remote' | 'error' | 'local'

/** How a flow ended. */
export interface FlowEnd { reason: FlowCloseReason, error?: Error }

/** What went through a flow. */
export interface FlowStats {
  /** Datagrams (and their bytes) put on the association. */
  datagramsIn: number
  bytesIn: number
  /** Datagrams (and their bytes) that came off the association and were sent. */
  datagramsOut: number
  bytesOut: number
  /** Datagrams dropped, either way: a queue was full, or a datagram was too large. */
  dropped: number
}

/** Options for a {@link Flow}. */
export interface FlowInit {
  /** No datagram either way for this long (ms) closes the flow. */
  idleMs: number
  /** Most bytes held back towards the association (default {@link UDP_QUEUE_BYTES}). */
  queueBytes?: number
  /** Send a datagram that came off the association; false if it was dropped (its queue is full). */
  deliver: (datagram: Uint8Array) => boolean
  /** Called at the flow's first drop. */
  onDrop?: () => void
}

/**
 * One UDP conversation carried by one association: datagrams in both
 * directions, a bounded queue towards the association (drop, count, never
 * grow), and an idle timer. Datagrams sent before {@link Flow.attach} wait
 * within the same bound.
 */
export class Flow {
  readonly stats: FlowStats = { datagramsIn: 0, bytesIn: 0, datagramsOut: 0, bytesOut: 0, dropped: 0 }
  /** Resolves once, when the flow closes. */
  readonly closed: Promise<FlowEnd>
  readonly #init: Required<Omit<FlowInit, 'onDrop'>> & Pick<FlowInit, 'onDrop'>
  readonly #decoder = new DatagramDecoder()
  readonly #abort = new AbortController()
  #state: FlowState = 'opening'
  #stream: Duplex | undefined
  #pending: Uint8Array[] = []
  #pendingBytes = 0
  #lastActive = Date.now()
  #idleTimer: ReturnType<typeof setTimeout>
  #graceTimer: ReturnType<typeof setTimeout> | undefined
  #resolveClosed!: (end: FlowEnd) => void

  constructor (init: FlowInit) {
    if (!Number.isFinite(init.idleMs) || init.idleMs <= 0) throw new RangeError(`idleMs must be a positive number, got ${init.idleMs}`)
    this.#init = { queueBytes: UDP_QUEUE_BYTES, ...init }
    this.closed = new Promise(resolve => { this.#resolveClosed = resolve })
    this.#idleTimer = this.#armIdle(init.idleMs)
  }

  get state (): FlowState { return this.#state }

  /** Aborted when the flow closes: pass it to the association's open. */
  get signal (): AbortSignal { return this.#abort.signal }

  /** The association's stream is there: send the preamble and what waited, and read datagrams off it. */
  attach (stream: Duplex): void {
    if (this.#state !== 'opening') {
      // closed while its association opened: abort that association
      stream.on('error', () => {})
      stream.destroy(new Error('the UDP flow closed before its association opened'))
      return
    }
    this.#state = 'open'
    this.#stream = stream
    stream.on('data', (chunk: Uint8Array) => { this.#received(chunk) })
    stream.on('end', () => { this.close('remote') })
    stream.on('error', (err: Error) => { this.close('error', err) })
    stream.on('close', () => {
      clearTimeout(this.#graceTimer)
      this.close('remote')
    })
    stream.write(UDP_PREAMBLE)
    for (const d of this.#pending) this.#write(d)
    this.#pending = []
    this.#pendingBytes = 0
  }

  /** A datagram towards the association; false if it was dropped (queue full, too large, or closed). */
  send (datagram: Uint8Array): boolean {
    if (this.#state === 'closed') return false
    this.#lastActive = Date.now()
    const size = FRAME_LENGTH_BYTES + datagram.byteLength
    const queued = this.#stream == null ? this.#pendingBytes : this.#stream.writableLength
    if (datagram.byteLength > MAX_DATAGRAM_BYTES || queued + size > this.#init.queueBytes) {
      this.#drop()
      return false
    }
    if (this.#stream == null) {
      this.#pending.push(datagram)
      this.#pendingBytes += size
    } else {
      this.#write(datagram)
    }
    return true
  }

  /** Close the flow (idempotent): gracefully, or aborting the association when `reason` is `error`. */
  close (reason: FlowCloseReason = 'local', error?: Error): void {
    if (this.#state === 'closed') return
    this.#state = 'closed'
    clearTimeout(this.#idleTimer)
    this.#pending = []
    this.#pendingBytes = 0
    this.#abort.abort(error ?? new Error(`UDP flow closed (${reason})`))
    const stream = this.#stream
    if (stream != null && !stream.destroyed) {
      if (reason === 'error') {
        stream.destroy(error)
      } else {
        if (!stream.writableEnded) stream.end()
        // the other end closes its half when it sees ours; if it does not, abort
        this.#graceTimer = setTimeout(() => { stream.destroy(new Error('the other end did not close the UDP flow')) }, UDP_CLOSE_GRACE_MS)
        this.#graceTimer.unref?.()
      }
    }
    this.#resolveClosed(error == null ? { reason } : { reason, error })
  }

  #write (datagram: Uint8Array): void {
    this.#stream!.write(encodeDatagram(datagram))
    this.stats.datagramsIn++
    this.stats.bytesIn += datagram.byteLength
  }

  #received (chunk: Uint8Array): void {
    if (this.#state === 'closed') return // read on to the end, deliver nothing
    try {
      this.#decoder.push(chunk, (datagram) => {
        if (this.#state === 'closed') return
        this.#lastActive = Date.now()
        if (!this.#init.deliver(datagram)) { this.#drop(); return }
        this.stats.datagramsOut++
        this.stats.bytesOut += datagram.byteLength
      })
    } catch (err) {
      this.close('error', err as Error)
    }
  }

  #drop (): void {
    if (this.stats.dropped++ === 0) this.#init.onDrop?.()
  }

  /** The idle timer: fires after `ms`; closes the flow if it has been quiet since, else waits out the rest. */
  #armIdle (ms: number): ReturnType<typeof setTimeout> {
    const timer = setTimeout(() => { this.#onIdleTimer() }, ms)
    timer.unref?.()
    return timer
  }

  #onIdleTimer (): void {
    if (this.#state === 'closed') return
    const quiet = Date.now() - this.#lastActive
    if (quiet >= this.#init.idleMs) this.close('idle')
    else this.#idleTimer = this.#armIdle(this.#init.idleMs - quiet)
  }
}

/** Options for a {@link FlowTable}. */
export interface FlowTableInit {
  /** Most flows at once. */
  max: number
  /** Told once per episode of being full (until a flow leaves): the source refused and how many were refused in all. */
  onFull?: (source: string, refused: number) => void
}

/** Flows by source (`ip:port`), at most `max` of them; a source beyond that is refused. */
export class FlowTable<F> {
  readonly max: number
  readonly #flows = new Map<string, F>()
  readonly #onFull: FlowTableInit['onFull']
  #full = false
  #refused = 0

  constructor (init: FlowTableInit) {
    if (!Number.isInteger(init.max) || init.max < 1) throw new RangeError(`max must be a positive integer, got ${init.max}`)
    this.max = init.max
    this.#onFull = init.onFull
  }

  get size (): number { return this.#flows.size }

  /** Every source refused so far because the table was full. */
  get refused (): number { return this.#refused }

  get (source: string): F | undefined { return this.#flows.get(source) }

  /** A new flow for `source` from `make`, or undefined (and `make` not called) if the table is full. */
  add (source: string, make: () => F): F | undefined {
    if (this.#flows.size >= this.max) {
      this.#refused++
      if (!this.#full) {
        this.#full = true
        this.#onFull?.(source, this.#refused)
      }
      return undefined
    }
    const flow = make()
    this.#flows.set(source, flow)
    return flow
  }

  /** Forget `flow` (only if it is still the one held for `source`). */
  delete (source: string, flow: F): void {
    if (this.#flows.get(source) !== flow) return
    this.#flows.delete(source)
    if (this.#flows.size < this.max) this.#full = false
  }

  values (): IterableIterator<F> { return this.#flows.values() }
}
