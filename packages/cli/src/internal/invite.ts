// Invites: one line that tells a client where to look (the rendezvous point),
// what for (a name) and how (private, with the secret), so that
// `fara connect --invite fara1:…` needs nothing else. The text is `fara1:`
// and the base64url (RFC 4648 §5, no padding) of:
//
//   version       1 byte   INVITE_VERSION
//   flags         1 byte   bit 0: private name, bit 1: a secret follows; other bits 0
//   count         1 byte   rendezvous addresses, 1 to MAX_INVITE_ADDRS
//   count × (length 1 byte, 1 to MAX_INVITE_ADDR_BYTES; multiaddr bytes ending in /p2p/<id>)
//   name length   1 byte   0 (no name) to MAX_INVITE_NAME_BYTES; then the name (a service name)
//   secret        only with flag bit 1: length 1 byte, then that many bytes of UTF-8
//   checksum      4 bytes  first bytes of SHA-256(NS_INVITE_CHECKSUM ‖ everything before)
//
// and nothing else: no key of the client, no address of the service. The
// checksum turns a mistyped or cut invite into a clear error instead of a
// lookup that finds nothing.
import { createHash } from 'node:crypto'
import { isServiceName } from '@fara/identity'
import { multiaddr } from '@multiformats/multiaddr'
import { renderUnicodeCompact } from 'uqr'
import { InvalidInviteError, UsageError } from '../errors.ts'
import { checkServiceName, positionalsOf, stringOf } from './args.ts'
import type { ParsedArgs } from './args.ts'
import type { SettingFlags } from './config.ts'

/** What an invite holds. */
export interface Invite {
  /** Multiaddrs of the rendezvous point, each ending in `/p2p/<id>` (1 to {@link MAX_INVITE_ADDRS}). */
  rendezvous: string[]
  /** The service to reach; absent in a rendezvous point's invite (the client names the service). */
  name?: string
  /** The name is registered privately (spec/private-names.md). */
  private?: boolean
  /** The private name's secret (implies `private`). */
  secret?: string
}

/** What an invite starts with: "fara", text format 1. */
export const INVITE_PREFIX = 'fara1:'
/** Version of the encoding after the prefix. */
export const INVITE_VERSION = 1
/** Most rendezvous addresses an invite carries. */
export const MAX_INVITE_ADDRS = 4
/** Longest multiaddr (binary) an invite carries. */
export const MAX_INVITE_ADDR_BYTES = 255
/** Longest name: a self-certifying name (63-character label, a dot, 56 characters of key). */
export const MAX_INVITE_NAME_BYTES = 120
/** Longest secret, in UTF-8 bytes. */
export const MAX_INVITE_SECRET_BYTES = 255
/** Length of the checksum. */
export const INVITE_CHECKSUM_BYTES = 4
/** Domain of the checksum (a named constant per derivation, as everywhere in Fara). */
export const NS_INVITE_CHECKSUM = 'fara/invite/checksum/v1'
/** Longest encoding: every field at its bound. */
export const MAX_INVITE_BYTES = 3 + MAX_INVITE_ADDRS * (1 + MAX_INVITE_ADDR_BYTES) + 1 + MAX_INVITE_NAME_BYTES + 1 + MAX_INVITE_SECRET_BYTES + INVITE_CHECKSUM_BYTES
/** Longest invite text; anything longer is refused before it is decoded. */
export const MAX_INVITE_CHARS = INVITE_PREFIX.length + Math.ceil(MAX_INVITE_BYTES * 4 / 3)

const FLAG_PRIVATE = 0b01
const FLAG_SECRET = 0b10
const BASE64URL = /^[A-Za-z0-9_-]+$/

function checksum (body: Uint8Array): Buffer {
  return createHash('sha256').update(NS_INVITE_CHECKSUM).update(body).digest().subarray(0, INVITE_CHECKSUM_BYTES)
}

/** The binary form of a rendezvous address, checked. */
function addrBytes (addr: string): Uint8Array {
  let m
  let bytes
  try {
    m = multiaddr(addr)
    bytes = m.bytes
  } catch (err) {
    throw new RangeError(`rendezvous address ${JSON.stringify(addr)} is not a multiaddr (${(err as Error).message})`)
  }
  if (m.getComponents().at(-1)?.name !== 'p2p') throw new RangeError(`rendezvous address ${JSON.stringify(addr)} must end in /p2p/<peer id>`)
  if (bytes.byteLength > MAX_INVITE_ADDR_BYTES) throw new RangeError(`rendezvous address ${JSON.stringify(addr)} is over ${MAX_INVITE_ADDR_BYTES} bytes`)
  return bytes
}

/**
 * The invite text of `invite`. Throws a `RangeError` naming the field for a
 * value an invite cannot carry (no or too many addresses, a bad name, a
 * secret over {@link MAX_INVITE_SECRET_BYTES} bytes, a secret without a name).
 */
