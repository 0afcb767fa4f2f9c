// Docs that run (issue 17): scripts/readme-blocks.mjs finds every code block of
// the READMEs with its markers, and fails a run on a broken block.
import { spawnSync } from 'node:child_process'
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { consoleCommands, extractBlocks, strayMarkers } from '../scripts/readme-blocks.mjs'

const script = fileURLToPath(new URL('../scripts/readme-blocks.mjs', import.meta.url))
const fence = '```'

const sample = [
  '# A package', // 1
  '', // 2
  '<!-- fragment: needs a second machine behind a NAT -->', // 3
  `${fence}ts`, // 4
  "await connect('far away')", // 5
  fence, // 6
  '', // 7
  `${fence}sh`, // 8
  'echo runs', // 9
  fence, // 10
  '', // 11
  '<!-- env: FARA_PASSPHRASE=s3cret FARA_X=1 -->', // 12
  '<!-- timeout: 5 -->', // 13
  `${fence}console`, // 14
  '$ fara id create laptop \\', // 15
  '    --json', // 16
  'laptop  12D3KooW…', // 17
  '$ echo done', // 18
  fence, // 19
  '', // 20
  '<!-- fragment: -->', // 21
  `${fence}js`, // 22
  'no reason given', // 23
  fence, // 24
  '', // 25
  '<!-- fragmnet: a typo -->', // 26
  `${fence}bash`, // 27
  'true', // 28
  fence, // 29
  '', // 30
  '<!-- fragment: above a blank line, so above no block -->', // 31
  '', // 32
  `${fence}json`, // 33
  '{ "not": "run" }', // 34
  fence // 35
].join('\n')

describe('the README block extractor', () => {
  const blocks = extractBlocks(sample, 'README.md')

  it('finds every fenced block, with its fence line and language', () => {
    expect(blocks.map(b => [b.line, b.lang, b.kind])).toEqual([
      [4, 'ts', 'ts'], [8, 'sh', 'sh'], [14, 'console', 'console'], [22, 'js', 'js'], [27, 'bash', 'sh'], [33, 'json', undefined]
    ])
  })

  it('takes a fragment marker on the line above the fence, with its reason', () => {
    expect(blocks[0]).toMatchObject({ fragment: 'needs a second machine behind a NAT', errors: [] })
  })

  it('leaves a block without a marker to run', () => {
    expect(blocks[1]).toMatchObject({ fragment: undefined, code: 'echo runs', env: {}, errors: [] })
  })

  it('reads env and timeout markers stacked above a fence', () => {
    expect(blocks[2]).toMatchObject({ fragment: undefined, env: { FARA_PASSPHRASE: 's3cret', FARA_X: '1' }, timeout: 5, errors: [] })
  })

  it('refuses a fragment marker without a reason, and an unknown marker', () => {
    expect(blocks[3]!.errors.join()).toMatch(/needs a reason/)
    expect(blocks[4]!.errors.join()).toMatch(/unknown marker "fragmnet:"/)
  })

  it('reports a marker that is not right above a fence', () => {
    expect(blocks[5]!.fragment).toBeUndefined()
    const stray = strayMarkers(sample, 'README.md')
    expect(stray.map(s => `${s.file}:${s.line}`)).toEqual(['README.md:31'])
    expect(stray[0]!.message).toMatch(/not right above a fence/)
  })

  it('runs the $ lines of a console transcript, continuations included, and not its output', () => {
    expect(consoleCommands(blocks[2]!.code)).toBe('fara id create laptop \\\n    --json\necho done')
  })
})

describe('the README block runner', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fara-readme-blocks-test-'))
  afterAll(() => { rmSync(dir, { recursive: true, force: true }) })
  // as root the blocks run as nobody, who must be able to read all this
  chmodSync(dir, 0o755)
  const project = join(dir, 'project')
  mkdirSync(join(project, 'node_modules'), { recursive: true })
  writeFileSync(join(project, 'package.json'), JSON.stringify({ type: 'module' }))
  const bin = join(dir, 'bin')
  mkdirSync(bin)
  symlinkSync('/bin/true', join(bin, 'fara'))

  /** Runs the script on a root holding `readme` as its README.md. */
  function runOn (name: string, readme: string[]): { status: number | null, out: string } {
    const root = join(dir, name)
    mkdirSync(root)
    writeFileSync(join(root, 'README.md'), readme.join('\n'))
    const r = spawnSync(process.execPath, [script, '--root', root, '--project', project, '--bin', bin, '--timeout', '20'], { encoding: 'utf8', timeout: 90_000 })
    return { status: r.status, out: r.stdout + r.stderr }
  }

  const good = [
    `${fence}ts`, 'const n: number = 6 * 7', 'console.log(n)', fence,
    `${fence}sh`, 'test "$(pwd)" != /', 'sleep 30 &', fence,
    '<!-- fragment: a server elsewhere -->', `${fence}console`, '$ false', fence
  ]

  it('passes when every block runs or is a fragment, and stops what a block leaves running', () => {
    const { status, out } = runOn('good', good)
    expect(status, out).toBe(0)
    expect(out).toContain('README.md:1')
    expect(out).toMatch(/README\.md:5 +sh +ran \(.*left processes running: stopped\)/)
    expect(out).toContain('fragment: a server elsewhere')
    expect(out).toContain('3 blocks: 2 ran, 1 fragments (reasons above), 0 failed')
  }, 90_000)

  it('fails on a block that exits non-zero, printing its stderr, and on one that does not typecheck', () => {
    const { status, out } = runOn('broken', [...good,
      `${fence}sh`, 'echo "the reason it broke" >&2', 'exit 3', fence,
      `${fence}ts`, "const n: number = 'six'", 'console.log(n)', fence])
    expect(status, out).toBe(1)
    expect(out).toMatch(/README\.md:13 +sh +FAILED: exit 3/)
    expect(out).toContain('the reason it broke')
    expect(out).toMatch(/README\.md:17 +ts +FAILED: does not typecheck\n.*README\.md:18: error TS2322/)
    expect(out).toContain('5 blocks: 2 ran, 1 fragments (reasons above), 2 failed')
  }, 90_000)
})
