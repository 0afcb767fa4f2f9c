import { generateKeyPair } from '@libp2p/crypto/keys'
import { tcp } from '@libp2p/tcp'
import { createNode } from '@fara/transport'
import { afterEach } from 'vitest'
import { createRendezvousPoint } from '../src/index.ts'
import type { RendezvousPointHandle, RendezvousPointServerInit, RendezvousRefusal } from '../src/index.ts'
import type { Libp2p } from '@libp2p/interface'

/** Points and client nodes of a test file: everything made is closed after each test. */
export interface PointHarness {
  /** A point on loopback (`init` added), and the refusals it reports. */
  point: (init?: RendezvousPointServerInit) => Promise<{ point: RendezvousPointHandle, refusals: RendezvousRefusal[] }>
  /** A client node with a fresh key whose connections come from `from` (another host on loopback). */
  client: (from?: string) => Promise<Libp2p>
  /** Run `close` after the test too. */
  cleanup: (close: () => Promise<void>) => void
}

/** Call at the top of a test file. */
export function pointHarness (defaults: RendezvousPointServerInit = {}): PointHarness {
  const closers: Array<() => Promise<void>> = []
  afterEach(async () => { await Promise.allSettled(closers.splice(0).map(async c => c())) })
  return {
    cleanup: (close) => { closers.push(close) },
    point: async (init = {}) => {
      const p = await createRendezvousPoint({ listen: ['/ip4/127.0.0.1/tcp/0'], ...defaults, ...init })
      closers.push(async () => p.close())
      const refusals: RendezvousRefusal[] = []
      p.server.addEventListener('rendezvous:refused', (evt) => { refusals.push(evt.detail) })
      return { point: p, refusals }
    },
    client: async (from = '127.0.0.1') => {
      const node = await createNode({
        privateKey: await generateKeyPair('Ed25519'),
        listen: [],
        // dialOpts go to net.connect as they are; its localAddress is missing from their type
        tcp: tcp({ dialOpts: { localAddress: from } as never })
      })
      closers.push(async () => node.stop())
      return node
    }
  }
}
