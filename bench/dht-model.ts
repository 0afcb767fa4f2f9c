// `npx node bench/dht-model.ts`: the DHT rendezvous beyond one machine
// (issue 18), by simulation. @libp2p/kad-dht's own lookup code (its
// QueryManager, query paths and PeerDistanceList, from its dist) runs against
// N simulated nodes in this process (bench/lib/dht-sim.ts): routing tables
// drawn as kad-dht 16 keeps them, every request answered after a virtual
// delay. Per size and churn: a set of names is put as `dht.put` does (a
// FIND_NODE lookup, then PUT_VALUE to the k closest that answered, plus the
// putter's own store), then looked up as `dht.get` does from random live
// nodes, to the end of the query as the rendezvous waits for it.
//
// With --measured <bench/dht-scale.ts --out file>, it first replays each
// measured size (the measured routing-table fill, the measured request times)
// and prints model and measurement side by side. spec/dht.md § Scale reads
// the results.
import { writeFile, readFile } from 'node:fs/promises'
import { cpus, loadavg, totalmem } from 'node:os'
import { createHash } from 'node:crypto'
import { Population, Tables, VirtualClock, kadIdOf, peerBytes, prefix48, rng } from './lib/dht-sim.ts'
import { quantile, round } from './lib/stats.ts'
import type { SimInit, TableShape } from './lib/dht-sim.ts'

const USAGE = `usage: npx node bench/dht-model.ts [options]
  --sizes 10,50,100,1000,10000,100000,1000000   nodes before churn
  --churn 0,0.1,0.3,0.5     fraction of the nodes present at the last (re)publish that have left at lookup time
                            (as many newcomers have joined; nodes that left stay in tables)
  --names 20 --lookups 200  per size and churn
  --k 20 --alpha 10 --paths 10          bucket size / replication, concurrency per path, disjoint paths
  --table trie --prefix-length 6        @libp2p/kad-dht 16's table; --table kademlia for classic k-buckets
  --fill 1                  fraction of the other nodes each node has learned of (then capped by its buckets)
  --rtt 100 --request-rtts 6            one request's time: RTTs per request (6: a new connection, TCP + Noise +
                                        Yamux + the stream's protocol negotiation + the request; 2 on an open one)
  --jitter 0.5              sigma of the log-normal spread of a request's time around that median
  --dead-ms 5000            what a request to a node that has left costs (kad-dht's adaptive timeout, at least 5 s)
  --deadline-ms 30000       a resolve's deadline (DEFAULT_DHT_TIMEOUT_MS): it returns then with what it found
  --measured file.json      replay the sizes measured by bench/dht-scale.ts first (the fit)
  --seed 1 --out file.json`

interface Options {
  sizes: number[]
  churn: number[]
  names: number
  lookups: number
  k: number
  alpha: number
  paths: number
  table: TableShape
  fill: number
  rttMs: number
  requestRtts: number
  jitter: number
  deadMs: number
  deadlineMs: number
  measured?: string
  seed: number
  out?: string
}

