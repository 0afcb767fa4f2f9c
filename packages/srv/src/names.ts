import { assertServiceName, base32Encode } from '@fara/identity'
import { PRIVATE_KEY_BYTES } from '@fara/rendezvous/constants'
import { ENCODED_NAME_LABEL, FARA_HOST_LABEL, FARA_PRIVATE_LABEL, FARA_PROTO_LABEL, FARA_SERVICE_LABEL, MAX_LABEL_BYTES } from './constants.ts'
import { ipv4Bytes, ipv6Bytes } from './records.ts'
import { labelsToName, nameToLabels } from './internal/wire.ts'

/** The longest owner name any Fara name can map to, under `zone`: a 63-character name in the encoded form. */
const WORST_CASE = [ENCODED_NAME_LABEL, 'x'.repeat(MAX_LABEL_BYTES), 'x'.repeat(MAX_LABEL_BYTES)]

function ownerOf (labels: string[], zone: string): string {
  const zoneLabels = nameToLabels(zone)
  if (zoneLabels.length === 0) throw new RangeError('zone must not be the root')
  return `${[...labels, FARA_SERVICE_LABEL, FARA_PROTO_LABEL].join('.')}.${labelsToName(zoneLabels)}`
}

/**
 * Throw RangeError unless every Fara name fits under `zone` (a DNS name is at
 * most 255 octets; the longest owner name takes 142 of them).
 */
export function assertZone (zone: unknown): asserts zone is string {
  if (typeof zone !== 'string') throw new TypeError(`zone must be a string, got ${typeof zone}`)
  try {
    nameToLabels(ownerOf(WORST_CASE, zone))
  } catch (err) {
    throw new RangeError(`zone ${JSON.stringify(zone)} is too long or malformed to hold every Fara name: ${(err as Error).message}`)
  }
}

/**
 * The DNS owner name of a Fara service name under `zone`
 * (spec/adapters.md#srv-names): `<name>._fara._tcp.<zone>` when the name is a
 * dot-separated list of non-empty labels (every self-certifying name and
 * most human-friendly ones), else `_x.<hex of the name, in 63-character
 * labels>._fara._tcp.<zone>`. The mapping is injective: the first label of the
 * direct form starts with `[a-z0-9]` (as every Fara name does), the encoded
 * form's is `_x`; Fara names are lowercase, so DNS's case-insensitivity merges nothing.
 *
 * @example
 * ```ts
 * import { ownerName } from '@fara/srv'
 *
 * console.log(ownerName('chat', 'fara.example.com')) // chat._fara._tcp.fara.example.com
 * ```
 *
 * @throws `RangeError` when `name` is not a Fara service name, or `zone` cannot hold every Fara name.
 * @throws `TypeError` when `zone` is not a string.
 */
export function ownerName (name: string, zone: string): string {
  assertServiceName(name)
  assertZone(zone)
  const parts = name.split('.')
  if (parts.every(p => p.length > 0 && p.length <= MAX_LABEL_BYTES)) return ownerOf(parts, zone)
  const hex = Buffer.from(name, 'utf8').toString('hex')
  const chunks: string[] = []
  for (let i = 0; i < hex.length; i += MAX_LABEL_BYTES) chunks.push(hex.slice(i, i + MAX_LABEL_BYTES))
  return ownerOf([ENCODED_NAME_LABEL, ...chunks], zone)
}

/**
 * The host name an SRV target points to for an IP address
 * (spec/adapters.md#srv-hosts): `192-0-2-7.fara-ip4.<zone>` or
 * `<32 hex digits>.fara-ip6.<zone>`. It is a legal host name (letters,
 * digits, hyphens: BIND refuses A records and SRV targets with underscores),
 * and it is derived from the address alone, so its A/AAAA record never
 * changes and can be shared by every name at that address.
 *
 * @example
 * ```ts
 * import { hostName } from '@fara/srv'
 *
 * console.log(hostName(4, '192.0.2.7', 'fara.example.com')) // 192-0-2-7.fara-ip4.fara.example.com
 * ```
 *
 * @throws `RangeError` when `address` is not an address of `family`, or `zone` cannot hold every Fara name.
 * @throws `TypeError` when `zone` is not a string.
 */
export function hostName (family: 4 | 6, address: string, zone: string): string {
  assertZone(zone)
  const label = family === 4
    ? Array.from(ipv4Bytes(address)).join('-')
    : Buffer.from(ipv6Bytes(address)).toString('hex')
  return `${label}.${FARA_HOST_LABEL[family]}.${labelsToName(nameToLabels(zone))}`
}

/**
 * The DNS owner name of a private record's slot (spec/adapters.md#srv-private-records):
 * `<base32 of the 32-byte lookup key, lower case, no padding: 52 characters>._fara-p.<zone>`.
 * The lookup key is blinded and rotates every period (spec/private-names.md), so
 * the name says nothing about the service; base32 is injective, and its single
 * case survives DNS's case-insensitive comparison.
 *
 * @example
 * ```ts
 * import { privateLookupKeys } from '@fara/rendezvous/private'
 * import { privateOwnerName } from '@fara/srv'
 *
 * for (const { period, lookupKey } of privateLookupKeys('chat', { secret: 'invite-123' })) {
 *   console.log(period, privateOwnerName(lookupKey, 'fara.example.com')) // <52 base32 characters>._fara-p.fara.example.com
 * }
 * ```
 *
 * @throws `TypeError` when `lookupKey` is not a Uint8Array or `zone` not a string.
 * @throws `RangeError` when `lookupKey` is not 32 bytes, or `zone` cannot hold every Fara name.
 */
export function privateOwnerName (lookupKey: Uint8Array, zone: string): string {
  if (!(lookupKey instanceof Uint8Array)) throw new TypeError(`lookupKey must be a Uint8Array, got ${typeof lookupKey}`)
  if (lookupKey.byteLength !== PRIVATE_KEY_BYTES) throw new RangeError(`lookupKey must be ${PRIVATE_KEY_BYTES} bytes, got ${lookupKey.byteLength}`)
  assertZone(zone)
  // RFC 4648 §6 base32, lower case, no padding: DNS compares labels without case, and this alphabet has one case only
  const label = base32Encode(lookupKey)
  // 32 bytes are 52 characters: within RFC 1035's 63-octet label
  if (label.length > MAX_LABEL_BYTES) throw new RangeError(`a lookup key label is ${label.length} octets; at most ${MAX_LABEL_BYTES}`)
  return `${label}.${FARA_PRIVATE_LABEL}.${labelsToName(nameToLabels(zone))}`
}
