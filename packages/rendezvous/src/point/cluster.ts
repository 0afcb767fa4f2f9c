import cluster from 'node:cluster'
import { createServer } from 'node:net'
import { availableParallelism } from 'node:os'
import { fileURLToPath } from 'node:url'
import { privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { RENDEZVOUS_CONNECTION_LIMITS } from '@fara/transport/constants'
import { DEFAULT_REQUEST_TIMEOUT_MS, MAX_INBOUND_STREAMS } from '../constants.ts'
import { replayMemory } from '@fara/transport'
import { HELLO_CHECK, Link, VERDICTS, decodeHello, decodeRequestBody } from './link.ts'
import type { Sender } from './answerer.ts'
import type { Duplex } from 'node:stream'
import type { RendezvousServerInit } from './server.ts'
import type { Worker } from 'node:cluster'
import type { Logger, PrivateKey } from '@libp2p/interface'
import type { ReplayVerdict, SourcePrefixes } from '@fara/transport'

/** What the primary tells a worker at start (over IPC: the key is never on a command line). */
export interface WorkerConfig {
  readonly key: Uint8Array
  readonly listen: string[]
  readonly allowPinnedPort: boolean
  readonly timeout: number
  readonly maxInboundStreams: number
  readonly prefixes: Required<SourcePrefixes>
  /** This worker's share of the point's connection limits. */
  readonly connections: { maxConnections: number, maxIncomingPendingConnections: number, inboundConnectionThreshold: number }
}

/** Control messages from the primary to a worker (requests and answers go over their {@link Link}). */
export type ToWorker =
  | { t: 'start', config: WorkerConfig }
  | { t: 'stop' }

/** Control messages from a worker to the primary. */
export type FromWorker =
  | { t: 'ready', multiaddrs: string[] }
  | { t: 'failed', message: string }
  | { t: 'count', what: 'refused' | 'failed' }

/** The worker's fd of its {@link Link} to the primary. */
export const LINK_FD = 4

/** What the workers forward requests to: the primary's answerer. */
export interface Primary {
  answer: (request: Uint8Array, sender: Sender) => Promise<Uint8Array>
  count: (what: 'refused' | 'failed') => void
  prefixes: Required<SourcePrefixes>
}

/** One worker process of a point, as its primary sees it. */
export interface RendezvousWorker {
  /** Its process id. */
  readonly pid: number
  /** Requests it forwarded to the primary since it started. */
  readonly requests: number
}

/** Running workers: their addresses, their counts, and how to stop them all. */
export interface Workers {
  readonly multiaddrs: string[]
  readonly list: () => RendezvousWorker[]
  readonly stop: () => Promise<void>
}

/** `workers` as given (a count, or `auto`: one per core), checked. */
export function workerCount (workers: number | 'auto' | undefined): number {
  if (workers == null) return 1
  if (workers === 'auto') return Math.max(1, availableParallelism())
  if (typeof workers !== 'number') throw new TypeError(`workers must be a positive integer or 'auto', got ${typeof workers}`)
  if (!Number.isInteger(workers) || workers < 1 || workers > 256) throw new RangeError(`workers must be an integer from 1 to 256 or 'auto', got ${workers}`)
  return workers
}

const WORKER_FILE = fileURLToPath(new URL(import.meta.url.endsWith('.ts') ? './worker.ts' : './worker.js', import.meta.url))
/** How long a stopping worker may take before it is killed (ms). */
const STOP_MS = 10_000
/** How long after an unexpected exit a worker is replaced (ms). */
const RESPAWN_MS = 1_000

/**
 * Fork `n` worker processes (node:cluster, which shares one listening socket
 * among them), each a libp2p node with the point's key that forwards every
 * request to `primary` (spec/rendezvous.md#workers). Resolves once all listen.
 */
export async function startWorkers (n: number, privateKey: PrivateKey, init: RendezvousServerInit & { listen: string[] }, primary: Primary, log: Logger, signal?: AbortSignal): Promise<Workers> {
  const config: WorkerConfig = {
    key: privateKeyToProtobuf(privateKey),
    // node:cluster shares a listening socket among the workers that ask for the same address and port
    listen: await Promise.all(init.listen.map(drawPort)),
    // checked by the primary as given; a drawn port is pinned for the workers
    allowPinnedPort: true,
    timeout: init.requestTimeout ?? DEFAULT_REQUEST_TIMEOUT_MS,
    maxInboundStreams: init.maxInboundStreams ?? MAX_INBOUND_STREAMS,
    prefixes: primary.prefixes,
    connections: {
      // the point's bounds, split: connections are dealt round-robin
      maxConnections: Math.ceil(RENDEZVOUS_CONNECTION_LIMITS.maxConnections / n),
      maxIncomingPendingConnections: Math.ceil(RENDEZVOUS_CONNECTION_LIMITS.maxIncomingPendingConnections / n),
      inboundConnectionThreshold: Math.ceil(RENDEZVOUS_CONNECTION_LIMITS.inboundConnectionThreshold / n)
    }
  }
  // workers inherit the primary's flags, but each writes its own CPU profile (named by pid)
  const execArgv = process.execArgv.filter(a => !a.startsWith('--cpu-prof-name'))
  cluster.setupPrimary({ exec: WORKER_FILE, args: [], execArgv, serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc', 'pipe'] })
  const running = new Map<Worker, { pid: number, requests: number }>()
  const hellos = replayMemory()
  let stopping = false
  let multiaddrs: string[] = []

  const fork = async (): Promise<void> => {
    const worker = cluster.fork()
    const entry = { pid: worker.process.pid ?? 0, requests: 0 }
    running.set(worker, entry)
    const link: Link = new Link(worker.process.stdio[LINK_FD] as Duplex, (id, body) => {
      if (id >= HELLO_CHECK) {
        // one replay memory for all workers: a hello replayed to another worker is refused too
        const { time, tag } = decodeHello(body)
        link.send(id, [Uint8Array.of(VERDICTS.indexOf(hellos.check(time, tag) as ReplayVerdict))])
        return
      }
      entry.requests++
      const { sender, request } = decodeRequestBody(body)
      void primary.answer(request, sender).then(answer => { link.send(id, [answer]) })
    })
    const ready = new Promise<string[]>((resolve, reject) => {
      worker.on('message', (msg: FromWorker) => {
        switch (msg.t) {
          case 'count': primary.count(msg.what); break
          case 'ready': resolve(msg.multiaddrs); break
          case 'failed': reject(new Error(`rendezvous worker ${entry.pid} failed to start: ${msg.message}`)); break
        }
      })
      worker.once('exit', (code, sig) => {
        running.delete(worker)
        link.close()
        reject(new Error(`rendezvous worker ${entry.pid} exited (${sig ?? code}) before it listened`))
        if (stopping) return
        log.error('rendezvous worker %d exited (%s); starting another', entry.pid, sig ?? code)
        setTimeout(() => {
          if (!stopping) fork().catch(err => { log.error('rendezvous worker failed to start - %e', err) })
        }, RESPAWN_MS).unref()
      })
      worker.once('online', () => { worker.send({ t: 'start', config } satisfies ToWorker) })
    })
    multiaddrs = await ready
  }

  const stop = async (): Promise<void> => {
    stopping = true
    await Promise.all([...running.keys()].map(async (worker) => new Promise<void>(resolve => {
      if (worker.isDead()) { resolve(); return }
      const kill = setTimeout(() => { worker.kill('SIGKILL') }, STOP_MS)
      worker.once('exit', () => { clearTimeout(kill); resolve() })
      if (worker.isConnected()) worker.send({ t: 'stop' } satisfies ToWorker)
      else worker.kill('SIGKILL')
    })))
  }

  const onAbort = (): void => { void stop() }
  signal?.addEventListener('abort', onAbort, { once: true })
  try {
    await Promise.all(Array.from({ length: n }, fork))
    signal?.throwIfAborted()
  } catch (err) {
    await stop()
    throw signal?.aborted === true ? signal.reason : err
  } finally {
    signal?.removeEventListener('abort', onAbort)
  }
  return {
    get multiaddrs () { return multiaddrs },
    list: () => [...running.values()].map(w => ({ ...w })),
    stop
  }
}

/**
 * The address with port 0 replaced by a port the system draws now: the
 * workers of this point share that socket, and no other point's (node:cluster
 * would hand every worker that listens on port 0 of one host the same socket).
 */
async function drawPort (addr: string): Promise<string> {
  const m = /^\/(ip4|ip6)\/([^/]+)\/tcp\/0(\/.*)?$/.exec(addr)
  if (m == null) return addr
  const port = await new Promise<number>((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen({ host: m[2], port: 0, ipv6Only: m[1] === 'ip6' }, () => {
      const { port } = server.address() as { port: number }
      server.close(() => { resolve(port) })
    })
  })
  return `/${m[1]}/${m[2]!}/tcp/${port}${m[3] ?? ''}`
}
