// The serving side shared by `fara serve` (one name) and `fara up` (many names
// on one entity): the TCP forwarder, registration with retries, and the status
// lines for relay slots and guessers.
import { once } from 'node:events'
import { createConnection } from 'node:net'
import { FORWARD_CONNECT_TIMEOUT_MS, RETRY_INITIAL_MS, RETRY_MAX_MS } from '../constants.ts'
import { ForwardFailedError } from '../errors.ts'
import { formatHostPort } from './args.ts'
import { pause } from './command.ts'
import { short } from './entity.ts'
import { describeFailure, isTransient } from './failure.ts'
import { bridge } from './pipe.ts'
import type { HostPort } from './args.ts'
import type { Context } from './command.ts'
import type { Association, Entity, GuessBlock, ServeOptions, Service } from '@fara/sdk'
import type { RelayReservations, RelayStatus } from '@fara/transport'

/** Connect to the forward target, within {@link FORWARD_CONNECT_TIMEOUT_MS}. */
export async function dialTarget (target: HostPort): Promise<ReturnType<typeof createConnection>> {
  const socket = createConnection({ host: target.host, port: target.port, allowHalfOpen: true })
  try {
    await once(socket, 'connect', { signal: AbortSignal.timeout(FORWARD_CONNECT_TIMEOUT_MS) })
  } catch (err) {
    socket.destroy()
    const why = (err as Error).name === 'AbortError' ? `no answer within ${FORWARD_CONNECT_TIMEOUT_MS} ms` : (err as Error).message
    throw new ForwardFailedError(`${formatHostPort(target)} did not accept the connection: ${why}`)
  }
  return socket
}

/**
 * Each association: a TCP connection to the target, piped both ways. With
 * `name` (fara up: many services in one process), every event carries it.
 */
export function forwarder (ctx: Context, target: HostPort, name?: string): (association: Association) => Promise<void> {
  let count = 0
  const tag = name == null ? {} : { name }
  return async (association) => {
    const id = ++count
    const remotePeer = association.remotePeer.toString()
    ctx.out.status('association', { ...tag, id, remotePeer }, `${name == null ? '' : `${name} `}#${id} association from ${short(remotePeer)} → ${formatHostPort(target)}`)
    let socket
    try {
      socket = await dialTarget(target)
    } catch (err) {
      ctx.out.warn('forward-failed', { ...tag, id, message: (err as Error).message }, `#${id} ${(err as Error).message}`)
      // the client learns that the service is down, not where it lives
      association.abort(new ForwardFailedError('the service behind this name did not accept the connection'))
      return
    }
    try {
      const { sent, received } = await bridge(association.toDuplex(), socket)
      ctx.out.status('closed', { ...tag, id, toService: sent, toClient: received }, `#${id} closed: ${sent} bytes to the service, ${received} back`)
    } catch (err) {
      ctx.out.status('closed', { ...tag, id, error: (err as Error).name, message: (err as Error).message }, `#${id} ended: ${(err as Error).message}`)
    }
  }
}

/** Status lines for the entity's relay slots. */
export function watchRelays (ctx: Context, entity: Entity): void {
  const relays = (entity.node.services as { relays?: RelayReservations }).relays
  const line = (type: string, text: (s: RelayStatus) => string) => (evt: CustomEvent<RelayStatus>): void => {
    const s = evt.detail
    ctx.out.status('relay', { type, relay: s.id, addrs: s.addrs.map(String), error: s.error?.message ?? null }, text(s))
  }
  relays?.addEventListener('relay:reserved', line('reserved', s => `relay slot held on ${short(s.id)}`))
  relays?.addEventListener('relay:lost', line('lost', s => `relay slot on ${short(s.id)} lost; reserving again`))
  relays?.addEventListener('relay:failed', line('failed', s => `relay ${short(s.id)} refused or unreachable (${s.error?.message ?? 'unknown'}); retrying`))
}

/** What a guessing block did, for the human line. */
function heldBack (b: GuessBlock): string {
  if (b.scope === 'connection') return `closed a connection from ${short(b.peer)} at ${b.source}`
  if (b.scope === 'peer') return `blocked key ${short(b.peer)} at ${b.source} for ${b.blockMs / 1000} s`
  return `throttled ${b.source} for ${b.blockMs / 1000} s (its connections close at their first refused open; the others are served)`
}

/** A line for every guesser the entity holds back (spec/security.md#guessing); the entity reports each at most once per scope and source every 10 s. */
export function watchGuessing (ctx: Context, entity: Entity): void {
  entity.addEventListener('guessing:blocked', (evt) => {
    const b = evt.detail
    ctx.out.warn('guessing', { scope: b.scope, peer: b.peer, source: b.source, remoteAddr: b.remoteAddr, blockMs: b.blockMs, reason: b.reason, blocks: b.blocks },
      `AId guessing: ${heldBack(b)} after too many refused opens or resumptions (last: ${b.reason}; ${b.blocks} since the last report)`)
  })
}

/**
 * `serve()` until it succeeds, retrying while the rendezvous point is
 * unreachable; undefined if `signal` (default the command's) stops it first.
 */
export async function register (ctx: Context, entity: Entity, name: string, handler: (a: Association) => Promise<void>, options: Pick<ServeOptions, 'private' | 'allow'>, signal: AbortSignal = ctx.signal): Promise<Service | undefined> {
  let delay = RETRY_INITIAL_MS
  while (true) {
    try {
      return await entity.serve(name, handler, { ...options, signal })
    } catch (err) {
      if (signal.aborted) return undefined
      if (!isTransient(err)) throw err
      const { message } = describeFailure(err)
      ctx.out.warn('retrying', { name, error: (err as Error).name, message, delayMs: delay }, `registration of ${JSON.stringify(name)} failed (${message}); retrying in ${delay / 1000} s`)
      await pause(delay, signal)
      if (signal.aborted) return undefined
      delay = Math.min(delay * 2, RETRY_MAX_MS)
    }
  }
}

