// A DHT of N simulated nodes in one process, for bench/dht-model.ts: the
// lookups are @libp2p/kad-dht's own QueryManager and query paths (imported
// from its dist, so the α, disjoint-path, closer-only and convergence rules
// are the real ones), driven by a virtual clock; the network is a function
// that answers each request from the asked node's routing table.
//
// Routing tables are drawn, not grown: each node knows a random `fill` of the
// others, kept as @libp2p/kad-dht 16's table would keep them (see `Table`).
// Tables are drawn lazily from a seeded generator, so 1M nodes cost one
// sorted array of ids and the tables of the nodes a lookup touches.
import { createHash } from 'node:crypto'

/** The shape of a routing table. */
export type TableShape =
  /** @libp2p/kad-dht 16: a trie of buckets of `k` split down to `prefixLength` bits, the same depth everywhere in the key space. */
  | { kind: 'trie', prefixLength: number }
  /** Classic Kademlia (go-libp2p-kad-dht): one bucket of `k` per common prefix length with the node's own id. */
  | { kind: 'kademlia' }

/** Parameters of one simulated DHT. */
export interface SimInit {
  /** Nodes (before churn). */
  n: number
  /** Replication factor and bucket size. */
  k: number
  /** Concurrency per path and disjoint paths (@libp2p/kad-dht: 10 and 10). */
  alpha: number
  disjointPaths: number
  table: TableShape
  /**
   * Fraction of the other nodes a node has learned of (before buckets cap it), 0..1, besides its
   * neighbourhood: the smallest subtree of the key space around its own id that holds at least k
   * others, which its self-query finds.
   */
  fill: number
  seed: number
}

const PREFIX_BITS = 48
const TWO32 = 2 ** 32

/** splitmix32-style hash of up to four integers to a uniform 32-bit integer. */
function mix (a: number, b = 0, c = 0, d = 0): number {
  let h = (a ^ Math.imul(b, 0x9e3779b9) ^ Math.imul(c, 0x85ebca6b) ^ Math.imul(d, 0xc2b2ae35)) >>> 0
  h = Math.imul(h ^ (h >>> 16), 0x21f0aaad)
  h = Math.imul(h ^ (h >>> 15), 0x735a2d97)
  return (h ^ (h >>> 15)) >>> 0
}

/** A small seeded generator (mulberry32). */
export function rng (seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (s + 0x6d2b79f5) >>> 0
    let t = s
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / TWO32
  }
}

/**
 * The ids of a population of nodes: node i's peer id is 8 bytes (its index),
 * its Kademlia id sha256 of them, as @libp2p/kad-dht derives one
 * (`convertPeerId`). Kept sorted by the first 48 bits of the Kademlia id,
 * so that every subtree of the key space is a range of positions.
 */
export class Population {
  readonly size: number
  /** First 48 bits of each node's Kademlia id, as a number. */
  readonly prefix: Float64Array
  /** Node indices sorted by prefix, and each node's position in that order. */
  readonly order: Int32Array
  readonly sortedPrefix: Float64Array

  constructor (size: number) {
    this.size = size
    this.prefix = new Float64Array(size)
    for (let i = 0; i < size; i++) this.prefix[i] = prefix48(kadIdOf(i))
    const order = Int32Array.from({ length: size }, (_, i) => i)
    order.sort((a, b) => this.prefix[a]! - this.prefix[b]!)
    this.order = order
    this.sortedPrefix = Float64Array.from(order, i => this.prefix[i]!)
  }

  /** Positions [lo, hi) of the nodes whose ids start with the `bits`-bit prefix of `value`. */
  range (value: number, bits: number): [number, number] {
    const width = 2 ** (PREFIX_BITS - bits)
    const start = Math.floor(value / width) * width
    return [this.lowerBound(start), this.lowerBound(start + width)]
  }

  lowerBound (v: number): number {
    let lo = 0
    let hi = this.size
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (this.sortedPrefix[mid]! < v) lo = mid + 1
      else hi = mid
    }
    return lo
  }
}

