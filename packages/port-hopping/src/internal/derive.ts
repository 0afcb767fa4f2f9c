import { createHmac, createSecretKey } from 'node:crypto'
import { HOP_DOMAIN, MAX_HMAC_BLOCKS } from '../constants.ts'
import { HopDerivationError } from '../errors.ts'
import type { KeyObject } from 'node:crypto'

const DOMAIN = new TextEncoder().encode(HOP_DOMAIN)

/** Bytes of one 32-bit candidate; an HMAC-SHA256 block holds 8 of them. */
const CANDIDATE_BYTES = 4

/** A key ready for HMAC; the caller's bytes are copied into it. */
export function hmacKey (key: Uint8Array): KeyObject {
  return createSecretKey(key)
}

/** The HMAC message of `(slot, block)`: `utf8(HOP_DOMAIN) || 0x00 || i64be(slot) || u32be(block)`. */
export function slotMessage (slot: number, block: number): Uint8Array {
  const out = new Uint8Array(DOMAIN.length + 1 + 8 + 4)
  const view = new DataView(out.buffer)
  out.set(DOMAIN, 0)
  out[DOMAIN.length] = 0
  view.setBigInt64(DOMAIN.length + 1, BigInt(slot))
  view.setUint32(DOMAIN.length + 9, block)
  return out
}

/** Block `block` of slot `slot`: HMAC-SHA256(key, slotMessage(slot, block)), 32 bytes. */
export function slotBlock (key: KeyObject, slot: number, block: number): Uint8Array {
  return new Uint8Array(createHmac('sha256', key).update(slotMessage(slot, block)).digest())
}

/**
 * Unbiased reduction of 32-bit candidates to `n` values (spec/port-hopping.md#the-schedule):
 * read the blocks in order, each as big-endian 32-bit candidates `x`; the first
 * `x < limit`, where `limit = n * floor(2^32 / n)`, gives `x mod n`. Every value
 * of `0..n-1` then has exactly `floor(2^32 / n)` preimages.
 */
export function reduce (blockAt: (block: number) => Uint8Array, n: number): number {
  const limit = n * Math.floor(2 ** 32 / n)
  for (let block = 0; block < MAX_HMAC_BLOCKS; block++) {
    const bytes = blockAt(block)
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    for (let at = 0; at + CANDIDATE_BYTES <= bytes.length; at += CANDIDATE_BYTES) {
      const x = view.getUint32(at)
      if (x < limit) return x % n
    }
  }
  throw new HopDerivationError(`No candidate below ${limit} in ${MAX_HMAC_BLOCKS} blocks`)
}
