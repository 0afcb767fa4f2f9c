// `npx node bench/dht-scale.ts --sizes 10,50,100`: the DHT rendezvous at growing
// sizes (issue 18). Per size, N Fara DHT nodes, each its own process on
// 127.0.0.1 (bench/workers/dht-scale-node.ts); names registered from random
// nodes, each resolved from other random nodes; prints a markdown table:
// resolve success, median and p99 resolve latency, kad-dht messages per
// lookup, memory per node, and how busy the rest of the machine was.
// spec/dht.md § Scale reads the figures; bench/dht-model.ts extrapolates them.
// Every node process is stopped when a size is done, and killed if this
// process fails or is interrupted (each node also exits when its stdin closes).
import { readFileSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { cpus, loadavg, totalmem } from 'node:os'
import { killAllWorkers, startWorker, stopAllWorkers, workerPids } from './lib/process.ts'
import { otherLoad, sampleLoad } from './lib/load.ts'
import { quantile, round, summarize } from './lib/stats.ts'
import type { Line, Worker } from './lib/process.ts'

const major = Number(process.versions.node.split('.')[0])
if (major < 24) {
  console.error(`dht-scale: Node ${process.versions.node} cannot run .ts files; run it with \`npx node bench/dht-scale.ts\` (Node 24 from node_modules)`)
  process.exit(1)
}

const USAGE = `usage: npx node bench/dht-scale.ts [--sizes 10,50,100] [--names 20] [--lookups 200] [--k 20] [--spawn 4] [--idle 20] [--no-liveness] [--out file.json]
  --sizes    DHT sizes (nodes, each its own process)        --names    names registered per size, from random nodes
  --lookups  resolves per size, random name, random node    --k        kBucketSize (default: the backend's, 20)
  --spawn    node processes started (and warmed) at once    --idle     seconds at rest measured per size
  --out      also write the figures as JSON
  --no-liveness   turn off the connection liveness checks in the nodes (bench/README.md § DHT at scale)
environment: DHT_SCALE_DEBUG=1 prints every lookup that had a request over a second or a failed one`

interface Options { sizes: number[], names: number, lookups: number, k?: number, spawn: number, idleS: number, liveness: boolean, out?: string }

function parseOptions (argv: string[]): Options {
  const options: Options = { sizes: [10, 50, 100], names: 20, lookups: 200, spawn: 4, idleS: 20, liveness: true }
  const positive = (flag: string, text: string | undefined): number => {
    const n = Number(text)
    if (!Number.isSafeInteger(n) || n <= 0) throw new RangeError(`${flag} takes a positive integer, got ${JSON.stringify(text)}`)
    return n
  }
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i]!.split('=', 2) as [string, string | undefined]
    const value = (): string | undefined => inline ?? argv[++i]
    if (flag === '--help' || flag === '-h') { console.log(USAGE); process.exit(0) }
    if (flag === '--sizes') {
      options.sizes = (value() ?? '').split(',').map(s => positive('--sizes', s.trim()))
      if (options.sizes.some(n => n < 3)) throw new RangeError('--sizes: at least 3 nodes (a registrar, a resolver, a third)')
    } else if (flag === '--names') options.names = positive(flag, value())
    else if (flag === '--lookups') options.lookups = positive(flag, value())
    else if (flag === '--k') options.k = positive(flag, value())
    else if (flag === '--spawn') options.spawn = positive(flag, value())
    else if (flag === '--idle') options.idleS = positive(flag, value())
    else if (flag === '--no-liveness') options.liveness = false
    else if (flag === '--out') {
      const file = value()
      if (file == null || file === '') throw new RangeError('--out takes a file name')
      options.out = file
    }
    else throw new RangeError(`unknown argument ${JSON.stringify(argv[i])}\n${USAGE}`)
  }
  return options
}

