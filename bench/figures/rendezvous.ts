// A rendezvous point under load: resolves per second and latency with 1, 64
// and 1024 concurrent clients in closed loops (each client always has one
// resolve outstanding), the point in its own process and the clients spread
// over one process per core; then 64 clients in open loops, at half the
// closed-loop rate and at a fixed 500 resolves/s, for the latency of a point
// that is not saturated. On this 2-core machine the clients (which verify
// every record too) share the CPU with the point; the CPU per resolve at each
// end says where the time goes. Then the point's capacity with 1 and 2 worker
// processes (spec/rendezvous.md#workers), interleaved in the same run, their ratio,
// and an open loop at half the 2-worker capacity against 2 workers.
import { availableParallelism } from 'node:os'
import { startWorker } from '../lib/process.ts'
import { round, summarize } from '../lib/stats.ts'
import type { BenchContext } from '../lib/context.ts'
import type { Line, Worker, WorkerOptions } from '../lib/process.ts'

/** CPU fractions over the timed window; `*Wait`: the share of it the process was runnable but waited for a CPU (other processes). */
interface Load { result: Line, pointCpu: number, primaryCpu: number, clientCpu: number, pointWait: number, clientWait: number, processes: number, workers: number }

/** `--profile=dir`: CPU profiles of the point and of the clients, one per process and load. */
function profile (ctx: BenchContext, who: string, clients: number, rate?: number, workers = 1): WorkerOptions {
  if (ctx.config.profileDir == null) return {}
  const name = `rendezvous-${who}-${clients}${rate == null ? '' : '-open'}${workers === 1 ? '' : `-${workers}w`}.cpuprofile`
  return { nodeFlags: ['--cpu-prof', `--cpu-prof-dir=${ctx.config.profileDir}`, `--cpu-prof-name=${name}`] }
}

/**
 * Client processes for a load: one per core, so that the clients (each
 * verifies every record it resolves, about as much CPU per resolve as the
 * point spends) are not all held to one core while the point has another.
 */
function processesFor (clients: number): number {
  return Math.max(1, Math.min(clients, availableParallelism()))
}

async function measure (ctx: BenchContext, clients: number, rate?: number, sessions = true, workers = 1): Promise<Load> {
  // a fresh point per load, so one load's connections do not weigh on the next
  const point = startWorker('point', { sessions, ...(workers === 1 ? {} : { workers }) }, profile(ctx, sessions ? 'point' : 'point-1.0', clients, rate, workers))
  const loads: Worker[] = []
  try {
    const addrs = (await point.next(l => l.event === 'ready', 60_000)).multiaddrs as string[]
    const processes = processesFor(clients)
    const start = (i: number): Worker => {
      const share = Math.floor(clients / processes) + (i < clients % processes ? 1 : 0)
      const worker = startWorker('resolve-clients', {
        point: addrs, clients: share, name: 'bench-resolve', register: i === 0, ...(rate == null ? {} : { rate: rate * share / clients })
      }, profile(ctx, `clients${i}${sessions ? '' : '-1.0'}`, clients, rate, workers))
      loads.push(worker)
      return worker
    }
    // the first registers the record the others resolve
    await start(0).next(l => l.event === 'ready', 300_000)
    await Promise.all(Array.from({ length: processes - 1 }, async (_, i) => start(i + 1).next(l => l.event === 'ready', 300_000)))
    const warmupMs = 500
    const ms = ctx.config.resolveMs
    // the point's CPU over the timed window, read when the clients open and close theirs
    const pointCpu = (async () => {
      await new Promise(resolve => setTimeout(resolve, warmupMs))
      const before = await point.ask({ cmd: 'cpu' })
      await new Promise(resolve => setTimeout(resolve, ms))
      const after = await point.ask({ cmd: 'cpu' })
      return {
        cpu: ((after.cpuMs as number) - (before.cpuMs as number)) / ms,
        primary: ((after.primaryMs as number) - (before.primaryMs as number)) / ms,
        wait: ((after.waitMs as number) - (before.waitMs as number)) / ms
      }
    })()
    const results = await Promise.all(loads.map(async w => w.ask({ cmd: 'go', warmupMs, ms }, 300_000 + ms)))
    const latencies = results.flatMap(r => r.latencies as number[])
    const resolves = results.reduce((n, r) => n + (r.resolves as number), 0)
    const result: Line = {
      clients,
      resolves,
      perSecond: resolves / (ms / 1000),
      ...summarize(latencies),
      errors: results.reduce((n, r) => n + (r.errors as number), 0)
    }
    const clientCpu = results.reduce((n, r) => n + (r.clientCpuMs as number), 0) / ms
    const clientWait = results.reduce((n, r) => n + (r.waitMs as number), 0) / ms / processes
    const { cpu, primary, wait } = await pointCpu
    return { result, pointCpu: cpu, primaryCpu: primary, clientCpu, pointWait: wait, clientWait, processes, workers }
  } finally {
    // SIGTERM: each stops its nodes and exits (a CPU profile is written at exit)
    await Promise.all(loads.map(async w => w.stop()))
    await point.stop()
  }
}

