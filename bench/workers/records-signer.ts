// Signs `count` typical public records (a name, two addresses, an AId; one key
// per 16 names, the default per-key limit) and writes them to stdout as
// frames: u16 record length, the record, the 64-byte signature. The holder
// reads them on its other end; a full pipe blocks this writer (backpressure).
import { writeSync } from 'node:fs'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { createRecord } from '@fara/rendezvous'
import { workerArgs } from '../lib/worker.ts'

const args = workerArgs<{ count: number, perKey: number }>()
const BATCH = 256
let key = await generateKeyPair('Ed25519')
let peer = peerIdFromPrivateKey(key).toString()
const aid = new Uint8Array(8)
for (let i = 0; i < args.count; i += BATCH) {
  const frames: Uint8Array[] = []
  for (let j = i; j < Math.min(args.count, i + BATCH); j++) {
    if (j % args.perKey === 0 && j > 0) {
      key = await generateKeyPair('Ed25519')
      peer = peerIdFromPrivateKey(key).toString()
    }
    new DataView(aid.buffer).setUint32(0, j)
    const port = 20_000 + (j % 40_000)
    const signed = await createRecord(key, {
      name: `service-${j.toString(36).padStart(6, '0')}`,
      addrs: [`/ip4/198.51.${(j >> 8) & 255}.${j & 255}/tcp/${port}/p2p/${peer}`, `/ip6/2001:db8::${(j & 0xffff).toString(16)}/tcp/${port}/p2p/${peer}`],
      aid,
      ttl: 3_600_000,
      // the wall clock, not monotonicNow(): that one adds 1 ms per record signed within
      // a millisecond, so signing thousands per second would push seq minutes into the future
      now: Date.now()
    })
    const head = new Uint8Array(2)
    new DataView(head.buffer).setUint16(0, signed.record.byteLength)
    frames.push(head, signed.record, signed.signature)
  }
  const out = Buffer.concat(frames)
  for (let off = 0; off < out.byteLength;) {
    try {
      off += writeSync(1, out, off)
    } catch (err) {
      // EAGAIN: the pipe is full and non-blocking; wait for the holder
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err
      await new Promise(resolve => setTimeout(resolve, 1))
    }
  }
}
process.exit(0)
