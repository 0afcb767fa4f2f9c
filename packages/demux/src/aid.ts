import { webcrypto } from 'node:crypto'
import { AID_BYTES } from './constants.ts'

/** A source of random bytes; the default is the platform CSPRNG. Injected only by tests. */
export type RandomBytes = (length: number) => Uint8Array

/** The CSPRNG: `crypto.getRandomValues`. */
export const csprng: RandomBytes = (length) => webcrypto.getRandomValues(new Uint8Array(length))

/**
 * A fresh association id: {@link AID_BYTES} bytes from the CSPRNG. AIds are
 * never derived from a name, a key or a counter (spec/wire.md#aids).
 */
export function randomAid (random: RandomBytes = csprng): Uint8Array {
  const aid = random(AID_BYTES)
  if (!(aid instanceof Uint8Array) || aid.byteLength !== AID_BYTES) {
    throw new RangeError(`random source must return ${AID_BYTES} bytes, got ${(aid as Uint8Array)?.byteLength}`)
  }
  return aid
}

/** True if `value` is a well-formed AId (a Uint8Array of exactly {@link AID_BYTES} bytes). */
export function isAid (value: unknown): value is Uint8Array {
  return value instanceof Uint8Array && value.byteLength === AID_BYTES
}

/** Lower-case hex of an AId, for logs and table keys. */
export function aidToHex (aid: Uint8Array): string {
  if (!isAid(aid)) {
    throw new RangeError(`aid must be ${AID_BYTES} bytes, got ${(aid as Uint8Array | undefined)?.byteLength}`)
  }
  return Buffer.from(aid.buffer, aid.byteOffset, aid.byteLength).toString('hex')
}

/** Parse the hex form made by {@link aidToHex}. */
export function aidFromHex (hex: string): Uint8Array {
  if (typeof hex !== 'string' || !/^[0-9a-f]{16}$/i.test(hex)) {
    throw new RangeError(`aid must be 16 hex digits, got ${JSON.stringify(hex)}`)
  }
  return new Uint8Array(Buffer.from(hex, 'hex'))
}
