// The @example of src/index.ts runs as written, in its own Node process.
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const root = fileURLToPath(new URL('../../..', import.meta.url))

describe('documented example', () => {
  it('runs the @fara/cli package example and it prints the created identity', () => {
    const source = readFileSync(new URL('../src/index.ts', import.meta.url), 'utf8')
    const body = /@example\s*\n((?:\s*\*.*\n)*?)\s*\*\s*@packageDocumentation/.exec(source)![1]!
    const code = /```ts\n([\s\S]*?)```/.exec(body.split('\n').map(l => l.replace(/^\s*\* ?/, '')).join('\n'))![1]!
    // run from the repository root, so that '@fara/cli' resolves
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { cwd: root, encoding: 'utf8', timeout: 30_000 })
    expect(r.status, r.stderr).toBe(0)
    expect(JSON.parse(r.stdout)).toMatchObject({ event: 'created', app: 'web', encrypted: false })
  })
})
