// A V8 CPU profile (`node --cpu-prof`, a .cpuprofile file) as a flame graph
// in SVG, with no dependency: samples are aggregated by stack (frames merged by
// function, file and line, so the same call path counts once), each frame is a
// box as wide as its share of the samples, callers below callees, and each box
// has a <title> with its function, place, time and share. Also prints the
// heaviest functions by self time and the time by package, as text.
//
//   node bench/lib/flame.ts <in.cpuprofile> <out.svg> [--title=text] [--top=N] [--min=fraction] [--all]
//
// Without --all, samples taken while loading modules (start-up, not the
// transfer) are left out.
import { readFileSync, writeFileSync } from 'node:fs'
import { basename } from 'node:path'

/** The parts of a .cpuprofile this reads (the Chrome DevTools protocol's `Profile`). */
export interface CpuProfile {
  nodes: Array<{ id: number, callFrame: { functionName: string, url: string, lineNumber: number }, children?: number[] }>
  samples: number[]
  timeDeltas: number[]
}

/** One frame of the merged stack tree. */
export interface Frame {
  name: string
  /** `package/file:line`, or '' for V8's own nodes (program, idle, GC). */
  where: string
  /** µs sampled in this frame and below it. */
  total: number
  /** µs sampled in this frame itself. */
  self: number
  children: Map<string, Frame>
}

/** Shorten a script URL to the package (or workspace folder) and file. */
export function place (url: string, line: number): string {
  if (url === '') return ''
  const path = url.replace(/^file:\/\//, '')
  const nm = path.lastIndexOf('node_modules/')
  let short: string
  if (nm >= 0) {
    const rest = path.slice(nm + 'node_modules/'.length).split('/')
    const pkg = rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!
    short = `${pkg}/${rest.at(-1)}`
  } else if (path.startsWith('node:')) {
    short = path
  } else if (/\/packages\/[^/]+\/(dist|src)\//.test(path)) {
    // a Fara workspace package (node_modules/@fara/* resolves to it)
    const [, pkg, rest] = /\/packages\/([^/]+)\/(?:dist|src)\/(.*)$/.exec(path)!
    short = `@fara/${pkg}/${rest}`
  } else {
    const parts = path.split('/')
    short = parts.slice(-3).join('/')
  }
  return `${short}:${line + 1}`
}

/** What a frame is attributed to, for colours and the by-package summary. */
export function packageOf (where: string, name: string): string {
  if (where === '') return name === '(garbage collector)' ? 'GC' : name === '(idle)' || name === '(program)' ? name : 'native'
  if (where.startsWith('node:')) return 'node'
  if (where.startsWith('@fara/')) return 'fara'
  if (where.startsWith('bench/')) return 'bench'
  const at = where.indexOf('/')
  if (where.startsWith('@')) return where.slice(0, where.indexOf('/', at + 1))
  return at > 0 ? where.slice(0, at) : where
}

/** Frames of module loading: a stack through one of these is start-up, not the work profiled. */
export const STARTUP = ['node:internal/modules/']

/**
 * Merge the profile's samples into one tree of stacks (root: the whole
 * profile), leaving out samples whose stack has a frame in a file whose
 * place starts with one of `exclude`.
 */
export function aggregate (profile: CpuProfile, options: { exclude?: string[] } = {}): Frame {
  const exclude = options.exclude ?? []
  const byId = new Map(profile.nodes.map(n => [n.id, n]))
  const parent = new Map<number, number>()
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
  const self = new Map<number, number>()
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i]!
    // a sample's time is the delta to the next one (the last one gets the previous delta)
    const dt = profile.timeDeltas[i + 1] ?? profile.timeDeltas[i] ?? 0
    self.set(id, (self.get(id) ?? 0) + Math.max(0, dt))
  }
  const root: Frame = { name: 'all', where: '', total: 0, self: 0, children: new Map() }
  for (const [id, us] of self) {
    const stack: number[] = []
    for (let at: number | undefined = id; at != null; at = parent.get(at)) stack.push(at)
    stack.reverse()
    if (exclude.length > 0 && stack.some(n => { const url = byId.get(n)!.callFrame.url; return exclude.some(e => url.startsWith(e)) })) continue
    let frame = root
    frame.total += us
    for (const nodeId of stack) {
      const call = byId.get(nodeId)!.callFrame
      if (call.functionName === '(root)') continue
      const where = place(call.url, call.lineNumber)
      const name = call.functionName === '' ? '(anonymous)' : call.functionName
      const key = `${name}@${where}`
      let child = frame.children.get(key)
      if (child == null) {
        child = { name, where, total: 0, self: 0, children: new Map() }
        frame.children.set(key, child)
      }
      child.total += us
      frame = child
    }
    frame.self += us
  }
  return root
}

/** Self time by function (merged over every stack it appears in), heaviest first. */
export function selfTimes (root: Frame): Array<{ name: string, where: string, us: number }> {
  const sums = new Map<string, { name: string, where: string, us: number }>()
  const walk = (f: Frame): void => {
    if (f.self > 0) {
      const key = `${f.name}@${f.where}`
      const entry = sums.get(key) ?? { name: f.name, where: f.where, us: 0 }
      entry.us += f.self
      sums.set(key, entry)
    }
    for (const c of f.children.values()) walk(c)
  }
  walk(root)
  return [...sums.values()].sort((a, b) => b.us - a.us)
}

/** Self time by package. */
export function packageTimes (root: Frame): Array<{ pkg: string, us: number }> {
  const sums = new Map<string, number>()
  const walk = (f: Frame): void => {
    if (f !== root) sums.set(packageOf(f.where, f.name), (sums.get(packageOf(f.where, f.name)) ?? 0) + f.self)
    for (const c of f.children.values()) walk(c)
  }
  walk(root)
  return [...sums].map(([pkg, us]) => ({ pkg, us })).sort((a, b) => b.us - a.us)
}

