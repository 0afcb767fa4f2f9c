// One timed transfer of `bytes` to a sink in another process, by one way of
// getting there. The clock runs from the first byte sent to the sink's answer
// (its byte count, after it read the last byte): connection set-up is outside it.
import { connect } from 'node:net'
import { multiaddr } from '@multiformats/multiaddr'
import { createEntity, rendezvousPoint } from '@fara/sdk'
import { createSchedule, hopParamsFromString, hopSchedules, hoppingTcp } from '@fara/port-hopping'
import { unobservable } from '@fara/transport'
import { baselineNode, sendAndCount, SINK_PROTOCOL } from '../lib/libp2p.ts'
import { NAMES } from '../lib/fara.ts'
import { cpuMs, emit, maxRssMiB, workerArgs } from '../lib/worker.ts'
import { now } from '../lib/stats.ts'
import type { RecordCipher } from '@fara/demux'

export type ThroughputMode = 'tcp' | 'libp2p' | 'libp2p-layer' | 'fara' | 'fara-plain' | 'fara-relay' | 'fara-hop' | 'libp2p-hop'

const args = workerArgs<{
  mode: ThroughputMode, bytes: number, chunk: number, point: string[], tcp: number, libp2p: string[],
  /** libp2p-layer: the addresses of the raw libp2p node under the unobservable layer (ending in /p2p/<peer id>) */
  layered?: string[],
  /** libp2p-hop: the hopping node's address and schedule */
  hopAddr?: string, hopParams?: string,
  /** Fara: the demux's send window (bytes sent but not yet acknowledged), for tuning experiments */
  sendWindow?: number
}>()
const chunk = new Uint8Array(args.chunk).fill(0x5a)
const recordCipher = process.env.BENCH_RECORD_CIPHER as RecordCipher | undefined

async function overTcp (): Promise<{ ms: number, counted: number }> {
  const socket = connect({ port: args.tcp, host: '127.0.0.1', noDelay: true })
  await new Promise<void>((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject) })
  const answer = new Promise<Buffer>((resolve, reject) => {
    const parts: Buffer[] = []
    socket.on('data', (d: Buffer) => parts.push(d))
    socket.on('end', () => { resolve(Buffer.concat(parts)) })
    socket.on('error', reject)
  })
  const start = now()
  for (let sent = 0; sent < args.bytes; sent += chunk.byteLength) {
    const piece = args.bytes - sent >= chunk.byteLength ? chunk : chunk.subarray(0, args.bytes - sent)
    if (!socket.write(piece)) await new Promise(resolve => socket.once('drain', resolve))
  }
  socket.end()
  const counted = Number((await answer).readBigUInt64BE(0))
  return { ms: now() - start, counted }
}

/** Raw libp2p, or with `layer` the same node under the unobservable layer dialling the services' layered node. */
async function overLibp2p (layer = false): Promise<{ ms: number, counted: number }> {
  const node = await baselineNode(layer ? { connectionProtector: unobservable() } : {})
  try {
    const addrs = layer ? args.layered : args.libp2p
    if (addrs?.[0] == null) throw new TypeError(`${args.mode}: no address to dial`)
    const stream = await node.dialProtocol(multiaddr(addrs[0]), SINK_PROTOCOL)
    const start = now()
    const counted = await sendAndCount(stream, args.bytes, chunk)
    return { ms: now() - start, counted }
  } finally {
    await node.stop()
  }
}

/**
 * Raw libp2p over hopping TCP: a connection dies when its port leaves the
 * window (1 to 2 intervals after the dial), and a libp2p stream dies with it.
 * So the dial waits for a slot boundary (untimed), and the transfer must fit.
 */
async function overLibp2pHop (): Promise<{ ms: number, counted: number }> {
  const params = hopParamsFromString(args.hopParams!)
  const schedules = hopSchedules()
  schedules.set('127.0.0.1', params)
  const node = await baselineNode({ transports: [hoppingTcp({ schedules })] })
  try {
    const wait = createSchedule(params).nextChangeAt() - Date.now() + 20
    await new Promise(resolve => setTimeout(resolve, wait))
    const stream = await node.dialProtocol(multiaddr(args.hopAddr!), SINK_PROTOCOL)
    const start = now()
    const counted = await sendAndCount(stream, args.bytes, chunk)
    return { ms: now() - start, counted }
  } finally {
    await node.stop()
  }
}

async function overFara (name: string, resumable: boolean, privately = false): Promise<{ ms: number, counted: number, resumptions: number }> {
  const entity = await createEntity({
    app: 'bench-client',
    rendezvous: rendezvousPoint(args.point),
    listen: [],
    demux: {
      ...(args.sendWindow == null ? {} : { sendWindow: args.sendWindow }),
      // BENCH_RECORD_CIPHER=chacha20-poly1305: this end would rather ChaCha20-Poly1305 records,
      // so the association uses them (AES-256-GCM needs both ends): bench/gc.ts compares the two
      ...(recordCipher == null ? {} : { recordCipher })
    }
  })
  try {
    const association = await entity.connect(name, { resumable, ...(privately ? { private: true } : {}) })
    // connect returns before the accept: wait for it, so the clock covers data only, as for the others
    await association.accepted
    const start = now()
    const counted = await sendAndCount(association, args.bytes, chunk)
    const ms = now() - start
    await association.finished
    return { ms, counted, resumptions: association.resumptions }
  } finally {
    await entity.close()
  }
}

let result
const cpuAtStart = process.cpuUsage()
switch (args.mode) {
  case 'tcp': result = await overTcp(); break
  case 'libp2p': result = await overLibp2p(); break
  case 'libp2p-layer': result = await overLibp2p(true); break
  case 'fara': result = await overFara(NAMES.sink, true); break
  case 'fara-plain': result = await overFara(NAMES.sink, false); break
  case 'fara-relay': result = await overFara(NAMES.relayedSink, true); break
  case 'fara-hop': result = await overFara(NAMES.hopSink, true, true); break
  case 'libp2p-hop': result = await overLibp2pHop(); break
  default: throw new RangeError(`unknown mode ${String(args.mode)}`)
}
if (result.counted !== args.bytes) throw new Error(`${args.mode}: the sink counted ${result.counted} bytes, ${args.bytes} were sent`)
// CPU of the whole run (set-up included: small next to the transfer)
emit({ event: 'result', mode: args.mode, bytes: args.bytes, ...result, cpuMs: cpuMs(cpuAtStart), maxRssMiB: maxRssMiB() })
process.exit(0)
