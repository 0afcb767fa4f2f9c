// Bench workers: each figure's server and client run in their own Node
// processes (bench/workers/*.ts, run by type stripping), speaking JSON lines:
// one object per line on stdout, commands as JSON lines on stdin.
import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import type { ChildProcess } from 'node:child_process'

/** One JSON line printed by a worker. */
export type Line = Record<string, unknown>

/** A worker process. */
export interface Worker {
  readonly name: string
  readonly child: ChildProcess
  /** The first line (already printed or still to come) that matches; rejects if the worker exits first or after `timeoutMs`. */
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
}

const running = new Set<Worker>()
let askId = 0

/** Start `bench/workers/<name>.ts` with `args` as one JSON argument. */
export function startWorker (name: string, args: unknown = {}, options: WorkerOptions = {}): Worker {
  const file = fileURLToPath(new URL(`../workers/${name}.ts`, import.meta.url))
  const child = spawn(process.execPath, [...(options.nodeFlags ?? []), file, JSON.stringify(args)], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, ...options.env }
  })
  const lines: Line[] = []
  const waiters = new Set<() => void>()
  let stderr = ''
  let exitCode: number | null | undefined
  child.stderr.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-8000) })
  createInterface({ input: child.stdout }).on('line', (text) => {
    let line: Line
    try {
      line = JSON.parse(text) as Line
    } catch {
      line = { event: 'text', text }
    }
    if (line.event === 'log') process.stderr.write(`  [${name}] ${String(line.text)}\n`)
    lines.push(line)
    for (const w of [...waiters]) w()
  })
  // an orchestrator that exits must not leave its workers behind
  child.stdin.on('error', () => {})
  const exited = new Promise<number | null>(resolve => {
    child.on('exit', (code, signal) => {
      exitCode = code ?? (signal == null ? null : -1)
      resolve(exitCode)
      for (const w of [...waiters]) w()
    })
  })

  const next: Worker['next'] = async (match, timeoutMs = 120_000) => new Promise((resolve, reject) => {
    const check = (): void => {
      const index = lines.findIndex(match)
      if (index >= 0) { done(); resolve(lines.splice(index, 1)[0]!); return }
      if (exitCode !== undefined) {
        done()
        reject(new Error(`bench worker ${name} exited (${exitCode}) before the expected line; stderr:\n${stderr}`))
      }
    }
    const timer = setTimeout(() => {
      done()
      reject(new Error(`bench worker ${name}: no expected line within ${timeoutMs} ms; stderr:\n${stderr}`))
    }, timeoutMs)
    const done = (): void => { clearTimeout(timer); waiters.delete(check) }
    waiters.add(check)
    check()
  })

  const worker: Worker = {
    name,
    child,
    next,
    exited,
    async ask (command, timeoutMs) {
      const id = ++askId
      child.stdin.write(`${JSON.stringify({ ...command, id })}\n`)
      const answer = await next(l => l.reply === id, timeoutMs)
      if (answer.error != null) throw new Error(`bench worker ${name}: ${String(answer.error)}`)
      return answer
    },
    async stop () {
      running.delete(worker)
      if (child.exitCode != null || child.signalCode != null) return child.exitCode
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000)
      const code = await exited
      clearTimeout(timer)
      return code
    }
  }
  running.add(worker)
  return worker
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
  return [...running].map(w => w.child.pid).filter((pid): pid is number => pid != null)
}

/** Stop every worker still running. */
export async function stopAllWorkers (): Promise<void> {
  await Promise.all([...running].map(async w => w.stop()))
}

/** Kill every worker at once (synchronous: for process exit handlers). */
export function killAllWorkers (): void {
  for (const w of running) w.child.kill('SIGKILL')
}
