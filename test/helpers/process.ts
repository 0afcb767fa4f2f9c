// Test fixtures (test/fixtures/<name>.ts) in their own processes, speaking JSON lines on
// stdout; built on @fara/testkit's harness.
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { ProcessGroup, watch } from '@fara/testkit'
import type { Line } from '@fara/testkit'
import type { ChildProcess } from 'node:child_process'

/** A test program in its own process, speaking JSON lines on stdout. */
export interface Fixture {
  readonly child: ChildProcess
  /** Every JSON line printed so far (a line that is not JSON: `{ event: 'text', text }`). */
  readonly lines: Array<Record<string, unknown>>
  /** The first line (past or future) matching `match`; rejects if the process exits first or after `timeoutMs`. */
  next: (match: (line: Record<string, unknown>) => boolean, timeoutMs?: number) => Promise<Record<string, unknown>>
  /** Wait for the process to exit by itself. */
  exited: Promise<number | null>
  /** SIGTERM, then SIGKILL if it is still there after 5 s; resolves with the exit code. */
  stop: () => Promise<number | null>
  /** Write one JSON line to its stdin (only with `stdin: true`). */
  send: (line: Record<string, unknown>) => void
}

const running = new ProcessGroup()

/** Options for {@link startFixture}. */
export interface FixtureOptions {
  /** Run inside this network namespace (`ip netns exec`), e.g. a NAT lab host. */
  netns?: string
  /** Give it a stdin to {@link Fixture.send} commands to (default: none). */
  stdin?: boolean
}

/** A stdout line as a fixture's record: its JSON object, or `{ event: 'text', text }`. */
const record = (line: Line): Record<string, unknown> => line.json ?? { event: 'text', text: line.text }

/** Start `test/fixtures/<name>.ts` with Node (type stripping) and `args` as one JSON argument. */
export function startFixture (name: string, args: unknown = {}, options: FixtureOptions = {}): Fixture {
  const file = fileURLToPath(new URL(`../fixtures/${name}.ts`, import.meta.url))
  const argv = [process.execPath, file, JSON.stringify(args)]
  const [command, ...rest] = options.netns == null ? argv : ['ip', 'netns', 'exec', options.netns, ...argv]
  const child = spawn(command!, rest, { stdio: [options.stdin === true ? 'pipe' : 'ignore', 'pipe', 'pipe'] })
  const lines: Array<Record<string, unknown>> = []
  const watched = watch(name, child, {
    group: running,
    onLine: (line) => { if (line.stream === 'stdout') lines.push(record(line)) }
  })
  return {
    child,
    lines,
    exited: watched.exited,
    async next (match, timeoutMs) {
      return record(await watched.line(l => l.stream === 'stdout' && match(record(l)), timeoutMs))
    },
    send (line) {
      if (child.stdin == null) throw new TypeError(`${name} was started without stdin`)
      child.stdin.write(`${JSON.stringify(line)}\n`)
    },
    async stop () { return watched.stop() }
  }
}

/** Stop every fixture still running (for afterEach/afterAll). */
export async function stopAll (): Promise<void> {
  await running.stopAll()
}
