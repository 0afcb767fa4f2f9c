// One Fara DHT node of bench/dht-scale.ts, in its own process: a libp2p node
// made by `createNode` with the DHT backend's service (dhtRendezvous, the
// defaults an operator gets), listening on 127.0.0.1. argv[2]: JSON
// { bootstrap: string[], kBucketSize?: number, liveness?: boolean } (`liveness: false` turns off the
// connection liveness checks, spec/transport.md#liveness: see bench/README.md § DHT at scale). Prints 'ready' with its
// addresses, then answers commands (JSON lines on stdin):
//   { cmd: 'stats' }             routing-table size, connections, RSS (and its private part), heap, CPU time, DHT requests sent so far
//   { cmd: 'warm' }              a self-query
//   { cmd: 'register', name }    a record for `name` under a fresh key: ms, the key, messages (`failure`: the error's name)
//   { cmd: 'resolve', name }     rendezvous.resolve(name): ms, the key found (or `failure`), messages
// The messages of one operation are the @libp2p/kad-dht query events of its
// `dht.get` / `dht.put`, counted by tapping those two methods on this node's
// instance (the rendezvous calls them; nothing in packages/ is changed).
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPublicKey } from '@libp2p/peer-id'
import { createRecord } from '@fara/rendezvous'
import { dhtRendezvous, dhtServiceOf } from '@fara/rendezvous/dht'
import { createNode } from '@fara/transport'
import { cpuMs, emit, onCommand, onStop, workerArgs } from '../lib/worker.ts'
import type { KadDHT, QueryEvent } from '@libp2p/kad-dht'

const args = workerArgs<{ bootstrap: string[], kBucketSize?: number, liveness?: boolean }>()

/** What one operation's query events add up to. */
interface Tally {
  /** Requests sent (SEND_QUERY), by message type. */
  sent: Record<string, number>
  /** Answers received (PEER_RESPONSE). */
  responses: number
  /** Answers that carried a record for the key. */
  withRecord: number
  /** Requests that failed (QUERY_ERROR): refused, reset, timed out, or a record the validator refused. */
  errors: number
  /** Distinct peers asked. */
  peers: number
  /** Requests to a peer with no open connection (a dial came first). */
  dials: number
  /** Each request's time in ms, from opening its stream (or dialling) to the answer or the failure. */
  requestMs: number[]
  /** CPU time this node's process used during the operation (ms). */
  cpuMs: number
  /** Requests that took over a second or failed: time, whether a dial came first, the error. */
  slow: Array<{ ms: number, dialled: boolean, error?: string }>
}

const factory = dhtRendezvous({
  bootstrap: args.bootstrap,
  allowPrivateAddresses: true,
  ...(args.kBucketSize == null ? {} : { kBucketSize: args.kBucketSize })
})
const node = await createNode({
  privateKey: await generateKeyPair('Ed25519'),
  listen: ['/ip4/127.0.0.1/tcp/0'],
  // every node of the bench is on 127.0.0.1, one "host": the per-host rate of new inbound connections
  // (100/s by default) would refuse a burst of joins that on a real network comes from many hosts
  connectionManager: { inboundConnectionThreshold: 100_000 },
  ...(args.liveness === false ? { liveness: false as const } : {}),
  services: factory.nodeServices
})
const service = dhtServiceOf(node)
const rendezvous = factory({ node })
const dht = service.dht as KadDHT & { network?: { sendRequest: (to: unknown, msg: { type?: string }, ...rest: unknown[]) => AsyncIterable<unknown> } }

// every request this node's kad-dht sends, lookups and upkeep (self-queries, table refreshes) alike
const requests: Record<string, number> = {}
const network = dht.network
if (network != null && typeof network.sendRequest === 'function') {
  const sendRequest = network.sendRequest.bind(network)
  network.sendRequest = (to: unknown, msg: { type?: string }, ...rest: unknown[]) => {
    // @libp2p/kad-dht's MessageType is a string enum: 'GET_VALUE', 'FIND_NODE', ...
    const type = String(msg?.type)
    requests[type] = (requests[type] ?? 0) + 1
    return sendRequest(to, msg, ...rest)
  }
}

