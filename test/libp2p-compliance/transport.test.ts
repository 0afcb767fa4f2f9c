/**
 * libp2p's own transport compliance suite (@libp2p/interface-compliance-tests
 * ./transport, unchanged) against Fara's TCP transports, with Fara's
 * connection protector when @fara/transport exports it. README.md lists the
 * cases that fail by design and why.
 */
import './mocha.ts'
import transportCompliance from '@libp2p/interface-compliance-tests/transport'
import { createLibp2p } from 'libp2p'
import { describe, expect, it } from 'vitest'
import { mochaSuite } from './mocha.ts'
import { hoppingPlain, hoppingScheduled, plainTcp, protection } from './setups.ts'
import type { ExpectedFailure } from './mocha.ts'

const protect = await protection()

/** spec/port-hopping.md: a hopping listener announces no address, and these cases find the listener by its addresses. */
const announcesNothing = (error: RegExp): ExpectedFailure => ({
  reason: 'a hopping listener announces no address (spec/port-hopping.md), and the case finds its listener by address',
  error
})

mochaSuite(`libp2p transport compliance: @fara/port-hopping, no schedule, ${protect.label}`, () => {
  transportCompliance({ setup: async () => hoppingPlain(protect), teardown: async () => {} })
})

mochaSuite(`libp2p transport compliance: @fara/port-hopping, hopping by schedule, ${protect.label}`, () => {
  transportCompliance({ setup: async () => hoppingScheduled(protect), teardown: async () => {} })
}, {
  fails: {
    // waits for a listener whose getAddrs() matches /tcp/
    'emits listening': announcesNothing(/^Did not emit listening event$/),
    // looks the listener up by getAddrs() before it stops the node
    'emits close': announcesNothing(/^Could not find address listener$/)
  }
})

mochaSuite(`libp2p transport compliance: @libp2p/tcp, ${protect.label}`, () => {
  transportCompliance({ setup: async () => plainTcp(protect), teardown: async () => {} })
})

// the runs above prove something about the protector only if it is in the path
describe.runIf(protect.init.connectionProtector != null)('the protector is in the path of the runs above', () => {
  it('refuses a dial whose address carries no /p2p/<peer id>', async () => {
    const fixtures = plainTcp(protect)
    const listener = await createLibp2p(fixtures.listener ?? {})
    const dialer = await createLibp2p(fixtures.dialer)
    try {
      const [addr] = listener.getMultiaddrs()
      expect(addr).toBeDefined()
      await expect(dialer.dial(addr!.decapsulateCode(421), { signal: AbortSignal.timeout(10_000) })).rejects.toMatchObject({ name: 'PeerKeyRequiredError' })
      await expect(dialer.dial(addr!, { signal: AbortSignal.timeout(10_000) })).resolves.toMatchObject({ status: 'open' })
    } finally {
      await Promise.all([dialer.stop(), listener.stop()])
    }
  })
})