export function encodeInvite (invite: Invite): string {
  if (invite == null || typeof invite !== 'object' || !Array.isArray(invite.rendezvous)) throw new TypeError('invite must be an object with a rendezvous array')
  const { rendezvous, name, secret } = invite
  if (rendezvous.length < 1 || rendezvous.length > MAX_INVITE_ADDRS) throw new RangeError(`rendezvous must hold 1 to ${MAX_INVITE_ADDRS} addresses, got ${rendezvous.length}`)
  if (name != null && !isServiceName(name)) throw new RangeError(`name must be a service name, got ${JSON.stringify(name)}`)
  const isPrivate = invite.private === true || secret != null
  if (isPrivate && name == null) throw new RangeError('a private invite needs a name')
  const secretBytes = secret == null ? undefined : new TextEncoder().encode(secret)
  if (secretBytes != null && secretBytes.byteLength > MAX_INVITE_SECRET_BYTES) throw new RangeError(`secret must be at most ${MAX_INVITE_SECRET_BYTES} bytes, got ${secretBytes.byteLength}`)
  const parts: Uint8Array[] = [Uint8Array.of(INVITE_VERSION, (isPrivate ? FLAG_PRIVATE : 0) | (secretBytes == null ? 0 : FLAG_SECRET), rendezvous.length)]
  for (const addr of rendezvous) {
    const bytes = addrBytes(addr)
    parts.push(Uint8Array.of(bytes.byteLength), bytes)
  }
  const nameBytes = new TextEncoder().encode(name ?? '')
  parts.push(Uint8Array.of(nameBytes.byteLength), nameBytes)
  if (secretBytes != null) parts.push(Uint8Array.of(secretBytes.byteLength), secretBytes)
  const body = Buffer.concat(parts)
  return INVITE_PREFIX + Buffer.concat([body, checksum(body)]).toString('base64url')
}