function detail ({ result, pointCpu, primaryCpu, clientCpu, pointWait, clientWait, processes, workers }: Load): string {
  const perResolve = (cpu: number): number => round(cpu * 1000 * 1000 / (result.perSecond as number), 3)
  return `median ${round(result.median as number, 3)} ms, p99 ${round(result.p99 as number, 3)} ms; ` +
    `point CPU ${Math.round(pointCpu * 100)}% of a core (${perResolve(pointCpu)} µs per resolve` +
    (workers === 1 ? '), ' : `, ${workers} workers and their primary, the primary ${perResolve(primaryCpu)} µs), `) +
    `clients ${Math.round(clientCpu * 100)}% (${perResolve(clientCpu)} µs per resolve, ${processes} process${processes === 1 ? '' : 'es'}); ` +
    `waiting for a CPU: point ${Math.round(pointWait * 100)}% of the time${workers === 1 ? '' : ' (mean of its workers)'}, clients ${Math.round(clientWait * 100)}%` +
    ((result.errors as number) > 0 ? `; ${result.errors as number} errors` : '')
}

export async function rendezvous (ctx: BenchContext): Promise<void> {
  for (const clients of ctx.config.resolveClients) {
    const load = await measure(ctx, clients)
    const size = `${clients} client${clients === 1 ? '' : 's'}`
    ctx.add({
      family: 'rendezvous',
      id: `rendezvous.resolves.${clients}`,
      label: 'resolves per second, closed loop',
      size,
      value: load.result.perSecond as number,
      unit: 'resolves/s',
      detail: detail(load)
    })
    if (clients !== 64) continue
    // the same load on a stream per request (/fara/rendezvous/1.0.0), as every client did before sessions
    const single = await measure(ctx, clients, undefined, false)
    ctx.add({
      family: 'rendezvous',
      id: `rendezvous.resolves.${clients}.streams`,
      label: 'resolves per second, closed loop, a stream per request (1.0.0, before sessions)',
      size,
      value: single.result.perSecond as number,
      unit: 'resolves/s',
      detail: detail(single),
      ratio: (single.result.perSecond as number) / (load.result.perSecond as number),
      ratioOf: 'x sessions (1.1.0)',
      chart: 'resolves/s, a stream per request, 64 clients'
    })
    const p99 = load.result.p99 as number
    ctx.add({
      family: 'rendezvous',
      id: 'rendezvous.p99.64',
      label: 'resolve p99, 64 clients in closed loops',
      size,
      value: p99,
      unit: 'ms',
      detail: `Little's law: 64 outstanding / ${Math.round(load.result.perSecond as number)} per s = ${round(64 / (load.result.perSecond as number) * 1000, 3)} ms mean`,
      ratio: p99 / 5,
      ratioOf: 'x the 5 ms target',
      chart: 'resolve p99, 64 clients, closed loop',
      target: { text: 'resolve p99 <= 5 ms at 64 concurrent clients', met: p99 <= 5, bound: 1 }
    })
    if (p99 > 5) {
      const point = load.pointCpu * 1e6 / (load.result.perSecond as number)
      const client = load.clientCpu * 1e6 / (load.result.perSecond as number)
      const cores = availableParallelism()
      const ceiling = cores * 1e6 / (point + client)
      ctx.note(`Rendezvous p99 target missed (${round(p99, 3)} ms with 64 clients in closed loops): each resolve took ${round(point, 3)} µs of CPU at the point ` +
        `and ${round(client, 3)} µs at its client (which verifies the record's signature), so ${cores} cores serve at most ${round(ceiling, 3)} resolves/s and ` +
        `64 outstanding resolves wait at least 64 / ${round(ceiling, 3)} per s = ${round(64 / ceiling * 1000, 3)} ms on average (Little's law); a 5 ms p99 in a closed loop needs more than ` +
        `64 / 5 ms = 12 800 resolves/s, under ${round(cores * 1e6 / 12_800, 3)} µs of CPU per resolve for both ends together. See bench/README.md, "Rendezvous point".`)
    }
    const half = Math.max(1, Math.round((load.result.perSecond as number) / 2))
    await openLoop(ctx, half, `open loop at ${half} resolves/s (half the closed-loop rate)`, 'open loop at half load')
    // a fixed rate, comparable from run to run (the closed-loop rate moves with the machine's load)
    await openLoop(ctx, OPEN_RATE, `open loop at ${OPEN_RATE} resolves/s`, `open loop at ${OPEN_RATE}/s`)
    await scaling(ctx, clients)
  }
}

