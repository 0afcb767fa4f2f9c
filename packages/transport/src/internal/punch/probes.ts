// Probes of the birthday punch (spec/direct-paths.md#probes): 32 bytes, a
// random half and its MAC under the key both sides derived from the nonces
// they exchanged over the relayed (Noise-authenticated) connection, with a
// label per kind of packet. Nothing on the wire repeats; a packet that is not
// a probe of this attempt, of the expected kind, is ignored.
import { createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto'

/** HKDF salt and label of the probe key. */
export const NS_PUNCH = 'fara/punch/v1'
/** Bytes of a probe. */
export const PROBE_BYTES = 32

/** Kinds of packet: the random side's mapping openers and keep-alives, the consistent side's probes, the random side's answer from the socket that won. */
export const PROBE_LABELS = {
  open: `${NS_PUNCH}/open`,
  probe: `${NS_PUNCH}/probe`,
  ack: `${NS_PUNCH}/ack`
} as const
export type ProbeKind = keyof typeof PROBE_LABELS

/** The probe key of one attempt: both nonces, the initiator's first. */
export function probeKey (initiatorNonce: Uint8Array, responderNonce: Uint8Array): Uint8Array {
  return new Uint8Array(hkdfSync('sha256', Buffer.concat([initiatorNonce, responderNonce]), NS_PUNCH, `${NS_PUNCH}/key`, 32))
}

function tag (key: Uint8Array, kind: ProbeKind, half: Uint8Array): Buffer {
  return createHmac('sha256', key).update(PROBE_LABELS[kind]).update(half).digest().subarray(0, PROBE_BYTES / 2)
}

/** A fresh packet of `kind`. */
export function makeProbe (key: Uint8Array, kind: ProbeKind): Uint8Array {
  const half = randomBytes(PROBE_BYTES / 2)
  return Buffer.concat([half, tag(key, kind, half)])
}

/** Whether `bytes` is a packet of `kind` under `key`. */
export function isProbe (key: Uint8Array, kind: ProbeKind, bytes: Uint8Array): boolean {
  if (bytes.byteLength !== PROBE_BYTES) return false
  return timingSafeEqual(tag(key, kind, bytes.subarray(0, PROBE_BYTES / 2)), bytes.subarray(PROBE_BYTES / 2))
}
