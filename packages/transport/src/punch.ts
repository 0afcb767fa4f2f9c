// Birthday punching (spec/direct-paths.md#birthday-punching): a direct UDP
// path between a peer behind a NAT that maps consistently and one behind a
// NAT that maps each destination to a random port, which ICE cannot open.
// Negotiated over the relayed connection; the result is an ordinary libp2p
// connection (UDX stream, the node's upgrader: unobservable layer, Noise, Yamux).
import { randomBytes, randomInt } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { isIPv4 } from 'node:net'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { PUNCH, PUNCH_PROTOCOL } from './constants.ts'
import { PunchFailedError } from './errors.ts'
import { classify } from './internal/punch/classify.ts'
import { NONCE_BYTES, PUNCH_VERSION, decodeAnswer, decodeOffer, encodeAnswer, encodeOffer, readMessage } from './internal/punch/negotiation.ts'
import { probeKey } from './internal/punch/probes.ts'
import { punchAsConsistent, punchAsRandom } from './internal/punch/schedule.ts'
import { UdxConnection } from './internal/punch/udx-connection.ts'
import { staticPublicFromEd25519 } from './internal/wire/keys.ts'
import type { Endpoint } from './internal/punch/addr.ts'
import type { Classification, NatKind, ObserverTarget } from './internal/punch/types.ts'
import type { Side } from './internal/punch/negotiation.ts'
import type { PunchStats } from './internal/punch/schedule.ts'
import type { AbortOptions, ComponentLogger, Connection, Logger, PeerId, Startable, Stream, StreamHandler, StreamHandlerOptions, Upgrader } from '@libp2p/interface'
import type UDX from 'udx-native'
import type { UdxNetworkWatcher, UdxSocket } from 'udx-native'
import type { Duplex } from 'node:stream'

export type { NatKind, Classification } from './internal/punch/types.ts'

/** Options of {@link birthdayPunch}; defaults in {@link PUNCH}. */
export interface BirthdayPunchInit {
  /** NAT observers as `/ip4/<host>/udp/<port>/p2p/<peer id>` (a rendezvous point's or relay's `natObserver`), on at least two different IPs. */
  observers: string[]
  /** Sockets the random side opens. */
  sockets?: number
  /** Time between two packets of one side (ms). */
  intervalMs?: number
  /** Most probes the consistent side sends. */
  maxProbes?: number
  /** TTL of the random side's first packets. */
  lowTtl?: number
  /** Most time one attempt may take, negotiation to upgraded connection (ms). */
  budgetMs?: number
  /** Called once per attempt, on either side, with how it went (also logged as `fara:punch`). */
  onAttempt?: (event: PunchEvent) => void
}

/** One attempt, as reported to {@link BirthdayPunchInit.onAttempt}. */
export interface PunchEvent {
  peer: string
  /** Who asked: this node (`initiator`) or the peer. */
  role: 'initiator' | 'responder'
  local: NatKind
  remote: NatKind
  /** The part this node played, when the pair was one to punch. */
  side?: 'consistent' | 'random'
  result: 'direct' | 'not-applicable' | 'busy' | 'unsupported' | 'timeout' | 'failed'
  /** Packets this node sent toward the peer. */
  probes: number
  /** The whole attempt (ms), of which `waitedMs` went on waiting after `BUSY` answers. */
  ms: number
  waitedMs: number
  /** The direct connection's remote address, when there is one. */
  remoteAddr?: string
  error?: string
}

/** What {@link birthdayPunch} takes from libp2p (the parts of its registrar and connection manager it uses). */
export interface BirthdayPunchComponents {
  registrar: {
    handle: (protocol: string, handler: StreamHandler, options?: StreamHandlerOptions) => Promise<void>
    unhandle: (protocol: string) => Promise<void>
  }
  upgrader: Upgrader
  connectionManager: { getConnections: (peer?: PeerId) => Connection[] }
  logger: ComponentLogger
}

/** The service: classify this node's NAT, and punch a direct path to a peer reached through a relay. */
export interface BirthdayPunch extends Startable {
  /** This node's NAT, from the socket it punches with (cached {@link PUNCH}.classificationTtlMs; dropped when the network interfaces change). */
  classify: (options?: AbortOptions & { fresh?: boolean }) => Promise<Classification>
  /**
   * A direct connection to `peer`, which this node reaches over a relayed
   * connection: an open direct one if there is one, else a punched one.
   * Throws {@link PunchFailedError} when the pair is not consistent ↔ random,
   * the peer does not speak the protocol or is busy, or the budget runs out.
   */
  punch: (peer: PeerId, options?: AbortOptions) => Promise<Connection>
}

