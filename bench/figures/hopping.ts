// Throughput with port hopping vs without (issue 6): a Fara association to an
// entity whose listener hops every `hopIntervalMs`, long enough to cross hops
// (each hop that closes its port moves the resumable association to a new
// connection), against one to an entity that does not hop; and raw libp2p
// over hoppingTcp against raw libp2p over tcp, within one interval (a plain
// libp2p stream dies with its port).
import { randomInt } from 'node:crypto'
import { runWorker, startWorker } from '../lib/process.ts'
import { median, mibPerSecond, round } from '../lib/stats.ts'
import { CHUNK_BYTES } from './throughput.ts'
import type { BenchContext } from '../lib/context.ts'
import type { ThroughputMode } from '../workers/throughput-client.ts'

/** Raw libp2p over hopping TCP must finish within one connection's life: at most this much. */
const LIBP2P_HOP_BYTES = 64 * 1024 * 1024

export async function hopping (ctx: BenchContext): Promise<void> {
  const { pointAddrs, tcpPort, libp2pAddrs } = await ctx.servers()
  const interval = ctx.config.hopIntervalMs
  // 512 ports below the ephemeral range, somewhere new each run
  const server = startWorker('hop-services', { point: pointAddrs, intervalMs: interval, rangeStart: randomInt(20_000, 31_000) })
  try {
    const ready = await server.next(l => l.event === 'ready', 60_000)
    const faraBytes = ctx.config.hopBytes
    const libp2pBytes = Math.min(faraBytes, LIBP2P_HOP_BYTES)
    const plan: Array<{ mode: ThroughputMode, bytes: number }> = [
      { mode: 'fara', bytes: faraBytes }, { mode: 'fara-hop', bytes: faraBytes },
      { mode: 'libp2p', bytes: libp2pBytes }, { mode: 'libp2p-hop', bytes: libp2pBytes }
    ]
    const ms = new Map<ThroughputMode, number[]>()
    const resumptions: number[] = []
    for (let r = 0; r < ctx.config.throughputRepeats; r++) {
      for (const { mode, bytes } of plan) {
        const result = await runWorker('throughput-client', {
          mode, bytes, chunk: CHUNK_BYTES, point: pointAddrs, tcp: tcpPort, libp2p: libp2pAddrs, hopAddr: ready.libp2pHop, hopParams: ready.libp2pHopParams
        })
        if (mode === 'fara-hop') resumptions.push(result.resumptions as number)
        ms.set(mode, [...(ms.get(mode) ?? []), result.ms as number])
      }
    }
    const rate = (mode: ThroughputMode, bytes: number): number => mibPerSecond(bytes, median(ms.get(mode)!))
    // the median of each round's ratio (see throughput.ts)
    const ratioOf = (mode: ThroughputMode, base: ThroughputMode): number => median(ms.get(mode)!.map((t, r) => ms.get(base)![r]! / t))
    const fSize = `${faraBytes / 2 ** 20} MiB`
    const lSize = `${libp2pBytes / 2 ** 20} MiB`
    const hop = rate('fara-hop', faraBytes)
    const plain = rate('fara', faraBytes)
    const seconds = median(ms.get('fara-hop')!) / 1000
    ctx.add({ family: 'hopping', id: 'hopping.fara', label: 'Fara association, no hopping (resumable)', size: fSize, value: plain, unit: 'MiB/s' })
    ctx.add({
      family: 'hopping',
      id: 'hopping.fara-hop',
      label: `Fara association over hopping TCP, ${interval / 1000} s interval (resumable)`,
      size: fSize,
      value: hop,
      unit: 'MiB/s',
      detail: `moved to a new connection ${resumptions.join(', ')} time(s) per transfer (${round(seconds, 3)} s each: a connection lives 1-2 intervals)`,
      ratio: ratioOf('fara-hop', 'fara'),
      ratioOf: 'x Fara without hopping',
      chart: `Fara over hopping TCP, ${interval / 1000} s hops`
    })
    ctx.add({ family: 'hopping', id: 'hopping.libp2p', label: 'raw libp2p stream over tcp', size: lSize, value: rate('libp2p', libp2pBytes), unit: 'MiB/s' })
    ctx.add({
      family: 'hopping',
      id: 'hopping.libp2p-hop',
      label: `raw libp2p stream over hoppingTcp, within one ${interval / 1000} s interval`,
      size: lSize,
      value: rate('libp2p-hop', libp2pBytes),
      unit: 'MiB/s',
      detail: 'dialled just after a slot boundary; crosses no hop (a libp2p stream dies with its port)',
      ratio: ratioOf('libp2p-hop', 'libp2p'),
      ratioOf: 'x raw libp2p over tcp',
      chart: 'raw libp2p over hoppingTcp, one interval'
    })
  } finally {
    await server.stop()
  }
}
