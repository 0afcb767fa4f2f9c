// Registrations a rendezvous point holds per GiB of RSS: a point process
// filled with N typical records; RSS after a full GC at each checkpoint.
import { startWorker } from '../lib/process.ts'
import { round } from '../lib/stats.ts'
import type { BenchContext } from '../lib/context.ts'

const GiB = 2 ** 30

function count (n: number): string {
  return n >= 1_000_000 && n % 1_000_000 === 0 ? `${n / 1_000_000}M` : (n >= 1_000 && n % 1_000 === 0 ? `${n / 1_000}k` : String(n))
}

export async function records (ctx: BenchContext): Promise<void> {
  const holder = startWorker('records-holder', { checkpoints: ctx.config.records }, { nodeFlags: ['--expose-gc', '--max-old-space-size=16384'] })
  try {
    const base = await holder.next(l => l.event === 'base', 60_000)
    const baseRss = base.rss as number
    for (const n of [...ctx.config.records].sort((a, b) => a - b)) {
      const c = await holder.next(l => l.event === 'checkpoint' && l.records === n, 900_000)
      const rss = c.rss as number
      const perRecord = (rss - baseRss) / n
      const heapPerRecord = ((c.heapUsed as number) - (base.heapUsed as number)) / n
      const size = `${count(n)} records`
      ctx.add({
        family: 'records',
        id: `records.rss.${n}`,
        label: 'RSS of a point holding the records',
        size,
        value: rss / 2 ** 20,
        unit: 'MiB',
        detail: `${round(perRecord, 3)} B of RSS per record over the empty point (${round(baseRss / 2 ** 20, 3)} MiB), ${round(heapPerRecord, 3)} B of JS heap; filled in ${round(c.seconds as number, 3)} s`
      })
      if (n === 1_000_000 && rss > GiB) {
        ctx.note(`Records target missed: 1M records take ${round(rss / GiB, 3)} GiB of RSS (${round(heapPerRecord, 3)} B of JS heap per record for a ${round(c.recordBytes as number, 3)}-byte signed record): ` +
          'the store keeps the signed bytes in a slab and a small slot per record; see bench/README.md, "Registrations per GiB", for what each record costs.')
      }
      ctx.add({
        family: 'records',
        id: `records.per-gib.${n}`,
        label: 'registrations held per GiB of RSS',
        size,
        value: n / (rss / GiB),
        unit: 'records/GiB',
        detail: `whole process; ${round(GiB / perRecord, 3)} per GiB of the increment`,
        ...(n === 1_000_000
          ? {
              ratio: rss / GiB,
              ratioOf: 'x the 1 GiB budget',
              chart: 'RSS of a point holding the records',
              target: { text: '1M records in <= 1 GiB RSS', met: rss <= GiB, bound: 1 }
            }
          : {})
      })
    }
    await holder.next(l => l.event === 'result', 120_000)
  } finally {
    await holder.stop()
  }
}