/** The figures of one size. */
export interface SizeResult {
  nodes: number
  lookups: number
  succeeded: number
  /** Failed lookups by what they ended with (an error's name, or `wrong key`). */
  failures: Record<string, number>
  resolveMs: { median: number, p99: number, mean: number, max: number }
  /** kad-dht requests sent per lookup (GET_VALUE, FIND_NODE, PUT_VALUE for read-repair), and the answers. */
  requests: { mean: number, median: number, p99: number, byType: Record<string, number> }
  responses: { mean: number }
  /** Answers that carried the record; peers asked; requests that needed a new connection; failed requests. */
  withRecord: { mean: number, min: number }
  peers: { mean: number }
  dials: { mean: number }
  errors: { mean: number }
  /** One request's time (stream or dial, request, answer), over all lookups. */
  requestMs: { median: number, p99: number }
  register: { names: number, failed: number, medianMs: number, echoesMedian: number, echoesMin: number, requestsMean: number }
  /** Routing-table sizes once settled (before the registrations), and the median after the lookups (each lookup adds the peers it meets). */
  routingTable: { min: number, median: number, max: number, medianAfter: number }
  connections: { median: number }
  rssMiB: { median: number, max: number }
  /** The private part of RSS (RssAnon): without the node binary's pages, which every node shares. */
  privateMiB: { median: number, max: number }
  heapMiB: { median: number }
  /** kad-dht requests a node sent per minute outside the measured operations (self-queries, refreshes). */
  upkeepPerNodeMinute: number
  /** At rest (no operation running, after the registrations): CPU per node, % of one core; kad-dht requests per node-minute. */
  idle: { cpuPercent: number, requestsPerMinute: number }
  /** CPU time all nodes used for one lookup (their CPU during the lookups less their CPU at rest); and the resolving node's own share. */
  cpuMsPerLookup: number
  resolverCpuMs: number
  settleS: number
  load: { others: number, bench: number }
  seconds: number
  /** The raw samples (ms rounded to 0.1): each lookup's time and requests, each request's time (bench/dht-model.ts replays them). */
  samples: { resolveMs: number[], requests: number[], requestMs: number[] }
}

const MiB = 2 ** 20
const sleep = async (ms: number): Promise<void> => new Promise(resolve => setTimeout(resolve, ms))
const pick = <T>(xs: T[]): T => xs[Math.floor(Math.random() * xs.length)]!
const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0)
const mean = (xs: number[]): number => xs.length === 0 ? Number.NaN : sum(xs) / xs.length
const med = (xs: number[]): number => quantile([...xs].sort((a, b) => a - b), 0.5)
const totalOf = (r: Record<string, number>): number => sum(Object.values(r))
const tenth = (x: number): number => Math.round(x * 10) / 10

interface Stats { routingTable: number, connections: number, rss: number, rssAnon: number, heapUsed: number, cpuMs: number, requests: Record<string, number> }

/** Refuse to start another node when the machine has less than this much memory available (others share it). */
const MIN_AVAILABLE_BYTES = 2 * 2 ** 30

function availableBytes (): number {
  const line = readFileSync('/proc/meminfo', 'utf8').split('\n').find(l => l.startsWith('MemAvailable:'))
  return line == null ? Number.POSITIVE_INFINITY : Number(line.split(/\s+/)[1]) * 1024
}

/** What a worker counted for one operation (bench/workers/dht-scale-node.ts). */
interface Tally { sent: Record<string, number>, responses: number, withRecord: number, errors: number, peers: number, dials: number, requestMs: number[], cpuMs: number, slow: Array<{ ms: number, dialled: boolean, error?: string }> }

async function stats (nodes: Worker[]): Promise<Stats[]> {
  return Promise.all(nodes.map(async n => n.ask({ cmd: 'stats' }, 30_000) as Promise<Line & Stats>))
}

/** Start `n` node processes, `spawn` at a time, each bootstrapping from the first node and a random earlier one. */
async function startNodes (n: number, options: Options): Promise<Worker[]> {
  const nodes: Worker[] = []
  const addrs: string[][] = []
  const start = async (i: number): Promise<void> => {
    const available = availableBytes()
    if (available < MIN_AVAILABLE_BYTES) throw new Error(`only ${round(available / MiB, 3)} MiB of memory available after ${i} nodes: not starting more`)
    const bootstrap = i === 0 ? [] : [...new Set([...addrs[0]!, ...pick(addrs)])]
    const worker = startWorker('dht-scale-node', { bootstrap, liveness: options.liveness, ...(options.k == null ? {} : { kBucketSize: options.k }) })
    nodes[i] = worker
    const ready = await worker.next(l => l.event === 'ready', 120_000)
    addrs.push(ready.multiaddrs as string[])
  }
  await start(0)
  for (let i = 1; i < n; i += options.spawn) {
    await Promise.all(Array.from({ length: Math.min(options.spawn, n - i) }, async (_, j) => start(i + j)))
  }
  return nodes
}

