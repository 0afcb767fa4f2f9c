// What a consumer of the published packages gets (issue 17): every tarball
// carries the LICENSE (the repository keeps one, at the root: `prepack` copies
// it in), and every package loads with require() as well as import, as
// libp2p's do on Node >= 22.12 (require of an ES module); importing the SDK loads
// no native addon the application does not use.
import { execFileSync, spawnSync } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const root = fileURLToPath(new URL('..', import.meta.url))
const packages = readdirSync(join(root, 'packages')).map(dir => JSON.parse(readFileSync(join(root, 'packages', dir, 'package.json'), 'utf8')) as { name: string, private?: boolean })

describe('the published packages', () => {
  it('each tarball holds LICENSE, and packing leaves no copy behind', () => {
    const packed = JSON.parse(execFileSync('npm', ['pack', '--dry-run', '--json', ...packages.flatMap(p => ['-w', p.name])], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })) as Array<{ name: string, files: Array<{ path: string }> }>
    expect(packed.map(p => p.name).sort()).toEqual(packages.map(p => p.name).sort())
    for (const p of packed) expect(p.files.map(f => f.path), p.name).toContain('LICENSE')
    for (const dir of readdirSync(join(root, 'packages'))) expect(readdirSync(join(root, 'packages', dir)), dir).not.toContain('LICENSE')
  }, 120_000)

  for (const { name } of packages) {
    it(`${name} loads with require() as with import`, () => {
      const run = spawnSync(process.execPath, ['-e', `const m = require(${JSON.stringify(name)}); if (Object.keys(m).length === 0) process.exit(3)`], { cwd: root, encoding: 'utf8', timeout: 60_000 })
      expect(run.status, run.stderr).toBe(0)
    }, 60_000)
  }

  // the native addons (node-datachannel for WebRTC, classic-level for a point's records, udx-native for
  // the punch) are loaded only by the nodes that use them; /proc/self/maps lists what a process loaded
  it.skipIf(process.platform !== 'linux')(`importing @fara/sdk loads no native addon${process.platform === 'linux' ? '' : ' — skipped: reads /proc/self/maps (Linux)'}`, () => {
    const code = "await import('@fara/sdk'); const maps = (await import('node:fs')).readFileSync('/proc/self/maps', 'utf8'); " +
      "console.log(JSON.stringify([...new Set(maps.split('\\n').filter(l => l.endsWith('.node')).map(l => l.split('/').pop()))]))"
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', code], { cwd: root, encoding: 'utf8', timeout: 60_000 })
    expect(run.status, run.stderr).toBe(0)
    expect(JSON.parse(run.stdout.trim())).toEqual([])
  }, 60_000)
})
