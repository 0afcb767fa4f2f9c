// The NAT observer: a UDP "what do you see" that a rendezvous point or relay
// answers for the nodes that know its key (spec/direct-paths.md#observers).
import { createSocket } from 'node:dgram'
import { isIP } from 'node:net'
import { OBSERVER } from './constants.ts'
import { openQuestion } from './internal/punch/observe-wire.ts'
import { warmEphemerals } from './internal/wire/key-pool.ts'
import { staticKeyFromEd25519 } from './internal/wire/keys.ts'
import { ReplayFilter } from './internal/wire/replay.ts'
import type { QuestionRefusal } from './internal/punch/observe-wire.ts'
import type { ComponentLogger, Logger, PrivateKey, Startable } from '@libp2p/interface'
import type { Socket } from 'node:dgram'
import type { KeyObject } from 'node:crypto'

/** Options of {@link natObserver}. */
export interface NatObserverInit {
  /** UDP endpoints to answer on, `host:port` (IPv6 as `[host]:port`). Classification needs two observers on different IPs: one observer may hold both. */
  listen: string[]
  /** Questions answered per source address: a burst, then this many per second (default {@link OBSERVER}). */
  perSource?: { burst: number, perSecond: number }
  /** Called for each question left unanswered (for counters; the asker is told nothing). */
  onRefused?: (reason: ObserverRefusal, from: { host: string, port: number }) => void
}

/** Why an observer stayed silent: a malformed or unauthenticated question, a replay or stale time, or its source over its rate. */
export type ObserverRefusal = QuestionRefusal | 'stale' | 'replay' | 'full' | 'rate'

/** What {@link natObserver} takes from libp2p. */
export interface NatObserverComponents {
  privateKey: PrivateKey
  logger: ComponentLogger
}

/** A running observer. */
export interface NatObserver extends Startable {
  /** The endpoints it answers on, with the ports bound (after start). */
  readonly addresses: Array<{ host: string, port: number }>
}

/** Parse `host:port` / `[v6]:port`; TypeError or RangeError naming `name`. */
export function parseEndpoint (value: unknown, name: string): { host: string, port: number } {
  if (typeof value !== 'string') throw new TypeError(`${name} must be a "host:port" string, got ${typeof value}`)
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([0-9.]+)):(\d{1,5})$/.exec(value)
  const host = m?.[1] ?? m?.[2]
  const port = Number(m?.[3])
  if (m == null || host == null || isIP(host) === 0 || !(port >= 0 && port <= 65_535)) {
    throw new RangeError(`${name} must be an IP literal and a port, "host:port" or "[v6]:port", got ${JSON.stringify(value)}`)
  }
  return { host, port }
}

