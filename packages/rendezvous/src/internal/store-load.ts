/**
 * Loading a `RecordStore` from its datastore (spec/rendezvous.md#persistence):
 * every entry is verified again, as on a write, and anything that no longer
 * verifies, has expired or is not an entry the store writes is deleted.
 */
import { decodeSignedRevocation } from '@fara/identity'
import { MAX_TTL_MS } from '../constants.ts'
import { decodeSignedRecord } from '../record.ts'
import { decodeSignedPrivateRecord } from '../private/envelope.ts'
import { PREFIX, withdrawalKey } from './store-keys.ts'
import { Withdrawal, verifySigned } from './store-slots.ts'
import type { Slot, Slots } from './store-slots.ts'
import type { SignedRevocation } from '@fara/identity'
import type { Datastore } from 'interface-datastore'

/** What a load works on: the store's tables, its revocations, and the clock at the start. */
export interface LoadTarget {
  readonly slots: Slots
  readonly now: number
  /** Apply a stored revocation (verified; not written back). */
  addRevocation: (signed: SignedRevocation) => Promise<void>
  /** The revocations known so far (all loaded before any record). */
  revocations: () => Iterable<SignedRevocation>
}

/**
 * Load every entry of `datastore` into `target`, pushing each slot and
 * withdrawal added onto `loaded` (so that an aborted load can take them out
 * again). Revocations come first: they decide which certified records still load.
 */
export async function loadEntries (datastore: Datastore, target: LoadTarget, loaded: Array<Slot | Withdrawal>, signal: AbortSignal | undefined): Promise<void> {
  const { slots, now } = target
  const query = signal == null ? {} : { signal }
  for await (const { key, value } of datastore.query({ prefix: `${PREFIX}/revocation/` }, query)) {
    signal?.throwIfAborted()
    try {
      await target.addRevocation(decodeSignedRevocation(value))
    } catch {
      await datastore.delete(key)
    }
  }
  for await (const { key, value } of datastore.query({ prefix: PREFIX }, query)) {
    signal?.throwIfAborted()
    const [kind, what, id] = key.toString().slice(PREFIX.length + 1).split('/')
    if (kind === 'revocation') continue
    try {
      const decode = kind === 'private' ? decodeSignedPrivateRecord : decodeSignedRecord
      if (what === 'slot' && (kind === 'public' || kind === 'private')) {
        const v = await verifySigned(kind, decode(value), now, false, target.revocations())
        if (v.id !== id) throw new Error('slot id mismatch')
        loaded.push(slots.remember(kind, v))
      } else if (what === 'withdrawn' && (kind === 'public' || kind === 'private') && id != null) {
        // a withdrawal only ever refuses records: one whose certificate was revoked since still counts
        const w = await verifySigned(kind, decode(value), now, true, [])
        if (w.id !== id) throw new Error('withdrawal id mismatch')
        const remembered = withdrawalKey(kind, id, w.owner)
        if (w.seq + MAX_TTL_MS > now) {
          const withdrawal = new Withdrawal(remembered, w.seq)
          slots.withdrawn.set(remembered, withdrawal)
          loaded.push(withdrawal)
        } else {
          await datastore.delete(key)
        }
      } else {
        throw new Error('unknown entry')
      }
    } catch {
      await datastore.delete(key)
    }
  }
  // an abort during the last entry's check still counts
  signal?.throwIfAborted()
}
