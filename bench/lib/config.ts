// What `npm run bench` measures, and how much: defaults for the full run,
// smaller ones for `--quick`, each overridable by an environment variable.
import { fileURLToPath } from 'node:url'

/** The figure families, in the order they run. */
export const FAMILIES = ['crypto', 'throughput', 'tunnel', 'hopping', 'latency', 'rendezvous', 'records', 'demux'] as const

/** One figure family. */
export type Family = typeof FAMILIES[number]

/** Sizes of one bench run. */
export interface BenchConfig {
  quick: boolean
  families: Family[]
  /** Throughput: bytes per transfer, smallest first (the largest is the headline figure). */
  throughputBytes: number[]
  /** Throughput: transfers per transport and size; the median is reported. */
  throughputRepeats: number
  /** Port hopping: bytes per transfer, and the hop interval (ms). */
  hopBytes: number
  hopIntervalMs: number
  /** Connect latency: timed runs per way of connecting (after warm-up runs). */
  latencyRuns: number
  /** Connect latency: round-trip time (ms) of the delayed link the libp2p dials also cross. */
  latencyRttMs: number
  /** Rendezvous point: concurrent clients, and how long each load is measured (ms). */
  resolveClients: number[]
  resolveMs: number
  /** Records held by a point, at these counts (filled once, measured at each). */
  records: number[]
  /** Live associations in a demux table, at these counts. */
  associations: number[]
  /** Where results.json, results.md and chart.svg are written; null: not written. */
  out: string | null
  /** Write CPU profiles of the Fara throughput workers to this directory. */
  profileDir: string | null
}

const MiB = 1024 * 1024

function list (env: string | undefined, fallback: number[]): number[] {
  if (env == null || env.trim() === '') return fallback
  const values = env.split(',').map(s => Number(s.trim()))
  for (const v of values) {
    if (!Number.isSafeInteger(v) || v <= 0) throw new RangeError(`expected a comma-separated list of positive integers, got ${JSON.stringify(env)}`)
  }
  return values
}

function one (env: string | undefined, fallback: number): number {
  return list(env, [fallback])[0]!
}

const USAGE = `usage: node bench/run.ts [--quick] [--only=family,...] [--out=dir | --no-write] [--profile=dir]
families: ${FAMILIES.join(', ')}
environment (counts; lists are comma-separated):
  BENCH_MIB=16,256         throughput (and tunnel) sizes in MiB    BENCH_REPEATS=3     transfers per size
  BENCH_HOP_MIB=512        bytes per transfer over hopping TCP     BENCH_HOP_MS=1000   hop interval
  BENCH_RUNS=200           connect runs per way of connecting      BENCH_RTT_MS=10     RTT of the delayed link
  BENCH_CLIENTS=1,64,1024  concurrent rendezvous clients           BENCH_RESOLVE_MS=3000
  BENCH_RECORDS=100000,1000000                                     BENCH_AIDS=10000,100000,1000000`

/** Parse argv and the environment. */
export function parseConfig (argv: string[], env: NodeJS.ProcessEnv = process.env): BenchConfig {
  let quick = false
  let only: Family[] | undefined
  let out: string | null = fileURLToPath(new URL('../results', import.meta.url))
  let profileDir: string | null = null
  for (const arg of argv) {
    if (arg === '--quick') quick = true
    else if (arg === '--no-write') out = null
    else if (arg.startsWith('--out=')) out = arg.slice('--out='.length)
    else if (arg.startsWith('--profile=')) profileDir = arg.slice('--profile='.length)
    else if (arg.startsWith('--only=')) {
      only = arg.slice('--only='.length).split(',').map(f => {
        if (!(FAMILIES as readonly string[]).includes(f)) throw new RangeError(`unknown family ${JSON.stringify(f)}; one of ${FAMILIES.join(', ')}`)
        return f as Family
      })
    } else if (arg === '--help' || arg === '-h') {
      console.log(USAGE)
      process.exit(0)
    } else {
      throw new RangeError(`unknown argument ${JSON.stringify(arg)}\n${USAGE}`)
    }
  }
  return {
    quick,
    families: only ?? [...FAMILIES],
    throughputBytes: list(env.BENCH_MIB, quick ? [4, 32] : [16, 256]).map(m => m * MiB),
    throughputRepeats: one(env.BENCH_REPEATS, quick ? 1 : 3),
    hopBytes: one(env.BENCH_HOP_MIB, quick ? 32 : 512) * MiB,
    hopIntervalMs: one(env.BENCH_HOP_MS, 1_000),
    latencyRuns: one(env.BENCH_RUNS, quick ? 40 : 200),
    latencyRttMs: one(env.BENCH_RTT_MS, 10),
    resolveClients: list(env.BENCH_CLIENTS, quick ? [1, 64] : [1, 64, 1024]),
    resolveMs: one(env.BENCH_RESOLVE_MS, quick ? 1_000 : 3_000),
    records: list(env.BENCH_RECORDS, quick ? [10_000, 50_000] : [100_000, 1_000_000]),
    associations: list(env.BENCH_AIDS, quick ? [10_000, 100_000] : [10_000, 100_000, 1_000_000]),
    out,
    profileDir
  }
}
