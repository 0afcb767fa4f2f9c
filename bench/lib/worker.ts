// The worker side of bench/lib/process.ts: read the JSON argument, print JSON
// lines, answer commands read from stdin, exit cleanly on SIGTERM.
import { createInterface } from 'node:readline'
import { tuneGc } from '@fara/sdk'

// Every worker, raw libp2p's as well as Fara's, runs with the SDK's GC setting
// (bench/README.md#the-garbage-collector-and-buffers); BENCH_GC=node-defaults
// leaves Node's default, as bench/gc.ts does to compare the two.
if (process.env.BENCH_GC !== 'node-defaults') tuneGc()

/** The worker's JSON argument (argv[2]). */
export function workerArgs<T> (): T {
  return JSON.parse(process.argv[2] ?? '{}') as T
}

/** Print one JSON line. */
export function emit (line: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(line)}\n`)
}

/** A progress note, shown by the orchestrator on stderr. */
export function log (text: string): void {
  emit({ event: 'log', text })
}

/** Answer commands from the orchestrator: the handler's result is sent back as `{ reply: id, ...result }`. */
export function onCommand (handler: (command: Record<string, unknown>) => Promise<Record<string, unknown>>): void {
  createInterface({ input: process.stdin }).on('line', (text) => {
    let command: Record<string, unknown>
    try {
      command = JSON.parse(text) as Record<string, unknown>
    } catch {
      return
    }
    handler(command).then(
      (result) => { emit({ ...result, reply: command.id }) },
      (err: Error) => { emit({ reply: command.id, error: `${err.name}: ${err.message}` }) }
    )
  })
}

/** Run `cleanup` and exit on SIGTERM/SIGINT, or when the orchestrator's stdin closes. */
export function onStop (cleanup: () => Promise<void>): void {
  let stopping = false
  const stop = (): void => {
    if (stopping) return
    stopping = true
    const force = setTimeout(() => process.exit(1), 5_000)
    force.unref()
    cleanup().then(() => process.exit(0), () => process.exit(1))
  }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
  process.stdin.on('end', stop)
  process.stdin.resume()
}

/** The largest resident set this process has had, in MiB. */
export function maxRssMiB (): number {
  return Math.round(process.resourceUsage().maxRSS / 1024)
}

/** CPU time (user + system) this process used since `since`, in ms. */
export function cpuMs (since?: NodeJS.CpuUsage): number {
  const u = process.cpuUsage(since)
  return (u.user + u.system) / 1000
}
