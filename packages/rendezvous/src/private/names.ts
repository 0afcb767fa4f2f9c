import { randomInt } from 'node:crypto'
import { ephemeralIdentity } from '@fara/identity'
import { createNode } from '@fara/transport'
import { EXPIRY_JITTER_MS, MIN_TTL_MS } from '../constants.ts'
import { NameNotFoundError } from '../errors.ts'
import { supportsPrivate } from '../rendezvous.ts'
import { periodOf, privateLookupKeys, secretBytes } from './keys.ts'
import { openPrivateRecord } from './open.ts'
import { createPrivateTombstone, sealPrivateRecord } from './seal.ts'
import type { ServiceRecord, SignedRecord } from '../record.ts'
import type { NodeServiceFactory, PrivateRendezvous, Rendezvous, RendezvousFactory } from '../rendezvous.ts'
import type { AbortOptions, Ed25519PrivateKey, Libp2p, PrivateKey } from '@libp2p/interface'

/** How a name is kept private (spec/private-names.md). */
export interface PrivateNameOptions {
  /** A shared secret or invite code: only those who know it (and the name) can find the service. */
  secret?: string | Uint8Array
}

/** What {@link PrivateNameComponents.createNode} is asked for: a dial-only node with a one-time key. */
export interface ThrowawayNodeInit {
  /** A fresh key, made for this one node. */
  privateKey: PrivateKey
  /** Always `[]`: the node only dials. */
  listen: string[]
  /** The backend's `nodeServices`, if it has any. */
  services?: Record<string, NodeServiceFactory>
}

/** What registering and withdrawing a private name are given. */
export interface PrivateNameComponents {
  /** The backend; it must make a {@link PrivateRendezvous} (see `supportsPrivate`). */
  rendezvous: RendezvousFactory
  /**
   * Makes the throwaway node that one slot is written from (the node is
   * stopped when the write is done). Default: `createNode` of @fara/transport.
   */
  createNode?: (init: ThrowawayNodeInit) => Promise<Libp2p>
}

/** The private operations of `rv`; TypeError if it has none. */
function privateOf (rv: Rendezvous): PrivateRendezvous {
  if (!supportsPrivate(rv)) throw new TypeError('this rendezvous backend does not support private names')
  return rv
}

/** The secret as bytes, checked before anything is sent; undefined if none. */
function secretOf (options: PrivateNameOptions): Uint8Array | undefined {
  return options.secret == null ? undefined : secretBytes(options.secret)
}

/**
 * Run `fn` with the backend bound to a fresh, throwaway node: the rendezvous
 * sees a one-time key, never the entity's, and the node is stopped after.
 */
async function anonymously<T> (components: PrivateNameComponents, fn: (rv: PrivateRendezvous) => Promise<T>): Promise<T> {
  const factory = components.rendezvous
  const identity = await ephemeralIdentity()
  const node = await (components.createNode ?? createNode)({
    privateKey: identity.privateKey,
    listen: [],
    ...(factory.nodeServices == null ? {} : { services: factory.nodeServices })
  })
  try {
    return await fn(privateOf(factory({ node })))
  } finally {
    await node.stop()
  }
}

/**
 * Register a private name (spec/private-names.md#register-and-resolve): seal
 * `signed` (the entity's public record for the name, `record` its verified
 * form) for the current and the next period and store both slots, each from
 * its own throwaway node and with its own expiry, so that the rendezvous
 * cannot pair the two slots of one service.
 *
 * @throws `TypeError` when the backend does not support private names, or `secret` is neither a string nor a Uint8Array.
 */
export async function registerPrivateName (components: PrivateNameComponents, entityKey: Ed25519PrivateKey, signed: SignedRecord, record: ServiceRecord, options: PrivateNameOptions & AbortOptions = {}): Promise<void> {
  const secret = secretOf(options)
  const signal = options.signal == null ? {} : { signal: options.signal }
  const period = periodOf(Date.now())
  await Promise.all([period, period + 1].map(async (p) => {
    const jitter = randomInt(0, Math.min(EXPIRY_JITTER_MS, Math.max(0, record.expires - record.seq - MIN_TTL_MS)) + 1)
    const sealed = await sealPrivateRecord({ entityKey, signed, name: record.name, period: p, expires: record.expires - jitter, ...(secret == null ? {} : { secret }) })
    await anonymously(components, async (rv) => { await rv.registerPrivate(sealed, signal) })
  }))
}

/**
 * Withdraw both slots of a private name (current and next period), each from
 * its own throwaway node; a slot that holds nothing is no error.
 *
 * @throws `TypeError` as for {@link registerPrivateName}.
 */
export async function withdrawPrivateName (components: PrivateNameComponents, entityKey: Ed25519PrivateKey, name: string, options: PrivateNameOptions & AbortOptions = {}): Promise<void> {
  const secret = secretOf(options)
  const signal = options.signal == null ? {} : { signal: options.signal }
  const period = periodOf(Date.now())
  await Promise.all([period, period + 1].map(async (p) => {
    const tombstone = await createPrivateTombstone({ entityKey, name, period: p, ...(secret == null ? {} : { secret }) })
    await anonymously(components, async (rv) => {
      await rv.unregisterPrivate(tombstone, signal).catch((err: Error) => {
        if (err?.name !== NameNotFoundError.name) throw err
      })
    })
  }))
}

/**
 * Find a private name through `rv`: try the current period's lookup key, then
 * the next and the previous (clock skew), open the first sealed record found
 * and verify it. Without the name (and secret) there is nothing to ask for:
 * a wrong secret looks exactly like an unregistered name.
 *
 * @throws {@link @fara/rendezvous!index.NameNotFoundError | NameNotFoundError} when no slot holds a record.
 * @throws {@link @fara/rendezvous!index.PrivateRecordOpenError | PrivateRecordOpenError} (or the error of the record inside) when records were found but none opened.
 * @throws `TypeError` when `rv` does not support private names, or `secret` is neither a string nor a Uint8Array.
 */
export async function resolvePrivateName (rv: Rendezvous, name: string, options: PrivateNameOptions & AbortOptions = {}): Promise<ServiceRecord> {
  const secret = secretOf(options)
  const ops = privateOf(rv)
  const signal = options.signal == null ? {} : { signal: options.signal }
  let unopened: Error | undefined
  for (const { lookupKey } of privateLookupKeys(name, secret == null ? {} : { secret })) {
    let sealed
    try {
      sealed = await ops.resolvePrivate(lookupKey, signal)
    } catch (err) {
      if ((err as Error)?.name === NameNotFoundError.name) continue
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
