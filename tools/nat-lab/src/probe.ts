// The test side of internal/probe-program.ts: start it in a lab namespace, send commands,
// wait for its JSON lines (with @fara/testkit's harness).
import { fileURLToPath } from 'node:url'
import { watch } from '@fara/testkit'
import type { Line } from '@fara/testkit'
import type { ChildProcess } from 'node:child_process'
import type { Lab } from './types.ts'

const PROBE = fileURLToPath(new URL('./internal/probe-program.ts', import.meta.url))

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
  /** Send one command (see internal/probe-program.ts). */
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

/** A stdout line as a probe line: its JSON object, or `{ event: 'text', text }`. */
const record = (line: Line): ProbeLine => (line.json ?? { event: 'text', text: line.text }) as ProbeLine

/** Start a probe in `ns` and wait until it is ready. */
export async function startProbe (lab: Lab, ns: string): Promise<Probe> {
  const child = lab.spawn(ns, [process.execPath, PROBE], { stdio: ['pipe', 'pipe', 'pipe'] })
  const lines: ProbeLine[] = []
  const watched = watch(`probe in ${ns}`, child, { onLine: (line) => { if (line.stream === 'stdout') lines.push(record(line)) } })
  const ofProbe = (match: (line: ProbeLine) => boolean) => (l: Line): boolean => l.stream === 'stdout' && match(record(l))
  const next = async (match: (line: ProbeLine) => boolean, timeoutMs = 10_000): Promise<ProbeLine> => record(await watched.line(ofProbe(match), timeoutMs))
  const command = (cmd: Record<string, unknown>): void => { child.stdin!.write(JSON.stringify(cmd) + '\n') }
  const failed = (id: string) => (l: ProbeLine): boolean => l.event === 'error' && l.id === id

  const probe: Probe = {
    ns,
    child,
    lines,
    command,
    next,
    async absent (match, deadlineMs) {
      await watched.absent(ofProbe(match), deadlineMs)
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
      if (child.exitCode != null || child.signalCode != null) return
      child.stdin!.end()
      const timer = setTimeout(() => child.kill('SIGKILL'), 2_000)
      await watched.exited
      clearTimeout(timer)
    }
  }
  await next(l => l.event === 'ready')
  return probe
}
