// Typechecks every ```ts / ```typescript block inside an `@example` tag of
// packages/*/src/**/*.ts, each as its own ES module (strict, nodenext, top-level
// await), resolving @fara/* to the workspace packages' dist/*.d.ts (build first:
// `npx tsc -b`). Fails listing the source file:line of each broken example.
//
// A block whose first line is `// fragment: <reason>` is not compiled (it shows
// part of a larger program on purpose); fragments are counted separately.
import { mkdtempSync, readFileSync, readdirSync, existsSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const FRAGMENT = /^\/\/\s*fragment:\s*\S/
const OPEN = /^```(ts|typescript)\b/
const ANY_FENCE = /^```/

/** Every .ts file under `dir`, sorted, skipping declaration files. */
function sources (dir) {
  const out = []
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) out.push(...sources(path))
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) out.push(path)
  }
  return out.sort()
}

/**
 * The ```ts blocks of the `@example` tags in one file's doc comments:
 * `{ line, code }`, `line` being the 1-based source line of the block's first
 * code line. A comment line is read as TypeDoc reads it: `*` and one space off.
 */
function examplesOf (text) {
  const lines = text.split('\n')
  const found = []
  let inComment = false
  let inExample = false
  let fence // undefined, or { ts: boolean, start: number, code: string[] }
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]
    if (!inComment) {
      if (!/^\s*\/\*\*/.test(raw) || /\*\/\s*$/.test(raw)) continue
      inComment = true
      inExample = false
      fence = undefined
      continue
    }
    const end = /\*\/\s*$/.test(raw)
    const body = raw.replace(/\*\/\s*$/, '').replace(/^\s*\* ?/, '')
    if (fence != null) {
      if (body.trim() === '```') {
        if (fence.ts) found.push({ line: fence.start, code: fence.code.join('\n') })
        fence = undefined
      } else {
        fence.code.push(body)
      }
    } else if (/^@[a-zA-Z]+(\s|$)/.test(body.trim())) {
      inExample = body.trim().startsWith('@example')
    } else if (ANY_FENCE.test(body.trim())) {
      fence = { ts: inExample && OPEN.test(body.trim()), start: i + 2, code: [] }
    }
    if (end) inComment = false
  }
  return found
}

const packagesDir = join(root, 'packages')
const examples = []
for (const pkg of readdirSync(packagesDir).sort()) {
  const src = join(packagesDir, pkg, 'src')
  if (!existsSync(src)) continue
  for (const file of sources(src)) {
    for (const example of examplesOf(readFileSync(file, 'utf8'))) examples.push({ file: relative(root, file), ...example })
  }
}

const missing = readdirSync(packagesDir).filter(pkg => !existsSync(join(packagesDir, pkg, 'dist', 'index.d.ts')))
if (missing.length > 0) {
  console.error(`check-examples: no dist/index.d.ts in packages ${missing.join(', ')}: build first (npx tsc -b)`)
  process.exit(1)
}

const fragments = examples.filter(e => FRAGMENT.test(e.code.trimStart()))
const compiled = examples.filter(e => !FRAGMENT.test(e.code.trimStart()))
if (compiled.length === 0) {
  console.error('check-examples: found no @example ```ts blocks in packages/*/src')
  process.exit(1)
}

// one module per example, in a directory whose node_modules is the workspace's
const dir = mkdtempSync(join(tmpdir(), 'fara-examples-'))
const broken = new Map() // example index -> diagnostics text
try {
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'), 'dir')
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: 'module' }))
  const files = compiled.map((example, i) => {
    const path = join(dir, `example-${String(i).padStart(3, '0')}.ts`)
    // `export {}` makes a block without imports a module too (top-level await, no shared globals)
    writeFileSync(path, `${example.code}\nexport {}\n`)
    return path
  })
  const options = {
    strict: true,
    noUncheckedIndexedAccess: true,
    exactOptionalPropertyTypes: true,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2023,
    lib: ['lib.es2023.d.ts'],
    types: ['node'],
    typeRoots: [join(root, 'node_modules', '@types')],
    skipLibCheck: true,
    noEmit: true
  }
  const program = ts.createProgram(files, options)
  const index = new Map(files.map((path, i) => [program.getSourceFile(path)?.fileName ?? path, i]))
  for (const diagnostic of ts.getPreEmitDiagnostics(program)) {
    const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n    ')
    const i = diagnostic.file == null ? undefined : index.get(diagnostic.file.fileName)
    if (i == null) {
      // not located in an example (a config or library problem): report it against none
      broken.set(-1, [...(broken.get(-1) ?? []), `  TS${diagnostic.code}: ${message}`])
      continue
    }
    const { line } = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start ?? 0)
    const example = compiled[i]
    broken.set(i, [...(broken.get(i) ?? []), `  ${example.file}:${example.line + line}: TS${diagnostic.code}: ${message}`])
  }
} finally {
  rmSync(dir, { recursive: true, force: true })
}

const summary = `${compiled.length} examples checked, ${fragments.length} fragment${fragments.length === 1 ? '' : 's'} skipped` +
  (fragments.length === 0 ? '' : ` (${fragments.map(f => `${f.file}:${f.line}`).join(', ')})`)
if (broken.size > 0) {
  for (const [i, lines] of [...broken].sort((a, b) => a[0] - b[0])) {
    console.error(i === -1 ? 'outside any example:' : `${compiled[i].file}:${compiled[i].line}: example does not compile`)
    for (const line of lines) console.error(line)
  }
  const count = [...broken.keys()].filter(i => i !== -1).length
  console.error(`check-examples: ${count} of ${summary}; fix them, or mark a deliberate fragment with a first line \`// fragment: <reason>\``)
  process.exit(1)
}
console.log(`check-examples: ${summary}`)
