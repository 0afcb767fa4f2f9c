// A rendezvous point (and circuit relay v2) in its own process, as an operator
// would run one, but with the per-peer and per-source request rates raised: the bench measures
// what the point can serve, not its rate limiter. With `sessions: false` it
// speaks only /fara/rendezvous/1.0.0, as a point before sessions did, so its
// clients use a stream per request. Answers { cmd: 'cpu' } with
// the CPU time used so far, so that a load figure can say whether the point was saturated.
// With `workers` > 1 (spec/rendezvous.md#workers) that CPU is the primary's and its
// workers' together (`primaryMs` alone), the wait their mean.
import { createRendezvousPoint } from '@fara/sdk'
import { RENDEZVOUS_SESSION_PROTOCOL } from '@fara/rendezvous/constants'
import { readFileSync } from 'node:fs'
import { cpuMs, emit, onCommand, onStop, workerArgs } from '../lib/worker.ts'

/** ms the main thread spent runnable but waiting for a CPU (Linux schedstat; 0 where there is none). */
function runQueueWaitMs (): number {
  try {
    return Number(readFileSync('/proc/self/schedstat', 'utf8').split(' ')[1]) / 1e6
  } catch {
    return 0
  }
}

/** CPU ms of another process, all its threads (/proc/<pid>/stat utime + stime, in clock ticks of 10 ms). */
function processCpuMs (pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
    return (Number(fields[11]) + Number(fields[12])) * 10
  } catch {
    return 0
  }
}

/** ms the main thread of another process spent runnable but waiting for a CPU. */
function processWaitMs (pid: number): number {
  try {
    return Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[1]) / 1e6
  } catch {
    return 0
  }
}

const args = workerArgs<{ relay?: boolean, sessions?: boolean, workers?: number }>()
const point = await createRendezvousPoint({
  listen: ['/ip4/127.0.0.1/tcp/0'],
  peerRate: 1_000_000,
  peerBurst: 1_000_000,
  // every bench client runs on 127.0.0.1: one source address and prefix
  addressRate: 1_000_000,
  addressBurst: 1_000_000,
  prefixRate: 1_000_000,
  prefixBurst: 1_000_000,
  ...(args.relay === true ? { relay: true } : {}),
  ...(args.workers == null ? {} : { workers: args.workers })
})
// without sessions (RENDEZVOUS_SESSION_PROTOCOL, spec/rendezvous.md#sessions): one stream per request
if (args.sessions === false) await point.node.unhandle(RENDEZVOUS_SESSION_PROTOCOL)
onCommand(async (command) => {
  if (command.cmd === 'cpu') {
    const primaryMs = cpuMs()
    const forked = (args.workers ?? 1) > 1 ? point.workers : []
    const cpu = forked.reduce((n, w) => n + processCpuMs(w.pid), primaryMs)
    const wait = forked.length === 0 ? runQueueWaitMs() : forked.reduce((n, w) => n + processWaitMs(w.pid), 0) / forked.length
    return { cpuMs: cpu, primaryMs, waitMs: wait, stats: { ...point.server.stats }, workers: point.workers, rss: process.memoryUsage().rss }
  }
  throw new Error(`unknown command ${String(command.cmd)}`)
})
onStop(async () => { await point.close() })
emit({ event: 'ready', multiaddrs: point.multiaddrs.map(String) })
