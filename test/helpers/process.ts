import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import type { ChildProcess } from 'node:child_process'

/** A test program in its own process, speaking JSON lines on stdout. */
export interface Fixture {
  readonly child: ChildProcess
  /** Every JSON line printed so far. */
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

const running = new Set<Fixture>()

/** Options for {@link startFixture}. */
export interface FixtureOptions {
  /** Run inside this network namespace (`ip netns exec`), e.g. a NAT lab host. */
  netns?: string
  /** Give it a stdin to {@link Fixture.send} commands to (default: none). */
  stdin?: boolean
}

/** Start `test/fixtures/<name>.ts` with Node (type stripping) and `args` as one JSON argument. */
export function startFixture (name: string, args: unknown = {}, options: FixtureOptions = {}): Fixture {
  const file = fileURLToPath(new URL(`../fixtures/${name}.ts`, import.meta.url))
  const argv = [process.execPath, file, JSON.stringify(args)]
  const [command, ...rest] = options.netns == null ? argv : ['ip', 'netns', 'exec', options.netns, ...argv]
  const child = spawn(command!, rest, { stdio: [options.stdin === true ? 'pipe' : 'ignore', 'pipe', 'pipe'] })
  const lines: Array<Record<string, unknown>> = []
  const waiters = new Set<() => void>()
  let stderr = ''
  child.stderr!.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-8000) })
  createInterface({ input: child.stdout! }).on('line', (line) => {
    try {
      lines.push(JSON.parse(line) as Record<string, unknown>)
    } catch {
      lines.push({ event: 'text', text: line })
    }
    for (const w of waiters) w()
  })
  let exitCode: number | null | undefined
  const exited = new Promise<number | null>(resolve => {
    child.on('exit', (code) => {
      // set before waking waiters, so a wait in progress sees the exit at once
      exitCode = code
      resolve(code)
      for (const w of waiters) w()
    })
  })

  const fixture: Fixture = {
    child,
    lines,
    exited,
    async next (match, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          const found = lines.find(match)
          if (found != null) { done(); resolve(found); return }
          if (exitCode !== undefined) { done(); reject(new Error(`${name} exited (${exitCode}) before the expected line; stderr:\n${stderr}`)) }
        }
        const timer = setTimeout(() => { done(); reject(new Error(`${name}: no expected line within ${timeoutMs} ms; lines: ${JSON.stringify(lines)}; stderr:\n${stderr}`)) }, timeoutMs)
        const done = (): void => { clearTimeout(timer); waiters.delete(check) }
        waiters.add(check)
        check()
      })
    },
    send (line) {
      if (child.stdin == null) throw new TypeError(`${name} was started without stdin`)
      child.stdin.write(`${JSON.stringify(line)}\n`)
    },
    async stop () {
      running.delete(fixture)
      if (child.exitCode != null || child.signalCode != null) return child.exitCode
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000)
      const code = await exited
      clearTimeout(timer)
      return code
    }
  }
  running.add(fixture)
  return fixture
}

/** Stop every fixture still running (for afterEach/afterAll). */
export async function stopAll (): Promise<void> {
  await Promise.all([...running].map(async f => f.stop()))
}
