// How much of a bulk transfer's cost is the size of V8's young generation
// (issue 20): the bench's throughput workers (a point, a services process
// as the sink, the throughput client), once with Node's defaults and once
// with the V8 flags given, every process alike; raw libp2p and the Fara
// association in turns, 256 MiB each. Not a figure of `npm run bench`,
// which runs everything with Node's defaults: this says what a user who
// runs bulk transfers can gain from one flag, and what it does to libp2p.
//
//   npx node bench/young-generation.ts [--flags=--max-semi-space-size=1] [--rounds=3] [--mib=256]
import { loadavg } from 'node:os'
import { runWorker, startWorker } from './lib/process.ts'
import { median, mibPerSecond, round } from './lib/stats.ts'
import { CHUNK_BYTES } from './figures/throughput.ts'
import type { ThroughputMode } from './workers/throughput-client.ts'

const option = (name: string, fallback: string): string => process.argv.find(a => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback
const tuned = option('flags', '--max-semi-space-size=1').split(' ').filter(f => f !== '')
const rounds = Number(option('rounds', '3'))
const bytes = Number(option('mib', '256')) * 2 ** 20
const MODES: ThroughputMode[] = ['libp2p', 'fara']

async function measure (nodeFlags: string[]): Promise<Map<ThroughputMode, Array<{ ms: number, cpu: number }>>> {
  const flags = nodeFlags.length === 0 ? {} : { nodeFlags }
  const point = startWorker('point', { relay: true }, flags)
  const pointAddrs = (await point.next(l => l.event === 'ready', 60_000)).multiaddrs as string[]
  const services = startWorker('services', { point: pointAddrs, rttMs: 10 }, flags)
  try {
    const ready = await services.next(l => l.event === 'ready', 60_000)
    const runs = new Map<ThroughputMode, Array<{ ms: number, cpu: number }>>(MODES.map(m => [m, []]))
    for (let r = 0; r < rounds; r++) {
      for (const mode of r % 2 === 0 ? MODES : [...MODES].reverse()) {
        const result = await runWorker('throughput-client', {
          mode, bytes, chunk: CHUNK_BYTES, point: pointAddrs, tcp: ready.tcp, libp2p: ready.libp2p, layered: ready.layered
        }, flags)
        runs.get(mode)!.push({ ms: result.ms as number, cpu: (result.cpuMs as number) / (bytes / 2 ** 20) })
      }
    }
    return runs
  } finally {
    await services.stop()
    await point.stop()
  }
}

const print = (label: string, runs: Map<ThroughputMode, Array<{ ms: number, cpu: number }>>): void => {
  const lib = runs.get('libp2p')!
  const fara = runs.get('fara')!
  const rate = (xs: Array<{ ms: number }>): string => xs.map(x => round(mibPerSecond(bytes, x.ms), 3)).join(', ')
  const ratio = median(fara.map((x, i) => lib[i]!.ms / x.ms))
  process.stdout.write(`${label}\n` +
    `  raw libp2p stream: ${rate(lib)} MiB/s; sender CPU ms per MiB ${round(median(lib.map(x => x.cpu)), 3)}\n` +
    `  Fara association:  ${rate(fara)} MiB/s; sender CPU ms per MiB ${round(median(fara.map(x => x.cpu)), 3)}\n` +
    `  Fara / libp2p, median of the rounds' ratios: ${round(ratio, 3)} x\n`)
}

process.stdout.write(`${rounds} rounds of ${bytes / 2 ** 20} MiB each way; load average at start ${loadavg().map(l => l.toFixed(2)).join(' ')}\n`)
print("Node's defaults", await measure([]))
print(`every process with ${tuned.join(' ')}`, await measure(tuned))
process.stdout.write(`load average at the end ${loadavg().map(l => l.toFixed(2)).join(' ')}\n`)
process.exit(0)
