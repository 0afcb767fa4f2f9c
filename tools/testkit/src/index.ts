/**
 * Fara's shared test tools: private, never published. A test imports them from one place:
 *
 * - `thrown` / `rejection`: the error a call throws or a promise rejects with (fails if none);
 *   `thrownIfAny` / `rejectionIfAny`: the same, undefined if none;
 * - `until(check, what, { timeoutMs, intervalMs })`: wait for a state, with a deadline;
 * - `freePort`, `connectError`, `tcpRoundTrip`, `readAll`: loopback sockets and byte streams;
 * - `watch` and `ProcessGroup`: the child-process harness the fixture, CLI and bench harnesses build on;
 *   `hasCommand`: whether a program a test needs is installed.
 *
 * The property-test arbitraries (fast-check, vitest) are a separate entry: `@fara/testkit/props`.
 *
 * @example
 * ```ts
 * import { freePort, rejection, until } from '@fara/testkit'
 *
 * const port = await freePort()
 * expect((await rejection(dial(port))).code).toBe('ECONNREFUSED')
 * await until(() => server.pending === 0, 'the server to forget the socket')
 * ```
 *
 * @packageDocumentation
 */
export { thrown, rejection, thrownIfAny, rejectionIfAny } from './caught.ts'
export type { Caught } from './caught.ts'
export { until } from './until.ts'
export type { UntilOptions } from './until.ts'
export { freePort, connectError, tcpRoundTrip } from './net.ts'
export type { FreePortOptions } from './net.ts'
export { readAll } from './streams.ts'
export { watch, jsonObject, hasCommand, ProcessGroup } from './process.ts'
export type { Line, Watched, WatchOptions } from './process.ts'
