// Relayed → direct, in the background (spec/direct-paths.md#in-the-sdk): a
// birthday punch where the node has NAT observers and the pair is consistent
// ↔ random, else WebRTC (ICE). A punched UDX path is not taken blindly: it is
// dropped when the relay is clearly closer (its round-trip time lower by more
// than RELAY_RTT_MARGIN), which happens where internet routing breaks the
// triangle inequality; elsewhere a direct path is no longer than the detour
// through the relay, and moving off the relay frees capacity it shares with
// every entity it serves. Where both measure alike (a LAN, the lab's veths,
// loopback), the difference is CPU noise and the punched path is taken, even
// though UDX in user space moves bulk data slower than TCP when the CPU and
// not the link is the limit (bench/README.md, "UDX path").
import { UnsupportedProtocolError } from '@libp2p/interface'
import { upgradeToDirect } from '@fara/transport'
import { PUNCH_ATTEMPTS, PUNCH_RETRY_MS, PUNCH_TIMEOUT_MS, RELAY_RTT_MARGIN, RTT_SAMPLES, DIRECT_UPGRADE_TIMEOUT_MS } from '../constants.ts'
import type { BirthdayPunch } from '@fara/transport'
import type { Connection, Libp2p, Logger, PeerId } from '@libp2p/interface'

/** A protocol nobody handles: multistream-select refuses it after one round trip, the same measure libp2p's liveness check uses. */
const RTT_PROTOCOL = '/fara/rtt/0'

/** One round trip on `connection` (ms), as the time multistream-select takes to refuse a protocol. */
async function roundTrip (connection: Connection, signal: AbortSignal): Promise<number> {
  const start = performance.now()
  try {
    const stream = await connection.newStream(RTT_PROTOCOL, { runOnLimitedConnection: true, signal })
    stream.abort(new Error('not a real protocol'))
  } catch (err) {
    if ((err as Error).name !== UnsupportedProtocolError.name) throw err
  }
  return performance.now() - start
}

/** The median of {@link RTT_SAMPLES} round trips on `connection`. */
export async function rttOf (connection: Connection, signal: AbortSignal): Promise<number> {
  const samples: number[] = []
  for (let i = 0; i < RTT_SAMPLES; i++) samples.push(await roundTrip(connection, signal))
  return samples.sort((a, b) => a - b)[Math.floor(samples.length / 2)]!
}

/** A connection through a relay (a WebRTC one signalled over a relay is direct). */
export const isRelayed = (c: Connection): boolean => {
  const parts = c.remoteAddr.getComponents()
  return parts.some(x => x.name === 'p2p-circuit') && !parts.some(x => x.name === 'webrtc')
}

/** Per entity: which peers not to punch again before when (ms since 1970). */
export class PunchBackoff {
  readonly #until = new Map<string, number>()
  allows (peer: PeerId): boolean {
    const until = this.#until.get(peer.toString())
    if (until == null) return true
    if (Date.now() < until) return false
    this.#until.delete(peer.toString())
    return true
  }

  wait (peer: PeerId): void {
    if (this.#until.size >= 4096) this.#until.delete(this.#until.keys().next().value!)
    this.#until.set(peer.toString(), Date.now() + PUNCH_RETRY_MS)
  }
}

/**
 * A direct connection to `peer`, which `node` reaches only through a relay:
 * punched (and faster than the relay), or WebRTC; null if neither. Never throws.
 */
export async function directPath (node: Libp2p, peer: PeerId, backoff: PunchBackoff, log: Logger): Promise<{ connection: Connection, method: 'birthday' | 'ice' } | null> {
  const punch = (node.services as { punch?: BirthdayPunch }).punch
  if (punch != null && backoff.allows(peer)) {
    const punched = await punchedPath(node, punch, peer, backoff, log)
    if (punched !== 'not-applicable') return punched
    // not a consistent <-> random pair, or a peer without the punch: ICE may do
  }
  try {
    const connection = await upgradeToDirect(node, peer, [], { signal: AbortSignal.timeout(DIRECT_UPGRADE_TIMEOUT_MS) })
    log('direct %p via %a (ice)', peer, connection.remoteAddr)
    return { connection, method: 'ice' }
  } catch (err) {
    log('direct %p failed - %s', peer, (err as Error).message)
    return null
  }
}

/** Reasons of a punch failure that another attempt cannot change. */
const FINAL_REASONS = new Set(['not-applicable', 'unsupported'])

/**
 * Up to {@link PUNCH_ATTEMPTS} punches to `peer`, each with fresh mappings;
 * the path if one succeeds and is not clearly slower than the relay, else
 * null (and `peer` waits out the backoff), or `'not-applicable'` when the
 * pair is not one to punch.
 */
async function punchedPath (node: Libp2p, punch: BirthdayPunch, peer: PeerId, backoff: PunchBackoff, log: Logger): Promise<{ connection: Connection, method: 'birthday' } | null | 'not-applicable'> {
  for (let attempt = 1; ; attempt++) {
    const signal = AbortSignal.timeout(PUNCH_TIMEOUT_MS)
    let connection: Connection
    try {
      connection = await punch.punch(peer, { signal })
    } catch (err) {
      const reason = (err as { reason?: string }).reason
      if (reason != null && FINAL_REASONS.has(reason)) return 'not-applicable'
      log('direct %p not punched (attempt %d of %d) - %s', peer, attempt, PUNCH_ATTEMPTS, (err as Error).message)
      if (attempt < PUNCH_ATTEMPTS && node.status === 'started') continue
      backoff.wait(peer)
      return null
    }
    try {
      const relayed = node.getConnections(peer).find(c => c.status === 'open' && isRelayed(c))
      if (relayed == null) return { connection, method: 'birthday' }
      const [direct, relay] = await Promise.all([rttOf(connection, signal), rttOf(relayed, signal)])
      if (direct <= relay * RELAY_RTT_MARGIN.factor + RELAY_RTT_MARGIN.ms) {
        log('direct %p via %a (punched), rtt %s ms against %s ms through the relay', peer, connection.remoteAddr, direct.toFixed(2), relay.toFixed(2))
        return { connection, method: 'birthday' }
      }
      log('direct %p punched but not used: rtt %s ms, the relay clearly closer at %s ms', peer, direct.toFixed(2), relay.toFixed(2))
    } catch (err) {
      log('direct %p punched, lost while measured - %s', peer, (err as Error).message)
    }
    backoff.wait(peer)
    await connection.close().catch(() => {})
    return null
  }
}
