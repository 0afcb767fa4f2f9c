// A rendezvous point holding many registrations: RSS of this process (after
// a full GC) before the first record and at each checkpoint. The records come
// signed from a separate signer process and enter the point's own store with
// `store.put` (verified, as a REGISTER would be), each in its own buffers.
// Run with --expose-gc.
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { createRendezvousPoint } from '@fara/rendezvous'
import { emit, log, workerArgs } from '../lib/worker.ts'
import { now } from '../lib/stats.ts'

const args = workerArgs<{ checkpoints: number[] }>()
const gc = (globalThis as { gc?: () => void }).gc
if (gc == null) throw new Error('run with --expose-gc')
const total = Math.max(...args.checkpoints)

function memory (): { rss: number, heapUsed: number, external: number, arrayBuffers: number } {
  gc!()
  gc!()
  const m = process.memoryUsage()
  return { rss: m.rss, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers }
}

const point = await createRendezvousPoint({ listen: ['/ip4/127.0.0.1/tcp/0'], maxRecords: total + 1_000 })
const store = point.server.store
const base = memory()
emit({ event: 'base', ...base })

const signer = spawn(process.execPath, [fileURLToPath(new URL('records-signer.ts', import.meta.url)), JSON.stringify({ count: total, perKey: 16 })], {
  stdio: ['ignore', 'pipe', 'inherit']
})
const started = now()
let held = 0
let recordBytes = 0
let pending: Buffer = Buffer.alloc(0)
const checkpoints = [...args.checkpoints].sort((a, b) => a - b)
for await (const chunk of signer.stdout as AsyncIterable<Buffer>) {
  pending = pending.byteLength === 0 ? chunk : Buffer.concat([pending, chunk])
  let off = 0
  while (pending.byteLength - off >= 2) {
    const length = pending.readUInt16BE(off)
    if (pending.byteLength - off < 2 + length + 64) break
    // copies: a stored record must not pin the pipe's chunk
    const record = new Uint8Array(pending.subarray(off + 2, off + 2 + length))
    const signature = new Uint8Array(pending.subarray(off + 2 + length, off + 2 + length + 64))
    off += 2 + length + 64
    recordBytes += length + 64
    await store.put({ record, signature })
    held++
    if (held === checkpoints[0]) {
      checkpoints.shift()
      const m = memory()
      emit({ event: 'checkpoint', records: held, seconds: (now() - started) / 1000, ...m, storeSize: store.size, recordBytes: recordBytes / held })
      log(`records: ${held} held, RSS ${Math.round(m.rss / 2 ** 20)} MiB`)
    }
  }
  pending = pending.subarray(off)
}
// the last record is really served
const last = await store.get(`service-${(total - 1).toString(36).padStart(6, '0')}`)
emit({ event: 'result', held, lastName: last.name })
await point.close()
process.exit(0)
