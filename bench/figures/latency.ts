// Connect latency (median and p99 over `latencyRuns` runs of each way of
// connecting), with its ratios to libp2p's own dial measured in the same rounds;
// and libp2p's dial under the unobservable layer, to isolate the layer's cost.
import { runWorker } from '../lib/process.ts'
import { round, summarize } from '../lib/stats.ts'
import type { BenchContext } from '../lib/context.ts'
import type { LatencyMode } from '../workers/latency-client.ts'

const LABELS: Record<LatencyMode, string> = {
  'libp2p-dial': 'libp2p dialProtocol to a known address (new connection)',
  'libp2p-dial-layer': 'libp2p dialProtocol + unobservable layer (new connection)',
  'libp2p-dial-rtt': 'libp2p dialProtocol over a link with a round-trip time (new connection)',
  'libp2p-dial-layer-rtt': 'libp2p dialProtocol + unobservable layer over the same link (new connection)',
  'libp2p-stream': 'libp2p new stream on an open connection',
  'fara-cold': 'Fara connect by name, cold lookup (resumable)',
  'fara-warm': 'Fara connect, cached record (resumable)',
  'fara-warm-plain': 'Fara connect, cached record (resumable: false)',
  'fara-warm-stable': 'Fara connect, cached record, stableIdentity (no new node)',
  'fara-existing': 'Fara new association on an open connection (resumable)',
  'fara-existing-plain': 'Fara new association on an open connection (resumable: false)',
  resolve: 'one resolve on an open connection to the point (one round trip)',
  node: 'a fresh identity + dial-only libp2p node (what connect() makes per association)'
}

