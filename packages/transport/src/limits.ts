// Per-source limits (spec/security.md#sources): how a remote address is grouped into an address and a
// prefix, and how refusals are reported; shared by the relay, the rendezvous point and the entity.
export { sourceOf, checkSourcePrefixes, RefusalReports } from './source.ts'
export type { Source, SourcePrefixes } from './source.ts'
export type { RelayRefusal, RelayServerEvents } from './relay.ts'
