// The test side of test/fixtures/lab-probe.ts: start it in a lab namespace, send commands,
// wait for its JSON lines.
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import type { ChildProcess } from 'node:child_process'
import type { Lab } from './types.ts'

const PROBE = fileURLToPath(new URL('../fixtures/lab-probe.ts', import.meta.url))

/** One JSON line of the probe. */
export type ProbeLine = Record<string, unknown> & { event: string }

/** Where a datagram or connection came from. */
export interface Endpoint { address: string, port: number }

/** A lab-probe process in one namespace. */
export interface Probe {
  readonly ns: string
  readonly child: ChildProcess
  /** Every line printed so far. */
  readonly lines: ProbeLine[]
  /** Send one command (see test/fixtures/lab-probe.ts). */
  command: (cmd: Record<string, unknown>) => void
  /** The first line (past or future) matching `match`; rejects if the probe exits first or after `timeoutMs`. */
  next: (match: (line: ProbeLine) => boolean, timeoutMs?: number) => Promise<ProbeLine>
  /** Resolves if no line matching `match` is printed within `deadlineMs`; rejects with the line otherwise. */
  absent: (match: (line: ProbeLine) => boolean, deadlineMs: number) => Promise<void>
  /** Open UDP socket `id` (port 0: any) and resolve with its port. */
  udp: (id: string, options?: { address?: string, port?: number }) => Promise<number>
  /** Send `data` from UDP socket `id`; resolves once the kernel took it. */
  send: (id: string, to: Endpoint, data: string) => Promise<void>
  /** Resolves with the source of the datagram `data` once socket `id` has received it. */
  received: (id: string, data: string, timeoutMs?: number) => Promise<Endpoint>
  /** Close stdin (the probe exits by itself), then SIGKILL if it has not after 2 s. */
  stop: () => Promise<void>
}

/** Start a probe in `ns` and wait until it is ready. */
export async function startProbe (lab: Lab, ns: string): Promise<Probe> {
  const child = lab.spawn(ns, [process.execPath, PROBE], { stdio: ['pipe', 'pipe', 'pipe'] })
  const lines: ProbeLine[] = []
  const waiters = new Set<() => void>()
  let stderr = ''
  let exited = false
  child.stderr!.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-4000) })
  createInterface({ input: child.stdout! }).on('line', (text) => {
    try {
      lines.push(JSON.parse(text) as ProbeLine)
    } catch {
      lines.push({ event: 'text', text })
    }
    for (const w of waiters) w()
  })
  const exit = new Promise<void>(resolve => {
    child.on('exit', () => { exited = true; resolve(); for (const w of waiters) w() })
  })

  const next = async (match: (line: ProbeLine) => boolean, timeoutMs = 10_000): Promise<ProbeLine> => new Promise((resolve, reject) => {
    const check = (): void => {
      const found = lines.find(match)
      if (found != null) { done(); resolve(found); return }
      if (exited) { done(); reject(new Error(`probe in ${ns} exited before the expected line; stderr:\n${stderr}`)) }
    }
    // a guard against a hung test, not a synchronisation: the line normally comes in milliseconds
    const timer = setTimeout(() => { done(); reject(new Error(`probe in ${ns}: no expected line within ${timeoutMs} ms; lines: ${JSON.stringify(lines)}; stderr:\n${stderr}`)) }, timeoutMs)
    const done = (): void => { clearTimeout(timer); waiters.delete(check) }
    waiters.add(check)
    check()
  })
  const command = (cmd: Record<string, unknown>): void => { child.stdin!.write(JSON.stringify(cmd) + '\n') }
  const failed = (id: string) => (l: ProbeLine): boolean => l.event === 'error' && l.id === id

  const probe: Probe = {
    ns,
    child,
    lines,
    command,
    next,
    async absent (match, deadlineMs) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          const found = lines.find(match)
          if (found != null) { done(); reject(new Error(`probe in ${ns}: unexpected line ${JSON.stringify(found)}`)); return }
          if (exited) { done(); reject(new Error(`probe in ${ns} exited, so it cannot tell what was not delivered; stderr:\n${stderr}`)) }
        }
        // the caller's explicit deadline for "not delivered" (its only timing assumption)
        const timer = setTimeout(() => { done(); resolve() }, deadlineMs)
        const done = (): void => { clearTimeout(timer); waiters.delete(check) }
        waiters.add(check)
        check()
      })
    },
    async udp (id, options = {}) {
      command({ op: 'udp', id, ...options })
      const line = await next(l => (l.event === 'udp-bound' && l.id === id) || failed(id)(l))
      if (line.event === 'error') throw new Error(`probe in ${ns}: udp ${id}: ${String(line.message)}`)
      return line.port as number
    },
    async send (id, to, data) {
      command({ op: 'send', id, address: to.address, port: to.port, data })
      const line = await next(l => (l.event === 'sent' && l.id === id && l.data === data) || failed(id)(l))
      if (line.event === 'error') throw new Error(`probe in ${ns}: send ${id} → ${to.address}:${to.port}: ${String(line.code)} ${String(line.message)}`)
    },
    async received (id, data, timeoutMs) {
      const line = await next(l => l.event === 'udp-message' && l.id === id && l.data === data, timeoutMs)
      return { address: line.remoteAddress as string, port: line.remotePort as number }
    },
    async stop () {
      if (exited) return
      child.stdin!.end()
      const timer = setTimeout(() => child.kill('SIGKILL'), 2_000)
      await exit
      clearTimeout(timer)
    }
  }
  await next(l => l.event === 'ready')
  return probe
}
