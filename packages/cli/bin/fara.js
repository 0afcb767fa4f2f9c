#!/usr/bin/env node
// The `fara` command. This file is checked in (executable) so that npm links
// it at install time, before the build; the program itself is dist/bin.js.
//
// Fara needs Node >= 22 (libp2p 3). On an older Node the command runs itself
// again with the Node 24 that @fara/cli depends on (the `node` package from
// npm, as the repository's own scripts do), so `fara` installed on Node 20
// works as printed in the README, ssh's ProxyCommand included.
import { spawn } from 'node:child_process'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const major = Number(process.versions.node.split('.')[0])
if (major < 22) {
  let node
  try {
    node = join(dirname(createRequire(import.meta.url).resolve('node/package.json')), 'bin', 'node')
  } catch {
    console.error(`fara: Node ${process.versions.node} is too old; Fara needs Node >= 22 (install @fara/cli with its dependencies, which bring Node 24)`)
    process.exit(1)
  }
  const child = spawn(node, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: 'inherit' })
  // Ctrl-C reaches the child directly (same process group): forwarding SIGINT too
  // would count as a second one, which makes fara leave without a clean stop
  process.on('SIGINT', () => {})
  for (const signal of ['SIGTERM', 'SIGHUP']) process.on(signal, () => { child.kill(signal) })
  child.on('error', (err) => {
    console.error(`fara: cannot run ${node}: ${err.message}`)
    process.exit(1)
  })
  child.on('exit', (code, signal) => {
    if (signal == null) process.exit(code ?? 1)
    // die of the same signal, so the caller sees what the child saw
    process.removeAllListeners(signal)
    process.kill(process.pid, signal)
  })
} else {
  try {
    await import('../dist/bin.js')
  } catch (err) {
    if (err?.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('dist/bin.js')) {
      console.error('fara: not built yet: run `npm run build` first')
      process.exit(1)
    }
    throw err
  }
}
