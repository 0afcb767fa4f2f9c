// The component logger `createNode` gives libp2p. libp2p's default makes three
// `debug` instances for every logger it asks for (the logger, its `error` and
// its `trace`), and asks for several per connection and per stream (the
// upgrader, Noise, the muxer, each stream: `newScope`); each instance tests
// whether stderr is a terminal (a system call) and compiles its namespace. A
// connect paid about 0.2 ms of CPU on each side for loggers that print nothing
// unless `DEBUG` names them (bench/README.md, "Connect latency").
//
// This one makes nothing until a line is to be printed: each call asks
// `enabled(namespace)` (a loop over the enabled patterns: none unless `DEBUG`
// or `enable()` set some), and only then makes libp2p's own logger for that
// namespace, once. So `DEBUG=…`, and `enable()` at any time, print exactly
// what libp2p's default logger would.
import { enabled, logger } from '@libp2p/logger'
import type { ComponentLogger, Logger } from '@libp2p/interface'

/** A {@link ComponentLogger} that costs nothing while its namespaces are disabled. */
export function quietLogger (): ComponentLogger {
  return { forComponent: lazyLogger }
}

function lazyLogger (name: string): Logger {
  let real: Logger | undefined
  const made = (): Logger => (real ??= logger(name))
  const error = `${name}:error`
  const trace = `${name}:trace`
  const log = ((formatter: unknown, ...args: unknown[]): void => {
    if (enabled(name)) made()(formatter, ...args)
  }) as Logger
  log.error = (formatter: unknown, ...args: unknown[]): void => {
    if (enabled(error)) made().error(formatter, ...args)
  }
  log.trace = (formatter: unknown, ...args: unknown[]): void => {
    if (enabled(trace)) made().trace(formatter, ...args)
  }
  Object.defineProperty(log, 'enabled', { get: () => enabled(name), enumerable: true })
  log.newScope = (scope: string): Logger => lazyLogger(`${name}:${scope}`)
  return log
}
