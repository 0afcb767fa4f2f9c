// Connect latency, every way of connecting interleaved round by round (so that
// load drifting on a shared machine falls on all of them alike). One timed run
// = from the call that connects to the first byte echoed back: for libp2p the
// dial + protocol negotiation (with and without the unobservable layer under
// it); for Fara the lookup (unless cached), the dial, the Open pipelined with
// the first byte, and the echo. Tear-down is untimed.
import { multiaddr } from '@multiformats/multiaddr'
import { peerIdFromString } from '@libp2p/peer-id'
import { createEntity, rendezvousPoint } from '@fara/sdk'
import { ephemeralIdentity } from '@fara/identity'
import { createNode, unobservable } from '@fara/transport'
import { hopSchedules, hoppingTcp } from '@fara/port-hopping'
import { baselineNode, ECHO_PROTOCOL } from '../lib/libp2p.ts'
import { NAMES } from '../lib/fara.ts'
import { emit, log, workerArgs } from '../lib/worker.ts'
import { now } from '../lib/stats.ts'
import type { Association } from '@fara/sdk'
import type { Libp2p, PeerId, Stream } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/** The ways of connecting, by id. */
export const LATENCY_MODES = [
  'libp2p-dial', 'libp2p-dial-layer', 'libp2p-dial-rtt', 'libp2p-dial-layer-rtt', 'libp2p-stream', 'fara-cold', 'fara-warm', 'fara-warm-plain', 'fara-warm-stable', 'fara-existing', 'fara-existing-plain', 'resolve', 'node'
] as const
export type LatencyMode = typeof LATENCY_MODES[number]

const args = workerArgs<{ point: string[], libp2p: string[], layered: string[], libp2pDelayed: string[], layeredDelayed: string[], runs: number, warmup: number, gapMs: number }>()

/** An echo to dial: its address (ending in /p2p/<peer id>) and that peer id, to hang up. */
interface Target { addr: Multiaddr, peer: PeerId }
function targetOf (addr: string | undefined): Target {
  if (addr == null) throw new TypeError('latency-client: no echo address to dial')
  const ma = multiaddr(addr)
  const id = ma.getComponents().findLast(c => c.name === 'p2p')?.value
  if (id == null) throw new TypeError(`latency-client: ${addr} does not end in /p2p/<peer id>`)
  return { addr: ma, peer: peerIdFromString(id) }
}
/** The raw libp2p echo, and the same node under the unobservable layer. */
const plain = targetOf(args.libp2p[0])
const layered = targetOf(args.layered[0])
/** The same two behind a link with a round-trip time. */
const plainDelayed = targetOf(args.libp2pDelayed[0])
const layeredDelayed = targetOf(args.layeredDelayed[0])
const probe = Uint8Array.of(42)

const dialer = await baselineNode()
const layerDialer = await baselineNode({ connectionProtector: unobservable() })
const streamer = await baselineNode()
const cold = await createEntity({ app: 'bench-latency-cold', rendezvous: rendezvousPoint(args.point), listen: [] })
const warm = await createEntity({ app: 'bench-latency-warm', rendezvous: rendezvousPoint(args.point), recordCache: true, listen: [] })
const existing = await createEntity({ app: 'bench-latency-existing', rendezvous: rendezvousPoint(args.point), recordCache: true, listen: [] })

/** Send the probe byte and wait for its echo; returns the iterator to drain later. */
async function roundTrip (io: { send: (b: Uint8Array) => boolean } & AsyncIterable<unknown>): Promise<AsyncIterator<unknown>> {
  io.send(probe)
  const it = io[Symbol.asyncIterator]()
  const first = await it.next()
  if (first.done === true) throw new Error('the echo closed before answering')
  return it
}

async function drain (it: AsyncIterator<unknown>): Promise<void> {
  while ((await it.next()).done !== true) { /* the rest of the echo */ }
}

async function libp2pRun (node: Libp2p, to: Target, hangUp: boolean): Promise<number> {
  const start = now()
  const stream: Stream = await node.dialProtocol(to.addr, ECHO_PROTOCOL)
  const it = await roundTrip(stream)
  const ms = now() - start
  await stream.close()
  await drain(it)
  if (hangUp) await node.hangUp(to.peer)
  return ms
}

async function faraRun (entity: typeof cold, options: { stableIdentity?: boolean, resumable?: boolean }, hangUp = false): Promise<number> {
  const start = now()
  const association: Association = await entity.connect(NAMES.echo, options)
  const it = await roundTrip(association)
  const ms = now() - start
  await association.close()
  await drain(it)
  await association.finished
  if (hangUp) await entity.node.hangUp(association.remotePeer)
  return ms
}

async function run (mode: LatencyMode): Promise<number> {
  switch (mode) {
    case 'libp2p-dial': return libp2pRun(dialer, plain, true)
    case 'libp2p-dial-layer': return libp2pRun(layerDialer, layered, true)
    case 'libp2p-dial-rtt': return libp2pRun(dialer, plainDelayed, true)
    case 'libp2p-dial-layer-rtt': return libp2pRun(layerDialer, layeredDelayed, true)
    case 'libp2p-stream': return libp2pRun(streamer, plain, false)
    case 'fara-cold': return faraRun(cold, {})
    case 'fara-warm': return faraRun(warm, {})
    case 'fara-warm-plain': return faraRun(warm, { resumable: false })
    case 'fara-warm-stable': return faraRun(warm, { stableIdentity: true }, true)
    case 'fara-existing': return faraRun(existing, { stableIdentity: true })
    case 'fara-existing-plain': return faraRun(existing, { stableIdentity: true, resumable: false })
    case 'resolve': {
      const start = now()
      await cold.resolve(NAMES.echo)
      return now() - start
    }
    case 'node': {
      // what connect() makes for every association before it dials: a fresh
      // identity and a dial-only node configured as the SDK configures it
      const start = now()
      const identity = await ephemeralIdentity()
      const node = await createNode({ privateKey: identity.privateKey, listen: [], dialRelayed: true, tcp: hoppingTcp({ schedules: hopSchedules() }) })
      const ms = now() - start
      await node.stop()
      return ms
    }
  }
}

const samples = new Map<LatencyMode, number[]>(LATENCY_MODES.map(m => [m, []]))
const idle = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }
for (let round = 0; round < args.warmup + args.runs; round++) {
  for (let i = 0; i < LATENCY_MODES.length; i++) {
    const mode = LATENCY_MODES[(i + round) % LATENCY_MODES.length]!
    // every run starts on an idle process: what the last run left to do in the
    // background (its tear-down, the SDK making its next spare client node) is
    // not timed against the next one. This also keeps new connections to the
    // Fara service under the 100 per second per host that its node accepts.
    await idle(args.gapMs)
    const ms = await run(mode)
    if (round >= args.warmup) samples.get(mode)!.push(ms)
  }
  if ((round + 1) % 50 === 0) log(`latency: ${round + 1} of ${args.warmup + args.runs} rounds`)
}
emit({ event: 'result', samples: Object.fromEntries(samples) })
await Promise.allSettled([cold.close(), warm.close(), existing.close(), dialer.stop(), layerDialer.stop(), streamer.stop()])
process.exit(0)
