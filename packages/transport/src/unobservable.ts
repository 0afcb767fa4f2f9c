import { randomInt } from 'node:crypto'
import { peerIdFromString } from '@libp2p/peer-id'
import { PeerKeyRequiredError } from './errors.ts'
import { UNOBSERVABLE } from './constants.ts'
import { WireConnection } from './internal/wire/connection.ts'
import { MAX_FRAME_BODY } from './internal/wire/frames.ts'
import { warmEphemerals } from './internal/wire/key-pool.ts'
import { staticKeyFromEd25519, staticPublicFromEd25519 } from './internal/wire/keys.ts'
import { ReplayFilter } from './internal/wire/replay.ts'
import type { ReplayMemory } from './internal/wire/replay.ts'
import type { Padding, Refusal } from './internal/wire/connection.ts'
import type { AbortOptions, ComponentLogger, ConnectionProtector, Logger, MessageStream, MultiaddrConnection, PrivateKey } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { KeyObject } from 'node:crypto'

export type { Refusal } from './internal/wire/connection.ts'
export type { ReplayMemory, ReplayVerdict } from './internal/wire/replay.ts'

/**
 * A replay memory for hellos (spec/unobservable.md#replay) that processes
 * sharing a listening socket can all ask (through
 * {@link UnobservableInit.replayMemory}): each hello is accepted once, within
 * `windowMs` of this memory's clock, at most `maxPerWindow` per window.
 */
export function replayMemory (init: { windowMs?: number, maxPerWindow?: number } = {}): ReplayMemory {
  return new ReplayFilter(init.windowMs ?? UNOBSERVABLE.replayWindow, init.maxPerWindow ?? UNOBSERVABLE.maxHellosPerWindow)
}

/** Options of {@link unobservable}; every one has its default in {@link @fara/transport!constants.UNOBSERVABLE | UNOBSERVABLE}. */
export interface UnobservableInit {
  /** A connection that does not prove the key is closed this long after it was accepted, drawn uniformly per connection (ms). */
  silentClose?: { min: number, max: number }
  /** How far a hello's time may be from the listener's clock (ms); hellos are remembered for at least twice this. */
  replayWindow?: number
  /** Most hellos remembered per window; beyond it new ones are refused until the window turns. */
  maxHellosPerWindow?: number
  /** Padding of hellos and of each side's first writes. */
  padding?: Partial<Padding>
  /**
   * The replay memory to ask about each hello, when several processes share
   * one listening socket (a rendezvous point's workers): one memory for all,
   * or a hello replayed to another process would be answered. Default: this
   * node's own, made from `replayWindow` and `maxHellosPerWindow`.
   */
  replayMemory?: ReplayMemory
  /** Called for every refused inbound connection, with why (for counters and logs: the remote is told nothing). */
  onRefused?: (reason: Refusal, remoteAddr: Multiaddr) => void
}

/** What {@link unobservable} takes from libp2p. */
export interface UnobservableComponents {
  /** The node's Ed25519 key; its X25519 form is the key initiators must prove they know. */
  privateKey: PrivateKey
  logger: ComponentLogger
}

/** Thrown inside the listener's upgrade when a connection did not prove the key (it is closed silently; libp2p logs it). */
class SilentlyClosedError extends Error {
  static override name = 'SilentlyClosedError'
  override name = 'SilentlyClosedError'
}

/**
 * Listeners' X25519 keys by peer id, for every node of the process: a client makes a fresh node
 * per association (spec/architecture.md), and the conversion costs about 0.1 ms. Public data only.
 */
const PEER_KEY_CACHE = 1024
const peerKeys = new Map<string, Uint8Array>()

class UnobservableProtector implements ConnectionProtector {
  readonly #secret: KeyObject
  readonly #publicKey: Uint8Array
  readonly #replay: ReplayMemory
  readonly #silent: { min: number, max: number }
  readonly #padding: Padding
  readonly #onRefused: UnobservableInit['onRefused']
  readonly #log: Logger

