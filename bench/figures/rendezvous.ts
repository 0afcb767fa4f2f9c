// A rendezvous point under load: resolves per second and latency with 1, 64
// and 1024 concurrent clients in closed loops (each client always has one
// resolve outstanding), the point in its own process; then 64 clients in an
// open loop at half the closed-loop rate, for the latency of a point that is
// not saturated. On this 2-core machine the clients (which verify every record
// too) share the CPU with the point; the point's CPU use says whether it was
// the bottleneck.
import { startWorker } from '../lib/process.ts'
import { round } from '../lib/stats.ts'
import type { BenchContext } from '../lib/context.ts'
import type { Line } from '../lib/process.ts'

interface Load { result: Line, pointCpu: number, clientCpu: number }

async function measure (ctx: BenchContext, clients: number, rate?: number): Promise<Load> {
  // a fresh point per load, so one load's connections do not weigh on the next
  const point = startWorker('point', {})
  try {
    const addrs = (await point.next(l => l.event === 'ready', 60_000)).multiaddrs as string[]
    const load = startWorker('resolve-clients', {
      point: addrs, clients, ms: ctx.config.resolveMs, warmupMs: 500, name: 'bench-resolve', ...(rate == null ? {} : { rate })
    })
    try {
      await load.next(l => l.event === 'measuring', 300_000)
      const before = await point.ask({ cmd: 'cpu' })
      await load.next(l => l.event === 'measured', 300_000)
      const after = await point.ask({ cmd: 'cpu' })
      const result = await load.next(l => l.event === 'result', 120_000)
      return {
        result,
        pointCpu: ((after.cpuMs as number) - (before.cpuMs as number)) / ctx.config.resolveMs,
        clientCpu: (result.clientCpuMs as number) / ctx.config.resolveMs
      }
    } finally {
      await load.stop()
    }
  } finally {
    await point.stop()
  }
}

function detail ({ result, pointCpu, clientCpu }: Load): string {
  return `median ${round(result.median as number, 3)} ms, p99 ${round(result.p99 as number, 3)} ms; ` +
    `point CPU ${Math.round(pointCpu * 100)}% of a core, clients ${Math.round(clientCpu * 100)}%` +
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
    const perResolve = load.pointCpu * ctx.config.resolveMs / (load.result.resolves as number)
    if (p99 > 5) {
      ctx.note(`Rendezvous p99 target missed (${round(p99, 3)} ms with 64 clients in closed loops): the point spent ${round(perResolve, 3)} CPU ms per resolve ` +
        `(${Math.round(load.pointCpu * 100)}% of a core), so 64 outstanding resolves queue; a 5 ms p99 in a closed loop needs at least 64 / 5 ms = 12 800 resolves/s. See bench/README.md, "Rendezvous point".`)
    }
    const rate = Math.max(1, Math.round((load.result.perSecond as number) / 2))
    const open = await measure(ctx, 64, rate)
    ctx.add({
      family: 'rendezvous',
      id: 'rendezvous.p99.64.open',
      label: `resolve p99, 64 clients, open loop at ${rate} resolves/s (half the closed-loop rate)`,
      size,
      value: open.result.p99 as number,
      unit: 'ms',
      detail: `${Math.round(open.result.perSecond as number)} resolves/s served; ${detail(open)}`,
      ratio: (open.result.p99 as number) / 5,
      ratioOf: 'x the 5 ms target',
      chart: 'resolve p99, 64 clients, open loop at half load'
    })
  }
}
