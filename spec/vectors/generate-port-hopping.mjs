// Generates spec/vectors/port-hopping.json (spec/port-hopping.md) with code
// that shares nothing with @fara/port-hopping: node:crypto for HMAC-SHA256,
// Buffer for the byte layouts, BigInt for the reduction. The package's tests
// check they produce the same ports, windows, dial orders and encodings.
//   node spec/vectors/generate-port-hopping.mjs          (rewrite port-hopping.json)
//   node spec/vectors/generate-port-hopping.mjs --check  (fail if port-hopping.json differs)
import { createHmac } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const here = (p) => fileURLToPath(new URL(p, import.meta.url))
const hex = (b) => Buffer.from(b).toString('hex')
const bytes = (n, f) => Buffer.from(Array.from({ length: n }, (_, i) => f(i) & 0xff))

const DOMAIN = 'fara/port-hopping/v1'
const MAX_BLOCKS = 8

// message(slot, block) = utf8(DOMAIN) || 0x00 || i64be(slot) || u32be(block)
function message (slot, block) {
  const tail = Buffer.alloc(12)
  tail.writeBigInt64BE(BigInt(slot), 0)
  tail.writeUInt32BE(block, 8)
  return Buffer.concat([Buffer.from(DOMAIN, 'utf8'), Buffer.from([0]), tail])
}
const block = (key, slot, b) => createHmac('sha256', key).update(message(slot, b)).digest()

// unbiased reduction: first 32-bit big-endian candidate x < n * floor(2^32 / n) gives x mod n
function derive (params, slot) {
  const n = BigInt(params.range.end - params.range.start + 1)
  const limit = n * ((1n << 32n) / n)
  const rejected = []
  for (let b = 0; b < MAX_BLOCKS; b++) {
    const h = block(params.key, slot, b)
    for (let i = 0; i < 8; i++) {
      const x = BigInt(h.readUInt32BE(4 * i))
      if (x < limit) return { port: params.range.start + Number(x % n), block: b, candidate: i, x: Number(x), limit: Number(limit), rejected }
      rejected.push(Number(x))
    }
  }
  throw new Error('no candidate accepted')
}
const portOf = (params, slot) => derive(params, slot).port

const slotAt = (params, t) => Math.floor((t - params.epoch) / params.intervalMs)
const uniq = (list) => list.filter((v, i) => list.indexOf(v) === i)
function at (params, t) {
  const s = slotAt(params, t)
  const into = t - params.epoch - s * params.intervalMs
  const late = 2 * into >= params.intervalMs
  return {
    t,
    slot: s,
    port: portOf(params, s),
    window: uniq([s - 1, s, s + 1].map(x => portOf(params, x))),
    dial: uniq((late ? [s, s + 1, s - 1] : [s, s - 1, s + 1]).map(x => portOf(params, x))),
    nextChangeAt: params.epoch + (s + 1) * params.intervalMs
  }
}

// encoding, version 1: 0x01 || key(32) || u64be(epoch) || u32be(intervalMs) || u16be(start) || u16be(end)
function encode (p, version = 1) {
  const b = Buffer.alloc(49)
  b[0] = version
  p.key.copy(b, 1)
  b.writeBigUInt64BE(BigInt(p.epoch), 33)
  b.writeUInt32BE(p.intervalMs, 41)
  b.writeUInt16BE(p.range.start, 45)
  b.writeUInt16BE(p.range.end, 47)
  return b
}
const text = (b) => 'fara-hop:' + b.toString('base64url')
const paramsJson = (p) => ({ key: hex(p.key), epoch: p.epoch, intervalMs: p.intervalMs, range: p.range })

// A: default interval and range (16384 ports, a power of two: nothing is ever rejected)
const A = { name: 'default interval and range', key: bytes(32, i => i), epoch: 0, intervalMs: 30_000, range: { start: 16_384, end: 32_767 } }
// B: one-second slots over the widest range, a real epoch
const B = { name: 'one-second slots, full range, epoch 1700000000000', key: bytes(32, i => 0xa0 + i), epoch: 1_700_000_000_000, intervalMs: 1_000, range: { start: 1024, end: 65_535 } }
// C: the smallest range: adjacent slots often share a port
const C = { name: 'smallest range (16 ports): repeats collapse in the window', key: bytes(32, () => 0x5a), epoch: 0, intervalMs: 1_000, range: { start: 40_000, end: 40_015 } }
// R: the range size with the largest rejection probability (2^32 mod 64489 = 64385)
const R = { name: 'rejection: 64489 ports', key: bytes(32, i => 0xff - i), epoch: 0, intervalMs: 1_000, range: { start: 1024, end: 65_512 } }

const slotsOf = (p, list) => list.map(slot => ({ slot, port: portOf(p, slot) }))
const schedules = [
  { ...A, slots: slotsOf(A, [-2, -1, 0, 1, 2, 3, 56_666_666, 2 ** 31, 2 ** 32, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER]), times: [0, 29_999, 30_000, 1_700_000_012_345, 1_700_000_029_999].map(t => at(A, t)) },
  { ...B, slots: slotsOf(B, [-1, 0, 1, 1000]), times: [B.epoch - 1, B.epoch, B.epoch + 499, B.epoch + 500, B.epoch + 999, B.epoch + 123_456_789].map(t => at(B, t)) }
]

