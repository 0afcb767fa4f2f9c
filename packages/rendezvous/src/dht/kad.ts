import { createRequire } from 'node:module'

/**
 * @libp2p/kad-dht, loaded when a node first creates a DHT service (require of
 * an ES module, Node >= 22.12): about a third of the time `import('@fara/sdk')`
 * would otherwise take, spent by every app that uses a rendezvous point and
 * never the DHT (`npm run check:consumers` measures the import).
 */
export function kad (): typeof import('@libp2p/kad-dht') {
  return createRequire(import.meta.url)('@libp2p/kad-dht') as typeof import('@libp2p/kad-dht')
}
