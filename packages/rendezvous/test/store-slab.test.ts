// The slab that holds a RecordStore's signed bytes: whatever the sequence of
// writes, rewrites and frees (compactions included), every live entry reads
// back exactly the bytes last written to it, and the slab holds at most twice
// the live bytes plus one chunk.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { MAX_CHUNK_BYTES, MIN_CHUNK_BYTES, Slab } from '../src/internal/store-slab.ts'
import { budget, propsFile, runs } from './arbitraries.ts'
import type { Placement } from '../src/internal/store-slab.ts'

propsFile('rendezvous/store-slab')

const MIN = 256
const MAX = 4096
const ENTRIES = 24

/** Entry `i`'s bytes at version `v`: a length and a fill that differ per entry and per write. */
function contentOf (i: number, v: number, length: number): Uint8Array {
  const bytes = new Uint8Array(length)
  for (let k = 0; k < length; k++) bytes[k] = (i * 31 + v * 7 + k) & 255
  return bytes
}

interface Entry { p: Placement, bytes: Uint8Array | undefined }

const op = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('write' as const), entry: fc.nat(ENTRIES - 1), length: fc.integer({ min: 1, max: 900 }), split: fc.nat() }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('free' as const), entry: fc.nat(ENTRIES - 1) }) }
)

function check (slab: Slab, entries: Entry[]): void {
  let live = 0
  for (const e of entries) {
    if (e.bytes == null) {
      expect(e.p.chunk).toBeUndefined()
      continue
    }
    live += e.bytes.byteLength
    expect(Buffer.from(slab.view(e.p)).equals(Buffer.from(e.bytes))).toBe(true)
  }
  expect(slab.live).toBe(live)
  // sealed chunks are at least half live; the one being filled is at most MAX bytes
  expect(slab.capacity).toBeLessThanOrEqual(2 * live + MAX)
}

describe('Slab', () => {
  it('reads back every live entry as last written and holds at most 2 x live + one chunk, through any writes and frees', () => {
    fc.assert(fc.property(fc.array(op, { maxLength: 400 }), ops => {
      const slab = new Slab({ minChunk: MIN, maxChunk: MAX })
      const entries: Entry[] = Array.from({ length: ENTRIES }, () => ({ p: { chunk: undefined, offset: 0, length: 0 }, bytes: undefined }))
      let version = 0
      for (const o of ops) {
        const e = entries[o.entry]!
        if (o.kind === 'write') {
          const bytes = contentOf(o.entry, version++, o.length)
          // written in two parts, as a record and its signature are
          const at = o.split % (o.length + 1)
          slab.write(e.p, bytes.subarray(0, at), bytes.subarray(at))
          e.bytes = bytes
        } else {
          slab.free(e.p)
          e.bytes = undefined
        }
        check(slab, entries)
      }
    }), { numRuns: runs(300) })
  }, budget(30_000))

  it('compacts chunks that keep only a few live entries (one in ten kept of 10 000 written)', () => {
    const slab = new Slab({ minChunk: MIN, maxChunk: MAX })
    const entries: Entry[] = Array.from({ length: 10_000 }, (_, i) => ({ p: { chunk: undefined, offset: 0, length: 0 }, bytes: contentOf(i, 0, 100 + (i % 50)) }))
    for (const e of entries) slab.write(e.p, e.bytes!)
    for (const [i, e] of entries.entries()) {
      if (i % 10 === 0) continue
      slab.free(e.p)
      e.bytes = undefined
    }
    check(slab, entries)
  })

  it('frees a chunk whose entries are all freed, and takes an entry larger than any chunk', () => {
    const slab = new Slab({ minChunk: MIN, maxChunk: MAX })
    const ps: Placement[] = Array.from({ length: 40 }, () => ({ chunk: undefined, offset: 0, length: 0 }))
    for (const [i, p] of ps.entries()) slab.write(p, contentOf(i, 0, 200))
    expect(slab.live).toBe(8000)
    for (const p of ps) slab.free(p)
    expect(slab.live).toBe(0)
    // only the chunk being filled is left
    expect(slab.capacity).toBeLessThanOrEqual(MAX)
    const big: Placement = { chunk: undefined, offset: 0, length: 0 }
    slab.write(big, contentOf(1, 1, 3 * MAX))
    expect(Buffer.from(slab.view(big)).equals(Buffer.from(contentOf(1, 1, 3 * MAX)))).toBe(true)
  })

  it('refuses to read a freed entry', () => {
    const slab = new Slab()
    const p: Placement = { chunk: undefined, offset: 0, length: 0 }
    slab.write(p, new Uint8Array([1, 2, 3]))
    slab.free(p)
    expect(() => slab.view(p)).toThrow(/freed/)
  })

  it('starts small and grows its chunks to the maximum', () => {
    expect(MIN_CHUNK_BYTES).toBeLessThan(MAX_CHUNK_BYTES)
    const slab = new Slab()
    const p: Placement = { chunk: undefined, offset: 0, length: 0 }
    slab.write(p, new Uint8Array(10))
    expect(slab.capacity).toBe(MIN_CHUNK_BYTES)
  })
})
