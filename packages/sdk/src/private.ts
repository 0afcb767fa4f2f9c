import { randomInt } from 'node:crypto'
import { ephemeralIdentity } from '@fara/identity'
import { createNode } from '@fara/transport'
import {
  MIN_TTL_MS, NameNotFoundError, createPrivateTombstone, openPrivateRecord, periodOf, privateLookupKeys, sealPrivateRecord
} from '@fara/rendezvous'
import type { Rendezvous, RendezvousFactory, ServiceRecord, SignedRecord } from '@fara/rendezvous'
import type { AbortOptions, Ed25519PrivateKey } from '@libp2p/interface'

/** Up to this much is taken off each private slot's expiry, independently, so two slots do not share one. */
const EXPIRY_JITTER_MS = 60_000

/** How a name is kept private (spec/private-names.md). */
export interface PrivateNameOptions {
  /** A shared secret or invite code: only those who know it (and the name) can find the service. */
  secret?: string | Uint8Array
}

function secretBytes (secret: PrivateNameOptions['secret']): Uint8Array | undefined {
  if (secret == null) return undefined
  if (typeof secret === 'string') return new TextEncoder().encode(secret)
  if (secret instanceof Uint8Array) return secret
  throw new TypeError(`secret must be a string or a Uint8Array, got ${typeof secret}`)
}

function privateOps (rv: Rendezvous): Required<Pick<Rendezvous, 'registerPrivate' | 'resolvePrivate' | 'unregisterPrivate'>> {
  if (rv.registerPrivate == null || rv.resolvePrivate == null || rv.unregisterPrivate == null) {
    throw new TypeError('this rendezvous backend does not support private names')
  }
  return { registerPrivate: rv.registerPrivate.bind(rv), resolvePrivate: rv.resolvePrivate.bind(rv), unregisterPrivate: rv.unregisterPrivate.bind(rv) }
}

/**
 * Run `fn` with the rendezvous bound to a fresh, throwaway node: the
 * rendezvous sees a one-time key, never the entity's.
 */
export async function anonymously<T> (factory: RendezvousFactory, fn: (rv: Rendezvous) => Promise<T>): Promise<T> {
  const identity = await ephemeralIdentity()
  const node = await createNode({
    privateKey: identity.privateKey,
    listen: [],
    ...(factory.nodeServices == null ? {} : { services: factory.nodeServices })
  })
  try {
    return await fn(factory({ node }))
  } finally {
    await node.stop()
  }
}

/** Seal `signed` for the current and the next period and store both slots. */
export async function publishPrivate (factory: RendezvousFactory, entityKey: Ed25519PrivateKey, signed: SignedRecord, record: ServiceRecord, options: PrivateNameOptions & AbortOptions): Promise<void> {
  const secret = secretBytes(options.secret)
  const period = periodOf(Date.now())
  // each slot from its own throwaway node, with its own expiry: the point cannot pair the two slots of one service
  await Promise.all([period, period + 1].map(async (p) => {
    const jitter = randomInt(0, Math.min(EXPIRY_JITTER_MS, Math.max(0, record.expires - record.seq - MIN_TTL_MS)) + 1)
    const sealed = await sealPrivateRecord({ entityKey, signed, name: record.name, period: p, expires: record.expires - jitter, ...(secret == null ? {} : { secret }) })
    await anonymously(factory, async (rv) => {
      await privateOps(rv).registerPrivate(sealed, options.signal == null ? {} : { signal: options.signal })
    })
  }))
}

/** Withdraw both slots of a private name. */
export async function withdrawPrivate (factory: RendezvousFactory, entityKey: Ed25519PrivateKey, name: string, options: PrivateNameOptions & AbortOptions): Promise<void> {
  const secret = secretBytes(options.secret)
  const period = periodOf(Date.now())
  await Promise.all([period, period + 1].map(async (p) => {
    const tombstone = await createPrivateTombstone({ entityKey, name, period: p, ...(secret == null ? {} : { secret }) })
    await anonymously(factory, async (rv) => {
      await privateOps(rv).unregisterPrivate(tombstone, options.signal == null ? {} : { signal: options.signal }).catch((err: Error) => {
        if (err.name !== 'NameNotFoundError') throw err
      })
    })
  }))
}

/**
 * Find a private name: try the current period's lookup key, then the next
 * and the previous (clock skew), open the first sealed record found and
 * verify it. Without the name (and secret) there is nothing to ask for: a
 * wrong secret looks exactly like an unregistered name.
 */
export async function resolvePrivate (rv: Rendezvous, name: string, options: PrivateNameOptions & AbortOptions): Promise<ServiceRecord> {
  const secret = secretBytes(options.secret)
  const ops = privateOps(rv)
  const signal = options.signal == null ? {} : { signal: options.signal }
  let unopened: Error | undefined
  for (const { lookupKey } of privateLookupKeys(name, secret == null ? {} : { secret })) {
    let sealed
    try {
      sealed = await ops.resolvePrivate(lookupKey, signal)
    } catch (err) {
      if ((err as Error).name === 'NameNotFoundError') continue
      throw err
    }
    try {
      return await openPrivateRecord(sealed, { name, ...(secret == null ? {} : { secret }) })
    } catch (err) {
      // a slot someone filled with junk (anyone who saw the lookup key can): try the next one
      unopened ??= err as Error
    }
  }
  throw unopened ?? new NameNotFoundError(`no private record for ${JSON.stringify(name)}`)
}
