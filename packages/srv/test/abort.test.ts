// resolveSrv and the SRV rendezvous already take an AbortSignal (issue 17):
// aborted while a real UDP server sits on the question, they reject with the
// signal's reason at once, not after the (here far longer) DNS timeout.
import { afterEach, describe, expect, it } from 'vitest'
import { createSrvRendezvous, resolveSrv } from '../src/index.ts'
import { fakeServer } from './fixtures.ts'
import type { FakeServer } from './fixtures.ts'

let server: FakeServer | undefined

afterEach(async () => {
  await server?.close()
  server = undefined
})

/** A DNS server that never answers, and aborts `controller` with `reason` when the first question arrives. */
async function silentUntilAsked (controller: AbortController, reason: Error): Promise<string> {
  server = await fakeServer(() => {
    controller.abort(reason)
    return undefined
  })
  return server.server
}

describe('resolveSrv', () => {
  it('rejects with the reason of an aborted signal without asking', async () => {
    const reason = new Error('not now')
    server = await fakeServer(() => undefined)
    await expect(resolveSrv('_chat._tcp.fara.test', { servers: [server.server], signal: AbortSignal.abort(reason) })).rejects.toBe(reason)
    expect(server.requests).toEqual([])
  })

  it('aborted while the server is asked, rejects with the reason before the DNS timeout', async () => {
    const controller = new AbortController()
    const reason = new Error('changed my mind')
    const servers = [await silentUntilAsked(controller, reason)]
    // one try of 60 s: only the abort can end this within the test's time
    await expect(resolveSrv('_chat._tcp.fara.test', { servers, timeout: 60_000, tries: 1, signal: controller.signal })).rejects.toBe(reason)
    expect(server!.requests.length).toBeGreaterThan(0)
  })
})

describe('createSrvRendezvous', () => {
  it('resolve aborted while the server is asked, rejects with the reason before the DNS timeout', async () => {
    const controller = new AbortController()
    const reason = new Error('changed my mind')
    const rv = createSrvRendezvous({ zone: 'fara.test', server: await silentUntilAsked(controller, reason), timeout: 60_000 })
    await expect(rv.resolve('chat', { signal: controller.signal })).rejects.toBe(reason)
  })
})
