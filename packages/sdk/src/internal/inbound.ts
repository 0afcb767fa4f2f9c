// What reaches an entity: Opens (ASSOCIATION_PROTOCOL) and resumptions
// (RESUME_PROTOCOL), each accepted through the demux, and the refusals a
// guesser causes counted against its connection, key and source address
// (spec/security.md#guessing).
import { AssociationRejectedError, FrameTooLargeError, MalformedFrameError, ReplyCode, ResumeRefusedError } from '@fara/demux'
import { ASSOCIATION_PROTOCOL, RESUME_PROTOCOL } from '@fara/demux/constants'
import { RefusalReports } from '@fara/transport'
import { MAX_INBOUND_ASSOCIATIONS_PER_CONNECTION } from '../constants.ts'
import { GuessLimiter, sourceOf } from './guesses.ts'
import { reasonOf } from './log.ts'
import { recordsOf } from './records.ts'
import type { Associations } from './associations.ts'
import type { GuessBlock, GuessLimits } from './guesses.ts'
import type { ServiceHandler } from '../types.ts'
import type { Demux } from '@fara/demux'
import type { Connection, Libp2p, Logger, PeerId, Stream } from '@libp2p/interface'

/** A served name as the demux holds it; `shown` is how the log names it (`private` for a private one). */
export interface Served { name: string, shown: string, handler: ServiceHandler, allow?: (peer: PeerId) => boolean }

/** Refusals a guesser causes: an unknown AId or version, a malformed frame, a refused resumption. */
const GUESSABLE = new Set([MalformedFrameError.name, FrameTooLargeError.name, ResumeRefusedError.name])
/** Reply codes a guesser causes. */
const GUESSABLE_CODES = new Set<number>([ReplyCode.UNKNOWN_AID, ReplyCode.UNSUPPORTED_VERSION, ReplyCode.MALFORMED])

/** What {@link Inbound} works with. */
export interface InboundInit {
  node: Libp2p
  demux: Demux<Served>
  associations: Associations
  guessLimits: GuessLimits
  log: Logger
  /** A guesser was held back and the block is to be reported (at most once per scope and source per interval). */
  onBlocked: (block: GuessBlock) => void
}

/** The entity's handlers of Opens and resumptions, and its guessing guard. */
export class Inbound {
  readonly #node: Libp2p
  readonly #demux: Demux<Served>
  readonly #associations: Associations
  readonly #guesses: GuessLimiter
  readonly #reports = new RefusalReports()
  readonly #log: Logger
  readonly #onBlocked: (block: GuessBlock) => void
  /** Guessers held back so far, reported or not (spec/security.md#guessing). */
  blocked = 0

  constructor (init: InboundInit) {
    this.#node = init.node
    this.#demux = init.demux
    this.#associations = init.associations
    this.#guesses = new GuessLimiter(init.guessLimits)
    this.#log = init.log
    this.#onBlocked = init.onBlocked
  }

  /**
   * Handle both protocols on the entity's node. Fara relays grant unlimited
   * slots, so a connection through them is not "limited" and associations
   * open on it as on a direct one. A connection through a relay that limits
   * data or duration is: no association is accepted on it
   * (runOnLimitedConnection stays false), rather than one cut after 128 KiB
   * or 2 minutes (spec/transport.md#relays).
   */
  async start (): Promise<void> {
    await this.#node.handle(ASSOCIATION_PROTOCOL, (stream, connection) => { this.#accept(stream, connection) },
      { maxInboundStreams: MAX_INBOUND_ASSOCIATIONS_PER_CONNECTION })
    await this.#node.handle(RESUME_PROTOCOL, (stream, connection) => { this.#resume(stream, connection) },
      { maxInboundStreams: MAX_INBOUND_ASSOCIATIONS_PER_CONNECTION })
  }

  /** An Open: admit it (the service's `allow`), then hand the association to the service's handler. */
  #accept (stream: Stream, connection: Connection): void {
    if (this.#blocked(stream, connection)) return
    const admit = (served: Served): boolean => served.allow == null || served.allow(connection.remotePeer)
    this.#demux.accept(stream, connection.remotePeer, { admit, records: recordsOf(connection) }).then(async ({ association, service }) => {
      const n = this.#associations.track(association)
      this.#log('accept #%d %s from %p via %a', n, service.shown, connection.remotePeer, connection.remoteAddr)
      try {
        await service.handler(association)
      } catch (err) {
        this.#log.error('handler for %s failed - %e', service.shown, err)
        // the remote learns that the service failed, not why: an error message may carry internals
        association.abort(new Error('service handler failed'))
      }
    }, (err: Error) => {
      // refused or malformed opens are answered on the wire; the entity keeps serving
      if (this.#log.enabled) this.#log('refuse open from %p via %a - %s', connection.remotePeer, connection.remoteAddr, reasonOf(err, false))
      this.#refused(connection, err)
    })
  }

  /** A resumption: the association it names continues on this stream. */
  #resume (stream: Stream, connection: Connection): void {
    if (this.#blocked(stream, connection)) return
    this.#demux.resume(stream, connection.remotePeer, { records: recordsOf(connection) }).then(
      (association) => { this.#log('repath #%d from %p via %a', this.#associations.numberOf(association), connection.remotePeer, connection.remoteAddr) },
      (err: Error) => {
        if (this.#log.enabled) this.#log('refuse resume from %p via %a - %s', connection.remotePeer, connection.remoteAddr, reasonOf(err, false))
        this.#refused(connection, err)
      }
    )
  }

  /** A stream of a blocked key: reset unread, and its connection closed (a guesser pays a new handshake). */
  #blocked (stream: Stream, connection: Connection): boolean {
    if (!this.#guesses.blocked(connection)) return false
    stream.abort(new Error('blocked'))
    connection.abort(new Error('too many refused associations'))
    return true
  }

  /**
   * Count a refusal that a guesser could have caused (spec/security.md#guessing):
   * close the connection after too many, block the key with backoff, throttle
   * the source address (never block it: its neighbours share it). Each block
   * is an event and an error log line, at most once per scope and source per interval.
   */
  #refused (connection: Connection, err: Error): void {
    const code = (err as Error & { code?: number }).code
    const guessable = GUESSABLE.has(err.name) || (err.name === AssociationRejectedError.name && code != null && GUESSABLE_CODES.has(code))
    if (!guessable) return
    const verdict = this.#guesses.refused(connection, sourceOf(connection))
    for (const block of verdict.blocks) {
      this.blocked++
      const blocks = this.#reports.refused(`${block.scope} ${block.source}`)
      if (blocks === 0) continue
      const detail: GuessBlock = { ...block, peer: connection.remotePeer.toString(), remoteAddr: connection.remoteAddr.toString(), reason: err.message, blocks }
      this.#log.error('guessing: %s of %p at %s held back for %d ms after too many refused opens or resumptions (last: %s; %d since the last report)',
        block.scope, connection.remotePeer, block.source, block.blockMs, err.message, blocks)
      this.#onBlocked(detail)
    }
    const cause = new Error('too many refused associations')
    if (verdict.closePeer) for (const c of this.#node.getConnections(connection.remotePeer)) c.abort(cause)
    if (verdict.closeConnection || verdict.closePeer) connection.abort(cause)
  }
}
