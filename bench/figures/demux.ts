// The demux with many live associations: bytes per association and lookups
// per second (hits, and misses: AIds nobody holds, what a sprayer sends).
import { startWorker } from '../lib/process.ts'
import { round } from '../lib/stats.ts'
import type { BenchContext } from '../lib/context.ts'

function count (n: number): string {
  return n >= 1_000_000 && n % 1_000_000 === 0 ? `${n / 1_000_000}M` : (n >= 1_000 && n % 1_000 === 0 ? `${n / 1_000}k` : String(n))
}

export async function demux (ctx: BenchContext): Promise<void> {
  const worker = startWorker('demux-table', { checkpoints: ctx.config.associations, lookupMs: ctx.config.quick ? 200 : 500 }, {
    nodeFlags: ['--expose-gc', '--max-old-space-size=8192']
  })
  try {
    const base = await worker.next(l => l.event === 'base', 60_000)
    for (const n of [...ctx.config.associations].sort((a, b) => a - b)) {
      const c = await worker.next(l => l.event === 'checkpoint' && l.associations === n, 600_000)
      const heap = ((c.heapUsed as number) - (base.heapUsed as number)) / n
      const rss = ((c.rss as number) - (base.rss as number)) / n
      const size = `${count(n)} associations`
      ctx.add({
        family: 'demux',
        id: `demux.lookups.${n}`,
        label: 'AId lookups per second (live AIds)',
        size,
        value: c.hitRate as number,
        unit: 'lookups/s',
        detail: `unknown AIds: ${round(c.missRate as number, 3).toLocaleString('en-US')} lookups/s`
      })
      ctx.add({
        family: 'demux',
        id: `demux.bytes.${n}`,
        label: 'bytes per live association in the table',
        size,
        value: heap,
        unit: 'B of JS heap',
        detail: `${round(rss, 3)} B of RSS; ${round(c.fillSeconds as number, 3)} s to register them all`
      })
    }
    await worker.next(l => l.event === 'result', 60_000)
  } finally {
    await worker.stop()
  }
}