/** The 8-byte peer id (multihash bytes, as far as kad-dht is concerned) of node `i`. */
export function peerBytes (i: number): Uint8Array {
  const b = new Uint8Array(8)
  new DataView(b.buffer).setUint32(0, 0x66617261) // 'fara'
  new DataView(b.buffer).setUint32(4, i)
  return b
}

export function kadIdOf (i: number): Uint8Array {
  return createHash('sha256').update(peerBytes(i)).digest()
}

export function prefix48 (kadId: Uint8Array): number {
  return kadId[0]! * 2 ** 40 + kadId[1]! * 2 ** 32 + ((kadId[2]! << 24) >>> 0) + (kadId[3]! << 16) + (kadId[4]! << 8) + kadId[5]!
}

/** XOR distance of two 48-bit prefixes, as a number (the order of the full 256-bit distance, ties aside). */
export function distance (a: number, b: number): number {
  const ah = Math.floor(a / TWO32)
  const bh = Math.floor(b / TWO32)
  return ((ah ^ bh) >>> 0) * TWO32 + (((a % TWO32) ^ (b % TWO32)) >>> 0)
}

/** Highest bit (0 = most significant of 48) where two prefixes differ: their common prefix length. */
function commonPrefix (a: number, b: number): number {
  const d = distance(a, b)
  return d === 0 ? PREFIX_BITS : PREFIX_BITS - Math.floor(Math.log2(d)) - 1
}

/**
 * Every node's routing table, drawn on demand. A node has learned of each
 * other node with probability `fill`; of those, a bucket keeps `k`, drawn at
 * random (a @libp2p/kad-dht bucket keeps the first `k` it is offered and
 * takes a newcomer only when an old contact fails a PING):
 * - trie (kad-dht 16): buckets split while full down to `prefixLength` bits,
 *   wherever they are, so the table is one bucket of `k` per `prefixLength`-bit
 *   region of the key space (64 regions of 20, at most 1280 peers, by default);
 * - kademlia: one bucket of `k` per common prefix length with the node itself,
 *   so resolution doubles with every bit towards the node's own id.
 * `visible(i)` says which nodes exist for the tables (a churn model adds
 * newcomers; nodes that left stay in tables until evicted).
 */
export class Tables {
  readonly #pop: Population
  readonly #init: SimInit
  readonly #visible: (i: number) => boolean
  readonly #depth = new Map<number, number>()

  constructor (pop: Population, init: SimInit, visible: (i: number) => boolean) {
    this.#pop = pop
    this.#init = init
    this.#visible = visible
  }

  /** Depth of node x's neighbourhood: the deepest subtree around x with at least k others in it. */
  #neighbourhood (x: number): number {
    let depth = this.#depth.get(x)
    if (depth == null) {
      const own = this.#pop.prefix[x]!
      depth = 0
      while (depth < PREFIX_BITS) {
        const [lo, hi] = this.#pop.range(own, depth + 1)
        if (hi - lo - 1 < this.#init.k) break
        depth++
      }
      this.#depth.set(x, depth)
    }
    return depth
  }

