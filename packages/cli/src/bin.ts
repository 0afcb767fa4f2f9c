#!/usr/bin/env node
// The `fara` command (started by bin/fara.js). Exit codes: see ExitCode.
import { ENV, ExitCode, SHUTDOWN_TIMEOUT_MS } from './constants.ts'
import { StopRequest } from './internal/command.ts'
import { tuneGc } from '@fara/sdk'
import { run } from './run.ts'

// every command may move bulk data (connect, serve): V8 counts buffers in its heap limit
// instead of a full collection per 64 MiB of them (bench/README.md#the-garbage-collector-and-buffers),
// unless FARA_GC=node-defaults (a value it does not know is refused once the command loads its settings)
if (process.env[ENV.GC] !== 'node-defaults') tuneGc()

const controller = new AbortController()
let stopping = false

/** First SIGINT/SIGTERM: stop cleanly (bounded); a second one: leave now. */
function onSignal (signal: NodeJS.Signals): void {
  const code = signal === 'SIGINT' ? ExitCode.INTERRUPTED : ExitCode.OK
  if (stopping) process.exit(code)
  stopping = true
  controller.abort(new StopRequest(signal))
  setTimeout(() => {
    process.stderr.write(`fara: clean shutdown took over ${SHUTDOWN_TIMEOUT_MS / 1000} s; exiting\n`)
    process.exit(ExitCode.FAILURE)
  }, SHUTDOWN_TIMEOUT_MS).unref()
}
process.on('SIGINT', onSignal)
process.on('SIGTERM', onSignal)
// the reader of our output went away (a closed pipe): nothing more to say
for (const stream of [process.stdout, process.stderr]) stream.on('error', () => { process.exit(ExitCode.FAILURE) })

const code = await run(process.argv.slice(2), { signal: controller.signal })
// libp2p may keep timers alive: exit once what was written is flushed
process.stdout.write('', () => { process.exit(code) })