// C: the first slot from 0 whose window repeats a port
let repeat = 0
while (new Set([repeat - 1, repeat, repeat + 1].map(s => portOf(C, s))).size === 3) repeat++
schedules.push({ ...C, slots: slotsOf(C, [repeat - 1, repeat, repeat + 1]), times: [repeat * 1000, repeat * 1000 + 700].map(t => at(C, t)) })

// R: the first slot from 0 whose first candidate is rejected
let rslot = 0
while (derive(R, rslot).rejected.length === 0) rslot++
const r = derive(R, rslot)
const rejection = {
  ...paramsJson(R),
  name: R.name,
  slot: rslot,
  limit: r.limit,
  block0: hex(block(R.key, rslot, 0)),
  rejected: r.rejected,
  accepted: { block: r.block, candidate: r.candidate, x: r.x },
  port: r.port
}

const messages = [[0, 0], [-1, 0], [5, 1], [Number.MAX_SAFE_INTEGER, 7]].map(([slot, b]) => ({
  key: hex(A.key), slot, block: b, message: hex(message(slot, b)), hmac: hex(block(A.key, slot, b))
}))

// bad encodings, each with the error a decoder must throw
const good = encode(B)
const patched = (f) => { const b = Buffer.from(good); f(b); return b }
const invalid = [
  { why: 'empty', bytes: Buffer.alloc(0), error: 'InvalidHopParamsError' },
  { why: 'version 0', bytes: patched(b => { b[0] = 0 }), error: 'UnsupportedHopVersionError' },
  { why: 'version 2', bytes: encode(B, 2), error: 'UnsupportedHopVersionError' },
  { why: 'one byte short', bytes: good.subarray(0, 48), error: 'InvalidHopParamsError' },
  { why: 'one byte too many', bytes: Buffer.concat([good, Buffer.from([0])]), error: 'InvalidHopParamsError' },
  { why: 'epoch above 2^53 - 1', bytes: patched(b => { b.writeBigUInt64BE(2n ** 53n, 33) }), error: 'InvalidHopParamsError' },
  { why: 'interval 999 ms', bytes: patched(b => { b.writeUInt32BE(999, 41) }), error: 'InvalidHopParamsError' },
  { why: 'interval above one day', bytes: patched(b => { b.writeUInt32BE(86_400_001, 41) }), error: 'InvalidHopParamsError' },
  { why: 'range start 1023', bytes: patched(b => { b.writeUInt16BE(1023, 45) }), error: 'InvalidHopParamsError' },
  { why: 'range of 15 ports', bytes: patched(b => { b.writeUInt16BE(2000, 45); b.writeUInt16BE(2014, 47) }), error: 'InvalidHopParamsError' },
  { why: 'range end before start', bytes: patched(b => { b.writeUInt16BE(3000, 45); b.writeUInt16BE(2000, 47) }), error: 'InvalidHopParamsError' }
].map(({ why, bytes: b, error }) => ({ why, hex: hex(b), error }))

const invalidText = [
  { why: 'no prefix', text: good.toString('base64url'), error: 'InvalidHopParamsError' },
  { why: 'padding', text: text(good) + '=', error: 'InvalidHopParamsError' },
  { why: 'a character outside base64url', text: 'fara-hop:+' + text(good).slice('fara-hop:'.length + 1), error: 'InvalidHopParamsError' },
  { why: 'non-canonical last character', text: text(good).slice(0, -1) + 'B', error: 'InvalidHopParamsError' },
  { why: 'too long', text: text(Buffer.concat([good, Buffer.alloc(3)])), error: 'InvalidHopParamsError' },
  { why: 'version 2', text: text(encode(B, 2)), error: 'UnsupportedHopVersionError' }
]

const vectors = {
  comment: 'Generated by spec/vectors/generate-port-hopping.mjs (spec/port-hopping.md). Times are ms since the Unix epoch; ranges include both ends; window = ports of slots s-1, s, s+1 without repeats; dial = the order a dialer tries.',
  domain: DOMAIN,
  messages,
  schedules: schedules.map(s => ({ name: s.name, params: paramsJson(s), encoded: hex(encode(s)), text: text(encode(s)), slots: s.slots, times: s.times })),
  rejection,
  invalid,
  invalidText
}

const out = JSON.stringify(vectors, null, 2) + '\n'
const file = here('./port-hopping.json')
if (process.argv.includes('--check')) {
  let current = ''
  try { current = readFileSync(file, 'utf8') } catch { /* missing: out of date */ }
  if (current !== out) { console.error('spec/vectors/port-hopping.json is out of date: run node spec/vectors/generate-port-hopping.mjs'); process.exit(1) }
} else {
  writeFileSync(file, out)
  console.log(`wrote ${file}`)
}
