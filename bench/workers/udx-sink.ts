// The sink of the UDX throughput figure, in its own process: a raw libp2p node
// under the unobservable layer (as every Fara node runs it) with the bench's
// sink and echo, and one UDP socket. For each transfer the orchestrator tells
// it the sender's socket, peer id and stream id (`accept`); it connects its own
// UDX stream to them and upgrades inbound, as the punch's inbound side does.
import { unobservable } from '@fara/transport'
import { baselineNode, handleBaseline } from '../lib/libp2p.ts'
import { acceptUdx, udxSocket } from '../lib/udx.ts'
import { cpuMs, emit, log, onCommand, onStop } from '../lib/worker.ts'

const HOST = '127.0.0.1'
/** Most time one upgrade may take (it waits for the sender's first bytes). */
const UPGRADE_TIMEOUT_MS = 30_000

const node = await baselineNode({ connectionProtector: unobservable() })
await handleBaseline(node)
const { udx, socket, port } = udxSocket(HOST)

onCommand(async (command) => {
  if (command.cmd === 'cpu') return { cpuMs: cpuMs() }
  if (command.cmd === 'accept') {
    const { port: remotePort, peer, localId, remoteId } = command as { port: number, peer: string, localId: number, remoteId: number }
    // the upgrade waits for the sender, which starts once this answer is back: not awaited here
    acceptUdx(node, { udx, socket, localId, remoteId, host: HOST, port: remotePort, peer, signal: AbortSignal.timeout(UPGRADE_TIMEOUT_MS) })
      .catch((err: Error) => { log(`udx accept from ${peer} failed: ${err.name}: ${err.message}`) })
    return {}
  }
  throw new Error(`unknown command ${String(command.cmd)}`)
})
onStop(async () => {
  await node.stop()
  await socket.close()
})
emit({ event: 'ready', port, peer: node.peerId.toString() })
