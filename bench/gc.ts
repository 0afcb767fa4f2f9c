// What V8's garbage collector costs a bulk transfer (issue 20): the bench's
// throughput workers (a point, a services process as the sink, the
// throughput client), raw libp2p and the Fara association in turns, 256 MiB
// each, once with Node's defaults in every process (BENCH_GC=node-defaults),
// once with the SDK's `tuneGc()` in every process (what `npm run bench`
// runs), and, with --flags, once more with Node's defaults plus those V8
// flags. Not a figure of `npm run bench`: it says what the setting buys,
// whom (libp2p too), and at what memory.
//
//   npx node bench/gc.ts [--flags=--max-semi-space-size=1] [--rounds=3] [--mib=256]
import { loadavg } from 'node:os'
import { runWorker, startWorker } from './lib/process.ts'
import { median, mibPerSecond, round } from './lib/stats.ts'
import { CHUNK_BYTES } from './figures/throughput.ts'
import type { ThroughputMode } from './workers/throughput-client.ts'

const option = (name: string, fallback: string): string => process.argv.find(a => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback
const flags = option('flags', '').split(' ').filter(f => f !== '')
const rounds = Number(option('rounds', '3'))
const bytes = Number(option('mib', '256')) * 2 ** 20
const MODES: ThroughputMode[] = ['libp2p', 'fara']

interface Run { ms: number, cpu: number, rss: number }
interface Setting { label: string, env: Record<string, string>, nodeFlags: string[] }

async function measure ({ env, nodeFlags }: Setting): Promise<{ runs: Map<ThroughputMode, Run[]>, sinkRss: number }> {
  const options = { env, nodeFlags }
  const point = startWorker('point', { relay: true }, options)
  const pointAddrs = (await point.next(l => l.event === 'ready', 60_000)).multiaddrs as string[]
  const services = startWorker('services', { point: pointAddrs, rttMs: 10 }, options)
  try {
    const ready = await services.next(l => l.event === 'ready', 60_000)
    const runs = new Map<ThroughputMode, Run[]>(MODES.map(m => [m, []]))
    for (let r = 0; r < rounds; r++) {
      for (const mode of r % 2 === 0 ? MODES : [...MODES].reverse()) {
        const result = await runWorker('throughput-client', {
          mode, bytes, chunk: CHUNK_BYTES, point: pointAddrs, tcp: ready.tcp, libp2p: ready.libp2p, layered: ready.layered
        }, options)
        runs.get(mode)!.push({ ms: result.ms as number, cpu: (result.cpuMs as number) / (bytes / 2 ** 20), rss: result.maxRssMiB as number })
      }
    }
    const sink = await services.ask({ cmd: 'cpu' })
    return { runs, sinkRss: sink.maxRssMiB as number }
  } finally {
    await services.stop()
    await point.stop()
  }
}

const print = (label: string, { runs, sinkRss }: { runs: Map<ThroughputMode, Run[]>, sinkRss: number }): void => {
  const lib = runs.get('libp2p')!
  const fara = runs.get('fara')!
  const rate = (xs: Run[]): string => xs.map(x => round(mibPerSecond(bytes, x.ms), 3)).join(', ')
  const line = (xs: Run[]): string => `${rate(xs)} MiB/s; sender CPU ms per MiB ${round(median(xs.map(x => x.cpu)), 3)}, peak RSS ${Math.max(...xs.map(x => x.rss))} MiB`
  const ratio = median(fara.map((x, i) => lib[i]!.ms / x.ms))
  process.stdout.write(`${label}\n` +
    `  raw libp2p stream: ${line(lib)}\n` +
    `  Fara association:  ${line(fara)}\n` +
    `  sink (both ways): peak RSS ${sinkRss} MiB\n` +
    `  Fara / libp2p, median of the rounds' ratios: ${round(ratio, 3)} x\n`)
}

const settings: Setting[] = [
  { label: "Node's defaults in every process", env: { BENCH_GC: 'node-defaults' }, nodeFlags: [] },
  { label: 'tuneGc() in every process (the bench)', env: { BENCH_GC: 'tuned' }, nodeFlags: [] }
]
if (flags.length > 0) settings.push({ label: `Node's defaults and ${flags.join(' ')} in every process`, env: { BENCH_GC: 'node-defaults' }, nodeFlags: flags })

process.stdout.write(`${rounds} rounds of ${bytes / 2 ** 20} MiB each way; load average at start ${loadavg().map(l => l.toFixed(2)).join(' ')}\n`)
for (const setting of settings) print(setting.label, await measure(setting))
process.stdout.write(`load average at the end ${loadavg().map(l => l.toFixed(2)).join(' ')}\n`)
process.exit(0)
