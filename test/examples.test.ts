// Every package's documented @example, and the root README's first sample, run as written
// (Node, type stripping, separate process) and exit by themselves.
import { spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { readmeSample } from './helpers/readme.ts'

const root = fileURLToPath(new URL('..', import.meta.url))
const packages = ['identity', 'demux', 'transport', 'rendezvous', 'sdk']

function exampleOf (pkg: string): string {
  const source = readFileSync(join(root, 'packages', pkg, 'src', 'index.ts'), 'utf8')
  const match = /@example\s*\n((?:\s*\*.*\n)*?)\s*\*\s*@packageDocumentation/.exec(source)
  if (match == null) throw new Error(`packages/${pkg}/src/index.ts has no @example before @packageDocumentation`)
  const body = match[1]!.split('\n').map(line => line.replace(/^\s*\* ?/, '')).join('\n')
  const code = /```ts\n([\s\S]*?)```/.exec(body)
  if (code == null) throw new Error(`packages/${pkg} @example has no ts code block`)
  return code[1]!
}

describe('documented examples', () => {
  it('runs the README\'s first sample: it prints the echo and exits 0 by itself', () => {
    const dir = join(root, 'test', '.examples')
    mkdirSync(dir, { recursive: true })
    const file = join(dir, 'readme.ts')
    writeFileSync(file, readmeSample())
    const cwd = mkdtempSync(join(tmpdir(), 'fara-example-readme-'))
    try {
      const run = spawnSync(process.execPath, [file], { cwd, encoding: 'utf8', timeout: 60_000, env: { ...process.env, FARA_PASSPHRASE: 'readme sample' } })
      expect(run.status, `the README sample exited ${run.status} (null: still running after 60 s); stderr:\n${run.stderr}`).toBe(0)
      expect(run.stdout.trim()).toBe('hello')
    } finally {
      rmSync(cwd, { recursive: true, force: true })
    }
  })

  for (const pkg of packages) {
    it(`runs the @fara/${pkg} package example`, () => {
      // the file sits inside the repo so '@fara/*' resolves; it runs in a scratch directory
      const dir = join(root, 'test', '.examples')
      mkdirSync(dir, { recursive: true })
      const file = join(dir, `${pkg}.ts`)
      writeFileSync(file, exampleOf(pkg))
      const cwd = mkdtempSync(join(tmpdir(), `fara-example-${pkg}-`))
      try {
        const run = spawnSync(process.execPath, [file], { cwd, encoding: 'utf8', timeout: 60_000 })
        expect(run.status, `example exited ${run.status}; stderr:\n${run.stderr}`).toBe(0)
      } finally {
        rmSync(cwd, { recursive: true, force: true })
      }
    })
  }
})
