// What every figure family gets from bench/run.ts: the sizes, where to put
// its figures and notes, and the shared servers (started once, on first use).
import { startWorker } from './process.ts'
import type { BenchConfig } from './config.ts'
import type { Figure } from './report.ts'
import type { Worker } from './process.ts'

/** The shared servers of the throughput and latency figures, each in its own process. */
export interface Servers {
  /** The rendezvous point, also a circuit relay. */
  point: Worker
  pointAddrs: string[]
  /** Raw TCP sink, raw libp2p node (plain and under the unobservable layer), the Fara entities. */
  services: Worker
  tcpPort: number
  libp2pAddrs: string[]
  /** The raw libp2p node under the unobservable layer (each address ends in /p2p/<peer id>). */
  layeredAddrs: string[]
  /** The same two nodes behind a link with {@link BenchConfig.latencyRttMs} of round-trip time. */
  libp2pDelayedAddrs: string[]
  layeredDelayedAddrs: string[]
}

/** Handed to each family. */
export interface BenchContext {
  readonly config: BenchConfig
  add: (figure: Figure) => void
  note: (text: string) => void
  /** A figure measured earlier in this run, by id. */
  figure: (id: string) => Figure | undefined
  servers: () => Promise<Servers>
}

/** Start the shared servers: the point first, then the services that register at it. */
export async function startServers (config: BenchConfig): Promise<Servers> {
  const profile = config.profileDir == null ? {} : { nodeFlags: ['--cpu-prof', `--cpu-prof-dir=${config.profileDir}`, '--cpu-prof-name=services.cpuprofile'] }
  const point = startWorker('point', { relay: true })
  const pointAddrs = (await point.next(l => l.event === 'ready', 60_000)).multiaddrs as string[]
  const services = startWorker('services', { point: pointAddrs, rttMs: config.latencyRttMs }, profile)
  const ready = await services.next(l => l.event === 'ready', 60_000)
  return { point, pointAddrs, services, tcpPort: ready.tcp as number, libp2pAddrs: ready.libp2p as string[], layeredAddrs: ready.layered as string[], libp2pDelayedAddrs: ready.libp2pDelayed as string[], layeredDelayedAddrs: ready.layeredDelayed as string[] }
}
