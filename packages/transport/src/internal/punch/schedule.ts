// The two sides of the birthday punch (spec/direct-paths.md#the-punch), after
// Holepunch hyperdht's lib/holepuncher.js and the lab prototypes in
// ../shared/research/birthday-punch/. Each returns the socket pair that won,
// or null when its budget or the signal ran out; neither sends anything to an
// address other than the one the negotiation named.
import { randomInt } from 'node:crypto'
import { isProbe, makeProbe } from './probes.ts'
import type { Endpoint } from './addr.ts'
import type UDX from 'udx-native'
import type { UdxAddress, UdxSocket } from 'udx-native'

/** How a punch went, for the event and the log line. */
export interface PunchStats {
  /** Packets this side sent toward the peer. */
  probes: number
  ms: number
}

export interface ConsistentInit {
  socket: UdxSocket
  /** Counts the packets sent, also when the punch fails. */
  sent: { probes: number }
  /** The random side's public address (its port is not used: every probe goes to a random one). */
  peerHost: string
  key: Uint8Array
  intervalMs: number
  maxProbes: number
  minPort: number
  signal: AbortSignal
}

/**
 * The consistent side: from its one (classified) socket, a probe to a random
 * port of the peer's address every `intervalMs`. A mapping opener from the
 * peer that gets through names a port to probe at once. Done when the peer's
 * answer (`ack`) arrives: its source is the winning socket's mapping.
 */
export async function punchAsConsistent (init: ConsistentInit): Promise<{ remote: Endpoint, stats: PunchStats } | null> {
  const { socket, peerHost, key, signal } = init
  const start = Date.now()
  let probes = 0
  let timer: ReturnType<typeof setTimeout> | undefined
  const probe = (port: number): void => { probes++; init.sent.probes++; socket.trySend(makeProbe(key, 'probe'), port, peerHost) }
  return await new Promise((resolve) => {
    const finish = (remote: Endpoint | null): void => {
      clearTimeout(timer)
      socket.off('message', onMessage)
      signal.removeEventListener('abort', onAbort)
      resolve(remote == null ? null : { remote, stats: { probes, ms: Date.now() - start } })
    }
    const onMessage = (msg: Buffer, from: UdxAddress): void => {
      if (from.host !== peerHost) return
      if (isProbe(key, 'ack', msg)) finish({ host: from.host, port: from.port })
      else if (isProbe(key, 'open', msg)) probe(from.port)
    }
    const onAbort = (): void => { finish(null) }
    const tick = (): void => {
      if (probes >= init.maxProbes) { finish(null); return }
      probe(randomInt(init.minPort, 65_536))
      timer = setTimeout(tick, init.intervalMs)
    }
    if (signal.aborted) { resolve(null); return }
    socket.on('message', onMessage)
    signal.addEventListener('abort', onAbort, { once: true })
    tick()
  })
}

export interface RandomInit {
  udx: UDX
  /** Counts the packets sent, also when the punch fails. */
  sent: { probes: number }
  /** The consistent side's public endpoint: the only destination of every packet. */
  peer: Endpoint
  key: Uint8Array
  sockets: number
  lowTtl: number
  intervalMs: number
  maxProbes: number
  signal: AbortSignal
}

/**
 * The random side: `sockets` fresh sockets, each sending one mapping opener of
 * TTL `lowTtl` to the peer, then one of them every `intervalMs` in turn (the
 * first round still at the low TTL). The first socket that receives the peer's
 * probe answers it (`ack`) and wins; the others are closed at once.
 */
export async function punchAsRandom (init: RandomInit): Promise<{ socket: UdxSocket, remote: Endpoint, stats: PunchStats } | null> {
  const { udx, peer, key, signal } = init
  const start = Date.now()
  const sockets: UdxSocket[] = []
  let probes = 0
  let timer: ReturnType<typeof setTimeout> | undefined
  const closeAll = (except?: UdxSocket): void => {
    for (const s of sockets) if (s !== except) s.close().catch(() => {})
  }
  try {
    for (let i = 0; i < init.sockets; i++) {
      const s = udx.createSocket()
      s.bind(0, '0.0.0.0')
      sockets.push(s)
    }
  } catch (err) {
    closeAll()
    throw err
  }
  return await new Promise((resolve) => {
    const listeners = new Map<UdxSocket, (msg: Buffer, from: UdxAddress) => void>()
    const finish = (winner: UdxSocket | null, remote: Endpoint | null): void => {
      clearTimeout(timer)
      signal.removeEventListener('abort', onAbort)
      for (const [s, l] of listeners) s.off('message', l)
      closeAll(winner ?? undefined)
      resolve(winner == null || remote == null ? null : { socket: winner, remote, stats: { probes, ms: Date.now() - start } })
    }
    for (const s of sockets) {
      const listener = (msg: Buffer, from: UdxAddress): void => {
        if (from.host !== peer.host || from.port !== peer.port || !isProbe(key, 'probe', msg)) return
        // the answer names the winner; two more in case one is lost (the peer stops probing on the first)
        const ack = (): void => { if (!s.closing) s.trySend(makeProbe(key, 'ack'), from.port, from.host) }
        ack()
        setTimeout(ack, 3 * init.intervalMs).unref()
        setTimeout(ack, 10 * init.intervalMs).unref()
        finish(s, { host: from.host, port: from.port })
      }
      listeners.set(s, listener)
      s.on('message', listener)
    }
    const onAbort = (): void => { finish(null, null) }
    if (signal.aborted) { finish(null, null); return }
    signal.addEventListener('abort', onAbort, { once: true })
    for (const s of sockets) { probes++; init.sent.probes++; s.trySend(makeProbe(key, 'open'), peer.port, peer.host, init.lowTtl) }
    let i = 0
    let round = 0
    const tick = (): void => {
      if (probes >= init.maxProbes + init.sockets) { finish(null, null); return }
      if (i === sockets.length) { i = 0; round++ }
      probes++
      init.sent.probes++
      const s = sockets[i++]!
      if (round === 0) s.trySend(makeProbe(key, 'open'), peer.port, peer.host, init.lowTtl)
      else s.trySend(makeProbe(key, 'open'), peer.port, peer.host)
      timer = setTimeout(tick, init.intervalMs)
    }
    timer = setTimeout(tick, init.intervalMs)
  })
}
