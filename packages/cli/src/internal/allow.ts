// Allow-lists: `fara serve --allow <client key>…` (or "allow" in the config
// file) admits only associations whose Noise-proven client key is listed;
// `fara connect --identity <app>` connects with that application's stable key
// from the keystore, and `fara id show <app>` prints the key to give the service.
import { CLIENT_APP } from '../constants.ts'
import { ConfigError, UsageError } from '../errors.ts'
import { checkAppName, flagOf, stringOf } from './args.ts'
import type { ParsedArgs } from './args.ts'
import type { Context } from './command.ts'
import type { Settings } from './config.ts'

const BASE58_ALPHABET = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz'

/**
 * The binary form of an Ed25519 peer id (libp2p peer-ids spec): the identity
 * multihash (code 0x00, length 36) of the protobuf `PublicKey { Type: Ed25519
 * (1), Data: 32 bytes }`. Every Fara key is Ed25519 (spec/identity.md).
 */
const ED25519_PEER_ID_PREFIX = Uint8Array.of(0x00, 0x24, 0x08, 0x01, 0x12, 0x20)

/** Length of an Ed25519 peer id in bytes. */
const ED25519_PEER_ID_BYTES = ED25519_PEER_ID_PREFIX.byteLength + 32

/** Longest text decoded as a peer id (an Ed25519 peer id is 52 base58 characters). */
const MAX_PEER_ID_CHARS = 64

/** The wire code of a refusal by an allow-list (`Reply.Code.REFUSED`, spec/wire.md#reply-codes). */
const REFUSED_CODE = 5

/** Most allow-list entries: a list, not a database (each is checked at every open). */
export const MAX_ALLOW_ENTRIES = 4096

/** Base58btc (the Bitcoin alphabet) to bytes; undefined for a character outside it. */
function base58 (text: string): Uint8Array | undefined {
  let zeros = 0
  while (zeros < text.length && text[zeros] === '1') zeros++
  let value = 0n
  for (const ch of text) {
    const digit = BASE58_ALPHABET.indexOf(ch)
    if (digit < 0) return undefined
    value = value * 58n + BigInt(digit)
  }
  const hex = value === 0n ? '' : value.toString(16)
  return Uint8Array.from([...new Uint8Array(zeros), ...Buffer.from(hex.length % 2 === 0 ? hex : `0${hex}`, 'hex')])
}

/** True if `text` is a client key as `fara id show` prints it: an Ed25519 peer id (`12D3KooW…`). */
export function isClientKey (text: string): boolean {
  if (typeof text !== 'string' || text.length === 0 || text.length > MAX_PEER_ID_CHARS) return false
  const bytes = base58(text)
  return bytes != null && bytes.byteLength === ED25519_PEER_ID_BYTES && ED25519_PEER_ID_PREFIX.every((b, i) => bytes[i] === b)
}

/**
 * The keys `fara serve` admits, or undefined for every client: `--allow`
 * (repeatable, comma separated) or the config file's `"allow"`. A value that is
 * not a client key, or a list with none, stops the command (exit 2) before
 * anything starts.
 */
export function allowListOf (command: string, settings: Settings): ReadonlySet<string> | undefined {
  const { value, source } = settings.allow
  if (value == null) return undefined
  const where = source === 'config' ? `config file ${settings.configPath ?? ''}: allow` : '--allow'
  const bad = (message: string): Error => source === 'config' ? new ConfigError(`${where}: ${message}`) : new UsageError(`${where}: ${message}`, command)
  if (value.length === 0) throw bad('lists no key, so every client would be refused; list client keys (`fara id show <app>` prints one), or drop it to admit every client')
  if (value.length > MAX_ALLOW_ENTRIES) throw bad(`lists ${value.length} keys; at most ${MAX_ALLOW_ENTRIES}`)
  for (const key of value) {
    if (!isClientKey(key)) throw bad(`${JSON.stringify(key.slice(0, MAX_PEER_ID_CHARS))} is not a client key (a peer id like 12D3KooW…, as \`fara id show <app>\` prints it)`)
  }
  return new Set(value)
}

/**
 * The SDK's `allow` option of a service that admits only `allowed` (none:
 * every client). Each refusal is a `refused {name, peer}` warning, with the
 * refused key in full so that the operator can add it.
 */
export function admitting (ctx: Context, name: string, allowed: ReadonlySet<string> | undefined): { allow?: (peer: { toString: () => string }) => boolean } {
  if (allowed == null) return {}
  return {
    allow: (peer) => {
      const key = peer.toString()
      if (allowed.has(key)) return true
      ctx.out.warn('refused', { name, peer: key }, `refused an association to ${JSON.stringify(name)} from ${key}: not on the allow-list`)
      return false
    }
  }
}

/**
 * Which key `fara connect` uses: `--identity <app>` (the documented way) is
 * that application's stable key from the keystore; the older `--stable-identity`
 * (with `--app`, default {@link CLIENT_APP}) does the same. Otherwise a fresh
 * one-time key per association.
 */
export function clientIdentityOf (command: string, args: ParsedArgs): { app: string, stable: boolean } {
  const identity = stringOf(args, 'identity')
  const app = stringOf(args, 'app')
  if (identity != null) {
    if (app != null && app !== identity) throw new UsageError(`--identity ${JSON.stringify(identity)} and --app ${JSON.stringify(app)} disagree: --identity <app> alone is enough`, command)
    return { app: checkAppName(command, '--identity', identity), stable: true }
  }
  return { app: checkAppName(command, '--app', app ?? CLIENT_APP), stable: flagOf(args, 'stable-identity') }
}

/** The one line `fara connect` prints when a service's allow-list refused its key. */
export const KEY_REFUSED_MESSAGE = 'the service refused this key: it admits only the keys on its allow-list; connect with --identity <app> and give the service the key `fara id show <app>` prints'

/** The message for an `AssociationRejectedError`: {@link KEY_REFUSED_MESSAGE} for a refusal by an allow-list. */
export function rejectionMessage (err: Error): string {
  return (err as Error & { code?: number }).code === REFUSED_CODE ? KEY_REFUSED_MESSAGE : err.message
}

/** The lines `fara id create|show` add: what to do with the key. */
export function keyUse (app: string, peerId: string): string[] {
  return [
    `  ${'admit it'.padEnd(18)}fara serve <name> … --allow ${peerId}`,
    `  ${'connect with it'.padEnd(18)}fara connect <name> --identity ${app}`
  ]
}