function parseOptions (argv: string[]): Options {
  const o: Options = {
    sizes: [10, 50, 100, 1000, 10_000, 100_000, 1_000_000],
    churn: [0, 0.1, 0.3, 0.5],
    names: 20,
    lookups: 200,
    k: 20,
    alpha: 10,
    paths: 10,
    table: { kind: 'trie', prefixLength: 6 },
    fill: 1,
    rttMs: 100,
    requestRtts: 6,
    jitter: 0.5,
    deadMs: 5000,
    deadlineMs: 30_000,
    seed: 1
  }
  let kind = 'trie'
  let prefixLength = 6
  const num = (flag: string, text: string | undefined, min: number, max = Number.POSITIVE_INFINITY): number => {
    const n = Number(text)
    if (text == null || text === '' || !Number.isFinite(n) || n < min || n > max) throw new RangeError(`${flag} takes a number in [${min}, ${max}], got ${JSON.stringify(text)}`)
    return n
  }
  const int = (flag: string, text: string | undefined, min: number): number => {
    const n = num(flag, text, min)
    if (!Number.isSafeInteger(n)) throw new RangeError(`${flag} takes an integer, got ${JSON.stringify(text)}`)
    return n
  }
  const file = (flag: string, text: string | undefined): string => {
    if (text == null || text === '') throw new RangeError(`${flag} takes a file name`)
    return text
  }
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i]!.split('=', 2) as [string, string | undefined]
    const value = (): string | undefined => inline ?? argv[++i]
    switch (flag) {
      case '--help': case '-h': console.log(USAGE); process.exit(0); break
      case '--sizes': o.sizes = (value() ?? '').split(',').map(s => int(flag, s, 3)); break
      case '--churn': o.churn = (value() ?? '').split(',').map(s => num(flag, s, 0, 0.95)); break
      case '--names': o.names = int(flag, value(), 1); break
      case '--lookups': o.lookups = int(flag, value(), 1); break
      case '--k': o.k = int(flag, value(), 1); break
      case '--alpha': o.alpha = int(flag, value(), 1); break
      case '--paths': o.paths = int(flag, value(), 1); break
      case '--table': kind = value() ?? ''; break
      case '--prefix-length': prefixLength = int(flag, value(), 1); break
      case '--fill': o.fill = num(flag, value(), 0.01, 1); break
      case '--rtt': o.rttMs = num(flag, value(), 0); break
      case '--request-rtts': o.requestRtts = num(flag, value(), 0); break
      case '--jitter': o.jitter = num(flag, value(), 0, 3); break
      case '--dead-ms': o.deadMs = num(flag, value(), 0); break
      case '--deadline-ms': o.deadlineMs = num(flag, value(), 1); break
      case '--measured': o.measured = file(flag, value()); break
      case '--seed': o.seed = int(flag, value(), 0); break
      case '--out': o.out = file(flag, value()); break
      default: throw new RangeError(`unknown argument ${JSON.stringify(argv[i])}\n${USAGE}`)
    }
  }
  if (kind !== 'trie' && kind !== 'kademlia') throw new RangeError(`--table is trie or kademlia, got ${JSON.stringify(kind)}`)
  o.table = kind === 'trie' ? { kind, prefixLength } : { kind }
  return o
}

// ---- @libp2p/kad-dht's own query code, from its dist (not in its exports map) ----

interface SimPeerId { index: number, toMultihash: () => { bytes: Uint8Array }, equals: (other: unknown) => boolean, toString: () => string }
interface PeerInfo { id: SimPeerId, multiaddrs: unknown[] }
interface QueryContext { peer: PeerInfo, signal: AbortSignal, path: unknown }
interface KadQueryManager {
  start: () => Promise<void>
  run: (key: Uint8Array, query: (context: QueryContext) => AsyncGenerator<unknown>, options: { signal: AbortSignal }) => AsyncGenerator<{ name: string }>
}
interface KadPeerDistanceList { addWithKadId: (peer: PeerInfo, kadId: Uint8Array) => void, peers: Array<{ peer: PeerInfo }> }
interface Kad {
  QueryManager: new (components: unknown, init: unknown) => KadQueryManager
  PeerDistanceList: new (origin: Uint8Array, capacity: number) => KadPeerDistanceList
}

async function loadKad (): Promise<Kad> {
  const index = import.meta.resolve('@libp2p/kad-dht')
  const manager = await import(new URL('./query/manager.js', index).href) as { QueryManager: Kad['QueryManager'] }
  const list = await import(new URL('./peer-distance-list.js', index).href) as { PeerDistanceList: Kad['PeerDistanceList'] }
  return { QueryManager: manager.QueryManager, PeerDistanceList: list.PeerDistanceList }
}

const silent = Object.assign(() => {}, { error: () => {}, trace: () => {}, enabled: false })
const logger = { forComponent: () => silent }

// ---- one simulated DHT ----

/** How long one request takes (ms), drawn anew per request. */
type RequestTime = () => number

interface Outcome {
  lookups: number
  succeeded: number
  requests: number[]
  withRecord: number[]
  /** When the resolve returned: the end of the lookup, or the deadline. */
  ms: number[]
  /** When the first answer with the record came (a resolve that returned on it would take this long); NaN if none. */
  firstMs: number[]
  /** Requests of one put (FIND_NODE lookup and PUT_VALUEs). */
  putRequests: number[]
  /** Holders of a record still present at lookup time (of k + the putter). */
  liveHolders: number[]
}

interface Scenario { n: number, churn: number, fill: number, requestTime: RequestTime, deadMs: number, names: number, lookups: number }

