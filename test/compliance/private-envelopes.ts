/**
 * What the private compliance suite (`private.ts`) builds its cases from: a
 * clock that backends in other processes can follow, an encoder of
 * `PrivateRecord` from the normative .proto (independent of the packages'
 * generated code) to forge envelopes behind a valid writer signature, and a
 * fingerprint of what a backend call returned, to compare answers byte for byte.
 */
import { readFileSync } from 'node:fs'
import { publicKeyToProtobuf } from '@libp2p/crypto/keys'
import protobuf from 'protobufjs'
import { signDomain } from '@fara/identity'
import { PRIVATE_DOMAIN } from '@fara/rendezvous/constants'
import { encodeSignedPrivateRecord } from '@fara/rendezvous/private'
import type { Rendezvous, SignedPrivateRecord } from '@fara/rendezvous'
import type { PrivateKey } from '@libp2p/interface'

const proto = protobuf.parse(readFileSync(new URL('../../spec/proto/rendezvous.proto', import.meta.url), 'utf8')).root
const PrivateRecordType = proto.lookupType('fara.rendezvous.v1.PrivateRecord')

/** One backend as the suite runs it. */
export interface PrivateComplianceBackend {
  /** The backend as the service's entity uses it: the service registers and withdraws through it. */
  rendezvous: Rendezvous
  /**
   * The same backend as another party uses it (another node, connection or
   * client of the same store): clients resolve, and attackers replay,
   * tamper and squat, through it.
   */
  peer: Rendezvous
  teardown: () => Promise<void>
  /** What the backend can promise by its nature; every capability defaults to true. */
  capabilities?: PrivateComplianceCapabilities
  /**
   * Put an envelope into the backend's storage under a slot, around its write
   * checks, as whoever else can write there could (a TSIG key holder with
   * nsupdate). Only for backends whose storage others can write; the suite
   * then checks that a read never serves what a write would have refused.
   */
  plant?: (lookupKey: Uint8Array, signed: SignedPrivateRecord) => Promise<void>
}

export interface PrivateComplianceCapabilities {
  /**
   * A live slot belongs to the writer key that registered it first, until it
   * expires or is withdrawn (spec/private-names.md#verification, the store
   * rules): another writer's record or tombstone is refused with
   * `NameTakenError`, and a tombstone for a vacant slot with
   * `NameNotFoundError`. Set it to false only for a backend with no single
   * place that remembers who came first, and say why next to the flag and in
   * spec/private-names.md.
   */
  pinsSlots?: boolean
  /**
   * A withdrawal is remembered (spec/rendezvous.md#store-rules, rule 7): the
   * withdrawn record, sent again, is refused with `StaleRecordError` until it
   * would have expired. Set it to false only for a backend that keeps nothing
   * of a withdrawn slot by design, and say why next to the flag and in
   * spec/private-names.md. A replayed tombstone never removes a newer record,
   * whatever this says.
   */
  remembersWithdrawals?: boolean
  /**
   * How far ahead of the real time the suite may move the backend's clock, in
   * ms (default: any distance). Only for a backend whose clock must also stay
   * near the real time of a server it talks to (TSIG signatures checked by a
   * DNS server with a fudge of 300 s); tests that need more are skipped.
   */
  maxClockOffsetMs?: number
}

/**
 * A clock the suite moves forward by hand, starting at the real time (so
 * every party agrees within skew). `advance` resolves once every follower
 * (e.g. DHT nodes in other processes) has taken the new offset.
 */
export interface PrivateTestClock {
  now: () => number
  /** Move the clock forward by `ms`, and wait until every follower has too. */
  advance: (ms: number) => Promise<void>
  /** Register a follower: called with the clock's offset from `Date.now()` now and after each advance. */
  follow: (follower: (offsetMs: number) => Promise<void>) => Promise<void>
}

export function createPrivateTestClock (): PrivateTestClock {
  let offset = 0
  const followers: Array<(offsetMs: number) => Promise<void>> = []
  return {
    now: () => Date.now() + offset,
    async advance (ms) {
      offset += ms
      await Promise.all(followers.map(async f => f(offset)))
    },
    async follow (follower) {
      followers.push(follower)
      await follower(offset)
    }
  }
}

/** The fields of a `PrivateRecord` (spec/private-names.md#privaterecord). */
export interface PrivateFields {
  lookupKey: Uint8Array
  writerPublicKey: Uint8Array
  period: number
  seq: number
  expires: number
  ciphertext: Uint8Array
}

/** Decode the envelope of a signed private record. */
export function fieldsOf (signed: SignedPrivateRecord): PrivateFields {
  const decoded = PrivateRecordType.decode(signed.record)
  return PrivateRecordType.toObject(decoded, { longs: Number, defaults: true }) as PrivateFields
}

/**
 * Encode `fields` (anything: wrong sizes included) and sign them as the
 * writer key would: a forgery that reaches the checks behind the signature.
 */
export async function forge (writer: PrivateKey, fields: Partial<PrivateFields>): Promise<SignedPrivateRecord> {
  const record = PrivateRecordType.encode({ writerPublicKey: publicKeyToProtobuf(writer.publicKey), ...fields }).finish()
  return { record, signature: await signDomain(writer, PRIVATE_DOMAIN, record) }
}

/** A copy of `bytes` with one bit flipped at `index`. */
export function flip (bytes: Uint8Array, index: number): Uint8Array {
  const out = new Uint8Array(bytes)
  out[index] = out[index]! ^ 0x01
  return out
}

/** Where `needle` starts in `haystack` (throws if it is not there: the suite's own mistake). */
export function offsetOf (haystack: Uint8Array, needle: Uint8Array): number {
  const at = Buffer.from(haystack).indexOf(Buffer.from(needle))
  if (at < 0) throw new Error('field not found in the encoded record')
  return at
}

export const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

/** The encoded bytes of a signed private record, to compare what was stored with what is served. */
export const bytesOf = (signed: SignedPrivateRecord): string => hex(encodeSignedPrivateRecord(signed))

/**
 * Everything a caller can observe of one backend call's result: the value,
 * or the error's class, `name`, `message` and every own field (the wire
 * `code` among them), stack excepted. Two answers that a client could tell
 * apart give different outcomes.
 */
export interface Outcome {
  ok: boolean
  value?: string
  error?: { class: string, message: string, fields: Record<string, unknown> }
}

export async function outcomeOf (call: Promise<SignedPrivateRecord>): Promise<Outcome> {
  try {
    return { ok: true, value: bytesOf(await call) }
  } catch (err) {
    const e = err as Error
    const fields = Object.fromEntries(Object.entries(e).filter(([k]) => k !== 'stack'))
    return { ok: false, error: { class: e?.constructor?.name ?? typeof err, message: e?.message ?? String(err), fields: { name: e?.name, ...fields } } }
  }
}