class Buckets {
  readonly #burst: number
  readonly #rate: number
  readonly #tokens = new Map<string, { tokens: number, at: number }>()
  constructor (burst: number, perSecond: number) { this.#burst = burst; this.#rate = perSecond }
  take (source: string, now = Date.now()): boolean {
    let b = this.#tokens.get(source)
    if (b == null) {
      // least recently seen first out: a flood of new sources does not refill the buckets of active ones
      if (this.#tokens.size >= OBSERVER.maxSources) this.#tokens.delete(this.#tokens.keys().next().value!)
      b = { tokens: this.#burst, at: now }
    } else {
      this.#tokens.delete(source)
    }
    this.#tokens.set(source, b)
    b.tokens = Math.min(this.#burst, b.tokens + (now - b.at) / 1000 * this.#rate)
    b.at = now
    if (b.tokens < 1) return false
    b.tokens -= 1
    return true
  }
}

class Observer implements NatObserver {
  readonly #endpoints: Array<{ host: string, port: number }>
  readonly #secret: KeyObject
  readonly #publicKey: Uint8Array
  readonly #replay = new ReplayFilter(OBSERVER.replayWindow, OBSERVER.maxQuestionsPerWindow)
  readonly #buckets: Buckets
  readonly #onRefused: NatObserverInit['onRefused']
  readonly #log: Logger
  #sockets: Socket[] = []
  addresses: Array<{ host: string, port: number }> = []

  constructor (components: NatObserverComponents, init: NatObserverInit) {
    if (!Array.isArray(init?.listen) || init.listen.length === 0) throw new TypeError('natObserver: listen must be a non-empty array of "host:port"')
    this.#endpoints = init.listen.map((l, i) => parseEndpoint(l, `listen[${i}]`))
    const key = components.privateKey
    if (key?.type !== 'Ed25519') throw new TypeError(`natObserver needs an Ed25519 node key, got ${String(key?.type)}`)
    ;({ secret: this.#secret, publicKey: this.#publicKey } = staticKeyFromEd25519(key.raw.subarray(0, 32)))
    const per = init.perSource ?? OBSERVER.perSource
    if (!(per.burst >= 1 && per.perSecond > 0)) throw new RangeError(`perSource must be { burst >= 1, perSecond > 0 }, got ${JSON.stringify(init.perSource)}`)
    this.#buckets = new Buckets(per.burst, per.perSecond)
    this.#onRefused = init.onRefused
    this.#log = components.logger.forComponent('fara:observer')
  }

  readonly [Symbol.toStringTag] = '@fara/transport:nat-observer'

  async start (): Promise<void> {
    warmEphemerals()
    for (const { host, port } of this.#endpoints) {
      const socket = createSocket({ type: isIP(host) === 6 ? 'udp6' : 'udp4' })
      socket.on('message', (msg, from) => { this.#answer(socket, msg, { host: from.address, port: from.port }) })
      socket.on('error', (err) => { this.#log.error('observer socket %s:%d: %s', host, port, err.message) })
      await new Promise<void>((resolve, reject) => {
        socket.once('error', reject)
        socket.bind(port, host, () => { socket.off('error', reject); resolve() })
      })
      this.#sockets.push(socket)
    }
    this.addresses = this.#sockets.map(s => ({ host: s.address().address, port: s.address().port }))
  }

  async stop (): Promise<void> {
    await Promise.all(this.#sockets.map(async s => { await new Promise<void>(resolve => { s.close(() => { resolve() }) }) }))
    this.#sockets = []
  }

  #answer (socket: Socket, msg: Buffer, from: { host: string, port: number }): void {
    const refuse = (reason: ObserverRefusal): void => {
      this.#onRefused?.(reason, from)
      this.#log.trace('silent to %s:%d: %s', from.host, from.port, reason)
    }
    // the rate first: a question costs an X25519 and a forward map (about 0.1 ms)
    if (!this.#buckets.take(from.host)) { refuse('rate'); return }
    const opened = openQuestion(this.#secret, this.#publicKey, msg)
    if (typeof opened === 'string') { refuse(opened); return }
    const replayed = this.#replay.check(opened.time, opened.tag)
    if (replayed != null) { refuse(replayed); return }
    socket.send(opened.answer(from), from.port, from.host)
  }
}

/**
 * A NAT observer (spec/direct-paths.md#observers): it answers, over UDP, the
 * address and port a question came from, to nodes that prove they know this
 * node's key, and nothing to anyone else. Run it on a rendezvous point or
 * relay with two public IPs (or on two such hosts), so that nodes can tell
 * whether their NAT keeps one mapping for every destination.
 *
 * @example
 * ```ts
 * import { createNode, natObserver } from '@fara/transport'
 * import { generateKeyPair } from '@libp2p/crypto/keys'
 *
 * const node = await createNode({
 *   privateKey: await generateKeyPair('Ed25519'),
 *   listen: ['/ip4/198.18.0.1/tcp/4001'],
 *   allowPinnedPort: true,
 *   services: { observer: natObserver({ listen: ['198.18.0.1:3479', '198.18.0.2:3479'] }) }
 * })
 * await node.stop()
 * ```
 */
export function natObserver (init: NatObserverInit): (components: NatObserverComponents) => NatObserver {
  return (components) => new Observer(components, init)
}
