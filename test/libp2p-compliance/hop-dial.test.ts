/**
 * A bug in @fara/port-hopping that libp2p's transport compliance suite found
 * ("should handle many small writes", README.md), now fixed: a connection
 * dialled by schedule was destroyed when the per-port dial timeout ran out,
 * although the dial had succeeded long before. hoppingTcp dialled each port
 * with `AbortSignal.any([signal, AbortSignal.timeout(dialAttemptTimeoutMs)])`,
 * and @libp2p/tcp passes the dial signal on to `net.connect`, which keeps it
 * for the socket's whole life; the per-port timer now ends with the attempt.
 */
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { createHopParams, hopAddr, hopSchedules, hoppingTcp } from '@fara/port-hopping'
import { createLibp2p } from 'libp2p'
import { expect, it } from 'vitest'

it('a connection dialled by schedule outlives the per-port dial timeout', async () => {
  const params = createHopParams()
  const schedules = hopSchedules()
  schedules.set('127.0.0.1', params)
  const stack = { connectionEncrypters: [noise()], streamMuxers: [yamux()] }
  const server = await createLibp2p({ addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] }, transports: [hoppingTcp({ listen: params })], ...stack })
  const client = await createLibp2p({ transports: [hoppingTcp({ schedules, dialAttemptTimeoutMs: 300 })], ...stack })
  try {
    const conn = await client.dial(hopAddr('127.0.0.1', params, server.peerId.toString()), { signal: AbortSignal.timeout(10_000) })
    expect(conn.status).toBe('open')
    await new Promise(resolve => setTimeout(resolve, 1_000)) // not synchronisation: the time the old per-port timer (300 ms) would have killed it
    expect(conn.status).toBe('open')
  } finally {
    await Promise.all([client.stop(), server.stop()])
  }
})
