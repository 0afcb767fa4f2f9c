/**
 * Port hopping for Fara: a keyed port schedule, and a libp2p TCP transport
 * whose listener hops along it.
 *
 * Time is cut into slots (default 30 s); each slot maps to a port of a range
 * through HMAC-SHA256 under a 32-byte key, reduced without modulo bias. The
 * listener keeps the ports of the previous, current and next slots open (one
 * slot of clock skew each way), opens the next before closing the old, and
 * announces none of them. A dialer that holds the same {@link HopParams}
 * (from a private rendezvous record) dials the current slot's port, then the
 * neighbours. An observer who records the ports in use cannot predict the
 * next one without the key. Normative text: spec/port-hopping.md.
 *
 * The domain, parameter bounds and defaults: `@fara/port-hopping/constants`.
 *
 * @example
 * ```ts
 * import { createLibp2p } from 'libp2p'
 * import { noise } from '@chainsafe/libp2p-noise'
 * import { yamux } from '@chainsafe/libp2p-yamux'
 * import { createHopParams, hoppingTcp, hopSchedules, hopAddr, encodeHopParams, decodeHopParams } from '@fara/port-hopping'
 *
 * // the service: a fresh key, a 30 s interval, ports 20000–20999
 * const params = createHopParams({ range: { start: 20_000, end: 20_999 } })
 * const server = await createLibp2p({
 *   addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
 *   transports: [hoppingTcp({ listen: params })],
 *   connectionEncrypters: [noise()], streamMuxers: [yamux()]
 * })
 * const sealed = encodeHopParams(params) // 49 bytes for the private record
 *
 * // a client that resolved the private record
 * const schedules = hopSchedules()
 * schedules.set('127.0.0.1', decodeHopParams(sealed))
 * const client = await createLibp2p({
 *   transports: [hoppingTcp({ schedules })],
 *   connectionEncrypters: [noise()], streamMuxers: [yamux()]
 * })
 * const connection = await client.dial(hopAddr('127.0.0.1', params))
 * console.log(connection.remoteAddr.toString()) // the port of the current slot
 * await Promise.all([client.stop(), server.stop()])
 * ```
 *
 * @packageDocumentation
 */
export { createSchedule } from './schedule.ts'
export type { Schedule, ScheduleInit, HopSlot } from './schedule.ts'
export {
  createHopParams, checkHopParams, encodeHopParams, decodeHopParams, hopParamsToString, hopParamsFromString, sameHopParams, rangeSize
} from './params.ts'
export type { HopParams, HopParamsInit, PortRange } from './params.ts'
export { hopSchedules, hopAddr, hopDialAddrs } from './schedules.ts'
export type { HopSchedules, HopSchedulesInit } from './schedules.ts'
export { hoppingTcp } from './transport.ts'
export type { HoppingTcp, HoppingTcpInit, HoppingTcpComponents } from './transport.ts'
export type { HopListener, HopListenerEvents, HopEvent } from './listener.ts'
export { InvalidHopParamsError, UnsupportedHopVersionError, HopDerivationError, HopListenError, HopDialError } from './errors.ts'
