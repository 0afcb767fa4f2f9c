/**
 * The bytes of the records a `RecordStore` holds, packed into a few large
 * chunks instead of two small buffers per record: a buffer of its own costs
 * about 280 bytes of bookkeeping (ArrayBuffer, backing store, malloc) on top
 * of a ~250-byte signed record, a place in a chunk costs three numbers.
 *
 * Chunks are appended to; a freed place is garbage until its chunk is
 * compacted. Every chunk but the one being filled keeps at least half of its
 * capacity live (checked when it is sealed and on every free; below that, its
 * live places move into the current chunk and it is dropped), so the slab
 * holds at most `2 × live + one chunk` bytes however records churn.
 */

/** The first chunk's size: a store holding a few records stays small. */
export const MIN_CHUNK_BYTES = 16 * 1024
/** Chunks double in size up to this. */
export const MAX_CHUNK_BYTES = 1024 * 1024

/** One chunk: its bytes, how far they are filled, how many are still live, and what was placed in it. */
export interface Chunk {
  readonly bytes: Uint8Array
  used: number
  live: number
  /** Every place written here, live or not (a freed or moved one no longer points here). */
  placed: Placement[]
}

/** Where one entry's bytes are: the owner of the entry (a store slot) carries these three fields. */
export interface Placement {
  /** The chunk holding the bytes; undefined once freed. */
  chunk: Chunk | undefined
  offset: number
  length: number
}

/** Chunked byte storage for the entries of a store; see the file comment. */
export class Slab {
  #current: Chunk | undefined
  #next: number
  readonly #maxChunk: number
  #capacity = 0
  #live = 0

  /** Chunk sizes: the first, and the most they double to (tests use small ones). */
  constructor (init: { minChunk?: number, maxChunk?: number } = {}) {
    this.#next = init.minChunk ?? MIN_CHUNK_BYTES
    this.#maxChunk = Math.max(this.#next, init.maxChunk ?? MAX_CHUNK_BYTES)
  }

  /** Bytes of all chunks in use (what the slab costs). */
  get capacity (): number {
    return this.#capacity
  }

  /** Bytes of all live entries. */
  get live (): number {
    return this.#live
  }

  /**
   * Copy `parts` one after the other into the slab and point `p` at them
   * (whatever `p` held before is freed).
   */
  write (p: Placement, ...parts: Uint8Array[]): void {
    this.free(p)
    let length = 0
    for (const part of parts) length += part.byteLength
    const chunk = this.#room(length)
    let at = chunk.used
    for (const part of parts) {
      chunk.bytes.set(part, at)
      at += part.byteLength
    }
    this.#place(p, chunk, length)
  }

  /** The bytes of `p`, as a view into the slab: read it now, never keep or hand it out (copy). */
  view (p: Placement): Uint8Array {
    if (p.chunk == null) throw new Error('slab entry was freed')
    return p.chunk.bytes.subarray(p.offset, p.offset + p.length)
  }

  /** Free the bytes of `p` (nothing if it holds none). */
  free (p: Placement): void {
    const chunk = p.chunk
    if (chunk == null) return
    p.chunk = undefined
    chunk.live -= p.length
    this.#live -= p.length
    this.#check(chunk)
  }

  #place (p: Placement, chunk: Chunk, length: number): void {
    p.chunk = chunk
    p.offset = chunk.used
    p.length = length
    chunk.used += length
    chunk.live += length
    chunk.placed.push(p)
    this.#live += length
  }

  /** The current chunk if `length` more bytes fit, else a new one (the old one sealed and checked). */
  #room (length: number): Chunk {
    let chunk = this.#current
    while (chunk == null || chunk.used + length > chunk.bytes.byteLength) {
      const sealed = chunk
      const size = Math.max(this.#next, length)
      this.#next = Math.min(this.#maxChunk, this.#next * 2)
      this.#current = { bytes: new Uint8Array(size), used: 0, live: 0, placed: [] }
      this.#capacity += size
      // moving the sealed chunk's live entries may fill (and seal) the new one in turn: look again
      if (sealed != null) this.#check(sealed)
      chunk = this.#current
    }
    return chunk
  }

  /** Compact a sealed chunk that is less than half live: move what lives into the current chunk, drop it. */
  #check (chunk: Chunk): void {
    if (chunk === this.#current || chunk.live * 2 >= chunk.bytes.byteLength) return
    const placed = chunk.placed
    chunk.placed = []
    this.#capacity -= chunk.bytes.byteLength
    for (const p of placed) {
      // a place freed, or rewritten elsewhere, no longer points here; one rewritten here twice is moved once
      if (p.chunk !== chunk) continue
      const bytes = chunk.bytes.subarray(p.offset, p.offset + p.length)
      p.chunk = undefined
      chunk.live -= p.length
      this.#live -= p.length
      const into = this.#room(p.length)
      into.bytes.set(bytes, into.used)
      this.#place(p, into, p.length)
    }
  }
}
