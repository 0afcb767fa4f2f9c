// NAT classification (spec/direct-paths.md#classification): from the socket a
// node would punch with, ask two or more observers on different IPs what
// endpoint they see. One endpoint for all: the NAT keeps one mapping per
// socket whatever the destination (endpoint-independent mapping, RFC 4787
// §4.1), "consistent"; the same address with different ports: "random"; fewer
// than two answers, or different addresses: "unknown".
import { setTimeout as sleep } from 'node:timers/promises'
import { askObserver } from './observe-wire.ts'
import type { Classification, ObserverTarget } from './types.ts'
import type { Endpoint } from './addr.ts'
import type { Question } from './observe-wire.ts'
import type { UdxAddress, UdxSocket } from 'udx-native'

export type { NatKind, Classification, ObserverTarget } from './types.ts'

/** Ask every observer from `socket` (up to `tries` times, `timeoutMs` apart) and classify what they saw. */
export async function classify (socket: UdxSocket, observers: ObserverTarget[], options: { tries: number, timeoutMs: number, signal?: AbortSignal }): Promise<Classification> {
  // the questions of the current try, by observer: each try asks anew (an observer refuses a repeated question as a replay)
  const pending = new Map<ObserverTarget, Question | null>(observers.map(o => [o, null]))
  const seen = new Map<ObserverTarget, Endpoint>()
  let allAnswered: (() => void) | undefined
  const onMessage = (msg: Buffer, from: UdxAddress): void => {
    for (const [o, q] of pending) {
      if (q == null || o.port !== from.port || o.host !== from.host) continue
      const endpoint = q.open(msg)
      if (endpoint != null) { seen.set(o, endpoint); pending.delete(o) }
    }
    if (pending.size === 0) allAnswered?.()
  }
  socket.on('message', onMessage)
  try {
    for (let t = 0; t < options.tries && pending.size > 0 && options.signal?.aborted !== true; t++) {
      for (const o of pending.keys()) {
        const q = askObserver(o.key)
        if (q == null) { pending.delete(o); continue } // a low-order key: no peer id maps to one
        pending.set(o, q)
        socket.trySend(q.bytes, o.port, o.host)
      }
      if (pending.size === 0) break
      // the next try after timeoutMs, unless every observer answered first
      const answered = new Promise<void>((resolve) => { allAnswered = resolve })
      await Promise.race([answered, sleep(options.timeoutMs, undefined, options.signal == null ? {} : { signal: options.signal }).catch(() => {})])
    }
  } finally {
    socket.off('message', onMessage)
  }
  const endpoints = [...seen.values()]
  const at = Date.now()
  const base = { answers: endpoints.length, asked: observers.length, at }
  if (endpoints.length < 2) return { kind: 'unknown', ...base, ...(endpoints[0] == null ? {} : { seen: endpoints[0] }) }
  const first = endpoints[0]!
  if (endpoints.some(e => e.host !== first.host)) return { kind: 'unknown', seen: first, ...base }
  return { kind: endpoints.every(e => e.port === first.port) ? 'consistent' : 'random', seen: first, ...base }
}
