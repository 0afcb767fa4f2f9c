// The command-line tunnel (issue 20): a plain TCP source → `fara connect
// <name> --listen` → an association → `fara serve <name> --forward` → a plain
// TCP sink, the real `fara` command in two processes, against a bare Fara
// association (the throughput family's client and sink) in the same rounds.
// The source is the throughput family's raw TCP client, the sink its raw TCP
// sink (in the services process): 64 KiB writes with backpressure, a
// half-close, and the clock stops when the sink's byte count has come back
// through the tunnel. Sizes and repeats are the throughput family's.
import { runWorker } from '../lib/process.ts'
import { median, mibPerSecond, round } from '../lib/stats.ts'
import { startTunnel } from '../lib/tunnel.ts'
import { CHUNK_BYTES } from './throughput.ts'
import type { BenchContext, Servers } from '../lib/context.ts'
import type { Line } from '../lib/process.ts'
import type { Tunnel } from '../lib/tunnel.ts'

/** The target: the tunnel's two extra local TCP hops cost little next to the encrypted one. */
export const TUNNEL_TARGET = 0.7

type Way = 'tunnel' | 'fara'

const LABELS: Record<Way, string> = {
  tunnel: 'TCP through `fara connect --listen` → `fara serve --forward` (resumable association)',
  fara: 'Fara association (resumable, the default; the bare baseline)'
}

/** CPU ms per MiB of each side of one transfer. */
interface Cpu { first: number, second: number }

export async function tunnel (ctx: BenchContext): Promise<void> {
  const servers = await ctx.servers()
  const t = await startTunnel({ point: servers.pointAddrs, forward: servers.tcpPort, profileDir: ctx.config.profileDir })
  try {
    await measure(ctx, servers, t)
  } finally {
    await t.stop()
  }
}

async function once (servers: Servers, t: Tunnel, way: Way, bytes: number): Promise<{ ms: number, cpu: Cpu }> {
  const mib = bytes / 2 ** 20
  if (way === 'tunnel') {
    const before = t.cpuMs()
    const result: Line = await runWorker('throughput-client', { mode: 'tcp', bytes, chunk: CHUNK_BYTES, point: [], tcp: t.port, libp2p: [] })
    const after = t.cpuMs()
    return { ms: result.ms as number, cpu: { first: (after.connect - before.connect) / mib, second: (after.serve - before.serve) / mib } }
  }
  const before = await servers.services.ask({ cmd: 'cpu' })
  const result = await runWorker('throughput-client', { mode: 'fara', bytes, chunk: CHUNK_BYTES, point: servers.pointAddrs, tcp: servers.tcpPort, libp2p: servers.libp2pAddrs })
  const after = await servers.services.ask({ cmd: 'cpu' })
  return { ms: result.ms as number, cpu: { first: (result.cpuMs as number) / mib, second: ((after.cpuMs as number) - (before.cpuMs as number)) / mib } }
}

async function measure (ctx: BenchContext, servers: Servers, t: Tunnel): Promise<void> {
  // one untimed transfer first: a running tunnel has resolved the name and warmed up
  await once(servers, t, 'tunnel', Math.min(...ctx.config.throughputBytes))
  for (const bytes of ctx.config.throughputBytes) {
    const ms: Record<Way, number[]> = { tunnel: [], fara: [] }
    const cpu: Record<Way, Cpu[]> = { tunnel: [], fara: [] }
    for (let r = 0; r < ctx.config.throughputRepeats; r++) {
      // alternate which goes first, so drifting load falls on both alike
      for (const way of (r % 2 === 0 ? ['tunnel', 'fara'] : ['fara', 'tunnel']) as Way[]) {
        const one = await once(servers, t, way, bytes)
        ms[way].push(one.ms)
        cpu[way].push(one.cpu)
      }
    }
    const size = `${bytes / 2 ** 20} MiB`
    const largest = bytes === Math.max(...ctx.config.throughputBytes)
    const rate = (way: Way): number => mibPerSecond(bytes, median(ms[way]))
    const cpuOf = (way: Way, side: keyof Cpu): number => round(median(cpu[way].map(c => c[side])), 2)
    const spread = (way: Way): string => {
      const rates = ms[way].map(m => mibPerSecond(bytes, m))
      return rates.length > 1 ? `${rates.length} runs, ${round(Math.min(...rates), 3)}–${round(Math.max(...rates), 3)} MiB/s` : '1 run'
    }
    // the median of the per-round ratios: the two transfers of a round ran seconds apart
    const ratio = median(ms.tunnel.map((m, r) => ms.fara[r]! / m))
    ctx.add({
      family: 'tunnel', id: `tunnel.fara.${size}`, label: LABELS.fara, size, value: rate('fara'), unit: 'MiB/s',
      detail: `${spread('fara')}; CPU ms per MiB: sender ${cpuOf('fara', 'first')}, sink ${cpuOf('fara', 'second')}`
    })
    ctx.add({
      family: 'tunnel', id: `tunnel.cli.${size}`, label: LABELS.tunnel, size, value: rate('tunnel'), unit: 'MiB/s',
      detail: `${spread('tunnel')}; CPU ms per MiB: fara connect ${cpuOf('tunnel', 'first')}, fara serve ${cpuOf('tunnel', 'second')}`,
      ratio, ratioOf: 'x bare association',
      ...(largest ? { chart: 'command-line tunnel', target: { text: `>= ${TUNNEL_TARGET} x bare association`, met: ratio >= TUNNEL_TARGET, bound: TUNNEL_TARGET } } : {})
    })
    if (largest && ratio < TUNNEL_TARGET) {
      ctx.note(`Tunnel target missed (${round(ratio, 3)} x a bare association at ${size}). CPU ms per MiB: fara connect ${cpuOf('tunnel', 'first')} / fara serve ${cpuOf('tunnel', 'second')}, ` +
        `bare sender ${cpuOf('fara', 'first')} / sink ${cpuOf('fara', 'second')}. Where it goes: bench/README.md, "Throughput through the command-line tunnel".`)
    }
  }
}
