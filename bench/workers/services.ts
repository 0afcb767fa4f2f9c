// The server side of the throughput and latency figures, in its own process:
// a raw TCP sink, a raw libp2p node (sink + echo), the same node under the
// unobservable layer, a Fara entity serving a sink and an echo by name, and a
// Fara entity reachable only through the point's relay.
import { createServer } from 'node:net'
import { createEntity, rendezvousPoint } from '@fara/sdk'
import { unobservable } from '@fara/transport'
import { baselineNode, echo, handleBaseline, sink } from '../lib/libp2p.ts'
import { delayRelay } from '../lib/delay.ts'
import { NAMES } from '../lib/fara.ts'
import { emit, onCommand, onStop, cpuMs, maxRssMiB, workerArgs } from '../lib/worker.ts'
import type { AddressInfo } from 'node:net'

const args = workerArgs<{ point: string[], rttMs: number }>()
const rendezvous = rendezvousPoint(args.point)

// raw TCP: count until the client half-closes, answer the count
const tcpServer = createServer({ noDelay: true }, (socket) => {
  let bytes = 0
  socket.on('data', (d: Buffer) => { bytes += d.byteLength })
  socket.on('end', () => {
    const answer = Buffer.alloc(8)
    answer.writeBigUInt64BE(BigInt(bytes))
    socket.end(answer)
  })
  socket.on('error', () => {})
})
await new Promise<void>(resolve => tcpServer.listen(0, '127.0.0.1', resolve))

const libp2p = await baselineNode({ listen: ['/ip4/127.0.0.1/tcp/0'] })
await handleBaseline(libp2p)

// the baseline node plus the layer and nothing else: what the layer costs, apart from the rest of Fara
const layered = await baselineNode({ listen: ['/ip4/127.0.0.1/tcp/0'], connectionProtector: unobservable() })
await handleBaseline(layered)

// both raw nodes again behind a link with a round-trip time (a delaying relay): where the layer's
// saved round trip (the /noise answer) shows, which loopback hides
const delayed = async (node: typeof libp2p): Promise<{ addrs: string[], close: () => void }> => {
  const parts = node.getMultiaddrs()[0]!.getComponents()
  const host = parts.find(c => c.name === 'ip4')!.value!
  const port = Number(parts.find(c => c.name === 'tcp')!.value)
  const relay = await delayRelay({ host, port }, args.rttMs / 2)
  return { addrs: [`/ip4/127.0.0.1/tcp/${relay.port}/p2p/${node.peerId.toString()}`], close: () => { relay.server.close() } }
}
const libp2pDelayed = await delayed(libp2p)
const layeredDelayed = await delayed(layered)

const server = await createEntity({ app: 'bench-server', rendezvous, listen: ['/ip4/127.0.0.1/tcp/0'] })
await server.serve(NAMES.sink, async (association) => { await sink(association) })
await server.serve(NAMES.echo, async (association) => { await echo(association) })

const relayed = await createEntity({ app: 'bench-relayed', rendezvous, listen: [], relays: [args.point[0]!] })
await relayed.serve(NAMES.relayedSink, async (association) => { await sink(association) })

onCommand(async (command) => {
  if (command.cmd === 'cpu') return { cpuMs: cpuMs(), maxRssMiB: maxRssMiB() }
  throw new Error(`unknown command ${String(command.cmd)}`)
})
onStop(async () => {
  tcpServer.close()
  libp2pDelayed.close()
  layeredDelayed.close()
  await Promise.allSettled([server.close(), relayed.close(), libp2p.stop(), layered.stop()])
})
emit({
  event: 'ready',
  tcp: (tcpServer.address() as AddressInfo).port,
  libp2p: libp2p.getMultiaddrs().map(String),
  // each ends in /p2p/<peer id>, which a dialer under the layer needs
  layered: layered.getMultiaddrs().map(String),
  libp2pDelayed: libp2pDelayed.addrs,
  layeredDelayed: layeredDelayed.addrs,
  fara: server.multiaddrs.map(String),
  relayed: relayed.multiaddrs.map(String)
})
