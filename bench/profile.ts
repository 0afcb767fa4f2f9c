// Where the time of one throughput transfer goes, sender and sink apart
// (issue 20). `npm run bench -- --profile=dir` profiles the throughput
// family as it runs, but its sink process serves every way of sending at once,
// so its profile mixes them. This starts a rendezvous point and a services
// process of its own (the bench's workers), runs only the ways asked for, one
// transfer at a time, and writes CPU profiles of each sender and, per way, of
// a sink process that served only that way; then a flame graph of each
// (bench/lib/flame.ts). It also prints the rate and CPU ms per MiB of each
// transfer, with the machine's load: a profile, not a figure (the bench's
// figures interleave and repeat; these do not).
//
//   node bench/profile.ts --modes=libp2p,fara [--mib=256] [--rounds=1] --out=dir
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { loadavg } from 'node:os'
import { join } from 'node:path'
import { STARTUP, aggregate, flameSvg } from './lib/flame.ts'
import { runWorker, startWorker } from './lib/process.ts'
import { CHUNK_BYTES } from './figures/throughput.ts'
import type { ThroughputMode } from './workers/throughput-client.ts'

const option = (name: string, fallback?: string): string => {
  const value = process.argv.find(a => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback
  if (value == null) {
    process.stderr.write('usage: node bench/profile.ts --modes=libp2p,fara [--mib=256] [--rounds=1] --out=dir\n')
    process.exit(2)
  }
  return value
}
const modes = option('modes').split(',') as ThroughputMode[]
const mib = Number(option('mib', '256'))
const rounds = Number(option('rounds', '1'))
const out = option('out')
mkdirSync(out, { recursive: true })
const cpuProf = (dir: string, name: string): string[] => ['--cpu-prof', `--cpu-prof-dir=${dir}`, `--cpu-prof-name=${name}`]

for (const mode of modes) {
  const point = startWorker('point', { relay: true })
  const pointAddrs = (await point.next(l => l.event === 'ready', 60_000)).multiaddrs as string[]
  // a sink process for this way alone, so that its profile is this way's
  const services = startWorker('services', { point: pointAddrs, rttMs: 10 }, { nodeFlags: cpuProf(out, `sink-${mode}.cpuprofile`) })
  try {
    const ready = await services.next(l => l.event === 'ready', 60_000)
    for (let r = 0; r < rounds; r++) {
      const before = await services.ask({ cmd: 'cpu' })
      const result = await runWorker('throughput-client', {
        mode, bytes: mib * 2 ** 20, chunk: CHUNK_BYTES, point: pointAddrs, tcp: ready.tcp, libp2p: ready.libp2p, layered: ready.layered
      }, { nodeFlags: cpuProf(out, `sender-${mode}-${r}.cpuprofile`) })
      const after = await services.ask({ cmd: 'cpu' })
      const rate = mib / ((result.ms as number) / 1000)
      const sink = ((after.cpuMs as number) - (before.cpuMs as number)) / mib
      process.stdout.write(`${mode} round ${r}: ${rate.toFixed(1)} MiB/s; CPU ms per MiB: sender ${((result.cpuMs as number) / mib).toFixed(2)}, sink ${sink.toFixed(2)}; load ${loadavg().map(l => l.toFixed(2)).join(' ')}\n`)
    }
  } finally {
    await services.stop()
    await point.stop()
  }
}

// the services process writes its profile as it exits: wait for it, then draw every profile
for (const file of readdirSync(out).filter(f => f.endsWith('.cpuprofile'))) {
  const path = join(out, file)
  // module loading (start-up, before the transfer) left out
  const root = aggregate(JSON.parse(readFileSync(path, 'utf8')), { exclude: STARTUP })
  writeFileSync(path.replace(/\.cpuprofile$/, '.svg'), flameSvg(root, { title: `${file} (${mib} MiB; start-up left out)` }))
}
process.stdout.write(`profiles and flame graphs in ${out}\n`)
process.exit(0)
