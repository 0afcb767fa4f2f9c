/**
 * The `fara` command line: run a rendezvous point, expose any TCP service by
 * name (`fara serve web --forward 127.0.0.1:8000`), and reach it from
 * anywhere through a local port or stdin/stdout (`fara connect web`), with no
 * well-known port, encrypted, and behind NAT through a relay. This module
 * exposes the same program as a function, for tests and wrappers.
 *
 * Environment variable names and the command's defaults: `@fara/cli/constants`.
 *
 * @example
 * ```ts
 * import { mkdtemp } from 'node:fs/promises'
 * import { tmpdir } from 'node:os'
 * import { join } from 'node:path'
 * import { ExitCode, run } from '@fara/cli'
 *
 * const keystore = await mkdtemp(join(tmpdir(), 'fara-keys-'))
 * // the same as `fara id create web --keystore <dir> --json` in a shell
 * const code = await run(['id', 'create', 'web', '--keystore', keystore, '--json'])
 * if (code !== ExitCode.OK) throw new Error(`fara id create exited with ${code}`)
 * ```
 *
 * @packageDocumentation
 */
export { run, version } from './run.ts'
export type { RunOptions } from './run.ts'
// what `run` resolves to; the other constants are in '@fara/cli/constants'
export { ExitCode } from './constants.ts'
export { UsageError, ConfigError, ForwardFailedError, MissingSettingError, ZoneNotServedError, UdpFrameError } from './errors.ts'