  constructor (components: UnobservableComponents, init: UnobservableInit) {
    const key = components.privateKey
    if (key?.type !== 'Ed25519') {
      throw new TypeError(`the unobservable layer needs an Ed25519 node key, got ${String(key?.type)}`)
    }
    const seed = key.raw.subarray(0, 32)
    ;({ secret: this.#secret, publicKey: this.#publicKey } = staticKeyFromEd25519(seed))
    this.#silent = init.silentClose ?? UNOBSERVABLE.silentClose
    if (!(this.#silent.min >= 0 && this.#silent.max >= this.#silent.min)) {
      throw new RangeError(`silentClose must be { min, max } with 0 <= min <= max, got ${JSON.stringify(init.silentClose)}`)
    }
    const window = init.replayWindow ?? UNOBSERVABLE.replayWindow
    const max = init.maxHellosPerWindow ?? UNOBSERVABLE.maxHellosPerWindow
    if (!(window > 0) || !(max >= 1)) throw new RangeError(`replayWindow and maxHellosPerWindow must be positive, got ${window} and ${max}`)
    this.#replay = init.replayMemory ?? new ReplayFilter(window, max)
    this.#padding = { ...UNOBSERVABLE.padding, ...init.padding }
    for (const [k, v] of Object.entries(this.#padding)) {
      if (!(Number.isInteger(v) && v >= 1)) throw new RangeError(`padding.${k} must be a positive integer, got ${String(v)}`)
    }
    if (this.#padding.hello > UNOBSERVABLE.maxHelloPadding || this.#padding.frame > MAX_FRAME_BODY + 1) {
      throw new RangeError(`padding.hello may be at most ${UNOBSERVABLE.maxHelloPadding} and padding.frame at most ${MAX_FRAME_BODY + 1}`)
    }
    this.#onRefused = init.onRefused
    this.#log = components.logger.forComponent('fara:unobservable')
    warmEphemerals()
  }

  readonly [Symbol.toStringTag] = '@fara/transport:unobservable'

  async protect (connection: MessageStream, options?: AbortOptions): Promise<MessageStream> {
    const raw = connection as MultiaddrConnection
    if (raw.direction === 'outbound') {
      return new WireConnection({ raw, log: raw.log, padding: this.#padding, listener: this.#listenerKey(raw.remoteAddr) })
    }
    const closeAt = Date.now() + randomInt(this.#silent.min, this.#silent.max + 1)
    const conn = new WireConnection({ raw, log: raw.log, padding: this.#padding, secret: this.#secret, publicKey: this.#publicKey, replay: this.#replay })
    let timer: ReturnType<typeof setTimeout> | undefined
    const deadline = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => { resolve('timeout') }, closeAt - Date.now())
    })
    const aborted = new Promise<'aborted'>((resolve) => {
      if (options?.signal?.aborted === true) resolve('aborted')
      options?.signal?.addEventListener('abort', () => { resolve('aborted') }, { once: true })
    })
    const outcome = await Promise.race([conn.verified.then(() => 'verified' as const, (reason: Refusal) => reason), deadline, aborted])
    if (outcome === 'verified') {
      clearTimeout(timer)
      return conn
    }
    if (outcome !== 'aborted') {
      this.#onRefused?.(outcome, raw.remoteAddr)
      this.#log('refuse connection from %a - %s', raw.remoteAddr, outcome)
      // silence until the connection's own close time, whatever was sent (a remote that left is not waited for)
      if (outcome !== 'closed') await Promise.race([deadline, aborted])
    }
    clearTimeout(timer)
    await conn.closeRaw()
    throw new SilentlyClosedError(`the remote did not prove it knows this node's key (${outcome})`)
  }

  /** The listener's static X25519 key, from the peer id that ends the dialled address. */
  #listenerKey (addr: Multiaddr): Uint8Array {
    const id = addr.getComponents().findLast(c => c.name === 'p2p')?.value
    if (id == null) {
      throw new PeerKeyRequiredError(`cannot dial ${addr.toString()}: a Fara listener answers only initiators that know its key, so the address must end in /p2p/<peer id>`)
    }
    let key = peerKeys.get(id)
    if (key == null) {
      let publicKey
      try {
        publicKey = peerIdFromString(id).publicKey
      } catch (err) {
        throw new PeerKeyRequiredError(`cannot dial ${addr.toString()}: ${(err as Error).message}`)
      }
      if (publicKey?.type !== 'Ed25519') {
        throw new PeerKeyRequiredError(`cannot dial ${addr.toString()}: the peer id carries no Ed25519 key (Fara entities have Ed25519 keys)`)
      }
      key = staticPublicFromEd25519(publicKey.raw)
      if (peerKeys.size >= PEER_KEY_CACHE) peerKeys.delete(peerKeys.keys().next().value!)
      peerKeys.set(id, key)
    }
    return key
  }
}

/**
 * The unobservable layer (spec/unobservable.md), as a libp2p connection
 * protector: it runs on every TCP and relayed connection before
 * multistream-select, so that every byte on the wire is indistinguishable
 * from random, and a listener answers nobody who cannot prove, in the first
 * flight, that it knows the listener's key (from its peer id). Those who
 * cannot get silence and a close at a random time. Noise still runs inside.
 *
 * @example
 * ```ts
 * import { createLibp2p } from 'libp2p'
 * import { tcp } from '@libp2p/tcp'
 * import { noise } from '@chainsafe/libp2p-noise'
 * import { yamux } from '@chainsafe/libp2p-yamux'
 * import { unobservable } from '@fara/transport'
 *
 * const node = await createLibp2p({
 *   transports: [tcp()],
 *   connectionProtector: unobservable(),
 *   connectionEncrypters: [noise()],
 *   streamMuxers: [yamux()]
 * })
 * ```
 */
export function unobservable (init: UnobservableInit = {}): (components: UnobservableComponents) => ConnectionProtector {
  return (components) => new UnobservableProtector(components, init)
}
