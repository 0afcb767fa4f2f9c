// The punch's types that appear in the public API (no udx-native types here:
// its typings are local to this package, spec/direct-paths.md#the-connection).
import type { Endpoint } from './addr.ts'

/** How a node's NAT maps one socket's traffic to different destinations. */
export type NatKind = 'consistent' | 'random' | 'unknown'

/** An observer to ask: where it answers, and its static X25519 key (from its peer id). */
export interface ObserverTarget extends Endpoint {
  key: Uint8Array
}

/** What a classification found. */
export interface Classification {
  kind: NatKind
  /** The endpoint the observers saw (the first answer): for a consistent NAT, where the peer must send. */
  seen?: Endpoint
  /** How many observers answered, of how many asked. */
  answers: number
  asked: number
  /** When it was made (ms since 1970). */
  at: number
}

