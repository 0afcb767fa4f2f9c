// A Fara DHT node in its own process for the private compliance suite (private-dht.test.ts): a DHT server
// on loopback that validates every value at a clock the test moves.
// argv[2]: JSON { bootstrap?: string[], waitPeers?: number }
// stdin: JSON lines { id: number, offsetMs: number }: from now on the node's clock is Date.now() + offsetMs.
// stdout: JSON lines 'ready' (peer id, addresses); 'peers' once `waitPeers` DHT peers are in its routing table;
// 'clock' (the id) once an offset is taken; 'error' with the error's name. On SIGTERM/SIGINT it stops the node
// and exits by itself.
import { createInterface } from 'node:readline'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { dhtRendezvous, dhtServiceOf } from '@fara/rendezvous/dht'
import { createNode } from '@fara/transport'

const args = JSON.parse(process.argv[2] ?? '{}') as { bootstrap?: string[], waitPeers?: number }
let offset = 0
const factory = dhtRendezvous({ bootstrap: args.bootstrap ?? [], allowPrivateAddresses: true, timeout: 20_000, now: () => Date.now() + offset })
const node = await createNode({ privateKey: await generateKeyPair('Ed25519'), listen: ['/ip4/127.0.0.1/tcp/0'], services: factory.nodeServices })
const print = (line: Record<string, unknown>): void => { console.log(JSON.stringify(line)) }

createInterface({ input: process.stdin }).on('line', (line) => {
  const { id, offsetMs } = JSON.parse(line) as { id: number, offsetMs: number }
  offset = offsetMs
  print({ event: 'clock', id, offsetMs })
})

let stopping = false
const stop = (): void => {
  if (stopping) return
  stopping = true
  process.stdin.destroy()
  Promise.resolve(node.stop()).then(() => { process.exitCode = 0 }, () => { process.exitCode = 1 })
}
process.on('SIGTERM', stop)
process.on('SIGINT', stop)

print({ event: 'ready', peerId: node.peerId.toString(), multiaddrs: node.getMultiaddrs().map(String) })
try {
  if (args.waitPeers != null) {
    await dhtServiceOf(node).waitForPeers(args.waitPeers, { signal: AbortSignal.timeout(20_000) })
    print({ event: 'peers', count: dhtServiceOf(node).routingTableSize })
  }
} catch (err) {
  const e = err as Error
  print({ event: 'error', name: e.name, message: e.message })
}
