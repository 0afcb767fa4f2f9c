// fast-check arbitraries for the property tests of @fara/demux; the shared
// helpers (runs, mutations, protobuf soups, …) live in @fara/testkit/props.
import fc from 'fast-check'

export * from '@fara/testkit/props'

/** Cut points (sorted, deduplicated, within 1..length-1) splitting `bytes` into chunks; `single` cuts at every byte. */
export const cutting = fc.oneof(
  { weight: 1, arbitrary: fc.constant('single' as const) },
  { weight: 3, arbitrary: fc.array(fc.nat(), { maxLength: 12 }) }
)

/** Split `bytes` into chunks at `cuts` (or one byte at a time). */
export function chunksOf (bytes: Uint8Array, cuts: 'single' | number[]): Uint8Array[] {
  if (cuts === 'single') return Array.from(bytes, b => Uint8Array.of(b))
  const points = [...new Set(cuts.map(c => c % (bytes.byteLength + 1)))].filter(c => c > 0 && c < bytes.byteLength).sort((a, b) => a - b)
  const out: Uint8Array[] = []
  let start = 0
  for (const end of [...points, bytes.byteLength]) {
    if (end > start) out.push(bytes.subarray(start, end))
    start = end
  }
  return out
}

// ---- references -------------------------------------------------------------

/** What readFrame must deliver for the whole input, then the error name it must end with. */
export function refFrames (input: Uint8Array, max: number): { frames: Uint8Array[], end: string } {
  const maxPrefix = Math.max(1, Math.ceil(Math.log2(max + 1) / 7))
  const frames: Uint8Array[] = []
  let at = 0
  while (true) {
    let length = 0
    let prefix = 0
    let complete = false
    while (prefix < maxPrefix && at + prefix < input.byteLength) {
      const byte = input[at + prefix]!
      length += (byte & 0x7f) * 2 ** (7 * prefix)
      prefix++
      if ((byte & 0x80) === 0) { complete = true; break }
    }
    if (!complete) return { frames, end: prefix >= maxPrefix ? 'FrameTooLargeError' : 'AssociationClosedError' }
    if (length > max) return { frames, end: 'FrameTooLargeError' }
    if (length === 0) return { frames, end: 'MalformedFrameError' }
    if (at + prefix + length > input.byteLength) return { frames, end: 'AssociationClosedError' }
    frames.push(input.subarray(at + prefix, at + prefix + length))
    at += prefix + length
  }
}