/** Wait until no routing table grew for two polls in a row (and each holds min(k, N-1) peers), at most `limitMs`. */
async function settle (nodes: Worker[], k: number, limitMs: number): Promise<Stats[]> {
  const want = Math.min(k, nodes.length - 1)
  const deadline = performance.now() + limitMs
  let last = -1
  let steady = 0
  for (;;) {
    const s = await stats(nodes)
    const total = sum(s.map(x => x.routingTable))
    steady = total === last ? steady + 1 : 0
    last = total
    if ((steady >= 2 && s.every(x => x.routingTable >= want)) || performance.now() > deadline) return s
    await sleep(2_000)
  }
}

async function measureSize (n: number, options: Options): Promise<SizeResult> {
  const t0 = performance.now()
  const before = sampleLoad(workerPids())
  console.error(`\n${n} nodes: starting`)
  const nodes = await startNodes(n, options)
  console.error(`  ${n} processes ready in ${round((performance.now() - t0) / 1000, 3)} s; warming up (a self-query each)`)
  const tSettle = performance.now()
  for (let i = 0; i < n; i += options.spawn) {
    await Promise.all(nodes.slice(i, i + options.spawn).map(async w => w.ask({ cmd: 'warm' }, 120_000)))
  }
  const settled = await settle(nodes, options.k ?? 20, 60_000)
  const settleS = (performance.now() - tSettle) / 1000
  const tables = settled.map(s => s.routingTable).sort((a, b) => a - b)
  console.error(`  settled in ${round(settleS, 3)} s: routing tables ${tables[0]}–${tables.at(-1)} (median ${med(tables)})`)

  // registrations, each from a random node
  const registered: Array<{ name: string, node: number, key: string }> = []
  const registerMs: number[] = []
  const echoes: number[] = []
  const registerRequests: number[] = []
  let registerFailed = 0
  for (let i = 0; i < options.names; i++) {
    const name = `scale-${n}-${i}-${Math.random().toString(36).slice(2, 8)}`
    const node = Math.floor(Math.random() * n)
    const answer = await nodes[node]!.ask({ cmd: 'register', name }, 60_000)
    const tally = answer.tally as Tally
    if (answer.failure != null) { registerFailed++; console.error(`  register ${name} on node ${node}: ${String(answer.failure)}`); continue }
    registered.push({ name, node, key: String(answer.key) })
    registerMs.push(answer.ms as number)
    echoes.push(tally.withRecord)
    registerRequests.push(totalOf(tally.sent))
  }
  if (registered.length === 0) throw new Error(`${n} nodes: no registration succeeded`)
  console.error(`  ${registered.length}/${options.names} names registered (median ${round(med(registerMs), 3)} ms); ${options.idleS} s idle`)
  // what the nodes cost at rest: CPU and kad-dht requests over a window with no operation
  const idleFrom = await stats(nodes)
  const tIdle = performance.now()
  await sleep(options.idleS * 1000)
  const idleTo = await stats(nodes)
  const idleS = (performance.now() - tIdle) / 1000
  const idle = {
    cpuPercent: 100 * (sum(idleTo.map(s => s.cpuMs)) - sum(idleFrom.map(s => s.cpuMs))) / n / (idleS * 1000),
    requestsPerMinute: (sum(idleTo.map(s => totalOf(s.requests))) - sum(idleFrom.map(s => totalOf(s.requests)))) / n / (idleS / 60)
  }
  console.error(`  at rest: ${round(idle.cpuPercent, 3)} % of a core and ${round(idle.requestsPerMinute, 3)} kad-dht requests a minute per node; resolving`)
  const upkeepFrom = idleTo
  const tUpkeep = performance.now()

  // lookups: a random registered name from a random node other than its registrar
  const ms: number[] = []
  const requests: number[] = []
  const byType: Record<string, number> = {}
  const tallies: Tally[] = []
  const failures: Record<string, number> = {}
  let succeeded = 0
  for (let i = 0; i < options.lookups; i++) {
    const target = pick(registered)
    let from = Math.floor(Math.random() * (n - 1))
    if (from >= target.node) from++
    const answer = await nodes[from]!.ask({ cmd: 'resolve', name: target.name }, 60_000)
    const tally = answer.tally as Tally
    tallies.push(tally)
    ms.push(answer.ms as number)
    if (process.env.DHT_SCALE_DEBUG != null && tally.slow.length > 0) console.error(`  lookup ${i}: ${Math.round(answer.ms as number)} ms; slow requests ${JSON.stringify(tally.slow)}`)
    requests.push(totalOf(tally.sent))
    for (const [type, c] of Object.entries(tally.sent)) byType[type] = (byType[type] ?? 0) + c
    if (answer.failure == null && answer.key === target.key) succeeded++
    else {
      const why = answer.failure == null ? 'wrong key' : String(answer.failure)
      failures[why] = (failures[why] ?? 0) + 1
    }
    if ((i + 1) % 50 === 0) console.error(`  ${i + 1}/${options.lookups} lookups, ${succeeded} resolved`)
  }
  const upkeepTo = await stats(nodes)
  const minutes = (performance.now() - tUpkeep) / 60_000
  // CPU of all nodes during the lookups, less what they would have used at rest meanwhile
  const cpuPerLookup = (sum(upkeepTo.map(s => s.cpuMs)) - sum(upkeepFrom.map(s => s.cpuMs)) - idle.cpuPercent / 100 * n * minutes * 60_000) / ms.length
  // kad-dht requests the nodes sent meanwhile, less the lookups' own
  const upkeep = (sum(upkeepTo.map(s => totalOf(s.requests))) - sum(upkeepFrom.map(s => totalOf(s.requests))) - sum(requests)) / n / minutes

  await Promise.all(nodes.map(async w => w.stop()))
  const after = sampleLoad(workerPids())
  const used = before == null || after == null ? { others: Number.NaN, bench: Number.NaN } : otherLoad(before, after)
  const lat = summarize(ms)
  const sorted = [...requests].sort((a, b) => a - b)
  const rss = upkeepTo.map(s => s.rss / MiB).sort((a, b) => a - b)
  return {
    nodes: n,
    lookups: ms.length,
    succeeded,
    failures,
    resolveMs: { median: lat.median, p99: lat.p99, mean: lat.mean, max: sorted.length === 0 ? Number.NaN : Math.max(...ms) },
    requests: { mean: mean(requests), median: quantile(sorted, 0.5), p99: quantile(sorted, 0.99), byType: Object.fromEntries(Object.entries(byType).map(([t, c]) => [t, c / ms.length])) },
    responses: { mean: mean(tallies.map(t => t.responses)) },
    withRecord: { mean: mean(tallies.map(t => t.withRecord)), min: Math.min(...tallies.map(t => t.withRecord)) },
    peers: { mean: mean(tallies.map(t => t.peers)) },
    dials: { mean: mean(tallies.map(t => t.dials)) },
    errors: { mean: mean(tallies.map(t => t.errors)) },
    requestMs: (() => { const all = tallies.flatMap(t => t.requestMs).sort((a, b) => a - b); return { median: quantile(all, 0.5), p99: quantile(all, 0.99) } })(),
    register: {
      names: options.names,
      failed: registerFailed,
      medianMs: med(registerMs),
      echoesMedian: med(echoes),
      echoesMin: Math.min(...echoes),
      requestsMean: mean(registerRequests)
    },
    routingTable: { min: tables[0]!, median: med(tables), max: tables.at(-1)!, medianAfter: med(upkeepTo.map(s => s.routingTable)) },
    connections: { median: med(upkeepTo.map(s => s.connections)) },
    rssMiB: { median: med(rss), max: rss.at(-1)! },
    privateMiB: { median: med(upkeepTo.map(s => s.rssAnon / MiB)), max: Math.max(...upkeepTo.map(s => s.rssAnon / MiB)) },
    heapMiB: { median: med(upkeepTo.map(s => s.heapUsed / MiB)) },
    upkeepPerNodeMinute: upkeep,
    idle,
    cpuMsPerLookup: cpuPerLookup,
    resolverCpuMs: med(tallies.map(t => t.cpuMs)),
    settleS,
    load: { others: used.others, bench: used.bench },
    seconds: (performance.now() - t0) / 1000,
    samples: { resolveMs: ms.map(tenth), requests, requestMs: tallies.flatMap(t => t.requestMs).map(tenth) }
  }
}

