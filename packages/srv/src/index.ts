/**
 * DNS SRV for Fara: look services up as RFC 2782 says, publish records with
 * RFC 2136 dynamic updates signed with TSIG (RFC 8945, hmac-sha256), and keep
 * a rendezvous in a DNS zone.
 *
 * - {@link resolveSrv} asks `node:dns` (any server and port) and orders the
 *   targets by priority and weighted random choice ({@link orderSrv}).
 * - {@link dnsClient} speaks DNS itself (bounded decoder, UDP with TCP
 *   fallback, TCP): queries, and updates with prerequisites whose signed
 *   answers are verified.
 * - {@link srvRendezvous} is a `Rendezvous` backend: each name's signed record
 *   in a TXT record at `<name>._fara._tcp.<zone>`, with SRV and A/AAAA records
 *   for its first TCP address (spec/adapters.md#dns-srv-adapter-version-1),
 *   and private names: each slot's sealed record in a TXT record at
 *   `<base32 lookup key>._fara-p.<zone>` ({@link privateOwnerName}).
 *
 * A public SRV record tells everyone the host and the port of a service.
 * Where that matters, serve a private name (spec/private-names.md) instead.
 *
 * Wire codes, bounds, defaults and the zone layout's labels: `@fara/srv/constants`.
 *
 * @example
 * ```ts
 * import { dnsClient, parseTsigKey, resolveSrv } from '@fara/srv'
 *
 * const key = parseTsigKey('key "fara-key" { algorithm hmac-sha256; secret "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0IQ=="; };')
 * const dns = dnsClient({ server: '127.0.0.1:5353', zone: 'fara.test', key })
 * const name = '_echo._tcp.fara.test'
 * await dns.replace(name, 'SRV', [{ type: 'SRV', name, ttl: 60, priority: 0, weight: 0, port: 7, target: 'ns.fara.test' }])
 * const [first] = await resolveSrv(name, { servers: ['127.0.0.1:5353'] })
 * console.log(first?.name, first?.port) // ns.fara.test 7
 * ```
 *
 * @packageDocumentation
 */
export { resolveSrv, orderSrv } from './lookup.ts'
export type { ResolveSrvOptions, RandomFraction } from './lookup.ts'
export { dnsClient } from './client.ts'
export type { DnsClient, DnsClientInit, Prerequisite, Change, UpdateRequest } from './client.ts'
export { parseTsigKey } from './key.ts'
export type { TsigKey } from './key.ts'
export type { DnsRecord, ARecord, AaaaRecord, SrvRecord, TxtRecord, OtherRecord, RecordTypeName, SrvTarget } from './records.ts'
export { srvRendezvous, createSrvRendezvous, srvAddress } from './rendezvous.ts'
export type { SrvRendezvousInit } from './rendezvous.ts'
export { ownerName, hostName, privateOwnerName } from './names.ts'
export {
  MalformedMessageError, ServiceNotFoundError, ServiceNotAvailableError, DnsUnavailableError, DnsRcodeError, UpdateRefusedError,
  NotAuthoritativeError, PrerequisiteFailedError, UpdateFailedError, TsigBadKeyError, TsigBadSignatureError, TsigBadTimeError,
  TsigVerificationError, rcodeName
} from './errors.ts'
