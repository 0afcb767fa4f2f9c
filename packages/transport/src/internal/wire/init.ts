// What a connection under the unobservable layer is made with: the padding,
// and each side's keys (spec/unobservable.md); and why a listener refuses.
import type { ReplayMemory } from './replay.ts'
import type { Logger, MultiaddrConnection } from '@libp2p/interface'
import type { KeyObject } from 'node:crypto'

/** How much padding a side adds (spec/unobservable.md#frames). */
export interface Padding {
  /** A hello carries uniformly 0 to `hello - 1` bytes of padding. */
  hello: number
  /** The first `writes` writes of each side carry a padding frame… */
  writes: number
  /** …of uniformly 0 to `frame - 1` bytes. */
  frame: number
}

interface CommonInit {
  raw: MultiaddrConnection
  log: Logger
  padding: Padding
  rekeyBytes?: number
}

/** The initiator knows the listener's static X25519 key. */
export interface InitiatorInit extends CommonInit {
  listener: Uint8Array
}

/** The listener has its static key and its memory of hellos. */
export interface ListenerInit extends CommonInit {
  secret: KeyObject
  publicKey: Uint8Array
  replay: ReplayMemory
}

/**
 * Why a listener refused a connection (for its log and counters only; the
 * remote learns nothing): a key that is a low-order point, padding over the
 * bound, a wrong MAC, a time outside the window, a replayed hello, a full
 * replay memory, the remote closed first, or no hello before the close time.
 */
export type Refusal = 'low-order' | 'padding' | 'mac' | 'stale' | 'replay' | 'full' | 'closed' | 'timeout'