/** A busy point's rate for 64 clients (each about 8 resolves per second), well under what one core serves. */
const OPEN_RATE = 500

async function openLoop (ctx: BenchContext, rate: number, what: string, chart: string): Promise<void> {
  const open = await measure(ctx, 64, rate)
  ctx.add({
    family: 'rendezvous',
    id: rate === OPEN_RATE ? `rendezvous.p99.64.open.${OPEN_RATE}` : 'rendezvous.p99.64.open',
    label: `resolve p99, 64 clients, ${what}`,
    size: '64 clients',
    value: open.result.p99 as number,
    unit: 'ms',
    detail: `${Math.round(open.result.perSecond as number)} resolves/s served; ${detail(open)}`,
    ratio: (open.result.p99 as number) / 5,
    ratioOf: 'x the 5 ms target',
    chart: `resolve p99, 64 clients, ${chart}`
  })
}

/** Rounds of the 1- against 2-worker comparison, in alternating order (1, 2, then 2, 1) so that a drift in the machine's load weighs on both. */
const CAPACITY_ROUNDS = 2
/** The scaling the issue asks of a point from 1 to 2 workers. */
const SCALING_TARGET = 1.7

/**
 * The point's capacity (closed loop, `clients` clients) with 1 and 2 worker
 * processes, measured in turn in the same run; their ratio; then an open loop
 * at half the 2-worker capacity against 2 workers.
 */
