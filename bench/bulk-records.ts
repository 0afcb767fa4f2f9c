// What a bulk data path without Noise's 64 KiB messages and without a muxer
// could move (issue 20, bench/README.md § "Where the time goes"): a sketch,
// not Fara's protocol. The sender seals 256 KiB records with
// ChaCha20-Poly1305 (node:crypto, one cipher per record, a 96-bit counter
// nonce) behind a 4-byte length and writes them to one TCP socket with
// backpressure; the sink, another process, reads, reassembles and opens each
// record and answers the byte count. In the same run and in turns, a raw
// libp2p stream (TCP + Noise + Yamux, the bench's baseline) moves the same
// bytes to the same sink process. Prints each round's rates and their ratio.
//
//   npx node bench/bulk-records.ts [--mib=256] [--rounds=3] [--record=262144]
import { spawn } from 'node:child_process'
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'
import { connect, createServer } from 'node:net'
import { createInterface } from 'node:readline'
import { multiaddr } from '@multiformats/multiaddr'
import { baselineNode, handleBaseline, sendAndCount, SINK_PROTOCOL } from './lib/libp2p.ts'
import { CHUNK_BYTES } from './figures/throughput.ts'
import type { AddressInfo, Socket } from 'node:net'

const option = (name: string, fallback: number): number => Number(process.argv.find(a => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback)
const TOTAL = option('mib', 256) * 1024 * 1024
const ROUNDS = option('rounds', 3)
const RECORD = option('record', 256 * 1024)
const TAG = 16
/** A fixed key: this measures the work, it protects nothing. */
const KEY = Buffer.alloc(32, 7)

function nonce (n: number): Buffer {
  const b = Buffer.alloc(12)
  b.writeUInt32BE(n, 8)
  return b
}

/** The sink: open every record, count its plaintext, answer the count (8 bytes) at the end. */
function serveRecords (socket: Socket): void {
  let parts: Buffer[] = []
  let have = 0
  let need = -1
  let n = 0
  let bytes = 0
  const joined = (): Buffer => {
    const all = parts.length === 1 ? parts[0]! : Buffer.concat(parts)
    parts = [all]
    return all
  }
  socket.on('data', (chunk: Buffer) => {
    parts.push(chunk)
    have += chunk.byteLength
    for (;;) {
      if (need < 0) {
        if (have < 4) return
        const all = joined()
        need = all.readUInt32BE(0)
        parts = [all.subarray(4)]
        have -= 4
      }
      if (have < need) return
      const all = joined()
      const decipher = createDecipheriv('chacha20-poly1305', KEY, nonce(n++), { authTagLength: TAG })
      decipher.setAuthTag(all.subarray(need - TAG, need))
      bytes += decipher.update(all.subarray(0, need - TAG)).byteLength
      decipher.final()
      parts = [all.subarray(need)]
      have -= need
      need = -1
    }
  })
  socket.on('end', () => {
    const answer = Buffer.alloc(8)
    answer.writeBigUInt64BE(BigInt(bytes))
    socket.end(answer)
  })
}

if (process.argv[2] === 'sink') {
  const server = createServer(serveRecords)
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const libp2p = await baselineNode({ listen: ['/ip4/127.0.0.1/tcp/0'] })
  await handleBaseline(libp2p)
  process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port, libp2p: libp2p.getMultiaddrs()[0]!.toString() })}\n`)
} else {
  const sink = spawn(process.execPath, [process.argv[1]!, 'sink'], { stdio: ['ignore', 'pipe', 'inherit'] })
  try {
    const line = await new Promise<string>(resolve => createInterface({ input: sink.stdout! }).once('line', resolve))
    const { port, libp2p } = JSON.parse(line) as { port: number, libp2p: string }
    const plaintext = randomBytes(RECORD)
    const records = async (): Promise<number> => {
      const start = performance.now()
      const socket = connect(port, '127.0.0.1')
      socket.setNoDelay(true)
      await new Promise(resolve => socket.once('connect', resolve))
      let n = 0
      for (let sent = 0; sent < TOTAL; sent += RECORD) {
        const cipher = createCipheriv('chacha20-poly1305', KEY, nonce(n++), { authTagLength: TAG })
        const body = cipher.update(plaintext)
        cipher.final()
        const head = Buffer.alloc(4)
        head.writeUInt32BE(body.byteLength + TAG)
        socket.write(head)
        socket.write(body)
        if (!socket.write(cipher.getAuthTag())) await new Promise(resolve => socket.once('drain', resolve))
      }
      socket.end()
      const answer = await new Promise<Buffer>((resolve, reject) => {
        const parts: Buffer[] = []
        socket.on('data', (d: Buffer) => parts.push(d))
        socket.on('end', () => { resolve(Buffer.concat(parts)) })
        socket.on('error', reject)
      })
      if (Number(answer.readBigUInt64BE(0)) !== TOTAL) throw new Error('the sink counted another number of bytes')
      return TOTAL / 1048576 / ((performance.now() - start) / 1000)
    }
    const node = await baselineNode()
    const chunk = randomBytes(CHUNK_BYTES)
    const stream = async (): Promise<number> => {
      const start = performance.now()
      const s = await node.dialProtocol(multiaddr(libp2p), SINK_PROTOCOL)
      if (await sendAndCount(s, TOTAL, chunk) !== TOTAL) throw new Error('the sink counted another number of bytes')
      await node.hangUp(multiaddr(libp2p))
      return TOTAL / 1048576 / ((performance.now() - start) / 1000)
    }
    for (let round = 0; round < ROUNDS; round++) {
      // alternate which goes first, as the bench does
      let bulk: number
      let raw: number
      if (round % 2 === 0) {
        bulk = await records()
        raw = await stream()
      } else {
        raw = await stream()
        bulk = await records()
      }
      process.stdout.write(`round ${round + 1}: records of ${RECORD} B ${bulk.toFixed(0)} MiB/s, raw libp2p stream ${raw.toFixed(0)} MiB/s: ${(bulk / raw).toFixed(2)} x\n`)
    }
    await node.stop()
  } finally {
    sink.kill()
  }
}
