// How busy the rest of the machine was while a family ran: the machine's CPU
// time (/proc/stat, steal included) minus the bench's own (this process, its
// workers and theirs). On a shared machine, a figure measured while others
// used the CPU is slower than it would be; this says by how much they did.
import { readFileSync } from 'node:fs'

const TICKS_PER_SECOND = 100

interface Sample {
  /** Machine: busy and total ticks over all cores. */
  busy: number
  total: number
  /** This process and its reaped descendants. */
  own: number
  /** Ticks of each live worker. */
  workers: Map<number, number>
}

function machine (): { busy: number, total: number } {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number)
  // user nice system idle iowait irq softirq steal guest guest_nice; guests are already in user and nice
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = fields
  const busy = user + nice + system + irq + softirq + steal
  return { busy, total: busy + idle + iowait }
}

/** utime + stime (+ cutime + cstime with `children`) of a process, in ticks; undefined once it is gone. */
function ticks (pid: number | 'self', children = false): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ').map(Number)
    // after the command: state(0) ... utime(11) stime(12) cutime(13) cstime(14)
    return f[11]! + f[12]! + (children ? f[13]! + f[14]! : 0)
  } catch {
    return undefined
  }
}

/** A snapshot; `pids` are the live workers. Returns undefined where /proc is not there. */
export function sampleLoad (pids: number[]): Sample | undefined {
  const own = ticks('self', true)
  if (own == null) return undefined
  const workers = new Map<number, number>()
  for (const pid of pids) {
    const t = ticks(pid)
    if (t != null) workers.set(pid, t)
  }
  return { ...machine(), own, workers }
}

/** The share of the whole machine (all cores, 0..1) that other processes used between two snapshots. */
export function otherLoad (start: Sample, end: Sample): { others: number, bench: number, seconds: number } {
  let bench = end.own - start.own
  for (const [pid, before] of start.workers) {
    const after = end.workers.get(pid)
    // a worker still running: its own ticks; one that exited since: its total is in our cutime already
    bench += after == null ? -before : after - before
  }
  for (const [pid, after] of end.workers) {
    if (!start.workers.has(pid)) bench += after
  }
  const total = end.total - start.total
  const others = Math.max(0, (end.busy - start.busy) - bench)
  return { others: total > 0 ? others / total : 0, bench: total > 0 ? bench / total : 0, seconds: total / TICKS_PER_SECOND }
}