async function simulate (kad: Kad, o: Options, s: Scenario): Promise<Outcome> {
  const newcomers = Math.round(s.churn * s.n)
  const pop = new Population(s.n + newcomers)
  const init: SimInit = { n: s.n, k: o.k, alpha: o.alpha, disjointPaths: o.paths, table: o.table, fill: s.fill, seed: o.seed }
  const random = rng(o.seed * 7919 + s.n + Math.round(s.churn * 1000))
  // before churn: the original nodes; at lookup time: every node, those that left still in tables
  const before = new Tables(pop, init, i => i < s.n)
  const after = s.churn > 0 ? new Tables(pop, init, () => true) : before
  const left = new Uint8Array(pop.size)
  for (let i = 0; i < s.n; i++) if (random() < s.churn) left[i] = 1
  const ids = new Map<number, SimPeerId>()
  const peerId = (i: number): SimPeerId => {
    let id = ids.get(i)
    if (id == null) {
      const bytes = peerBytes(i)
      id = { index: i, toMultihash: () => ({ bytes }), equals: (other) => (other as SimPeerId | undefined)?.index === i, toString: () => `sim${i}` }
      ids.set(i, id)
    }
    return id
  }
  const never = new AbortController().signal

  /** Run one kad-dht query from node `self` over `tables`; `answer` is each asked node's reply, after its delay. */
  const query = async (self: number, key: Uint8Array, tables: Tables, alive: (i: number) => boolean,
    answer: (i: number, target: number, now: number) => Record<string, unknown>): Promise<{ ms: number, requests: number, responders: number[] }> => {
    const clock = new VirtualClock()
    const target = prefix48(createHash('sha256').update(key).digest())
    const routingTable = {
      size: 1,
      kBucketSize: o.k,
      closestPeers: (kadId: Uint8Array, options?: { count?: number }) => tables.closest(self, prefix48(kadId), options?.count ?? o.k).map(peerId),
      queueRoutingTableUpdate: () => {}
    }
    const manager = new kad.QueryManager(
      { peerId: peerId(self), logger, connectionManager: { isDialable: async () => true } },
      { logPrefix: 'sim', metricsPrefix: 'sim', disjointPaths: o.paths, alpha: o.alpha, allowQueryWithZeroPeers: true, routingTable }
    )
    await manager.start()
    let requests = 0
    const responders: number[] = []
    const ask = async function * ({ peer, path }: QueryContext): AsyncGenerator<unknown> {
      const i = peer.id.index
      requests++
      if (!alive(i)) {
        await clock.sleep(s.deadMs)
        throw new Error('timed out')
      }
      await clock.sleep(s.requestTime())
      responders.push(i)
      const closer = tables.closest(i, target, o.k).map(j => ({ id: peerId(j), multiaddrs: [] }))
      yield { name: 'PEER_RESPONSE', type: 1, from: peer.id, closer, providers: [], path, ...answer(i, target, clock.now) }
    }
    await clock.run((async () => {
      for await (const _ of manager.run(key, ask, { signal: never })) { /* events counted in ask */ }
    })())
    return { ms: clock.now, requests, responders }
  }

  // put each name from a random original node, on the network as it was before churn
  const names: Array<{ key: Uint8Array, putter: number, holders: Set<number> }> = []
  const putRequests: number[] = []
  for (let j = 0; j < s.names; j++) {
    const key = new TextEncoder().encode(`/fara/model-${s.n}-${j}`)
    const putter = Math.floor(random() * s.n)
    const found = await query(putter, key, before, () => true, () => ({ messageType: 'FIND_NODE' }))
    // dht.put: the k closest peers that answered the FIND_NODE lookup get a PUT_VALUE (getClosestPeers' FINAL_PEERs)
    const kadId = createHash('sha256').update(key).digest()
    const closest = new kad.PeerDistanceList(kadId, o.k)
    for (const i of found.responders) closest.addWithKadId({ id: peerId(i), multiaddrs: [] }, kadIdOf(i))
    const holders = new Set<number>([putter, ...closest.peers.map(p => p.peer.id.index)])
    names.push({ key, putter, holders })
    putRequests.push(found.requests + closest.peers.length)
  }

  // look them up from random live nodes, at lookup time
  const out: Outcome = { lookups: 0, succeeded: 0, requests: [], withRecord: [], ms: [], firstMs: [], putRequests, liveHolders: [] }
  const alive = (i: number): boolean => left[i] === 0
  for (let j = 0; j < s.lookups; j++) {
    const name = names[Math.floor(random() * names.length)]!
    let self: number
    do { self = Math.floor(random() * pop.size) } while (!alive(self) || self === name.putter)
    let withRecord = 0
    let first = name.holders.has(self) ? 0 : Number.NaN
    const r = await query(self, name.key, after, alive, (i, _, now) => {
      if (!name.holders.has(i)) return { messageType: 'GET_VALUE' }
      withRecord++
      if (Number.isNaN(first)) first = now
      return { messageType: 'GET_VALUE', record: { key: name.key, value: new Uint8Array(1) } }
    })
    out.lookups++
    // the rendezvous returns at the end of the lookup or at its deadline, with what it has by then
    if (first <= o.deadlineMs) out.succeeded++
    out.requests.push(r.requests)
    out.withRecord.push(withRecord)
    out.ms.push(Math.min(r.ms, o.deadlineMs))
    out.firstMs.push(first)
    out.liveHolders.push([...name.holders].filter(alive).length)
  }
  return out
}

