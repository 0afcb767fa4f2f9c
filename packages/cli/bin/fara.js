#!/usr/bin/env node
// The `fara` command. This file is checked in (executable) so that npm links
// it at install time, before the build; the program itself is dist/bin.js.
const major = Number(process.versions.node.split('.')[0])
if (major < 22) {
  console.error(`fara: Node ${process.versions.node} is too old; Fara needs Node >= 22`)
  process.exit(1)
}
try {
  await import('../dist/bin.js')
} catch (err) {
  if (err?.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('dist/bin.js')) {
    console.error('fara: not built yet: run `npm run build` first')
    process.exit(1)
  }
  throw err
}
