// Bench workers: each figure's server and client run in their own Node
// processes (bench/workers/*.ts, run by type stripping), speaking JSON lines:
// one object per line on stdout, commands as JSON lines on stdin. Built on
// @fara/testkit's harness.
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { ProcessGroup, watch } from '@fara/testkit'
import type { Line as OutputLine } from '@fara/testkit'
import type { ChildProcess } from 'node:child_process'

/** One JSON line printed by a worker. */
export type Line = Record<string, unknown>

/** A worker process. */
export interface Worker {
  readonly name: string
  readonly child: ChildProcess
  /** The first line (already printed or still to come) that matches, taken out of the worker's lines; rejects if the worker exits first or after `timeoutMs`. */
  next: (match: (line: Line) => boolean, timeoutMs?: number) => Promise<Line>
  /** Send a command (one JSON line on stdin) and wait for the line that answers it (`{ reply: <id> }`). */
  ask: (command: Line, timeoutMs?: number) => Promise<Line>
  /** Resolves with the exit code when the worker exits. */
  readonly exited: Promise<number | null>
  /** SIGTERM, then SIGKILL after 5 s; resolves with the exit code. */
  stop: () => Promise<number | null>
}

/** Options for {@link startWorker}. */
export interface WorkerOptions {
  /** Extra Node.js flags, e.g. `--expose-gc` or `--cpu-prof`. */
  nodeFlags?: string[]
  /** Extra environment variables. */
  env?: Record<string, string>
  /** Run this file with these arguments instead of bench/workers/<name>.ts with the JSON one (the tunnel family runs the `fara` command so). */
  command?: { file: string, args: string[] }
}

const running = new ProcessGroup()
let askId = 0

/** A stdout line as a worker's record: its JSON object, or `{ event: 'text', text }`. */
const record = (line: OutputLine): Line => line.json ?? { event: 'text', text: line.text }

/** Start `bench/workers/<name>.ts` with `args` as one JSON argument. */
export function startWorker (name: string, args: unknown = {}, options: WorkerOptions = {}): Worker {
  const file = options.command?.file ?? fileURLToPath(new URL(`../workers/${name}.ts`, import.meta.url))
  const child = spawn(process.execPath, [...(options.nodeFlags ?? []), file, ...(options.command?.args ?? [JSON.stringify(args)])], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, ...options.env }
  })
  // an orchestrator that exits must not leave its workers behind
  child.stdin.on('error', () => {})
  const watched = watch(`bench worker ${name}`, child, {
    group: running,
    onLine: (line) => { if (line.stream === 'stdout' && line.json?.event === 'log') process.stderr.write(`  [${name}] ${String(line.json.text)}\n`) }
  })
  const next: Worker['next'] = async (match, timeoutMs = 120_000) =>
    record(await watched.line(l => l.stream === 'stdout' && match(record(l)), timeoutMs, { take: true }))

  return {
    name,
    child,
    next,
    exited: watched.exited,
    async ask (command, timeoutMs) {
      const id = ++askId
      child.stdin.write(`${JSON.stringify({ ...command, id })}\n`)
      const answer = await next(l => l.reply === id, timeoutMs)
      if (answer.error != null) throw new Error(`bench worker ${name}: ${String(answer.error)}`)
      return answer
    },
    async stop () { return watched.stop() }
  }
}

/** Run a worker to completion and return its `result` line (it must print `{ event: 'result', ... }` and exit). */
export async function runWorker (name: string, args: unknown = {}, options: WorkerOptions & { timeoutMs?: number } = {}): Promise<Line> {
  const worker = startWorker(name, args, options)
  try {
    const result = await worker.next(l => l.event === 'result', options.timeoutMs ?? 180_000)
    // let it exit by itself (a CPU profile is written at exit), within reason
    await Promise.race([worker.exited, new Promise(resolve => setTimeout(resolve, 10_000).unref())])
    return result
  } finally {
    await worker.stop()
  }
}

/** Process ids of the workers running now. */
export function workerPids (): number[] {
  return running.pids()
}

/** Stop every worker still running. */
export async function stopAllWorkers (): Promise<void> {
  await running.stopAll()
}

/** Kill every worker at once (synchronous: for process exit handlers). */
export function killAllWorkers (): void {
  running.killAll()
}
