// `npm run bench`: Fara measured side by side with the baselines a user would
// pick instead (raw TCP, raw libp2p), in the same run on the same machine, and
// the targets as ratios. Prints a markdown table; writes bench/results/
// results.json, results.md and chart.svg. `--quick` for a smoke run; see
// bench/README.md for what each figure means.
import { mkdir, writeFile } from 'node:fs/promises'
import { cpus, loadavg, totalmem } from 'node:os'
import { join } from 'node:path'
import { parseConfig } from './lib/config.ts'
import { startServers } from './lib/context.ts'
import { killAllWorkers, stopAllWorkers, workerPids } from './lib/process.ts'
import { otherLoad, sampleLoad } from './lib/load.ts'
import { toMarkdown } from './lib/report.ts'
import { toSvg } from './lib/chart.ts'
import { round } from './lib/stats.ts'
import { crypto } from './figures/crypto.ts'
import { throughput } from './figures/throughput.ts'
import { tunnel } from './figures/tunnel.ts'
import { latency } from './figures/latency.ts'
import { rendezvous } from './figures/rendezvous.ts'
import { records } from './figures/records.ts'
import { demux } from './figures/demux.ts'
import { hopping } from './figures/hopping.ts'
import type { BenchContext, Servers } from './lib/context.ts'
import type { Family } from './lib/config.ts'
import type { Figure, Results } from './lib/report.ts'

const major = Number(process.versions.node.split('.')[0])
if (major < 24) {
  console.error(`bench: Node ${process.versions.node} cannot run .ts files; run it with \`npm run bench\` (Node 24 from node_modules/.bin)`)
  process.exit(1)
}

const config = parseConfig(process.argv.slice(2))
const started = performance.now()
const figures: Figure[] = []
const notes: string[] = []
const failures: Results['failures'] = []
const load: Results['load'] = {}
let servers: Promise<Servers> | undefined

process.on('exit', killAllWorkers)
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => { killAllWorkers(); process.exit(130) })

const ctx: BenchContext = {
  config,
  add: (f) => {
    figures.push(f)
    const ratio = f.ratio == null ? '' : `  (${round(f.ratio, 3)} ${f.ratioOf ?? ''})`
    console.error(`  ${f.label} [${f.size}]: ${round(f.value, 4)} ${f.unit}${ratio}${f.detail == null ? '' : `  ${f.detail}`}`)
  },
  note: (text) => { notes.push(text) },
  figure: (id) => figures.find(f => f.id === id),
  servers: async () => {
    servers ??= startServers(config)
    return servers
  }
}

const FAMILY_RUNNERS: Record<Family, ((c: BenchContext) => Promise<void>) | undefined> = {
  crypto,
  throughput,
  tunnel,
  hopping,
  latency,
  rendezvous,
  records,
  demux
}

const machine: Results['machine'] = {
  cpus: cpus()[0]?.model.trim() ?? 'unknown CPU',
  cores: cpus().length,
  memoryGiB: round(totalmem() / 2 ** 30, 3),
  node: process.versions.node,
  platform: `${process.platform} ${process.arch}`,
  loadAverage: loadavg()
}
console.error(`bench: ${config.quick ? 'quick run, ' : ''}${config.families.join(', ')} on ${machine.cores} × ${machine.cpus}`)

for (const family of config.families) {
  const runner = FAMILY_RUNNERS[family]
  if (runner == null) continue
  const t = performance.now()
  const before = sampleLoad(workerPids())
  console.error(`\n${family}:`)
  try {
    await runner(ctx)
  } catch (err) {
    const e = err as Error
    failures.push({ family, error: `${e.name}: ${e.message}` })
    console.error(`  ${family} FAILED: ${e.stack ?? e.message}`)
  }
  const after = sampleLoad(workerPids())
  const used = before == null || after == null ? undefined : otherLoad(before, after)
  if (used != null) load[family] = { others: round(used.others, 2), bench: round(used.bench, 2) }
  console.error(`  (${round((performance.now() - t) / 1000, 3)} s${used == null ? '' : `; other processes used ${Math.round(used.others * 100)}% of the machine meanwhile, the bench ${Math.round(used.bench * 100)}%`})`)
}
await stopAllWorkers()

machine.loadAverageEnd = loadavg()
const results: Results = {
  command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
  date: new Date().toISOString(),
  machine,
  quick: config.quick,
  figures,
  notes,
  failures,
  load,
  durationS: Math.round((performance.now() - started) / 1000)
}
const markdown = toMarkdown(results)
console.log(markdown)
if (config.out != null) {
  await mkdir(config.out, { recursive: true })
  await writeFile(join(config.out, 'results.json'), JSON.stringify(results, null, 2) + '\n')
  await writeFile(join(config.out, 'results.md'), markdown)
  await writeFile(join(config.out, 'chart.svg'), toSvg(results))
  console.error(`bench: wrote results.json, results.md and chart.svg to ${config.out}`)
}
process.exit(failures.length > 0 ? 1 : 0)