// ---- request times ----

/** A log-normal spread around `median` ms (sigma `jitter`), from a seeded generator. */
function logNormal (median: number, jitter: number, seed: number): RequestTime {
  const random = rng(seed)
  return () => {
    const u = Math.max(random(), 1e-12)
    const v = random()
    const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v)
    return median * Math.exp(jitter * z)
  }
}

/** Draw from measured samples. */
function resample (samples: number[], seed: number): RequestTime {
  const random = rng(seed)
  return () => samples[Math.floor(random() * samples.length)]!
}

// ---- report ----

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length
const q = (xs: number[], p: number): number => quantile([...xs].sort((a, b) => a - b), p)
const r3 = (x: number): string => String(round(x, 3))

interface MeasuredSize {
  nodes: number
  lookups: number
  succeeded: number
  resolveMs: { median: number, p99: number }
  requests: { mean: number, p99: number }
  withRecord: { mean: number }
  routingTable: { median: number, medianAfter?: number }
  samples: { requestMs: number[] }
}

async function fit (kad: Kad, o: Options): Promise<{ rows: string[], data: unknown[] }> {
  const measured = JSON.parse(await readFile(o.measured!, 'utf8')) as { command: string, results: MeasuredSize[] }
  const rows = [
    `Fit: the model replaying \`${measured.command}\` (each node knows its neighbourhood and a fraction "fill" of the others, so that the median table is the measured one halfway through the lookups; each request's time drawn from that size's measured request times).\n`,
    '| nodes | fill | resolved: measured / model | requests per lookup, mean: measured / model | p99: measured / model | answers with the record, mean: measured / model | median ms: measured / model | p99 ms: measured / model |',
    '|---|---|---|---|---|---|---|---|'
  ]
  const data: unknown[] = []
  for (const m of measured.results) {
    // the neighbourhood (at least k nodes) is known anyway: the rest of the measured table is a random fraction
    // of the others; tables grow during the lookups, so the table is taken halfway between before and after
    const others = m.nodes - 1
    const table = (m.routingTable.median + (m.routingTable.medianAfter ?? m.routingTable.median)) / 2
    const fill = others <= o.k ? 1 : Math.max(0.01, Math.min(1, (table - o.k) / (others - o.k)))
    const x = await simulate(kad, o, { n: m.nodes, churn: 0, fill, requestTime: resample(m.samples.requestMs, o.seed), deadMs: o.deadMs, names: o.names, lookups: m.lookups })
    rows.push(`| ${m.nodes} | ${r3(fill)} | ${r3(100 * m.succeeded / m.lookups)} % / ${r3(100 * x.succeeded / x.lookups)} % | ${r3(m.requests.mean)} / ${r3(mean(x.requests))} | ${m.requests.p99} / ${q(x.requests, 0.99)} | ${r3(m.withRecord.mean)} / ${r3(mean(x.withRecord))} | ${r3(m.resolveMs.median)} / ${r3(q(x.ms, 0.5))} | ${r3(m.resolveMs.p99)} / ${r3(q(x.ms, 0.99))} |`)
    const { samples: _, ...figures } = m
    data.push({ nodes: m.nodes, fill, measured: figures, model: summary(x) })
    console.error(`  fit ${m.nodes}: ${rows.at(-1)}`)
  }
  return { rows, data }
}

