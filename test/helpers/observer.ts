// Shared by the unobservable-layer tests (test/unobservable-*.test.ts): what they need to run
// (and how they skip or fail without it), programs inside a lab namespace, and what an
// on-path observer extracts from a capture.
import { execFile, spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { promisify } from 'node:util'
import { labPrerequisites } from '@fara/nat-lab'
import { hasCommand, until } from '@fara/testkit'
import { FARA_BIN, startProgram } from '../fixtures/cli-process.ts'
import type { Program } from '../fixtures/cli-process.ts'
import type { Connection, Direction } from './tcp-flows.ts'
import type { Tcpdump } from './tools.ts'

const run = promisify(execFile)

/**
 * What is missing to run `what` (root, the NAT lab's tools, tcpdump and `tools`), or `''`.
 * Under FARA_REQUIRE_CAPTURE=1 or FARA_REQUIRE_LAB=1 (CI) a missing piece throws instead of skipping.
 */
export function missingFor (what: string, tools: readonly string[] = []): string {
  const missing = [
    ...labPrerequisites(),
    ...(spawnSync('tcpdump', ['--version']).status === 0 ? [] : ['tcpdump (apt-get install tcpdump)']),
    ...tools.filter(t => !hasCommand(t)).map(t => `${t} (apt-get install ${t})`)
  ].join(' and ')
  if (missing === '') return ''
  const required = ['FARA_REQUIRE_CAPTURE', 'FARA_REQUIRE_LAB'].filter(v => process.env[v] === '1')
  if (required.length > 0) throw new Error(`${what} required (${required.map(v => `${v}=1`).join(', ')}) but ${missing} missing`)
  console.warn(`SKIPPING ${what}: needs ${missing}`)
  return missing
}

/** `argv` inside network namespace `ns`. */
export const inNs = (ns: string, argv: readonly string[]): [string, string[]] => ['ip', ['netns', 'exec', ns, ...argv]]

/** `fara args…` in `ns`, its output kept line by line (stopped by stopAllPrograms). */
export function startFaraIn (ns: string, name: string, args: readonly string[], env: Record<string, string>): Program {
  const [cmd, argv] = inNs(ns, [process.execPath, FARA_BIN, ...args])
  return startProgram(name, cmd, argv, { env })
}

/** Run `argv` in `ns` to its end; stdout as bytes (rejects on a non-zero exit). */
export async function runIn (ns: string, argv: readonly string[], timeoutMs = 60_000): Promise<Buffer> {
  const [cmd, args] = inNs(ns, argv)
  const { stdout } = await run(cmd, args, { encoding: 'buffer', maxBuffer: 64 * 1024 * 1024, timeout: timeoutMs })
  return stdout
}

/** Run `fn` over `items`, at most `limit` at a time; results in order. */
export async function pool<T, R> (items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length)
  let next = 0
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++
      results[i] = await fn(items[i]!)
    }
  }))
  return results
}

/** A short description of a direction, for failure messages. */
export const describeDirection = (d: Direction): string => `${d.src}:${d.srcPort} > ${d.dst}:${d.dstPort} (${d.bytes} bytes)`

/**
 * The initiator's first flight: every byte it sent before the listener's first byte
 * (in capture order), or `undefined` if the listener never sent one.
 */
export function firstFlight (c: Connection): Buffer | undefined {
  const answer = c.listener.segments.find(s => s.size > 0)
  if (answer == null || !c.initiator.synSeen) return undefined
  const end = Math.max(0, ...c.initiator.segments.filter(s => s.size > 0 && s.index < answer.index).map(s => s.offset + s.size))
  return end === 0 ? undefined : c.initiator.payload.subarray(0, end)
}

const SENTINEL_SCRIPT = `
const net = require('node:net')
const server = net.createServer(s => s.once('data', () => { s.destroy(); server.close() }))
server.listen(0, '127.0.0.1', () => {
  const port = server.address().port
  const c = net.connect(port, '127.0.0.1', () => { c.end(process.argv[1]); console.log(port) })
})`

/**
 * Stop a capture of `iface` in `ns` only once it holds everything sent before: a sentinel TCP
 * connection in `ns` carries a random token, and tcpdump is stopped when the token is in its file
 * (packets of one interface are captured in order). Returns the sentinel's listening port, whose
 * connection the caller leaves out of its analysis.
 */
export async function stopCapture (tcpdump: Tcpdump, ns: string, timeoutMs = 10_000): Promise<number> {
  const token = Buffer.from(`capture-sentinel-${randomBytes(12).toString('hex')}`)
  try {
    const port = Number((await runIn(ns, [process.execPath, '-e', SENTINEL_SCRIPT, token.toString()])).toString().trim())
    await until(async () => (await readFile(tcpdump.file)).includes(token), `tcpdump to write the sentinel packet to ${tcpdump.file}`, { timeoutMs, intervalMs: 50 })
    return port
  } finally {
    await tcpdump.stop()
  }
}
