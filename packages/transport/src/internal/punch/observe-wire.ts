// "What do you see": the UDP question a node asks an observer (a rendezvous
// point or relay) to learn its public address (spec/direct-paths.md#observers).
//
//   question: R_X ‖ ChaCha20_q(time u64 ‖ padLen u16 ‖ zeros[padLen]) ‖ MAC_Q
//   answer:         ChaCha20_a(endpoint, 18 bytes)                    ‖ MAC_A
//
// R_X is the Elligator2 representative of a fresh X25519 key x; both
// directions' keys come from es = X25519(x, B), B the observer's static key
// (its peer id's Ed25519 key in X25519 form, as in spec/unobservable.md).
// Only a node that knows B can ask, only the observer can answer, and an
// observer or anyone on the path sees bytes that look random. The answer is
// shorter than the question, so an observer cannot be used to amplify.
import { createCipheriv, createHmac, hkdfSync, randomInt, timingSafeEqual } from 'node:crypto'
import { representativeToPublicKey } from '../elligator2.ts'
import { KEY_BYTES, MAC_BYTES, x25519 } from '../wire/keys.ts'
import { takeEphemeral } from '../wire/key-pool.ts'
import { ENDPOINT_BYTES, decodeEndpoint, encodeEndpoint } from './addr.ts'
import type { Endpoint } from './addr.ts'
import type { KeyObject } from 'node:crypto'

/** HKDF salt and label prefix of the observer's keys. */
export const NS_OBSERVE = 'fara/observe/v1'
/** HKDF info label of the question's keys. */
export const NS_QUESTION = `${NS_OBSERVE}/question`
/** HKDF info label of the answer's keys. */
export const NS_ANSWER = `${NS_OBSERVE}/answer`

/** Plaintext head of a question: time (ms since 1970, u64 BE) and padding length (u16 BE). */
export const QUESTION_HEAD_BYTES = 10
/** Padding of a question: uniformly MIN to MAX - 1 bytes, so questions vary in size and always outweigh the answer. */
export const QUESTION_PADDING = { min: 8, max: 128 } as const
/** Bytes of an answer. */
export const ANSWER_BYTES = ENDPOINT_BYTES + MAC_BYTES
/** Largest question an observer reads. */
export const MAX_QUESTION_BYTES = KEY_BYTES + QUESTION_HEAD_BYTES + QUESTION_PADDING.max + MAC_BYTES

interface Keys { key: Uint8Array, nonce: Uint8Array, macKey: Uint8Array }

function keysOf (es: Uint8Array, label: string, observer: Uint8Array, rx: Uint8Array): Keys {
  const okm = new Uint8Array(hkdfSync('sha256', es, NS_OBSERVE, Buffer.concat([Buffer.from(label), observer, rx]), 76))
  return { key: okm.subarray(0, 32), nonce: okm.subarray(32, 44), macKey: okm.subarray(44, 76) }
}

function chacha (keys: Keys, data: Uint8Array): Uint8Array {
  return createCipheriv('chacha20', keys.key, Buffer.concat([Buffer.alloc(4), keys.nonce])).update(data)
}

function mac (key: Uint8Array, ...parts: Uint8Array[]): Uint8Array {
  const h = createHmac('sha256', key)
  for (const p of parts) h.update(p)
  return new Uint8Array(h.digest().subarray(0, MAC_BYTES))
}

/** What the asker keeps to read the answer. */
export interface Question {
  bytes: Uint8Array
  /** Opens the observer's answer: the endpoint it saw, or null if the bytes are not its answer to this question. */
  open: (answer: Uint8Array) => Endpoint | null
}

/** A question to the observer whose static X25519 key is `observer`; null if that key is a low-order point. */
export function askObserver (observer: Uint8Array, time = Date.now(), padding = randomInt(QUESTION_PADDING.min, QUESTION_PADDING.max)): Question | null {
  const ephemeral = takeEphemeral()
  const es = x25519(ephemeral.secret, observer)
  if (es == null) return null
  const rx = ephemeral.representative
  const q = keysOf(es, NS_QUESTION, observer, rx)
  const a = keysOf(es, NS_ANSWER, observer, rx)
  es.fill(0)
  const head = new Uint8Array(QUESTION_HEAD_BYTES + padding)
  const view = new DataView(head.buffer)
  view.setBigUint64(0, BigInt(time))
  view.setUint16(8, padding)
  const ct = chacha(q, head)
  const tag = mac(q.macKey, rx, ct)
  const bytes = Buffer.concat([rx, ct, tag])
  return {
    bytes,
    open: (answer) => {
      if (answer.byteLength !== ANSWER_BYTES) return null
      const body = answer.subarray(0, ENDPOINT_BYTES)
      if (!timingSafeEqual(mac(a.macKey, tag, body), answer.subarray(ENDPOINT_BYTES))) return null
      return decodeEndpoint(chacha(a, body))
    }
  }
}

/** Why an observer stayed silent (for its counters; the asker learns nothing). */
export type QuestionRefusal = 'size' | 'low-order' | 'mac' | 'padding'

/** A question, opened by the observer: its time and MAC (for the replay filter) and the answer to send once those pass. */
export interface OpenedQuestion {
  time: number
  tag: Uint8Array
  answer: (seen: Endpoint) => Uint8Array
}

/** The observer's side: open a question with its static secret `secret` (public key `publicKey`). */
export function openQuestion (secret: KeyObject, publicKey: Uint8Array, bytes: Uint8Array): OpenedQuestion | QuestionRefusal {
  if (bytes.byteLength < KEY_BYTES + QUESTION_HEAD_BYTES + QUESTION_PADDING.min + MAC_BYTES || bytes.byteLength > MAX_QUESTION_BYTES) return 'size'
  const rx = bytes.subarray(0, KEY_BYTES)
  const es = x25519(secret, representativeToPublicKey(rx))
  if (es == null) return 'low-order'
  const q = keysOf(es, NS_QUESTION, publicKey, rx)
  const a = keysOf(es, NS_ANSWER, publicKey, rx)
  es.fill(0)
  const ct = bytes.subarray(KEY_BYTES, bytes.byteLength - MAC_BYTES)
  const tag = bytes.subarray(bytes.byteLength - MAC_BYTES)
  if (!timingSafeEqual(mac(q.macKey, rx, ct), tag)) return 'mac'
  const head = chacha(q, ct)
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength)
  if (view.getUint16(8) !== ct.byteLength - QUESTION_HEAD_BYTES) return 'padding'
  return {
    time: Number(view.getBigUint64(0)),
    tag: new Uint8Array(tag),
    answer: (seen) => {
      const body = chacha(a, encodeEndpoint(seen))
      return Buffer.concat([body, mac(a.macKey, tag, body)])
    }
  }
}