const PALETTE: Record<string, string> = {
  fara: '#5cb85c', node: '#f0ad4e', native: '#d9534f', GC: '#999999', '(idle)': '#dddddd', '(program)': '#bbbbbb',
  '@chainsafe/libp2p-noise': '#5bc0de', '@chainsafe/libp2p-yamux': '#428bca', '@libp2p/utils': '#9b8bd6', uint8arraylist: '#e377c2'
}

function colour (f: Frame): string {
  const pkg = packageOf(f.where, f.name)
  if (PALETTE[pkg] != null) return PALETTE[pkg]
  let h = 0
  for (const ch of pkg) h = (h * 31 + ch.charCodeAt(0)) >>> 0
  return `hsl(${h % 360}, 45%, 70%)`
}

const escape = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')

/** The flame graph as an SVG document; frames under `min` of the total are left out. */
export function flameSvg (root: Frame, options: { title: string, width?: number, min?: number }): string {
  const width = options.width ?? 1200
  const row = 16
  const top = 40
  const min = options.min ?? 0.002
  const boxes: string[] = []
  let depth = 0
  const draw = (f: Frame, x: number, level: number): void => {
    const w = (f.total / root.total) * width
    depth = Math.max(depth, level)
    const pct = (100 * f.total / root.total).toFixed(1)
    const label = f === root ? `all (${(root.total / 1000).toFixed(0)} ms)` : f.name
    const title = f === root ? `all: ${(root.total / 1000).toFixed(1)} ms sampled` : `${f.name} ${f.where} — ${(f.total / 1000).toFixed(1)} ms, ${pct} % (self ${(f.self / 1000).toFixed(1)} ms)`
    const chars = Math.floor((w - 4) / 6.5)
    const text = chars >= 3 ? (label.length <= chars ? label : `${label.slice(0, chars - 1)}…`) : ''
    boxes.push(`<g><title>${escape(title)}</title><rect x="${x.toFixed(2)}" y="LEVEL${level}" width="${Math.max(w - 0.5, 0.1).toFixed(2)}" height="${row - 1}" fill="${f === root ? '#cccccc' : colour(f)}" rx="1"/>` +
      (text === '' ? '' : `<text x="${(x + 2).toFixed(2)}" y="LEVEL${level}T">${escape(text)}</text>`) + '</g>')
    let at = x
    const children = [...f.children.values()].sort((a, b) => a.name.localeCompare(b.name))
    for (const c of children) {
      if (c.total / root.total >= min) draw(c, at, level + 1)
      at += (c.total / root.total) * width
    }
  }
  draw(root, 0, 0)
  const height = top + (depth + 1) * row + 30
  // callers at the bottom: level 0 is the lowest row
  const body = boxes.join('\n').replace(/LEVEL(\d+)(T?)/g, (_, l: string, t: string) => {
    const y = height - 30 - (Number(l) + 1) * row
    return String(t === 'T' ? y + row - 4 : y)
  })
  const legend = Object.entries(PALETTE).map(([k, c], i) => `<rect x="${10 + i * 140}" y="${height - 20}" width="10" height="10" fill="${c}"/><text x="${24 + i * 140}" y="${height - 11}">${escape(k)}</text>`).join('')
  return `<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="monospace" font-size="11">
<rect width="100%" height="100%" fill="#ffffff"/>
<text x="${width / 2}" y="20" text-anchor="middle" font-size="14">${escape(options.title)}</text>
<text x="${width / 2}" y="34" text-anchor="middle" font-size="10" fill="#555">flame graph: width = share of CPU samples, callers below callees; hover a box for its function, file and time</text>
${body}
${legend}
</svg>
`
}

async function main (): Promise<void> {
  const args = process.argv.slice(2)
  const files = args.filter(a => !a.startsWith('--'))
  const option = (name: string): string | undefined => args.find(a => a.startsWith(`--${name}=`))?.slice(name.length + 3)
  if (files.length !== 2) {
    process.stderr.write('usage: node bench/lib/flame.ts <in.cpuprofile> <out.svg> [--title=text] [--top=N] [--min=fraction] [--all]\n')
    process.exit(2)
  }
  const profile = JSON.parse(readFileSync(files[0]!, 'utf8')) as CpuProfile
  const root = aggregate(profile, { exclude: args.includes('--all') ? [] : STARTUP })
  const min = option('min')
  writeFileSync(files[1]!, flameSvg(root, { title: option('title') ?? basename(files[0]!), ...(min == null ? {} : { min: Number(min) }) }))
  const busy = root.total - (root.children.get('(idle)@')?.total ?? 0)
  const pct = (us: number): string => `${(100 * us / busy).toFixed(1)} %`
  process.stdout.write(`${files[0]}: ${(root.total / 1000).toFixed(0)} ms sampled, ${(busy / 1000).toFixed(0)} ms not idle (shares below are of that)\n`)
  process.stdout.write('self time by package:\n')
  for (const p of packageTimes(root).filter(p => p.pkg !== '(idle)').slice(0, 12)) process.stdout.write(`  ${pct(p.us).padStart(7)}  ${p.pkg}\n`)
  process.stdout.write('self time by function:\n')
  for (const f of selfTimes(root).filter(f => f.name !== '(idle)').slice(0, Number(option('top') ?? 25))) process.stdout.write(`  ${pct(f.us).padStart(7)}  ${f.name}  ${f.where}\n`)
}

if (process.argv[1] != null && import.meta.url.endsWith(basename(process.argv[1]))) await main()