function summary (x: Outcome): Record<string, number> {
  return {
    lookups: x.lookups,
    succeeded: x.succeeded,
    requestsMean: mean(x.requests),
    requestsP99: q(x.requests, 0.99),
    withRecordMean: mean(x.withRecord),
    msMedian: q(x.ms, 0.5),
    msP99: q(x.ms, 0.99),
    // over all lookups, a lookup that found nothing counting as the deadline
    firstMsMedian: q(x.firstMs.map(t => Number.isNaN(t) ? o.deadlineMs : Math.min(t, o.deadlineMs)), 0.5),
    firstMsP99: q(x.firstMs.map(t => Number.isNaN(t) ? o.deadlineMs : Math.min(t, o.deadlineMs)), 0.99),
    putRequestsMean: mean(x.putRequests),
    liveHoldersMean: mean(x.liveHolders),
    noLiveHolder: x.liveHolders.filter(h => h === 0).length
  }
}

const o = parseOptions(process.argv.slice(2))
const started = performance.now()
console.error(`dht-model: ${cpus().length} × ${cpus()[0]?.model.trim() ?? 'unknown CPU'}, ${round(totalmem() / 2 ** 30, 3)} GiB; load average ${loadavg().map(x => round(x, 3)).join(' ')}`)
const kad = await loadKad()
const command = `npx node bench/dht-model.ts ${process.argv.slice(2).join(' ')}`.trim()
const shape = o.table.kind === 'trie' ? `@libp2p/kad-dht 16 trie table (prefixLength ${o.table.prefixLength})` : 'classic Kademlia k-buckets'
const lines = [`## DHT model\n\n\`${command}\`, ${new Date().toISOString()}: k ${o.k}, α ${o.alpha}, ${o.paths} disjoint paths, ${shape}, fill ${o.fill}; a request takes ${o.requestRtts} × ${o.rttMs} ms RTT (log-normal spread, σ ${o.jitter}); a request to a node that left, ${o.deadMs} ms; a resolve's deadline ${o.deadlineMs} ms. A lookup runs to its end, as the rendezvous waits for it; "first record" is when the first answer with the record came.\n`]
const results: unknown[] = []
let fitted: unknown[] | undefined
if (o.measured != null) {
  const f = await fit(kad, o)
  lines.push(...f.rows, '')
  fitted = f.data
}
lines.push(
  '| nodes | churn since the last put | resolved | requests per lookup (mean, p99) | answers with the record (mean) | puts whose holders all left | median ms | p99 ms | median, p99 in request times | first record: median, p99 ms |',
  '|---|---|---|---|---|---|---|---|---|---|'
)
const base = o.requestRtts * o.rttMs
for (const n of o.sizes) {
  for (const churn of o.churn) {
    const t = performance.now()
    const x = await simulate(kad, o, { n, churn, fill: o.fill, requestTime: logNormal(base, o.jitter, o.seed + n), deadMs: o.deadMs, names: o.names, lookups: o.lookups })
    const s = summary(x)
    const unit = (ms: number): string => base > 0 ? r3(ms / base) : '–'
    lines.push(`| ${n} | ${Math.round(churn * 100)} % | ${r3(100 * x.succeeded / x.lookups)} % | ${r3(s.requestsMean!)}, ${s.requestsP99} | ${r3(s.withRecordMean!)} | ${s.noLiveHolder}/${x.lookups} | ${r3(s.msMedian!)} | ${r3(s.msP99!)} | ${unit(s.msMedian!)}, ${unit(s.msP99!)} | ${r3(s.firstMsMedian!)}, ${r3(s.firstMsP99!)} |`)
    results.push({ nodes: n, churn, ...s })
    console.error(`  ${n} nodes, churn ${churn}: ${lines.at(-1)} (${round((performance.now() - t) / 1000, 3)} s)`)
  }
}
console.log(lines.join('\n'))
if (o.out != null) {
  await writeFile(o.out, JSON.stringify({ command, date: new Date().toISOString(), options: o, fit: fitted, results, seconds: Math.round((performance.now() - started) / 1000) }, null, 2) + '\n')
  console.error(`dht-model: wrote ${o.out}`)
}
