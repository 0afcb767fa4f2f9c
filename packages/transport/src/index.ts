/**
 * The substrate of a Fara entity: one libp2p node per entity, with TCP on a
 * random OS-assigned port (never a fixed or well-known one), Noise, Yamux,
 * and connection-manager limits set on purpose; optionally reachable through
 * circuit relays whose slots it keeps, restoring them after a relay restart.
 * Dial errors are always caught and turned into typed errors.
 *
 * Limits and defaults, each with its reason: `@fara/transport/constants`.
 *
 * @example
 * ```ts
 * import { createNode, dialEntity, relayServer } from '@fara/transport'
 * import { generateKeyPair } from '@libp2p/crypto/keys'
 *
 * const a = await createNode({ privateKey: await generateKeyPair('Ed25519'), listen: ['/ip4/127.0.0.1/tcp/0'] })
 * const b = await createNode({ privateKey: await generateKeyPair('Ed25519'), listen: [], dialRelayed: true })
 * const connection = await dialEntity(b, a.peerId, a.getMultiaddrs()) // Noise checks a's key
 * console.log(connection.remoteAddr.toString())
 *
 * // an entity that listens nowhere, reached through a relay (Noise still runs end to end)
 * const relay = await createNode({ privateKey: await generateKeyPair('Ed25519'), listen: ['/ip4/127.0.0.1/tcp/0'], services: { relay: relayServer() } })
 * const hidden = await createNode({ privateKey: await generateKeyPair('Ed25519'), listen: [], relays: relay.getMultiaddrs().map(String) })
 * const relayed = await dialEntity(b, hidden.peerId, hidden.getMultiaddrs())
 * console.log(relayed.remoteAddr.toString()) // …/p2p/<relay>/p2p-circuit/p2p/<hidden>
 * await Promise.all([a, b, hidden, relay].map(async n => n.stop()))
 * ```
 *
 * @packageDocumentation
 */
export { createNode, checkListenAddrs } from './node.ts'
export type { NodeInit, RelayNodeServices, LivenessInit } from './node.ts'
export { dialEntity, openStream } from './dial.ts'
export type { DialOptions } from './dial.ts'
export { relayServer, checkRelayAddrs } from './relay.ts'
export type { RelayServer, RelayServerInit, RelayServerComponents, RelayReservations, RelayReservationEvents, RelayStatus, RelayState } from './relay.ts'
export { DialFailedError, PeerMismatchError, StreamOpenError, ReservationRefusedError, ReservationFailedError, PeerKeyRequiredError, HandshakeFailedError, PunchFailedError, MissingDependencyError, LayerRecordsError } from './errors.ts'
export { birthdayPunch } from './punch.ts'
export type { BirthdayPunch, BirthdayPunchInit, BirthdayPunchComponents, PunchEvent, NatKind, Classification } from './punch.ts'
export type { Endpoint } from './internal/punch/addr.ts'
export type { QuestionRefusal } from './internal/punch/observe-wire.ts'
export { natObserver } from './observer.ts'
export { udxConnection } from './udx.ts'
export type { UdxConnectionInit } from './udx.ts'
export type { NatObserver, NatObserverInit, NatObserverComponents, ObserverRefusal } from './observer.ts'
export { unobservable, replayMemory } from './unobservable.ts'
export type { UnobservableInit, UnobservableComponents, Refusal, ReplayMemory, ReplayVerdict } from './unobservable.ts'
export type { Padding } from './internal/wire/connection.ts'
export { layerRecords } from './records.ts'
export type { LayerRecords } from './records.ts'
export { directPaths, upgradeToDirect, webrtcAddr } from './webrtc.ts'
export type { DirectPathsInit, DirectPaths, UpgradeOptions } from './webrtc.ts'
export * from './limits.ts'
