// What a warm connect costs in CPU and wall time, outside `npm run bench`
// (issue 20, bench/README.md § "Connect latency: warm connect <= 0.8 x libp2p
// dialProtocol"). Two arrangements:
//
// - `--in-process` (default): a rendezvous point, a Fara service (echo) and a
//   client entity with `recordCache: true` in this one process; warm connects
//   (connect, one byte echoed, close), one every `--gap` ms, after 30 warm-up
//   runs. Prints the median and p90 wall time of the timed part (connect to
//   echo), and the CPU of the whole process per connect (all threads, tear-down
//   and background work included: the spare node, key pools, the point's side):
//   what one warm connect costs the machine, with no other process in the way.
// - `--two-process`: the point, the service and a raw libp2p echo in a child
//   process, the client here; Fara warm connects and libp2p dialProtocol
//   interleaved round by round; prints each one's median and p99, their ratio,
//   and the CPU of the child per round.
//
//   npx node bench/connect-cpu.ts [--two-process] [--runs=200] [--gap=30]
import { spawn } from 'node:child_process'
import { multiaddr } from '@multiformats/multiaddr'
import { createEntity, createRendezvousPoint, rendezvousPoint } from '@fara/sdk'
import { baselineNode, echo, ECHO_PROTOCOL, handleBaseline } from './lib/libp2p.ts'
import type { Association, Entity } from '@fara/sdk'
import type { Duplex } from './lib/libp2p.ts'
import type { Libp2p } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

const option = (name: string, fallback: number): number => Number(process.argv.find(a => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback)
const RUNS = option('runs', 200)
const GAP_MS = option('gap', process.argv.includes('--two-process') ? 80 : 30)
const WARMUP = 30
const ECHO_NAME = 'bench-echo'
const probe = Uint8Array.of(42)

/** A point and a Fara echo service (and, for `--two-process`, a raw libp2p echo), in this process. */
async function services (): Promise<{ point: string[], libp2p: Libp2p }> {
  const point = await createRendezvousPoint({
    listen: ['/ip4/127.0.0.1/tcp/0'], peerRate: 1e6, peerBurst: 1e6, addressRate: 1e6, addressBurst: 1e6, prefixRate: 1e6, prefixBurst: 1e6
  })
  const addrs = point.node.getMultiaddrs().map(String)
  const server = await createEntity({ app: 'bench-connect-server', rendezvous: rendezvousPoint(addrs), listen: ['/ip4/127.0.0.1/tcp/0'] })
  await server.serve(ECHO_NAME, async (association) => { await echo(association) })
  const libp2p = await baselineNode({ listen: ['/ip4/127.0.0.1/tcp/0'] })
  await handleBaseline(libp2p)
  return { point: addrs, libp2p }
}

/** Open a stream-like with `open`, send one byte, and time until it is echoed; then close it and read the rest (untimed). */
async function timedEcho (open: () => Promise<Duplex>): Promise<number> {
  const start = performance.now()
  const io = await open()
  io.send(probe)
  const it = io[Symbol.asyncIterator]()
  await it.next()
  const ms = performance.now() - start
  await io.close()
  while ((await it.next()).done !== true) { /* the rest of the echo */ }
  return ms
}

/** One warm connect: ms from the call to the echoed byte; tear-down after, untimed. */
async function fara (client: Entity): Promise<number> {
  let association: Association | undefined
  const ms = await timedEcho(async () => (association = await client.connect(ECHO_NAME)))
  await association!.finished
  return ms
}

/** One libp2p dialProtocol to the raw echo (new connection), the same way. */
async function libp2pDial (node: Libp2p, to: Multiaddr): Promise<number> {
  const ms = await timedEcho(async () => node.dialProtocol(to, ECHO_PROTOCOL))
  await node.hangUp(to)
  return ms
}

const idle = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }
const cpuMs = (since?: NodeJS.CpuUsage): number => { const u = process.cpuUsage(since); return (u.user + u.system) / 1000 }
const quantile = (xs: number[], q: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * q))]!
const f = (x: number): string => x.toFixed(2)

if (process.argv[2] === 'services') {
  const { point, libp2p } = await services()
  process.on('message', () => { process.send!({ cpuMs: cpuMs() }) })
  process.send!({ point, libp2p: libp2p.getMultiaddrs()[0]!.toString() })
} else if (!process.argv.includes('--two-process')) {
  const { point } = await services()
  const client = await createEntity({ app: 'bench-connect-client', rendezvous: rendezvousPoint(point), recordCache: true, listen: [] })
  for (let i = 0; i < WARMUP; i++) { await fara(client); await idle(GAP_MS) }
  const times: number[] = []
  const before = cpuMs()
  for (let i = 0; i < RUNS; i++) { times.push(await fara(client)); await idle(GAP_MS) }
  const cpu = (cpuMs() - before) / RUNS
  process.stdout.write(`in one process, ${RUNS} warm connects ${GAP_MS} ms apart: median ${f(quantile(times, 0.5))} ms, p90 ${f(quantile(times, 0.9))} ms; CPU per connect (whole process, all threads) ${f(cpu)} ms\n`)
  process.exit(0)
} else {
  const child = spawn(process.execPath, [process.argv[1]!, 'services'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  const cpuOfChild = async (): Promise<number> => new Promise(resolve => { child.once('message', (m: { cpuMs: number }) => { resolve(m.cpuMs) }); child.send('cpu') })
  const ready = await new Promise<{ point: string[], libp2p: string }>(resolve => child.once('message', resolve))
  const client = await createEntity({ app: 'bench-connect-client', rendezvous: rendezvousPoint(ready.point), recordCache: true, listen: [] })
  const dialer = await baselineNode()
  const to = multiaddr(ready.libp2p)
  const samples = { fara: [] as number[], libp2p: [] as number[] }
  let childCpu = 0
  for (let round = 0; round < WARMUP + RUNS; round++) {
    if (round === WARMUP) childCpu = await cpuOfChild()
    const first = round % 2 === 0
    for (const way of first ? ['fara', 'libp2p'] as const : ['libp2p', 'fara'] as const) {
      await idle(GAP_MS)
      const ms = way === 'fara' ? await fara(client) : await libp2pDial(dialer, to)
      if (round >= WARMUP) samples[way].push(ms)
    }
  }
  childCpu = (await cpuOfChild()) - childCpu
  const line = (way: 'fara' | 'libp2p'): string => `median ${f(quantile(samples[way], 0.5))} ms, p99 ${f(quantile(samples[way], 0.99))} ms`
  process.stdout.write(`two processes, ${RUNS} rounds ${GAP_MS} ms apart: Fara warm connect ${line('fara')}; libp2p dialProtocol ${line('libp2p')}; ` +
    `median ratio ${f(quantile(samples.fara, 0.5) / quantile(samples.libp2p, 0.5))} x; services process CPU per round ${f(childCpu / RUNS)} ms\n`)
  child.kill()
  process.exit(0)
}
