// `clients` rendezvous clients, each with its own libp2p node and connection to
// the point (as every Fara client has). The figure may split its clients over
// several of these processes (so that the clients, which verify every record,
// are not held to one core); it starts them all at once with a `go` command.
// Closed loop (default): each client resolves again as soon as its last
// resolve is answered. Open loop (`rate`): together this process's clients
// start `rate` resolves per second, evenly spread, whether or not earlier ones
// were answered, each latency counted from the time its resolve was due (not when the
// process got round to sending it), so that queueing in the clients counts too. Prints 'ready' once every client is connected; `go` answers
// with the resolves completed in the timed window and their latencies.
import { readFileSync } from 'node:fs'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { createNode } from '@fara/transport'
import { createRecord, rendezvousPoint } from '@fara/rendezvous'
import { emit, cpuMs, log, onCommand, onStop, workerArgs } from '../lib/worker.ts'
import { now } from '../lib/stats.ts'
import type { Rendezvous } from '@fara/rendezvous'
import type { Libp2p } from '@libp2p/interface'

/** ms the main thread spent runnable but waiting for a CPU (Linux schedstat; 0 where there is none). */
function runQueueWaitMs (): number {
  try {
    return Number(readFileSync('/proc/self/schedstat', 'utf8').split(' ')[1]) / 1e6
  } catch {
    return 0
  }
}

const args = workerArgs<{ point: string[], clients: number, name: string, register: boolean, rate?: number }>()
const factory = rendezvousPoint(args.point)

const nodes: Libp2p[] = []
const clients: Rendezvous[] = []
async function addClient (): Promise<void> {
  const node = await createNode({ privateKey: await generateKeyPair('Ed25519'), listen: [] })
  nodes.push(node)
  clients.push(factory({ node }))
}
await addClient()
if (args.register) {
  // one registration to resolve, with two addresses as a typical record has
  const owner = await generateKeyPair('Ed25519')
  const record = await createRecord(owner, {
    name: args.name,
    addrs: ['/ip4/198.51.100.7/tcp/40123', '/ip6/2001:db8::7/tcp/40123'],
    aid: new Uint8Array(8).fill(7),
    ttl: 600_000
  })
  // a connect reset on a loaded machine (seen with 1 and 2 workers at load 8-11) is retried, as the first resolves are
  for (let attempt = 0; ; attempt++) {
    try {
      await clients[0]!.register(record)
      break
    } catch (err) {
      // an earlier attempt that reached the point before its connection broke: the record is there
      if (attempt > 0 && (err as Error).name === 'StaleRecordError') break
      if (attempt >= 5 || (err as Error).name !== 'RendezvousUnavailableError') throw err
      await new Promise(resolve => setTimeout(resolve, 200 * (attempt + 1)))
    }
  }
}
// connect every client (a first resolve), 32 at a time: the point takes new connections at a bounded rate
while (clients.length < args.clients) await addClient()
for (let i = 0; i < clients.length; i += 32) {
  await Promise.all(clients.slice(i, i + 32).map(async (c) => {
    for (let attempt = 0; ; attempt++) {
      try {
        await c.resolve(args.name)
        return
      } catch (err) {
        if (attempt >= 5) throw err
        await new Promise(resolve => setTimeout(resolve, 200 * (attempt + 1)))
      }
    }
  }))
}
log(`resolve: ${clients.length} clients connected`)

let windowStart = Infinity
let windowEnd = Infinity
const latencies: number[] = []
let completed = 0
let errors = 0
let stop = false
async function timed (client: Rendezvous, due?: number): Promise<void> {
  const start = due ?? now()
  try {
    await client.resolve(args.name)
  } catch {
    errors++
    return
  }
  const end = now()
  // throughput: resolves answered within the window; latency: of those sent within it
  if (end >= windowStart && end <= windowEnd) completed++
  if (start >= windowStart && start <= windowEnd) latencies.push(end - start)
}
async function closedLoop (client: Rendezvous): Promise<void> {
  while (!stop) await timed(client)
}
async function openLoop (client: Rendezvous, index: number): Promise<void> {
  const period = clients.length / args.rate! * 1000
  const inFlight: Array<Promise<void>> = []
  for (let next = now() + period * index / clients.length; !stop; next += period) {
    const wait = next - now()
    if (wait > 0) await new Promise(resolve => setTimeout(resolve, wait))
    if (stop) break
    const p = timed(client, next)
    inFlight.push(p)
    void p.then(() => { inFlight.splice(inFlight.indexOf(p), 1) })
  }
  await Promise.all(inFlight)
}

async function run (warmupMs: number, ms: number): Promise<Record<string, unknown>> {
  const loops = clients.map(async (c, i) => args.rate == null ? closedLoop(c) : openLoop(c, i))
  await new Promise(resolve => setTimeout(resolve, warmupMs))
  const cpuAtStart = process.cpuUsage()
  const waitAtStart = runQueueWaitMs()
  windowStart = now()
  windowEnd = windowStart + ms
  await new Promise(resolve => setTimeout(resolve, ms))
  const cpu = cpuMs(cpuAtStart)
  const waited = runQueueWaitMs() - waitAtStart
  stop = true
  await Promise.all(loops)
  return { clients: clients.length, resolves: completed, latencies, errors, clientCpuMs: cpu, waitMs: waited }
}

onCommand(async (command) => {
  if (command.cmd === 'go') return run(command.warmupMs as number, command.ms as number)
  throw new Error(`unknown command ${String(command.cmd)}`)
})
onStop(async () => { await Promise.allSettled(nodes.map(async n => n.stop())) })
emit({ event: 'ready' })
