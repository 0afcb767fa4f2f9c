import { elligatorKeyPair } from '../elligator2.ts'
import { x25519Secret } from './keys.ts'
import { KeyPool } from '../pool.ts'
import type { KeyObject } from 'node:crypto'

/** An ephemeral X25519 key whose (dirty) public key has an Elligator2 representative. */
export interface EphemeralKey {
  secret: KeyObject
  representative: Uint8Array
}

/** Key pairs made ahead of time, so that a dial or an accept does not wait for the search (about two tries, 0.5 ms, per key). */
const POOL_SIZE = 8
/** After a key is taken, the refill waits this long (ms), so that it does not compete with the handshake that took the key. */
const REFILL_DELAY_MS = 50

function make (): EphemeralKey {
  const pair = elligatorKeyPair()
  const secret = x25519Secret(pair.secretKey)
  pair.secretKey.fill(0)
  return { secret, representative: pair.representative }
}

const pool = new KeyPool(make, POOL_SIZE, REFILL_DELAY_MS)

/** Start filling the pool in the background (a node calls it when it starts, so its first connection does not wait). */
export function warmEphemerals (): void {
  pool.warm()
}

/** One fresh ephemeral key, never handed out twice; the pool refills a little later. */
export function takeEphemeral (): EphemeralKey {
  return pool.take()
}