/** One random-side punch at a time per process, and a pause after each (spec/direct-paths.md#limits). */
let randomBusy = false
let randomFreeAt = 0
function takeRandom (): boolean {
  if (randomBusy || Date.now() < randomFreeAt) return false
  randomBusy = true
  return true
}
function releaseRandom (pauseMs: number): void {
  randomBusy = false
  randomFreeAt = Date.now() + pauseMs
}

function observerOf (addr: string, i: number): ObserverTarget {
  let ma
  try { ma = multiaddr(addr) } catch (err) { throw new RangeError(`observers[${i}] is not a multiaddr: ${(err as Error).message}`) }
  const parts = ma.getComponents()
  // IPv4 only: the punch socket is bound to 0.0.0.0 (spec/direct-paths.md#classification)
  const host = parts.find(c => c.name === 'ip4')?.value
  const port = Number(parts.find(c => c.name === 'udp')?.value)
  const id = parts.findLast(c => c.name === 'p2p')?.value
  if (host == null || !(port >= 1 && port <= 65_535) || id == null) throw new RangeError(`observers[${i}] must be /ip4/<host>/udp/<port>/p2p/<peer id> (IPv4 only in this version), got ${addr}`)
  const key = peerIdFromString(id).publicKey
  if (key?.type !== 'Ed25519') throw new RangeError(`observers[${i}]: the peer id carries no Ed25519 key`)
  return { host, port, key: staticPublicFromEd25519(key.raw) }
}

function positive (value: number | undefined, fallback: number, name: string, max = Number.MAX_SAFE_INTEGER): number {
  const v = value ?? fallback
  if (!(Number.isInteger(v) && v >= 1 && v <= max)) throw new RangeError(`${name} must be an integer 1 to ${max}, got ${String(value)}`)
  return v
}

/** Larger socket buffers for a socket that carries a connection (PUNCH.socketBufferBytes; best effort). */
function tuneBuffers (socket: UdxSocket): void {
  try {
    socket.setRecvBufferSize(PUNCH.socketBufferBytes)
    socket.setSendBufferSize(PUNCH.socketBufferBytes)
  } catch { /* the kernel's limit applies */ }
}

function addrOf (remote: Endpoint, peer?: PeerId): string {
  return `/${isIPv4(remote.host) ? 'ip4' : 'ip6'}/${remote.host}/udp/${remote.port}${peer == null ? '' : `/p2p/${peer.toString()}`}`
}

class Punch implements BirthdayPunch {
  readonly #components: BirthdayPunchComponents
  readonly #observers: ObserverTarget[]
  readonly #options: { sockets: number, intervalMs: number, maxProbes: number, lowTtl: number, budgetMs: number }
  readonly #onAttempt: BirthdayPunchInit['onAttempt']
  readonly #log: Logger
  #udx: UDX | undefined
  #socket: UdxSocket | undefined
  #watcher: UdxNetworkWatcher | undefined
  #classification: Promise<Classification> | undefined
  /** Punches this node answers now, and when each peer last asked (spec/direct-paths.md#limits). */
  #active = 0
  readonly #askedAt = new Map<string, number>()