function table (results: SizeResult[]): string {
  const r = (x: number, d = 3): string => String(round(x, d))
  const pct = (x: number): string => `${Math.round(x * 100)} %`
  const rows = [
    '| nodes | resolved | median ms | p99 ms | requests / lookup (mean, p99) | answers with the record (mean, min) | new connections / lookup | one request ms (median, p99) | CPU ms / lookup (all nodes; resolver) | routing table: median (range) settled, median after | connections / node | RSS / node MiB (median, max) | private MiB / node | at rest: CPU / node, requests / node-min | register: ms, peers stored (median, min) | others used |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|'
  ]
  for (const x of results) {
    const fails = Object.entries(x.failures).map(([why, c]) => `${c} ${why}`).join(', ')
    rows.push(`| ${x.nodes} | ${x.succeeded}/${x.lookups} (${r(100 * x.succeeded / x.lookups, 4)} %)${fails === '' ? '' : `; ${fails}`} | ${r(x.resolveMs.median)} | ${r(x.resolveMs.p99)} | ${r(x.requests.mean)}, ${x.requests.p99} | ${r(x.withRecord.mean)}, ${x.withRecord.min} | ${r(x.dials.mean)} | ${r(x.requestMs.median)}, ${r(x.requestMs.p99)} | ${r(x.cpuMsPerLookup)}; ${r(x.resolverCpuMs)} | ${x.routingTable.median} (${x.routingTable.min}–${x.routingTable.max}), ${x.routingTable.medianAfter} | ${x.connections.median} | ${r(x.rssMiB.median)}, ${r(x.rssMiB.max)} | ${r(x.privateMiB.median)} | ${r(x.idle.cpuPercent, 2)} %, ${r(x.idle.requestsPerMinute, 2)} | ${r(x.register.medianMs)}, ${x.register.echoesMedian} (${x.register.echoesMin}) | ${pct(x.load.others)} |`)
  }
  return rows.join('\n')
}

