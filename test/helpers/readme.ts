// The root README's first code sample, as test/examples.test.ts and test/debug-log.test.ts run it.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('../..', import.meta.url))

/** The first ts block under the root README's "## Use it". */
export function readmeSample (): string {
  const readme = readFileSync(join(root, 'README.md'), 'utf8')
  const section = readme.slice(readme.indexOf('\n## Use it\n'))
  const code = /```ts\n([\s\S]*?)```/.exec(section)
  if (code == null) throw new Error('README.md: no ts block under "## Use it"')
  return code[1]!
}

/** Write `code` to `test/.examples/<file>` (inside the repo, so that '@fara/*' resolves) and return its path. */
export function exampleFile (file: string, code: string): string {
  const dir = join(root, 'test', '.examples')
  mkdirSync(dir, { recursive: true })
  const path = join(dir, file)
  writeFileSync(path, code)
  return path
}
