import { elligatorKeyPair } from '../elligator2.ts'
import { x25519Secret } from './keys.ts'
import type { KeyObject } from 'node:crypto'

/** An ephemeral X25519 key whose (dirty) public key has an Elligator2 representative. */
export interface EphemeralKey {
  secret: KeyObject
  representative: Uint8Array
}

/** Key pairs made ahead of time, so that a dial or an accept does not wait for the search (about two tries per key). */
const POOL_SIZE = 8
const pool: EphemeralKey[] = []
let filling = false

function make (): EphemeralKey {
  const pair = elligatorKeyPair()
  const secret = x25519Secret(pair.secretKey)
  pair.secretKey.fill(0)
  return { secret, representative: pair.representative }
}

function fill (): void {
  if (pool.length >= POOL_SIZE) {
    filling = false
    return
  }
  pool.push(make())
  setImmediate(fill).unref()
}

/** Start filling the pool in the background (a node calls it when it starts, so its first connection does not wait). */
export function warmEphemerals (): void {
  if (filling) return
  filling = true
  setImmediate(fill).unref()
}

/** One fresh ephemeral key, never handed out twice; the pool refills between events. */
export function takeEphemeral (): EphemeralKey {
  const key = pool.pop() ?? make()
  warmEphemerals()
  return key
}
