// The one child-process harness of the tests and the benchmarks: every line a program
// prints is kept, and a caller waits for a line (an event), never for time. The front ends
// (test/helpers/process.ts for test fixtures, test/fixtures/cli-process.ts for `fara` and real
// programs, bench/lib/process.ts for bench workers, @fara/nat-lab's probe) build on `watch`.
import { spawnSync } from 'node:child_process'
import { createInterface } from 'node:readline'
import type { ChildProcess } from 'node:child_process'

/** One line a process printed: the stream it came on, its text, and its JSON object if it is one. */
export interface Line {
  stream: 'stdout' | 'stderr'
  text: string
  json: Record<string, unknown> | undefined
}

/** A child process whose output is read line by line. */
export interface Watched {
  readonly name: string
  readonly child: ChildProcess
  /** Every line printed so far, both streams, in order. */
  readonly lines: Line[]
  /**
   * The first line (past or future) matching `match`; rejects if the process exits first or
   * after `timeoutMs` (default 30 s). With `take`, the line leaves `lines`: a later wait does not
   * find it again.
   */
  line: (match: (line: Line) => boolean, timeoutMs?: number, options?: { take?: boolean }) => Promise<Line>
  /** Resolves if no line matching `match` is printed within `deadlineMs`; rejects with the line, or if the process exits. */
  absent: (match: (line: Line) => boolean, deadlineMs: number) => Promise<void>
  /** The exit code (null if killed by a signal or never started) once it exits. */
  readonly exited: Promise<number | null>
  /** Send `signal` (default SIGTERM), then SIGKILL if it is still there after `killAfterMs`; resolves with the exit code. */
  stop: (signal?: NodeJS.Signals) => Promise<number | null>
  /** What it printed (stderr lines marked `! `), at most the last `maxChars` characters. */
  transcript: (maxChars?: number) => string
}

/** Options for {@link watch}. */
export interface WatchOptions {
  /** Called with every line as it comes, before any wait sees it. */
  onLine?: (line: Line) => void
  /** The group that stops (or kills) it with the others; `stop()` takes it out. */
  group?: ProcessGroup
  /** How long `stop()` waits after its signal before SIGKILL (default 5000 ms). */
  killAfterMs?: number
}

/** The JSON object `text` holds, or undefined (not JSON, or not an object). */
export function jsonObject (text: string): Record<string, unknown> | undefined {
  try {
    const parsed: unknown = JSON.parse(text)
    return parsed != null && typeof parsed === 'object' && !Array.isArray(parsed) ? parsed as Record<string, unknown> : undefined
  } catch {
    return undefined
  }
}

/** True if `command` can be run (`command -v`): a test that needs a program skips without it. */
export function hasCommand (command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0
}

/** Failure messages carry this much of a transcript. */
const MESSAGE_CHARS = 8_000

/** Read `child`'s stdout and stderr (those that are pipes) line by line. */
export function watch (name: string, child: ChildProcess, options: WatchOptions = {}): Watched {
  const lines: Line[] = []
  const waiters = new Set<() => void>()
  let ended: string | undefined
  const wake = (): void => { for (const w of [...waiters]) w() }
  for (const stream of ['stdout', 'stderr'] as const) {
    const source = child[stream]
    if (source == null) continue
    createInterface({ input: source }).on('line', (text) => {
      const line: Line = { stream, text, json: jsonObject(text) }
      options.onLine?.(line)
      lines.push(line)
      wake()
    })
  }
  const exited = new Promise<number | null>(resolve => {
    // `ended` is set before waking the waiters, so a wait in progress sees the exit at once
    child.on('exit', (code, signal) => { ended = String(code ?? signal); resolve(code); wake() })
    child.on('error', (err) => { ended = err.message; resolve(null); wake() })
  })
  const transcript = (maxChars = Infinity): string => {
    const all = lines.map(l => `${l.stream === 'stderr' ? '! ' : '  '}${l.text}`).join('\n')
    return all.length > maxChars ? `…${all.slice(-maxChars)}` : all
  }
  const output = (): string => `output:\n${transcript(MESSAGE_CHARS)}`

  const watched: Watched = {
    name,
    child,
    lines,
    exited,
    transcript,
    async line (match, timeoutMs = 30_000, lineOptions = {}) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          const index = lines.findIndex(match)
          if (index >= 0) {
            done()
            resolve(lineOptions.take === true ? lines.splice(index, 1)[0]! : lines[index]!)
            return
          }
          if (ended !== undefined) { done(); reject(new Error(`${name} exited (${ended}) before the expected line; ${output()}`)) }
        }
        // a guard against a hung test, not a synchronisation: the line normally comes long before
        const timer = setTimeout(() => { done(); reject(new Error(`${name}: no expected line within ${timeoutMs} ms; ${output()}`)) }, timeoutMs)
        const done = (): void => { clearTimeout(timer); waiters.delete(check) }
        waiters.add(check)
        check()
      })
    },
    async absent (match, deadlineMs) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          const found = lines.find(match)
          if (found != null) { done(); reject(new Error(`${name}: unexpected line ${found.text}`)); return }
          if (ended !== undefined) { done(); reject(new Error(`${name} exited (${ended}), so it cannot tell what was not printed; ${output()}`)) }
        }
        // the caller's explicit deadline for "not printed" (its only timing assumption)
        const timer = setTimeout(() => { done(); resolve() }, deadlineMs)
        const done = (): void => { clearTimeout(timer); waiters.delete(check) }
        waiters.add(check)
        check()
      })
    },
    async stop (signal = 'SIGTERM') {
      options.group?.delete(watched)
      if (child.exitCode != null || child.signalCode != null) return child.exitCode
      child.kill(signal)
      const timer = setTimeout(() => child.kill('SIGKILL'), options.killAfterMs ?? 5_000)
      const code = await exited
      clearTimeout(timer)
      return code
    }
  }
  options.group?.add(watched)
  return watched
}

/** The processes one harness started, to stop them all after a test (or kill them as the caller exits). */
export class ProcessGroup {
  readonly #running = new Set<Watched>()

  /** Count `process` in (done by {@link watch} with `group`). */
  add (process: Watched): void { this.#running.add(process) }

  /** Count `process` out (done by its `stop()`). */
  delete (process: Watched): void { this.#running.delete(process) }

  /** Process ids of those running now. */
  pids (): number[] {
    return [...this.#running].map(p => p.child.pid).filter((pid): pid is number => pid != null)
  }

  /** Stop every one still running (for afterEach/afterAll, also after a failed test). */
  async stopAll (): Promise<void> {
    await Promise.all([...this.#running].map(async p => p.stop()))
  }

  /** SIGKILL every one at once (synchronous: for process exit handlers). */
  killAll (): void {
    for (const p of this.#running) p.child.kill('SIGKILL')
  }
}
