// Ownership and cleanup. A lab writes `<MARKER_DIR>/<prefix>.json` naming its owner process
// (pid and start time, so a recycled pid does not count as alive) BEFORE it creates its first
// namespace. Cleanup then has three layers: destroy() (normally from try/finally), a
// synchronous process.on('exit') hook for labs a process forgot, and sweepStaleLabs() for
// labs whose owner died without running either (SIGKILL, a crash in native code).
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { LAB_NAMESPACE, MARKER_DIR, NETNS_DIR } from '../constants.ts'
import { run } from './command.ts'

/** The content of a lab's owner marker. */
export interface Marker {
  pid: number
  /** Field 22 of /proc/<pid>/stat: tells a live owner from a recycled pid. */
  startTime: string
  created: string
  namespaces: string[]
}

/** Field 22 (starttime) of /proc/<pid>/stat, or null when there is no such process. */
export function processStartTime (pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // the command name (field 2) may hold spaces and parentheses: count from the last ')'
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null
  } catch {
    return null
  }
}

export function writeMarker (prefix: string, namespaces: string[]): void {
  mkdirSync(MARKER_DIR, { recursive: true, mode: 0o755 })
  const marker: Marker = { pid: process.pid, startTime: processStartTime(process.pid) ?? '', created: new Date().toISOString(), namespaces }
  writeFileSync(join(MARKER_DIR, `${prefix}.json`), JSON.stringify(marker, null, 2) + '\n')
}

export function removeMarker (prefix: string): void {
  rmSync(join(MARKER_DIR, `${prefix}.json`), { force: true })
}

function readMarker (prefix: string): Marker | null {
  try {
    return JSON.parse(readFileSync(join(MARKER_DIR, `${prefix}.json`), 'utf8')) as Marker
  } catch {
    return null
  }
}

/** Whether the process that wrote `marker` still runs. */
function ownerAlive (marker: Marker | null): boolean {
  if (marker == null || !Number.isInteger(marker.pid)) return false
  const start = processStartTime(marker.pid)
  return start != null && start === marker.startTime
}

/** Every named namespace on this machine that looks like a lab's (`fl<6 hex>-…`). */
export function labNamespaces (): string[] {
  try {
    return readdirSync(NETNS_DIR).filter(n => LAB_NAMESPACE.test(n)).sort()
  } catch {
    return []
  }
}

/**
 * Kill every process inside the namespaces (all started by the lab or its user), then delete them.
 * Deleting a namespace removes its veths, bridges, iptables rules, ipsets and conntrack table.
 * Synchronous, and never throws: it runs from process.on('exit') too.
 */
export function deleteNamespaces (namespaces: readonly string[]): void {
  const present = new Set(labNamespaces())
  for (const ns of [...namespaces].reverse()) {
    if (!present.has(ns)) continue
    const pids = run(['ip', 'netns', 'pids', ns]).stdout.split('\n').map(Number).filter(p => Number.isInteger(p) && p > 0)
    for (const pid of pids) {
      try { process.kill(pid, 'SIGKILL') } catch { /* already gone */ }
    }
    run(['ip', 'netns', 'del', ns])
  }
}

/**
 * Remove every lab whose owner process is gone: its namespaces and its marker.
 * Labs of live processes (this one included) are left alone. Returns the namespaces removed.
 * createLab() calls it first, so a lab killed by SIGKILL is cleaned up by the next run.
 */
export function sweepStaleLabs (): string[] {
  const byPrefix = new Map<string, string[]>()
  for (const ns of labNamespaces()) {
    const prefix = LAB_NAMESPACE.exec(ns)?.[1]
    if (prefix == null) continue
    byPrefix.set(prefix, [...(byPrefix.get(prefix) ?? []), ns])
  }
  let markers: string[] = []
  try { markers = readdirSync(MARKER_DIR).filter(f => f.endsWith('.json')).map(f => f.slice(0, -5)) } catch { /* no labs yet */ }
  for (const prefix of markers) if (!byPrefix.has(prefix)) byPrefix.set(prefix, [])

  const removed: string[] = []
  for (const [prefix, namespaces] of byPrefix) {
    // a namespace with no marker is stale too: the marker is written before the first namespace
    if (ownerAlive(readMarker(prefix))) continue
    deleteNamespaces(namespaces)
    removeMarker(prefix)
    removed.push(...namespaces)
  }
  return removed
}

/** Synchronous teardown functions of the labs this process still owns. */
const live = new Map<string, () => void>()
let hooked = false

/** Have `teardown` run at process exit unless `forget(prefix)` is called first. */
export function remember (prefix: string, teardown: () => void): void {
  live.set(prefix, teardown)
  if (hooked) return
  hooked = true
  process.on('exit', () => {
    for (const teardown of [...live.values()]) teardown()
  })
}

export function forget (prefix: string): void {
  live.delete(prefix)
}