  constructor (components: BirthdayPunchComponents, init: BirthdayPunchInit) {
    this.#components = components
    if (!Array.isArray(init?.observers)) throw new TypeError('birthdayPunch: observers must be an array of multiaddrs')
    this.#observers = init.observers.map(observerOf)
    if (new Set(this.#observers.map(o => o.host)).size < 2) throw new RangeError('birthdayPunch: observers must include at least two different IPs (spec/direct-paths.md#classification)')
    this.#options = {
      sockets: positive(init.sockets, PUNCH.sockets, 'sockets', 1024),
      intervalMs: positive(init.intervalMs, PUNCH.intervalMs, 'intervalMs', 10_000),
      maxProbes: positive(init.maxProbes, PUNCH.maxProbes, 'maxProbes', 100_000),
      lowTtl: positive(init.lowTtl, PUNCH.lowTtl, 'lowTtl', 255),
      budgetMs: positive(init.budgetMs, PUNCH.budgetMs, 'budgetMs', 600_000)
    }
    this.#onAttempt = init.onAttempt
    this.#log = components.logger.forComponent('fara:punch')
  }

  readonly [Symbol.toStringTag] = '@fara/transport:birthday-punch'

  async start (): Promise<void> {
    // the native addon is loaded only by nodes that punch (spec/direct-paths.md#the-connection)
    const { default: Udx } = await import('udx-native')
    this.#udx = new Udx()
    this.#socket = this.#udx.createSocket()
    this.#socket.bind(0, '0.0.0.0')
    tuneBuffers(this.#socket)
    this.#watcher = this.#udx.watchNetworkInterfaces(() => { this.#classification = undefined })
    await this.#components.registrar.handle(PUNCH_PROTOCOL, (stream, connection) => {
      this.#respond(stream, connection).catch((err: Error) => { this.#log('answering %p failed: %s', connection.remotePeer, err.message) })
    }, { runOnLimitedConnection: true, maxInboundStreams: 4 })
  }

  async stop (): Promise<void> {
    await this.#components.registrar.unhandle(PUNCH_PROTOCOL)
    await this.#watcher?.destroy().catch(() => {})
    await this.#socket?.close().catch(() => {})
    this.#socket = undefined
  }

