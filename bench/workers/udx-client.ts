// One timed transfer of `bytes` to the UDX sink (bench/workers/udx-sink.ts)
// over a libp2p connection on a UDX path: what a punched direct path carries.
// It binds its socket and prints its port and peer id; once the orchestrator
// has given them to the sink, a `go` command starts the outbound upgrade (as
// the punch's outbound side does it), then one stream of the sink protocol.
// The clock runs as in throughput-client.ts: first byte sent to the sink's
// count back; the upgrade is outside it.
import { unobservable } from '@fara/transport'
import { baselineNode, sendAndCount, SINK_PROTOCOL } from '../lib/libp2p.ts'
import { dialUdx, udxSocket } from '../lib/udx.ts'
import { cpuMs, emit, onCommand, workerArgs } from '../lib/worker.ts'
import { now } from '../lib/stats.ts'

const args = workerArgs<{
  bytes: number, chunk: number,
  /** The sink's UDP port, peer id and stream id; this side's stream id */
  port: number, peer: string, remoteId: number, localId: number
}>()
const HOST = '127.0.0.1'
const UPGRADE_TIMEOUT_MS = 30_000
const cpuAtStart = process.cpuUsage()
const chunk = new Uint8Array(args.chunk).fill(0x5a)

const node = await baselineNode({ connectionProtector: unobservable() })
const { udx, socket, port } = udxSocket(HOST)

async function transfer (): Promise<{ ms: number, counted: number, upgradeMs: number }> {
  const started = now()
  const connection = await dialUdx(node, { udx, socket, localId: args.localId, remoteId: args.remoteId, host: HOST, port: args.port, peer: args.peer, signal: AbortSignal.timeout(UPGRADE_TIMEOUT_MS) })
  const upgradeMs = now() - started
  const stream = await connection.newStream(SINK_PROTOCOL)
  const start = now()
  const counted = await sendAndCount(stream, args.bytes, chunk)
  const ms = now() - start
  return { ms, counted, upgradeMs }
}

onCommand(async (command) => {
  if (command.cmd !== 'go') throw new Error(`unknown command ${String(command.cmd)}`)
  transfer().then(async (result) => {
    if (result.counted !== args.bytes) throw new Error(`udx: the sink counted ${result.counted} bytes, ${args.bytes} were sent`)
    // CPU of the whole run (set-up included: small next to the transfer)
    emit({ event: 'result', mode: 'udx', bytes: args.bytes, ...result, cpuMs: cpuMs(cpuAtStart) })
    await node.stop()
    await socket.close()
    process.exit(0)
  }).catch((err: Error) => {
    process.stderr.write(`${err.stack ?? err.message}\n`)
    process.exit(1)
  })
  return {}
})
emit({ event: 'ready', port, peer: node.peerId.toString() })