let tally: Tally | undefined
const asked = new Set<string>()
const started = new Map<string, { t: number, dialled: boolean }>()
const count = (event: QueryEvent): void => {
  if (tally == null) return
  if (event.name === 'SEND_QUERY') {
    tally.sent[event.messageType] = (tally.sent[event.messageType] ?? 0) + 1
  } else if (event.name === 'PEER_RESPONSE' || event.name === 'QUERY_ERROR') {
    if (event.name === 'PEER_RESPONSE') {
      tally.responses++
      if (event.record != null) tally.withRecord++
    } else {
      tally.errors++
    }
    const peer = event.from.toString()
    const start = started.get(peer)
    started.delete(peer)
    if (start == null) return
    const ms = performance.now() - start.t
    tally.requestMs.push(ms)
    if (ms > 1000 || event.name === 'QUERY_ERROR') {
      const error = event.name === 'QUERY_ERROR' ? `${(event.error as Error)?.name}: ${(event.error as Error)?.message}` : undefined
      tally.slow.push({ ms: Math.round(ms), dialled: start.dialled, ...(error == null ? {} : { error }) })
    }
  } else if (event.name === 'DIAL_PEER') {
    const peer = event.peer.toString()
    asked.add(peer)
    const dialled = node.getConnections(event.peer).length === 0
    started.set(peer, { t: performance.now(), dialled })
    if (dialled) tally.dials++
  }
}
function tap<T extends QueryEvent> (source: AsyncIterable<T>): AsyncGenerator<T> {
  return (async function * () {
    for await (const event of source) {
      count(event)
      yield event
    }
  })()
}
const get = dht.get.bind(dht)
const put = dht.put.bind(dht)
dht.get = (key, options) => tap(get(key, options))
dht.put = (key, value, options) => tap(put(key, value, options))

/** Run one operation with a fresh tally; returns its result and the tally. */
async function measured<T> (op: () => Promise<T>): Promise<{ ms: number, result?: T, error?: string, tally: Tally }> {
  tally = { sent: {}, responses: 0, withRecord: 0, errors: 0, peers: 0, dials: 0, requestMs: [], cpuMs: 0, slow: [] }
  asked.clear()
  started.clear()
  const cpu = process.cpuUsage()
  const t = performance.now()
  try {
    const result = await op()
    return { ms: performance.now() - t, result, tally }
  } catch (err) {
    return { ms: performance.now() - t, error: (err as Error).name, tally }
  } finally {
    tally.peers = asked.size
    tally.cpuMs = cpuMs(cpu)
    tally = undefined
  }
}

/** This process's private resident memory (RssAnon, bytes): RSS without the pages of the node binary, which all nodes share. */
function privateBytes (): number {
  try {
    const line = readFileSync('/proc/self/status', 'utf8').split('\n').find(l => l.startsWith('RssAnon:'))
    return line == null ? Number.NaN : Number(line.split(/\s+/)[1]) * 1024
  } catch {
    return Number.NaN
  }
}

// one operation at a time: the tally is per node
let busy = Promise.resolve()
onCommand(async (command) => {
  const run = busy.then(async () => {
    if (command.cmd === 'stats') {
      const mem = process.memoryUsage()
      return {
        routingTable: service.routingTableSize,
        connections: node.getConnections().length,
        rss: mem.rss,
        rssAnon: privateBytes(),
        heapUsed: mem.heapUsed,
        cpuMs: cpuMs(),
        requests: { ...requests }
      }
    }
    if (command.cmd === 'warm') {
      // a self-query once every node has started, as every node runs one every 5 minutes (@libp2p/kad-dht
      // QUERY_SELF_INTERVAL): its first, a second after it started, saw only the nodes started before it
      const t = performance.now()
      let found = 0
      for await (const _ of dht.getClosestPeers(node.peerId.toMultihash().bytes, { signal: AbortSignal.timeout(60_000) })) found++
      return { ms: performance.now() - t, found, routingTable: service.routingTableSize }
    }
    if (command.cmd === 'register') {
      const name = String(command.name)
      const key = await generateKeyPair('Ed25519')
      const record = await createRecord(key, { name, addrs: node.getMultiaddrs(), aid: randomBytes(8) })
      const m = await measured(async () => { await rendezvous.register(record) })
      return { ms: m.ms, failure: m.error, tally: m.tally, key: peerIdFromPublicKey(key.publicKey).toString() }
    }
    if (command.cmd === 'resolve') {
      const m = await measured(async () => rendezvous.resolve(String(command.name)))
      return { ms: m.ms, failure: m.error, tally: m.tally, key: m.result?.peerId.toString() }
    }
    throw new Error(`unknown command ${String(command.cmd)}`)
  })
  busy = run.then(() => {}, () => {})
  return run
})
onStop(async () => { await node.stop() })
emit({ event: 'ready', peerId: node.peerId.toString(), multiaddrs: node.getMultiaddrs().map(String) })
