// The server side of the port-hopping figures, in its own process: a Fara
// entity whose TCP listener hops every `intervalMs` (createEntity({ hop })),
// serving a sink privately (a hopping record carries its hop key), and a raw
// libp2p node on @fara/port-hopping's hoppingTcp with the same kind of schedule.
import { createEntity, rendezvousPoint } from '@fara/sdk'
import { createHopParams, hopAddr, hopParamsToString, hoppingTcp } from '@fara/port-hopping'
import { baselineNode, handleBaseline, sink } from '../lib/libp2p.ts'
import { NAMES } from '../lib/fara.ts'
import { emit, onStop, workerArgs } from '../lib/worker.ts'

const args = workerArgs<{ point: string[], intervalMs: number, rangeStart: number }>()
const range = (offset: number): { start: number, end: number } => ({ start: args.rangeStart + offset, end: args.rangeStart + offset + 255 })

const fara = await createEntity({
  app: 'bench-hopping',
  rendezvous: rendezvousPoint(args.point),
  listen: ['/ip4/127.0.0.1/tcp/0'],
  hop: { intervalMs: args.intervalMs, range: range(0) }
})
await fara.serve(NAMES.hopSink, async (association) => { await sink(association) }, { private: true })

const params = createHopParams({ intervalMs: args.intervalMs, range: range(256) })
const libp2p = await baselineNode({ listen: ['/ip4/127.0.0.1/tcp/0'], transports: [hoppingTcp({ listen: params })] })
await handleBaseline(libp2p)

onStop(async () => { await Promise.allSettled([fara.close(), libp2p.stop()]) })
emit({
  event: 'ready',
  libp2pHop: hopAddr('127.0.0.1', params, libp2p.peerId.toString()).toString(),
  libp2pHopParams: hopParamsToString(params)
})
