/**
 * The substrate of a Fara entity: one libp2p node per entity, with TCP on a
 * random OS-assigned port (never a fixed or well-known one), Noise, Yamux,
 * and connection-manager limits set on purpose. Dial errors are always
 * caught and turned into typed errors.
 *
 * @example
 * ```ts
 * import { createNode, dialEntity } from '@fara/transport'
 * import { generateKeyPair } from '@libp2p/crypto/keys'
 *
 * const a = await createNode({ privateKey: await generateKeyPair('Ed25519'), listen: ['/ip4/127.0.0.1/tcp/0'] })
 * const b = await createNode({ privateKey: await generateKeyPair('Ed25519'), listen: [] })
 * const connection = await dialEntity(b, a.peerId, a.getMultiaddrs()) // Noise checks a's key
 * console.log(connection.remoteAddr.toString())
 * await Promise.all([a.stop(), b.stop()])
 * ```
 *
 * @packageDocumentation
 */
export { createNode, checkListenAddrs } from './node.ts'
export type { NodeInit } from './node.ts'
export { dialEntity, openStream } from './dial.ts'
export type { DialOptions } from './dial.ts'
export { DialFailedError, PeerMismatchError, StreamOpenError } from './errors.ts'
export { DEFAULT_LISTEN, WELL_KNOWN_PORT_LIMIT, ENTITY_CONNECTION_LIMITS, RENDEZVOUS_CONNECTION_LIMITS } from './constants.ts'