/** Reads the body of an invite, one bounded field at a time; every failure is an {@link InvalidInviteError}. */
class Fields {
  readonly bytes: Uint8Array
  #at = 0
  constructor (bytes: Uint8Array) { this.bytes = bytes }
  get left (): number { return this.bytes.byteLength - this.#at }
  byte (what: string): number {
    if (this.left < 1) throw new InvalidInviteError(`invite is cut short (no ${what})`)
    return this.bytes[this.#at++]!
  }
  take (n: number, what: string): Uint8Array {
    if (this.left < n) throw new InvalidInviteError(`invite is cut short (in the ${what})`)
    const out = this.bytes.subarray(this.#at, this.#at + n)
    this.#at += n
    return out
  }
}

function readAddr (bytes: Uint8Array): string {
  let m
  try {
    m = multiaddr(bytes)
  } catch (err) {
    throw new InvalidInviteError(`invite holds a rendezvous address that does not decode (${(err as Error).message})`)
  }
  if (m.getComponents().at(-1)?.name !== 'p2p' || !Buffer.from(m.bytes).equals(bytes)) {
    throw new InvalidInviteError('invite holds a rendezvous address that does not end in /p2p/<peer id>')
  }
  return m.toString()
}

/**
 * Read an invite (surrounding white space is ignored). Throws
 * {@link InvalidInviteError} for anything but an invite {@link encodeInvite}
 * could have made: wrong prefix, alphabet or length, an unknown version or
 * flag, a damaged checksum, a field out of its bounds, or bytes left over.
 */
export function decodeInvite (text: string): Invite {
  if (typeof text !== 'string') throw new InvalidInviteError(`an invite is text, got ${typeof text}`)
  const trimmed = text.trim()
  if (!trimmed.startsWith(INVITE_PREFIX)) throw new InvalidInviteError(`not a fara invite: it must start with ${INVITE_PREFIX}`)
  if (trimmed.length > MAX_INVITE_CHARS) throw new InvalidInviteError(`invite is too long (${trimmed.length} characters; at most ${MAX_INVITE_CHARS})`)
  const encoded = trimmed.slice(INVITE_PREFIX.length)
  if (!BASE64URL.test(encoded)) throw new InvalidInviteError('invite holds characters outside base64url (A-Z a-z 0-9 - _): was it cut or changed?')
  const all = Buffer.from(encoded, 'base64url')
  if (all.toString('base64url') !== encoded) throw new InvalidInviteError('invite is cut short or damaged (its last characters do not decode)')
  if (all.byteLength < 3 + INVITE_CHECKSUM_BYTES) throw new InvalidInviteError('invite is cut short')
  const body = all.subarray(0, all.byteLength - INVITE_CHECKSUM_BYTES)
  if (!checksum(body).equals(all.subarray(body.byteLength))) throw new InvalidInviteError('invite is damaged (checksum mismatch): copy it again')
  const f = new Fields(body)
  const version = f.byte('version')
  if (version !== INVITE_VERSION) throw new InvalidInviteError(`invite version ${version} is not supported (this fara reads version ${INVITE_VERSION})`)
  const flags = f.byte('flags')
  if ((flags & ~(FLAG_PRIVATE | FLAG_SECRET)) !== 0) throw new InvalidInviteError(`invite has unknown flags 0x${flags.toString(16)}`)
  const count = f.byte('address count')
  if (count < 1 || count > MAX_INVITE_ADDRS) throw new InvalidInviteError(`invite must hold 1 to ${MAX_INVITE_ADDRS} rendezvous addresses, holds ${count}`)
  const rendezvous: string[] = []
  for (let i = 0; i < count; i++) {
    const length = f.byte('address length')
    if (length < 1) throw new InvalidInviteError('invite holds an empty rendezvous address')
    rendezvous.push(readAddr(f.take(length, 'rendezvous address')))
  }
  const nameLength = f.byte('name length')
  if (nameLength > MAX_INVITE_NAME_BYTES) throw new InvalidInviteError(`invite name is over ${MAX_INVITE_NAME_BYTES} bytes`)
  const name = nameLength === 0 ? undefined : Buffer.from(f.take(nameLength, 'name')).toString('latin1')
  if (name != null && !isServiceName(name)) throw new InvalidInviteError('invite holds a name that is not a service name')
  let secret: string | undefined
  if ((flags & FLAG_SECRET) !== 0) {
    const length = f.byte('secret length')
    try {
      secret = new TextDecoder('utf-8', { fatal: true }).decode(f.take(length, 'secret'))
    } catch (err) {
      if ((err as Error).name === InvalidInviteError.name) throw err
      throw new InvalidInviteError('invite holds a secret that is not UTF-8')
    }
  }
  if (f.left !== 0) throw new InvalidInviteError(`invite has ${f.left} bytes after its last field`)
  const isPrivate = (flags & FLAG_PRIVATE) !== 0
  if (secret != null && !isPrivate) throw new InvalidInviteError('invite holds a secret for a name that is not private')
  if (isPrivate && name == null) throw new InvalidInviteError('invite is private but names no service')
  return { rendezvous, ...(name == null ? {} : { name }), ...(isPrivate ? { private: true } : {}), ...(secret == null ? {} : { secret }) }
}

function isLoopback (addr: string): boolean {
  const first = multiaddr(addr).getComponents()[0]
  return (first?.name === 'ip4' && first.value?.startsWith('127.') === true) || (first?.name === 'ip6' && first.value === '::1')
}

/**
 * The invite of a rendezvous point or a service, or undefined if its
 * addresses or secret do not fit in one. The addresses that are not loopback
 * come first (an invite is for another machine), at most {@link MAX_INVITE_ADDRS}.
 */
export function inviteFor (rendezvous: string[], target: Omit<Invite, 'rendezvous'> = {}): string | undefined {
  const fitting = rendezvous.filter(a => {
    try { addrBytes(a); return true } catch { return false }
  })
  const ordered = [...fitting.filter(a => !isLoopback(a)), ...fitting.filter(isLoopback)].slice(0, MAX_INVITE_ADDRS)
  if (ordered.length === 0) return undefined
  try {
    return encodeInvite({ rendezvous: ordered, ...target })
  } catch {
    return undefined
  }
}

/** What `fara connect` reaches: the `<name>` positional, or the name an `--invite` carries, and the invite if one was given. */
export function targetOf (command: string, args: ParsedArgs): { name: string, invite: Invite | undefined } {
  const text = stringOf(args, 'invite')
  if (text == null) {
    const [name] = positionalsOf(command, args.positionals, ['name']) as [string]
    return { name: checkServiceName(command, name), invite: undefined }
  }
  const invite = decodeInvite(text)
  const [given] = positionalsOf(command, args.positionals, ['name'], invite.name == null ? 1 : 0)
  if (given != null && invite.name != null && given !== invite.name) {
    throw new UsageError(`the invite is for ${JSON.stringify(invite.name)}, not ${JSON.stringify(given)}: drop <name>`, command)
  }
  for (const flag of ['rendezvous', 'secret', 'private']) {
    if (args.values[flag] != null) throw new UsageError(`--invite already says where and how to look: drop --${flag}`, command)
  }
  return { name: checkServiceName(command, given ?? invite.name!), invite }
}

/** The setting flags with the invite's rendezvous point (it counts as a flag: it was given on the command line). */
export function withInvite (flags: SettingFlags, invite: Invite | undefined): SettingFlags {
  return invite == null ? flags : { ...flags, rendezvous: invite.rendezvous }
}

/** The SDK's private-name option an invite gives (an environment secret does not apply to it). */
export function invitePrivacy (invite: Invite): { private?: true | { secret: string } } {
  if (invite.secret != null) return { private: { secret: invite.secret } }
  return invite.private === true ? { private: true } : {}
}

/** The invite `fara serve` prints for `name` (with its privacy), or undefined if its rendezvous is not a point that fits in one (DNS, DHT). */
export function serviceInvite (rendezvous: string[], name: string, privately: { private?: true | { secret: string } }): string | undefined {
  const p = privately.private
  return inviteFor(rendezvous, { name, ...(p == null ? {} : p === true ? { private: true } : { private: true, secret: p.secret }) })
}

/**
 * An invite as a QR code, for a terminal: lines of Unicode half blocks (two
 * modules per character cell), with the quiet zone the standard asks for
 * (ISO/IEC 18004: 4 modules), error correction level L (the invite is long).
 */
export function inviteQr (invite: string): string[] {
  return renderUnicodeCompact(invite, { ecc: 'L', border: 4 }).split('\n').filter(line => line.length > 0)
}
