/**
 * How a `RecordStore` lays out its datastore (spec/rendezvous.md#persistence):
 * under `/fara/rendezvous/v1`, `<kind>/slot/<id>` holds a slot's signed
 * record, `<kind>/withdrawn/<id>/<owner hex>` a withdrawal's tombstone and
 * `revocation/<device key hex>/<app>` a revocation, each as its wire encoding.
 */
import { Key } from 'interface-datastore'
import { encodeSignedRecord } from '../record.ts'
import { encodeSignedPrivateRecord } from '../private/envelope.ts'
import type { SignedRecord } from '../record.ts'
import type { PublicKey } from '@libp2p/interface'

/** What a slot holds: a public name's record, or a private lookup key's sealed record. */
export type Kind = 'public' | 'private'

/** Prefix of every key a store writes. */
export const PREFIX = '/fara/rendezvous/v1'

/** Lower-case hex of `b`. */
export const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex')

/** The stored form of a record or tombstone of `kind`. */
export const encodeSigned = (kind: Kind, signed: SignedRecord): Uint8Array => kind === 'private' ? encodeSignedPrivateRecord(signed) : encodeSignedRecord(signed)

export const slotPath = (kind: Kind, id: string): Key => new Key(`${PREFIX}/${kind}/slot/${id}`)

/**
 * Withdrawals are remembered per slot and owner (`kind/id/owner hex`), and so
 * stored (`.../withdrawn/<id>/<owner hex>`): another key taking the slot, or
 * withdrawing it in turn, must not make a key's withdrawn records valid again.
 */
export const withdrawalKey = (kind: Kind, id: string, owner: PublicKey): string => `${kind}/${id}/${hex(owner.toMultihash().bytes)}`

export const withdrawalPath = (key: string): Key => new Key(`${PREFIX}/${key.replace('/', '/withdrawn/')}`)

export const revocationPath = (device: PublicKey, app: string): Key => new Key(`${PREFIX}/revocation/${hex(device.toMultihash().bytes)}/${app}`)