const options = parseOptions(process.argv.slice(2))
process.on('exit', killAllWorkers)
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => { killAllWorkers(); process.exit(130) })

const machine = {
  cpus: cpus()[0]?.model.trim() ?? 'unknown CPU',
  cores: cpus().length,
  memoryGiB: round(totalmem() / 2 ** 30, 3),
  node: process.versions.node,
  loadAverage: loadavg().map(x => round(x, 3))
}
console.error(`dht-scale: sizes ${options.sizes.join(', ')}; ${options.names} names, ${options.lookups} lookups per size; ${machine.cores} × ${machine.cpus}, ${machine.memoryGiB} GiB; load average ${machine.loadAverage.join(' ')}`)
const results: SizeResult[] = []
let failed = false
for (const n of options.sizes) {
  try {
    const x = await measureSize(n, options)
    results.push(x)
    console.error(`  ${n} nodes: ${x.succeeded}/${x.lookups} resolved, median ${round(x.resolveMs.median, 3)} ms, p99 ${round(x.resolveMs.p99, 3)} ms, ${round(x.requests.mean, 3)} requests per lookup; CPU per lookup ${round(x.cpuMsPerLookup, 3)} ms (resolver ${round(x.resolverCpuMs, 3)} ms); ${round(x.seconds, 3)} s; other processes used ${Math.round(x.load.others * 100)}% of the machine meanwhile, the bench ${Math.round(x.load.bench * 100)}%`)
  } catch (err) {
    failed = true
    console.error(`  ${n} nodes FAILED: ${(err as Error).stack ?? String(err)}`)
  } finally {
    await stopAllWorkers()
  }
}
const command = `npx node bench/dht-scale.ts ${process.argv.slice(2).join(' ')}`.trim()
const loadEnd = loadavg().map(x => round(x, 3))
console.log(`## DHT at scale\n\n\`${command}\`, ${new Date().toISOString()}; ${machine.cores} × ${machine.cpus}, ${machine.memoryGiB} GiB, Node ${machine.node}; load average ${machine.loadAverage.join(' ')} at the start, ${loadEnd.join(' ')} at the end. "others used": the share of the whole machine (both cores) that processes outside this bench used meanwhile.\n`)
console.log(table(results))
if (options.out != null) {
  await writeFile(options.out, JSON.stringify({ command, date: new Date().toISOString(), machine: { ...machine, loadAverageEnd: loadEnd }, options, results }, null, 2) + '\n')
  console.error(`dht-scale: wrote ${options.out}`)
}
process.exit(failed ? 1 : 0)
