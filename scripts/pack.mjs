// Pack every publishable workspace into one directory, as `npm publish` would:
//   node scripts/pack.mjs <out-dir>
// Prints one JSON line per tarball: { name, version, file, bytes, integrity, shasum }.
import { execFileSync } from 'node:child_process'
import { mkdirSync } from 'node:fs'
import { join, resolve } from 'node:path'

/** The publishable workspaces, in dependency order. */
export const PACKAGES = ['identity', 'demux', 'port-hopping', 'transport', 'rendezvous', 'srv', 'tcpmux', 'sdk', 'cli']

const root = resolve(import.meta.dirname, '..')

/** `npm pack` of every package into `out`; what npm says of each tarball. */
export function packAll (out) {
  mkdirSync(out, { recursive: true })
  return PACKAGES.map((name) => {
    const [info] = JSON.parse(execFileSync('npm', ['pack', '--json', '--pack-destination', out], { cwd: join(root, 'packages', name), encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }))
    return { name: info.name, version: info.version, file: join(out, info.filename), bytes: info.size, integrity: info.integrity, shasum: info.shasum }
  })
}

if (import.meta.filename === resolve(process.argv[1] ?? '')) {
  for (const tarball of packAll(resolve(process.argv[2] ?? 'packed'))) console.log(JSON.stringify(tarball))
}
