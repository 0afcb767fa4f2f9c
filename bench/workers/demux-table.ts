// A demux association table with many live associations: memory per
// association (after a full GC) and lookups per second at each checkpoint.
// Entries are what @fara/demux registers for every live association. Run with --expose-gc.
import { AssociationTable, randomAid } from '@fara/demux'
import { emit, log, workerArgs } from '../lib/worker.ts'
import { now } from '../lib/stats.ts'

const args = workerArgs<{ checkpoints: number[], lookupMs: number }>()
const gc = (globalThis as { gc?: () => void }).gc
if (gc == null) throw new Error('run with --expose-gc')
const total = Math.max(...args.checkpoints)
const SAMPLE = 1 << 16

function memory (): { rss: number, heapUsed: number } {
  gc!()
  gc!()
  const m = process.memoryUsage()
  return { rss: m.rss, heapUsed: m.heapUsed }
}

// lookup keys, allocated before the baseline so they do not count: the last
// SAMPLE AIds registered (hits), and as many fresh random ones (misses)
const hits = Array.from({ length: SAMPLE }, () => new Uint8Array(8))
const misses = Array.from({ length: SAMPLE }, () => randomAid())
const order = Uint32Array.from({ length: SAMPLE * 4 }, () => Math.floor(Math.random() * SAMPLE))
const table = new AssociationTable<{ kind: 'association' }>({ maxEntries: total + 1 })
// warm the lookup path before measuring anything
table.register({ kind: 'association' })
for (let i = 0; i < 10_000; i++) table.lookup(misses[i % SAMPLE]!)
table.clear()
const base = memory()
emit({ event: 'base', ...base })

function rate (keys: Uint8Array[], expectFound: boolean): number {
  let n = 0
  let found = 0
  const start = now()
  while (now() - start < args.lookupMs) {
    for (let i = 0; i < 4096; i++) {
      if (table.lookup(keys[order[(n + i) % order.length]! % keys.length]!) != null) found++
    }
    n += 4096
  }
  const perSecond = n / ((now() - start) / 1000)
  if (found !== (expectFound ? n : 0)) throw new Error(`lookups found ${found} of ${n}`)
  return perSecond
}

const checkpoints = [...args.checkpoints].sort((a, b) => a - b)
const started = now()
for (let held = 0; held < total;) {
  const aid = table.register({ kind: 'association' })
  hits[held % SAMPLE]!.set(aid)
  held++
  if (held === checkpoints[0]) {
    checkpoints.shift()
    const m = memory()
    const fillSeconds = (now() - started) / 1000
    // with fewer live associations than the sample, only the registered part of it hits
    const live = hits.slice(0, Math.min(held, SAMPLE))
    const hitRate = rate(live, true)
    const missRate = rate(misses, false)
    emit({ event: 'checkpoint', associations: held, ...m, fillSeconds, hitRate, missRate })
    log(`demux: ${held} associations, heap ${Math.round(m.heapUsed / 2 ** 20)} MiB`)
  }
}
emit({ event: 'result', size: table.size })
process.exit(0)