  async classify (options: AbortOptions & { fresh?: boolean } = {}): Promise<Classification> {
    const cached = this.#classification
    if (cached != null && options.fresh !== true) {
      const c = await cached
      if (Date.now() - c.at < PUNCH.classificationTtlMs) return c
    }
    const socket = this.#socket
    if (socket == null) throw new PunchFailedError('the punch service is not started', { reason: 'failed' })
    const made = classify(socket, this.#observers, { tries: PUNCH.observeTries, timeoutMs: PUNCH.observeTimeoutMs, ...(options.signal == null ? {} : { signal: options.signal }) })
    this.#classification = made
    const c = await made
    // one cut short by the caller's signal says nothing about the NAT: not kept
    if (options.signal?.aborted === true && this.#classification === made) this.#classification = undefined
    this.#log('NAT %s (%d of %d observers answered), seen as %s', c.kind, c.answers, c.asked, c.seen == null ? '-' : `${c.seen.host}:${c.seen.port}`)
    return c
  }

  async punch (peer: PeerId, options: AbortOptions = {}): Promise<Connection> {
    const conns = this.#components.connectionManager.getConnections(peer).filter(c => c.status === 'open')
    const existing = conns.find(c => !c.remoteAddr.toString().includes('/p2p-circuit'))
    if (existing != null) return existing
    const relayed = conns[0]
    if (relayed == null) throw new PunchFailedError(`no relayed connection to ${peer.toString()} to negotiate over`, { reason: 'no-relay' })
    const signal = AbortSignal.any([AbortSignal.timeout(this.#options.budgetMs), ...(options.signal == null ? [] : [options.signal])])
    const start = Date.now()
    const report: PunchEvent = { peer: peer.toString(), role: 'initiator', local: 'unknown', remote: 'unknown', result: 'failed', probes: 0, ms: 0, waitedMs: 0 }
    try {
      const local = await this.classify({ signal })
      report.local = local.kind
      if (local.kind === 'unknown' || local.seen == null) throw new PunchFailedError(`this node's NAT could not be classified (${local.answers} of ${local.asked} observers answered)`, { reason: 'not-applicable' })
      const mine: Side = { kind: local.kind, endpoint: local.seen, nonce: randomBytes(NONCE_BYTES), streamId: randomInt(1, 2 ** 32 - 1) }
      if (local.kind === 'random' && !takeRandom()) throw new PunchFailedError('this process is already punching as the random side', { reason: 'busy' })
      let holdsRandom = local.kind === 'random'
      try {
        let theirs
        for (;;) {
          const stream = await relayed.newStream(PUNCH_PROTOCOL, { runOnLimitedConnection: true, signal })
          try {
            stream.send(encodeOffer(mine))
            theirs = decodeAnswer(await readMessage(stream, { signal }))
          } finally {
            await stream.close({ signal }).catch(() => { stream.abort(new Error('negotiation over')) })
          }
          // busy is for now: ask again after the peer's pause, within the budget
          if (theirs.code !== 'busy') break
          const wait = PUNCH.pauseMs + randomInt(PUNCH.pauseMs)
          await sleep(wait, undefined, { signal })
          report.waitedMs += wait
        }
        report.remote = theirs.kind
        if (theirs.code !== 'ok') throw new PunchFailedError(`the peer answered ${theirs.code} (${local.kind} here, ${theirs.kind} there)`, { reason: theirs.code })
        const connection = await this.#run('outbound', peer, mine, theirs, probeKey(mine.nonce, theirs.nonce), signal, report)
        holdsRandom = false // released by #run
        return connection
      } finally {
        if (holdsRandom) releaseRandom(0)
      }
    } catch (err) {
      if (err instanceof PunchFailedError) report.result = err.reason as PunchEvent['result']
      else if (signal.aborted) report.result = 'timeout'
      report.error = (err as Error).message
      throw err instanceof PunchFailedError ? err : new PunchFailedError(`punch to ${peer.toString()} failed: ${(err as Error).message}`, { reason: signal.aborted ? 'timeout' : 'failed', cause: err })
    } finally {
      report.ms = Date.now() - start
      this.#report(report)
    }
  }

  async #respond (stream: Stream, relayed: Connection): Promise<void> {
    const signal = AbortSignal.timeout(this.#options.budgetMs)
    const start = Date.now()
    const report: PunchEvent = { peer: relayed.remotePeer.toString(), role: 'responder', local: 'unknown', remote: 'unknown', result: 'failed', probes: 0, ms: 0, waitedMs: 0 }
    let holdsRandom = false
    try {
      let theirs
      try {
        theirs = decodeOffer(await readMessage(stream, { signal }))
      } catch (err) {
        stream.send(encodeAnswer('unsupported', { kind: 'unknown', endpoint: null, nonce: new Uint8Array(0), streamId: 0 }))
        report.result = 'unsupported'
        throw err
      }
      report.remote = theirs.kind
      const local = await this.classify({ signal })
      report.local = local.kind
      const mine: Side = { kind: local.kind, endpoint: local.seen ?? null, nonce: randomBytes(NONCE_BYTES), streamId: randomInt(1, 2 ** 32 - 1) }
      const pair = new Set([local.kind, theirs.kind])
      const code = theirs.version !== PUNCH_VERSION
        ? 'unsupported'
        : !(pair.has('consistent') && pair.has('random')) || local.seen == null || theirs.endpoint == null
            ? 'not-applicable'
            : local.kind === 'random' && !(holdsRandom = takeRandom())
                ? 'busy'
                : !this.#admit(relayed.remotePeer) ? 'busy' : 'ok'
      stream.send(encodeAnswer(code, mine))
      await stream.close({ signal }).catch(() => { stream.abort(new Error('negotiation over')) })
      if (code !== 'ok') { report.result = code; return }
      holdsRandom = false // released by #run
      this.#active++
      try {
        await this.#run('inbound', relayed.remotePeer, mine, theirs, probeKey(theirs.nonce, mine.nonce), signal, report)
      } finally {
        this.#active--
      }
    } catch (err) {
      if (report.result === 'failed' && signal.aborted) report.result = 'timeout'
      report.error = (err as Error).message
    } finally {
      if (holdsRandom) releaseRandom(0)
      report.ms = Date.now() - start
      this.#report(report)
    }
  }

  /** Whether to answer a punch request from `peer`: a few at a time, and one per peer per PUNCH.perPeerIntervalMs. */
  #admit (peer: PeerId): boolean {
    const now = Date.now()
    const last = this.#askedAt.get(peer.toString())
    if (this.#active >= PUNCH.maxAnswering || (last != null && now - last < PUNCH.perPeerIntervalMs)) return false
    if (this.#askedAt.size >= 4096) this.#askedAt.delete(this.#askedAt.keys().next().value!)
    this.#askedAt.set(peer.toString(), now)
    return true
  }

  /** Punch, connect a UDX stream on the winning pair, and upgrade it; releases the random side's turn. */
  async #run (direction: 'inbound' | 'outbound', peer: PeerId, mine: Side, theirs: Side, key: Uint8Array, signal: AbortSignal, report: PunchEvent): Promise<Connection> {
    const udx = this.#udx!
    const o = this.#options
    let won: { socket: UdxSocket, remote: Endpoint, stats: PunchStats } | null
    const sent = report as { probes: number } // counted as they go, so a failed attempt reports them too
    if (mine.kind === 'consistent') {
      report.side = 'consistent'
      const r = await punchAsConsistent({ sent, socket: this.#socket!, peerHost: theirs.endpoint!.host, key, intervalMs: o.intervalMs, maxProbes: o.maxProbes, minPort: PUNCH.minPort, signal })
      won = r == null ? null : { socket: this.#socket!, ...r }
    } else {
      report.side = 'random'
      try {
        won = await punchAsRandom({ sent, udx, peer: theirs.endpoint!, key, sockets: o.sockets, lowTtl: o.lowTtl, intervalMs: o.intervalMs, maxProbes: o.maxProbes, signal })
      } finally {
        releaseRandom(PUNCH.pauseMs)
      }
    }
    if (won == null) throw new PunchFailedError(`no packet got through in ${o.maxProbes} probes`, { reason: signal.aborted ? 'timeout' : 'failed' })
    if (won.socket !== this.#socket) tuneBuffers(won.socket)
    const stream = udx.createStream(mine.streamId)
    stream.connect(won.socket, theirs.streamId, won.remote.port, won.remote.host)
    const socket = won.socket
    const maConn = new UdxConnection({
      stream: stream as unknown as Duplex,
      direction,
      remoteAddr: multiaddr(addrOf(won.remote, direction === 'outbound' ? peer : undefined)),
      log: this.#components.logger.forComponent('fara:punch:udx'),
      // the random side's winning socket carries this connection only
      onClose: () => { if (socket !== this.#socket) socket.close().catch(() => {}) }
    })
    let connection: Connection | undefined
    if (direction === 'outbound') {
      // the upgrader checks the remote against the /p2p/<peer> of the address, as for any dial
      connection = await this.#components.upgrader.upgradeOutbound(maConn, { signal })
    } else {
      await this.#components.upgrader.upgradeInbound(maConn, { signal })
      connection = this.#components.connectionManager.getConnections(peer).find(c => c.remoteAddr.toString().startsWith(addrOf(won.remote)))
    }
    if (connection == null || !connection.remotePeer.equals(peer)) {
      await connection?.close().catch(() => {})
      await maConn.close().catch(() => {})
      throw new PunchFailedError('the punched connection did not authenticate the peer of the relayed one', { reason: 'failed' })
    }
    report.result = 'direct'
    report.remoteAddr = connection.remoteAddr.toString()
    return connection
  }

  #report (event: PunchEvent): void {
    this.#log('punch %s %s: %s (%s here, %s there%s), %d probes, %d ms%s', event.role, event.peer, event.result, event.local, event.remote,
      event.side == null ? '' : `, this side ${event.side}`, event.probes, event.ms, event.error == null ? '' : ` - ${event.error}`)
    try { this.#onAttempt?.(event) } catch { /* a listener's error is its own */ }
  }
}

/**
 * Birthday punching (spec/direct-paths.md#birthday-punching), as a libp2p
 * service: a direct path where one peer's NAT maps consistently and the
 * other's randomly (symmetric), which ICE cannot open. The node needs a
 * relayed connection to the peer to negotiate over, and NAT observers
 * ({@link natObserver}) on two IPs to classify its NAT.
 *
 * @example
 * ```ts
 * import { birthdayPunch, createNode } from '@fara/transport'
 * import { generateKeyPair } from '@libp2p/crypto/keys'
 * import { peerIdFromString } from '@libp2p/peer-id'
 *
 * const node = await createNode({
 *   privateKey: await generateKeyPair('Ed25519'),
 *   relays: ['/ip4/198.18.0.1/tcp/4001/p2p/12D3KooW…'],
 *   services: { punch: birthdayPunch({ observers: ['/ip4/198.18.0.1/udp/3479/p2p/12D3KooW…', '/ip4/198.18.0.2/udp/3479/p2p/12D3KooW…'] }) }
 * })
 * const connection = await node.services.punch.punch(peerIdFromString('12D3KooW…'))
 * console.log(connection.remoteAddr.toString()) // /ip4/…/udp/…/p2p/<peer>
 * await node.stop()
 * ```
 */
export function birthdayPunch (init: BirthdayPunchInit): (components: BirthdayPunchComponents) => BirthdayPunch {
  return (components) => new Punch(components, init)
}