  /** Up to `k` nodes of the positions [lo, hi) that node `x` has in its bucket for that range. */
  bucket (x: number, lo: number, hi: number): number[] {
    const { k, fill, seed } = this.#init
    const near = fill >= 1 ? 0 : this.#neighbourhood(x)
    const own = this.#pop.prefix[x]!
    const known = (i: number): boolean => i !== x && this.#visible(i) &&
      (fill >= 1 || mix(seed, x, i, 7) / TWO32 < fill || commonPrefix(own, this.#pop.prefix[i]!) >= near)
    const m = hi - lo
    if (m <= 0) return []
    const random = rng(mix(seed, x, lo, hi))
    if (m <= 4 * k) {
      const all: number[] = []
      for (let p = lo; p < hi; p++) {
        const i = this.#pop.order[p]!
        if (known(i)) all.push(i)
      }
      if (all.length <= k) return all
      for (let j = 0; j < k; j++) {
        const r = j + Math.floor(random() * (all.length - j))
        const t = all[j]!
        all[j] = all[r]!
        all[r] = t
      }
      return all.slice(0, k)
    }
    const picked = new Set<number>()
    for (let tries = 0; picked.size < k && tries < 50 * k; tries++) {
      const i = this.#pop.order[lo + Math.floor(random() * m)]!
      if (known(i)) picked.add(i)
    }
    return [...picked]
  }

  /** The `count` nodes closest to `target` (a 48-bit prefix) in node `x`'s table, closest first. */
  closest (x: number, target: number, count: number): number[] {
    const pop = this.#pop
    const groups: number[][] = []
    const table = this.#init.table
    if (table.kind === 'trie') {
      const bits = table.prefixLength
      const regions = 2 ** bits
      const width = 2 ** (PREFIX_BITS - bits)
      const home = Math.floor(target / width)
      // regions in order of XOR distance from the target's region: every node of an earlier one is closer
      let found = 0
      for (let d = 0; d < regions && found < count; d++) {
        const region = (home ^ d) >>> 0
        const [lo, hi] = pop.range(region * width, bits)
        const b = this.bucket(x, lo, hi)
        groups.push(b)
        found += b.length
      }
    } else {
      // bucket b: nodes sharing exactly b leading bits with x. Closest to the target: the bucket at
      // cpl(x, target), then every deeper bucket (all differ from the target at that bit), then shallower ones
      const own = pop.prefix[x]!
      const at = commonPrefix(own, target)
      const flip = (b: number): number => {
        const width = 2 ** (PREFIX_BITS - b - 1)
        const bit = Math.floor(own / width) % 2
        return bit === 0 ? own + width : own - width
      }
      const bucketAt = (b: number): number[] => {
        const [lo, hi] = pop.range(flip(b), b + 1)
        return this.bucket(x, lo, hi)
      }
      const maxDepth = Math.min(PREFIX_BITS - 1, Math.ceil(Math.log2(pop.size)) + 8)
      if (at < PREFIX_BITS) groups.push(bucketAt(at))
      const deeper: number[] = []
      for (let b = at + 1; b <= maxDepth; b++) deeper.push(...bucketAt(b))
      groups.push(deeper)
      let found = groups.reduce((s, g) => s + g.length, 0)
      for (let b = at - 1; b >= 0 && found < count; b--) {
        const g = bucketAt(b)
        groups.push(g)
        found += g.length
      }
    }
    const out: number[] = []
    for (const g of groups) {
      g.sort((a, b) => distance(pop.prefix[a]!, target) - distance(pop.prefix[b]!, target))
      for (const i of g) {
        if (out.length === count) return out
        out.push(i)
      }
    }
    return out
  }
}

/**
 * A virtual clock: `sleep` resolves in virtual time; `run` advances to the
 * next timer each time the process has nothing else to do (one
 * `setImmediate` turn, after which every microtask has run). The query
 * machinery of @libp2p/kad-dht waits on promises only (but for the end of a
 * path, see `run`), so this is its schedule with every request taking
 * exactly the time it is given.
 */
export class VirtualClock {
  now = 0
  #timers: Array<{ at: number, seq: number, resolve: () => void }> = []
  #seq = 0

  async sleep (ms: number): Promise<void> {
    return new Promise(resolve => {
      this.#timers.push({ at: this.now + ms, seq: this.#seq++, resolve })
    })
  }

  async run<T> (work: Promise<T>): Promise<T> {
    let settled = false
    const done = work.finally(() => { settled = true })
    for (;;) {
      await new Promise(resolve => setImmediate(resolve))
      if (settled) return done
      if (this.#timers.length === 0) {
        // @libp2p/utils' Queue reports 'idle' (which ends a query path) through a 1 ms debounce: real
        // time, but nothing waits on it except the end of the query, so the virtual time is right
        for (let i = 0; i < 1000 && this.#timers.length === 0 && !settled; i++) await new Promise(resolve => setTimeout(resolve, 1))
        if (settled) return done
        if (this.#timers.length === 0) throw new Error('virtual clock: nothing scheduled and the work is not done')
        continue
      }
      this.#timers.sort((a, b) => a.at - b.at || a.seq - b.seq)
      const at = this.#timers[0]!.at
      this.now = at
      while (this.#timers.length > 0 && this.#timers[0]!.at === at) this.#timers.shift()!.resolve()
    }
  }
}
