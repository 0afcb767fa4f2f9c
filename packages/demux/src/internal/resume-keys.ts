import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto'
import { RESUME_PROOF_BYTES, RESUME_TOKEN_BYTES } from '../constants.ts'

// Domain separation for every derivation of spec/resumption.md#keys
const NS_KEY = 'fara/resume/v1/key'
const NS_TOKEN = 'fara/resume/v1/token'
const NS_INITIATOR = 'fara/resume/v1/initiator'
const NS_RESPONDER = 'fara/resume/v1/responder'

/** The resumption key: HKDF-SHA256(nonce_i ‖ nonce_r, salt = initiator AId ‖ responder AId). */
export function resumeKey (initiatorNonce: Uint8Array, responderNonce: Uint8Array, initiatorAid: Uint8Array, responderAid: Uint8Array): Uint8Array {
  return new Uint8Array(hkdfSync('sha256', Buffer.concat([initiatorNonce, responderNonce]), Buffer.concat([initiatorAid, responderAid]), NS_KEY, 32))
}

/** Token number `n` (0 at establishment, +1 after each resumption): single use. */
export function resumeToken (key: Uint8Array, n: number): Uint8Array {
  const info = Buffer.alloc(NS_TOKEN.length + 4)
  info.write(NS_TOKEN, 0, 'latin1')
  info.writeUInt32BE(n, NS_TOKEN.length)
  return new Uint8Array(hkdfSync('sha256', key, new Uint8Array(0), info, RESUME_TOKEN_BYTES))
}

function u64 (n: number): Buffer {
  const b = Buffer.alloc(8)
  b.writeBigUInt64BE(BigInt(n))
  return b
}

/** The initiator's proof: HMAC(key, NS_INITIATOR ‖ token ‖ new initiator AId ‖ u64 received). */
export function initiatorProof (key: Uint8Array, token: Uint8Array, initiatorAid: Uint8Array, received: number): Uint8Array {
  return new Uint8Array(createHmac('sha256', key).update(NS_INITIATOR).update(token).update(initiatorAid).update(u64(received)).digest())
}

/** The responder's proof, binding the initiator's: HMAC(key, NS_RESPONDER ‖ token ‖ new responder AId ‖ u64 received ‖ initiator proof). */
export function responderProof (key: Uint8Array, token: Uint8Array, responderAid: Uint8Array, received: number, initiator: Uint8Array): Uint8Array {
  return new Uint8Array(createHmac('sha256', key).update(NS_RESPONDER).update(token).update(responderAid).update(u64(received)).update(initiator).digest())
}

/** Constant-time comparison of two proofs. */
export function proofsEqual (a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === RESUME_PROOF_BYTES && b.byteLength === RESUME_PROOF_BYTES && timingSafeEqual(a, b)
}
