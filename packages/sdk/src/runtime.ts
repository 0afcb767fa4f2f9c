// One process-wide setting of V8's garbage collector, for processes that move
// bulk data (bench/README.md#the-garbage-collector-and-buffers).
import { setFlagsFromString } from 'node:v8'

/** What {@link tuneGc} did: `'tuned'` (V8 counts buffers in its heap limit now) or `'unsupported'` (this V8 was left as it was). */
export type GcTuning = 'tuned' | 'unsupported'

const FLAG = '--external-memory-accounted-in-global-limit'

/**
 * Whether the V8 of `version` (`process.versions.v8`) has the setting off
 * by default and takes it at run time: V8 13 (Node.js 24). Older V8s lack
 * the flag; V8 made it its default and then removed it, so later ones
 * already behave so (`tuneGc` leaves both alone).
 */
export function gcTuningApplies (version: string): boolean {
  return /^13\./.test(version)
}

let tuned = false

/**
 * Let V8 count the memory behind buffers (socket reads, `node:crypto`'s
 * output, `Buffer`s) in its heap's growth limit, as later V8s do by
 * default, instead of starting a full collection for every 64 MiB of new
 * buffers. A process that moves bulk data allocates about a buffer per MiB
 * it sends or receives, so with Node.js 24's default it spends up to a
 * fifth of its time in full collections that find almost nothing left
 * alive; with this, the young-generation collections free the buffers.
 *
 * It is process-wide (`v8.setFlagsFromString`) and costs peak memory: about
 * 60–80 MiB more resident set in a process moving 300 MiB/s (measured in
 * bench/README.md#the-garbage-collector-and-buffers). Call it once at
 * start-up; the `fara` command does. Nothing in the SDK calls it for you.
 *
 * @example
 * ```ts
 * import { createEntity, tuneGc } from '@fara/sdk'
 *
 * tuneGc() // once, at start-up, before any data moves
 * const entity = await createEntity({ app: 'backup' })
 * // … serve or connect, move the data …
 * await entity.close()
 * ```
 *
 * @returns `'tuned'` on V8 13 (Node.js 24), `'unsupported'` elsewhere, where it changes nothing
 */
export function tuneGc (): GcTuning {
  if (tuned) return 'tuned'
  if (!gcTuningApplies(process.versions.v8)) return 'unsupported'
  setFlagsFromString(FLAG)
  tuned = true
  return 'tuned'
}