export async function latency (ctx: BenchContext): Promise<void> {
  const { pointAddrs, libp2pAddrs, layeredAddrs, libp2pDelayedAddrs, layeredDelayedAddrs } = await ctx.servers()
  const runs = ctx.config.latencyRuns
  const result = await runWorker('latency-client', {
    point: pointAddrs, libp2p: libp2pAddrs, layered: layeredAddrs, libp2pDelayed: libp2pDelayedAddrs, layeredDelayed: layeredDelayedAddrs, runs, warmup: Math.max(5, Math.round(runs / 20)), gapMs: 80
  }, { timeoutMs: 600_000 })
  const samples = result.samples as Record<LatencyMode, number[]>
  const s = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, summarize(v)])) as Record<LatencyMode, ReturnType<typeof summarize>>
  const size = `${runs} runs`
  const detail = (m: LatencyMode): string => `p99 ${round(s[m].p99, 3)} ms, min ${round(s[m].min, 3)} ms`
  const add = (m: LatencyMode, extra: Partial<Parameters<BenchContext['add']>[0]> = {}): void => {
    ctx.add({ family: 'latency', id: `latency.${m}`, label: LABELS[m], size, value: s[m].median, unit: 'ms median', detail: detail(m), ...extra })
  }
  add('libp2p-dial')
  // the layer alone: the same raw libp2p dial with and without it, same rounds (issue 14: what it costs)
  add('libp2p-dial-layer', {
    ratio: s['libp2p-dial-layer'].median / s['libp2p-dial'].median,
    ratioOf: 'x libp2p dial (no layer)',
    chart: 'unobservable layer: libp2p dial + layer',
    detail: `${detail('libp2p-dial-layer')}; ${round(s['libp2p-dial-layer'].median - s['libp2p-dial'].median, 3)} ms over libp2p dial`
  })
  // over a link with a round-trip time (a relay in the services process delays each chunk by half of it):
  // the layer answers the selection of /noise itself, so its connect crosses the link one time fewer
  const rtt = `${ctx.config.latencyRttMs} ms RTT, ${size}`
  add('libp2p-dial-rtt', { size: rtt })
  add('libp2p-dial-layer-rtt', {
    size: rtt,
    ratio: s['libp2p-dial-layer-rtt'].median / s['libp2p-dial-rtt'].median,
    ratioOf: 'x libp2p dial over the same link (no layer)',
    chart: `unobservable layer: libp2p dial + layer, ${ctx.config.latencyRttMs} ms RTT`,
    detail: `${detail('libp2p-dial-layer-rtt')}; ${round(s['libp2p-dial-rtt'].median - s['libp2p-dial-layer-rtt'].median, 3)} ms less than libp2p dial`
  })
  add('libp2p-stream')
  add('resolve')
  add('node')
  // issue 20: a connect to a known record at most 0.8 x libp2p's dial, at the median and at p99 (both same run)
  const WARM_BOUND = 0.8
  const p99Ratio = (m: LatencyMode): number => s[m].p99 / s['libp2p-dial'].p99
  for (const m of ['fara-warm', 'fara-warm-plain'] as const) {
    const ratio = s[m].median / s['libp2p-dial'].median
    add(m, {
      ratio,
      ratioOf: 'x libp2p dial',
      chart: m === 'fara-warm' ? 'Fara warm connect (resumable)' : 'Fara warm connect (plain)',
      detail: `${detail(m)}; p99 ${round(p99Ratio(m), 3)} x libp2p dial's`,
      target: { text: `<= ${WARM_BOUND} x libp2p dialProtocol (median and p99)`, met: ratio <= WARM_BOUND && p99Ratio(m) <= WARM_BOUND, bound: WARM_BOUND }
    })
  }
  add('fara-warm-stable', { ratio: s['fara-warm-stable'].median / s['libp2p-dial'].median, ratioOf: 'x libp2p dial', chart: 'Fara warm connect, stableIdentity' })
  const extra = (s['fara-cold'].median - s['fara-warm'].median) / s.resolve.median
  add('fara-cold', {
    ratio: extra,
    ratioOf: 'resolve round trips over warm',
    chart: 'Fara cold connect: extra over warm',
    detail: `${detail('fara-cold')}; ${round(s['fara-cold'].median - s['fara-warm'].median, 3)} ms over warm`,
    target: { text: 'cold - warm <= one round trip to the point (median)', met: extra <= 1, bound: 1 }
  })
  const warmRatio = s['fara-warm'].median / s['libp2p-dial'].median
  const plainRatio = s['fara-warm-plain'].median / s['libp2p-dial'].median
  if (Math.max(warmRatio, plainRatio, p99Ratio('fara-warm'), p99Ratio('fara-warm-plain')) > WARM_BOUND) {
    ctx.note(`Warm connect target missed (median ${round(warmRatio, 3)} x libp2p dial, p99 ${round(p99Ratio('fara-warm'), 3)} x, resumable; median ${round(plainRatio, 3)} x, p99 ${round(p99Ratio('fara-warm-plain'), 3)} x, plain): ` +
      `the connect from the entity's own node (stableIdentity) is ${round(s['fara-warm-stable'].median / s['libp2p-dial'].median, 3)} x, so ${round(s['fara-warm'].median - s['fara-warm-stable'].median, 3)} ms is the spare client node ` +
      '(not ready, or made during the run); the association itself adds no round trip, and the connect makes two round trips after TCP\'s against libp2p\'s four. See bench/README.md, "Connect latency".')
  }
  if (extra > 1) {
    ctx.note(`Cold connect target missed: cold - warm = ${round(s['fara-cold'].median - s['fara-warm'].median, 3)} ms = ${round(extra, 3)} resolve round trips: ` +
      'the spare client node resolves over the session it opened to the point ahead of time; more than one round trip means it was not connected yet (runs too close together) or the lookup waited for a CPU. See bench/README.md, "Connect latency".')
  }
  for (const m of ['fara-existing', 'fara-existing-plain'] as const) {
    add(m, { ratio: s[m].median / s['libp2p-stream'].median, ratioOf: 'x libp2p new stream', chart: m === 'fara-existing' ? 'new association, open connection (resumable)' : 'new association, open connection (plain)' })
  }
}
