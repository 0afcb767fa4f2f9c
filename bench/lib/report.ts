// The results of a bench run: figures with their ratio to the baseline measured
// in the same run, targets met or missed, and the markdown that shows them.
import type { Family } from './config.ts'
import { round } from './stats.ts'

/** A target, stated as a ratio in the same run. */
export interface Target {
  /** What the issue asks, e.g. `>= 0.95 x raw libp2p`. */
  text: string
  met: boolean
  /** The ratio the target sets (drawn as a tick on the chart). */
  bound?: number
}

/** One measured figure. */
export interface Figure {
  family: Family
  /** Stable id, e.g. `throughput.fara.256MiB`. */
  id: string
  /** What was measured, in words. */
  label: string
  /** The size of the work (`256 MiB`, `64 clients`, `1M records`). */
  size: string
  value: number
  unit: string
  /** Secondary numbers, e.g. `p99 4.1 ms`. */
  detail?: string
  /** The figure's ratio to its baseline, and what the baseline is (`x raw libp2p`). */
  ratio?: number
  ratioOf?: string
  target?: Target
  /** Show the ratio in the chart, under this short label. */
  chart?: string
}

/** A whole run. */
export interface Results {
  command: string
  date: string
  machine: { cpus: string, cores: number, memoryGiB: number, node: string, platform: string, loadAverage: number[], loadAverageEnd?: number[] }
  quick: boolean
  figures: Figure[]
  /** Why a target was missed, and what would fix it; other observations. */
  notes: string[]
  /** Figures that could not be measured, with the error. */
  failures: Array<{ family: Family, error: string }>
  /** Per family: the share of the whole machine (all cores) other processes used while it ran, and the bench's own. */
  load: Partial<Record<Family, { others: number, bench: number }>>
  durationS: number
}

function formatValue (value: number, unit: string): string {
  if (!Number.isFinite(value)) return 'n/a'
  const v = Math.abs(value) >= 100 ? Math.round(value).toLocaleString('en-US') : String(round(value, 3))
  return `${v} ${unit}`
}

function formatRatio (f: Figure): string {
  if (f.ratio == null || !Number.isFinite(f.ratio)) return ''
  return `${round(f.ratio, 3)} ${f.ratioOf ?? ''}`.trim()
}

function formatTarget (t: Target | undefined): string {
  if (t == null) return ''
  return `${t.met ? 'met' : '**MISSED**'}: ${t.text}`
}

const TITLES: Record<Family, string> = {
  crypto: 'Ceiling: ChaCha20-Poly1305 on one core',
  throughput: 'Throughput of one stream',
  tunnel: 'Throughput through the command-line tunnel',
  hopping: 'Throughput with port hopping',
  latency: 'Connect latency',
  rendezvous: 'Rendezvous point under load',
  records: 'Registrations held by a rendezvous point',
  demux: 'Demux with many live associations'
}

/** The markdown report: targets first, then one table per family, then the notes. */
export function toMarkdown (results: Results): string {
  const out: string[] = []
  out.push('# Fara benchmarks', '')
  out.push(`Measured ${results.date} with \`${results.command}\` (${results.durationS} s) on ${results.machine.cores} × ${results.machine.cpus}, ` +
    `${results.machine.memoryGiB} GiB, Node ${results.machine.node}, ${results.machine.platform}; load average (1/5/15 min) at start ${results.machine.loadAverage.map(l => round(l, 2)).join(' / ')}` +
    (results.machine.loadAverageEnd == null ? '.' : `, at the end ${results.machine.loadAverageEnd.map(l => round(l, 2)).join(' / ')} (the bench itself keeps about 2 busy).`) +
    (results.quick ? ' **Quick run: small sizes, a smoke test, not the figures to quote.**' : ''), '')
  const targets = results.figures.filter(f => f.target != null)
  if (targets.length > 0) {
    out.push('## Targets (ratios in the same run)', '', '| target | figure | measured | |', '|---|---|---|---|')
    for (const f of targets) {
      out.push(`| ${f.target!.text} | ${f.label} (${f.size}) | ${formatRatio(f) || formatValue(f.value, f.unit)} | ${f.target!.met ? 'met' : '**MISSED**'} |`)
    }
    out.push('')
  }
  for (const family of Object.keys(TITLES) as Family[]) {
    const rows = results.figures.filter(f => f.family === family)
    const failed = results.failures.filter(f => f.family === family)
    if (rows.length === 0 && failed.length === 0) continue
    const used = results.load[family]
    out.push(`## ${TITLES[family]}`, '')
    if (used != null) out.push(`While these ran, other processes used ${Math.round(used.others * 100)}% of the machine (all cores), the bench ${Math.round(used.bench * 100)}%.`, '')
    out.push('| figure | size | value | detail | ratio | target |', '|---|---|---|---|---|---|')
    for (const f of rows) {
      out.push(`| ${f.label} | ${f.size} | ${formatValue(f.value, f.unit)} | ${f.detail ?? ''} | ${formatRatio(f)} | ${formatTarget(f.target)} |`)
    }
    for (const f of failed) out.push(`| **not measured** | | | ${f.error.replaceAll('|', '\\|').replaceAll('\n', ' ').slice(0, 300)} | | |`)
    out.push('')
  }
  if (results.notes.length > 0) {
    out.push('## Notes', '')
    for (const n of results.notes) out.push(`- ${n}`)
    out.push('')
  }
  return out.join('\n')
}
