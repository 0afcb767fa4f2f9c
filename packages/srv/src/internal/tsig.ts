// TSIG (RFC 8945) with HMAC-SHA256: sign a request, verify a response.
import { createHmac, timingSafeEqual } from 'node:crypto'
import { RecordClass, RecordType, TSIG_ALGORITHM, TSIG_FUDGE_SECONDS, TSIG_MAC_BYTES, TsigErrorCode } from '../constants.ts'
import { TsigVerificationError } from '../errors.ts'
import { sameName, Writer } from './wire.ts'
import type { DecodedMessage } from './message.ts'

/** A key ready for use: its name and secret bytes. */
export interface KeyMaterial { name: string, secret: Uint8Array }

/** What a signer puts in its TSIG RR besides the MAC. */
export interface SignInit {
  /** Seconds since the epoch. */
  timeSigned: number
  fudge?: number
  error?: number
  otherData?: Uint8Array
  /** The request MAC, when signing a response (RFC 8945 §4.3.1). */
  requestMac?: Uint8Array
}

/** The TSIG variables (RFC 8945 §4.3.3): key name and algorithm in canonical wire form. */
function variables (keyName: string, t: { timeSigned: number, fudge: number, error: number, otherData: Uint8Array }): Uint8Array {
  return new Writer().name(keyName, true).u16(RecordClass.ANY).u32(0).name(TSIG_ALGORITHM, true)
    .u48(t.timeSigned).u16(t.fudge).u16(t.error).u16(t.otherData.byteLength).bytes(t.otherData).finish()
}

function prior (requestMac: Uint8Array | undefined): Uint8Array {
  if (requestMac == null) return new Uint8Array(0)
  return new Writer().u16(requestMac.byteLength).bytes(requestMac).finish()
}

/**
 * Sign an encoded message (with no TSIG RR yet): compute the MAC over
 * `[request MAC] || message || variables` and append the TSIG RR, ARCOUNT + 1.
 */
export function signMessage (message: Uint8Array, key: KeyMaterial, init: SignInit): { bytes: Uint8Array, mac: Uint8Array } {
  const t = { timeSigned: init.timeSigned, fudge: init.fudge ?? TSIG_FUDGE_SECONDS, error: init.error ?? TsigErrorCode.NOERROR, otherData: init.otherData ?? new Uint8Array(0) }
  const mac = new Uint8Array(createHmac('sha256', key.secret).update(prior(init.requestMac)).update(message).update(variables(key.name, t)).digest())
  const id = (message[0]! << 8) | message[1]!
  const rdata = new Writer().name(TSIG_ALGORITHM).u48(t.timeSigned).u16(t.fudge).u16(mac.byteLength).bytes(mac)
    .u16(id).u16(t.error).u16(t.otherData.byteLength).bytes(t.otherData).finish()
  const rr = new Writer().name(key.name).u16(RecordType.TSIG).u16(RecordClass.ANY).u32(0).u16(rdata.byteLength).bytes(rdata).finish()
  const out = new Uint8Array(message.byteLength + rr.byteLength)
  out.set(message)
  out.set(rr, message.byteLength)
  const arcount = ((out[10]! << 8) | out[11]!) + 1
  out[10] = arcount >> 8
  out[11] = arcount & 0xff
  return { bytes: out, mac }
}

/**
 * Verify the TSIG of a response to a signed request (RFC 8945 §5.3): it must
 * be present, name the same key and algorithm, carry an untruncated MAC over
 * `u16(len) || request MAC || response (without its TSIG, original id, ARCOUNT - 1) || variables`,
 * and a time within its fudge of `nowSeconds`. Throws {@link TsigVerificationError}.
 * A response whose TSIG error is BADTIME is checked for its MAC but not its time.
 * With `requestMac` undefined this verifies a request (no prior MAC).
 */
export function verifyResponse (bytes: Uint8Array, decoded: DecodedMessage, key: KeyMaterial, requestMac: Uint8Array | undefined, nowSeconds: number): void {
  const t = decoded.tsig
  if (t == null) throw new TsigVerificationError('response to a signed request is not signed')
  const rr = decoded.additionals[decoded.additionals.length - 1]!
  if (!sameName(t.keyName, key.name)) throw new TsigVerificationError(`response signed with key ${JSON.stringify(t.keyName)}, not ${JSON.stringify(key.name)}`)
  if (!sameName(t.algorithm, TSIG_ALGORITHM)) throw new TsigVerificationError(`response signed with algorithm ${JSON.stringify(t.algorithm)}, not ${TSIG_ALGORITHM}`)
  if (rr.class !== RecordClass.ANY || rr.ttl !== 0) throw new TsigVerificationError('response TSIG record must have class ANY and TTL 0')
  if (t.mac.byteLength !== TSIG_MAC_BYTES) throw new TsigVerificationError(`response MAC is ${t.mac.byteLength} octets; ${TSIG_MAC_BYTES} required (truncated MACs are refused)`)
  const unsigned = bytes.slice(0, t.offset)
  unsigned[0] = t.originalId >> 8
  unsigned[1] = t.originalId & 0xff
  const arcount = ((unsigned[10]! << 8) | unsigned[11]!) - 1
  unsigned[10] = arcount >> 8
  unsigned[11] = arcount & 0xff
  const expected = createHmac('sha256', key.secret).update(prior(requestMac)).update(unsigned).update(variables(t.keyName, t)).digest()
  if (!timingSafeEqual(expected, t.mac)) throw new TsigVerificationError('response MAC does not verify')
  if (t.error !== TsigErrorCode.BADTIME && Math.abs(nowSeconds - t.timeSigned) > t.fudge) {
    throw new TsigVerificationError(`response signed at ${t.timeSigned}, ${Math.abs(nowSeconds - t.timeSigned)} s from local time; fudge ${t.fudge} s`)
  }
}
