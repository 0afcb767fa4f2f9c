// tuneGc (src/runtime.ts): with it, a process that allocates a buffer per MiB
// it moves no longer runs a full collection for every 64 MiB of them. Each
// case runs in a child process of its own, since the setting is process-wide
// and cannot be undone.
import { execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { gcTuningApplies } from '../src/index.ts'

const runtime = fileURLToPath(new URL('../src/runtime.ts', import.meta.url))

/** Full (mark-compact) collections while a child allocates 1 024 buffers of 1 MiB, each dead at once. */
function fullCollections (tune: boolean): { tuning: string | null, major: number } {
  const script = `
    import { PerformanceObserver, constants } from 'node:perf_hooks'
    import { tuneGc } from ${JSON.stringify(runtime)}
    const tuning = ${tune} ? tuneGc() : null
    let major = 0
    const count = (entries) => { for (const entry of entries) if (entry.detail.kind === constants.NODE_PERFORMANCE_GC_MAJOR) major++ }
    const observer = new PerformanceObserver((list) => { count(list.getEntries()) })
    observer.observe({ entryTypes: ['gc'] })
    let last
    for (let i = 0; i < 1024; i++) { last = Buffer.allocUnsafeSlow(1 << 20); last[i] = 1 }
    // Node queues each collection's entry for the next turn: take what is queued then
    setImmediate(() => { count(observer.takeRecords()); observer.disconnect(); console.log(JSON.stringify({ tuning, major })) })
  `
  return JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' })) as { tuning: string | null, major: number }
}

describe('tuneGc', () => {
  it.runIf(gcTuningApplies(process.versions.v8))('stops the full collections that new buffers start (V8 13)', () => {
    const plain = fullCollections(false)
    const tuned = fullCollections(true)
    expect(tuned.tuning).toBe('tuned')
    // Node's default: a full collection per 64 MiB of buffers since the last, 10 or so here
    expect(plain.major).toBeGreaterThanOrEqual(4)
    expect(tuned.major).toBeLessThanOrEqual(Math.floor(plain.major / 4))
  })

  it('applies to V8 13 only: older ones lack the setting, later ones have it on already', () => {
    expect(gcTuningApplies('13.6.233.10-node.28')).toBe(true)
    expect(gcTuningApplies('12.4.254.21-node.33')).toBe(false)
    expect(gcTuningApplies('14.1.146.11-node.14')).toBe(false)
    expect(gcTuningApplies('1.3.0')).toBe(false)
  })
})