async function scaling (ctx: BenchContext, clients: number): Promise<void> {
  const runs = new Map<number, Load[]>([[1, []], [2, []]])
  for (let i = 0; i < CAPACITY_ROUNDS; i++) {
    for (const workers of i % 2 === 0 ? [1, 2] : [2, 1]) runs.get(workers)!.push(await measure(ctx, clients, undefined, true, workers))
  }
  const rate = (loads: Load[]): number => loads.reduce((n, l) => n + (l.result.perSecond as number), 0) / loads.length
  /** µs of point CPU per resolve, over all rounds. */
  const pointUs = (loads: Load[]): number => loads.reduce((n, l) => n + l.pointCpu * 1e6 / (l.result.perSecond as number), 0) / loads.length
  const clientUs = (loads: Load[]): number => loads.reduce((n, l) => n + l.clientCpu * 1e6 / (l.result.perSecond as number), 0) / loads.length
  const one = runs.get(1)!
  const two = runs.get(2)!
  for (const [workers, loads] of runs) {
    ctx.add({
      family: 'rendezvous',
      id: `rendezvous.capacity.${workers}`,
      label: `resolves per second, closed loop, ${workers} worker${workers === 1 ? '' : 's'} (capacity)`,
      size: `${clients} clients`,
      value: rate(loads),
      unit: 'resolves/s',
      detail: `mean of ${loads.length} rounds (${loads.map(l => Math.round(l.result.perSecond as number)).join(', ')}); last: ${detail(loads[loads.length - 1]!)}`
    })
  }
  const ratio = rate(two) / rate(one)
  const alone = 2 * pointUs(one) / pointUs(two)
  ctx.add({
    family: 'rendezvous',
    id: `rendezvous.scaling.${clients}`,
    label: 'resolves per second, closed loop, 2 workers against 1',
    size: `${clients} clients`,
    value: rate(two),
    unit: 'resolves/s',
    detail: `point CPU per resolve ${round(pointUs(one), 3)} µs with 1 worker, ${round(pointUs(two), 3)} µs with 2 (all its processes); ` +
      `clients ${round(clientUs(one), 3)} and ${round(clientUs(two), 3)} µs; a point with 2 cores to itself: ${round(alone, 3)} x (2 x its CPU per resolve with 1 worker / with 2)`,
    ratio,
    ratioOf: 'x 1 worker',
    chart: 'resolves/s, 2 workers / 1, 64 clients',
    target: { text: `resolves/s >= ${SCALING_TARGET} x from 1 to 2 workers`, met: ratio >= SCALING_TARGET, bound: SCALING_TARGET }
  })
  if (ratio < SCALING_TARGET) {
    const cores = availableParallelism()
    const ceiling = cores * 1e6 / (pointUs(two) + clientUs(two))
    ctx.note(`Rendezvous scaling target missed (${round(ratio, 3)} x from 1 to 2 workers): the clients run on the same ${cores} cores and spend ` +
      `${round(clientUs(two), 3)} µs of CPU per resolve against the point's ${round(pointUs(two), 3)} µs, so the machine serves at most about ` +
      `${round(ceiling, 3)} resolves/s whatever the point does (${round(ceiling / rate(one), 3)} x the 1-worker rate). ` +
      `With 1 worker the point used ${Math.round(one[0]!.pointCpu * 100)}% of a core. By its CPU per resolve, a 2-worker point with 2 cores to itself serves ` +
      `${round(alone, 3)} x what 1 worker serves. See bench/README.md, "Rendezvous point workers".`)
  }
  const half = Math.max(1, Math.round(rate(two) / 2))
  const open = await measure(ctx, 64, half, true, 2)
  const p99 = open.result.p99 as number
  ctx.add({
    family: 'rendezvous',
    id: 'rendezvous.p99.64.open.workers',
    label: `resolve p99, 64 clients, open loop at ${half} resolves/s (half the 2-worker capacity), 2 workers`,
    size: '64 clients',
    value: p99,
    unit: 'ms',
    detail: `${Math.round(open.result.perSecond as number)} resolves/s served; latency from each resolve's due time; ${detail(open)}`,
    ratio: p99 / 5,
    ratioOf: 'x the 5 ms target',
    chart: 'resolve p99, 64 clients, open loop at half capacity, 2 workers',
    target: { text: 'resolve p99 <= 5 ms, 64 clients open-loop at half capacity (2 workers)', met: p99 <= 5, bound: 1 }
  })
}
