/**
 * A bug in @fara/port-hopping that libp2p's transport compliance suite found
 * ("should handle many small writes", README.md): a connection dialled by
 * schedule is destroyed when the per-port dial timeout runs out, although the
 * dial succeeded long before. hoppingTcp dials each port with
 * `AbortSignal.any([signal, AbortSignal.timeout(dialAttemptTimeoutMs)])`,
 * and @libp2p/tcp passes the dial signal on to `net.connect`, which keeps it
 * for the socket's whole life. The test asserts the bug, so that CI stays
 * green until the fix and fails once it lands: then expect 'open' here and
 * drop BUG_DIAL_ATTEMPT_TIMEOUT_MS from setups.ts.
 */
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { createHopParams, hopAddr, hopSchedules, hoppingTcp } from '@fara/port-hopping'
import { createLibp2p } from 'libp2p'
import { expect, it } from 'vitest'

it('known bug: a connection dialled by schedule is aborted when the per-port dial timeout runs out', async () => {
  const params = createHopParams()
  const schedules = hopSchedules()
  schedules.set('127.0.0.1', params)
  const stack = { connectionEncrypters: [noise()], streamMuxers: [yamux()] }
  const server = await createLibp2p({ addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] }, transports: [hoppingTcp({ listen: params })], ...stack })
  const client = await createLibp2p({ transports: [hoppingTcp({ schedules, dialAttemptTimeoutMs: 300 })], ...stack })
  try {
    const conn = await client.dial(hopAddr('127.0.0.1', params, server.peerId.toString()), { signal: AbortSignal.timeout(10_000) })
    expect(conn.status).toBe('open')
    await new Promise(resolve => setTimeout(resolve, 1_000))
    // BUG: should stay 'open' (a plain @libp2p/tcp dial does)
    expect(conn.status).toBe('aborted')
  } finally {
    await Promise.all([client.stop(), server.stop()])
  }
})
