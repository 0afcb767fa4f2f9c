// The layer graph (issue 19): spec/architecture.md § Layers documents which
// @fara package may depend on which, as a table and as a diagram. This test
// reads both and fails when they differ from the packages' own package.json
// files (in either direction), or when a file of packages/*/src imports a
// @fara package its package.json does not declare.
import { readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

/** Package name → the @fara packages it may depend on. */
type Graph = Map<string, Set<string>>

const root = fileURLToPath(new URL('..', import.meta.url))
const ARCHITECTURE = 'spec/architecture.md'
const MARKER = '<!-- layer-graph'
const FARA = /`(@fara\/[a-z0-9-]+)`/g
const DEPENDENCY_FIELDS = ['dependencies', 'peerDependencies', 'optionalDependencies'] as const

/** The table that follows the `<!-- layer-graph … -->` line: `| \`@fara/x\` | \`@fara/y\`, … |` rows, "—" for none. */
export function parseLayerTable (markdown: string): Graph {
  const lines = markdown.split('\n')
  const at = lines.findIndex(l => l.trim().startsWith(MARKER))
  if (at < 0) throw new Error(`no "${MARKER} … -->" line`)
  const rows = []
  for (const line of lines.slice(at + 1)) {
    if (!line.trim().startsWith('|')) break
    rows.push(line)
  }
  const graph: Graph = new Map()
  // rows[0] is the header, rows[1] the |---| line
  for (const row of rows.slice(2)) {
    const [, name, deps] = row.split('|').map(cell => cell.trim())
    const pkg = /^`(@fara\/[a-z0-9-]+)`$/.exec(name ?? '')?.[1]
    if (pkg == null) throw new Error(`layer table row names no package: ${row}`)
    if (graph.has(pkg)) throw new Error(`layer table lists ${pkg} twice`)
    graph.set(pkg, new Set([...(deps ?? '').matchAll(FARA)].map(m => m[1]!)))
  }
  if (graph.size === 0) throw new Error('layer table has no rows')
  return graph
}

/** The first mermaid flowchart after `## Layers`: nodes `id["@fara/x: …"]`, edges `a --> b`. */
export function parseLayerDiagram (markdown: string): Graph {
  const section = markdown.split(/^## Layers$/m)[1]
  const block = section == null ? undefined : /```mermaid\n([\s\S]*?)```/.exec(section)?.[1]
  if (block == null) throw new Error('no mermaid block under "## Layers"')
  const names = new Map<string, string>()
  for (const m of block.matchAll(/^\s*([\w-]+)\["(@fara\/[a-z0-9-]+)/gm)) names.set(m[1]!, m[2]!)
  const graph: Graph = new Map([...names.values()].map(n => [n, new Set<string>()]))
  for (const m of block.matchAll(/^\s*([\w-]+)\s*-->\s*([\w-]+)\s*$/gm)) {
    const from = names.get(m[1]!)
    const to = names.get(m[2]!)
    if (from == null || to == null) throw new Error(`diagram edge ${m[1]} --> ${m[2]} names a node without a "@fara/…" label`)
    graph.get(from)!.add(to)
  }
  return graph
}

/** Every difference between two graphs, one line each, naming the package and the edge. */
export function compareGraphs (documented: Graph, actual: Graph, where = ARCHITECTURE): string[] {
  const problems: string[] = []
  for (const [pkg, deps] of actual) {
    const allowed = documented.get(pkg)
    if (allowed == null) {
      problems.push(`${pkg}: a package missing from the layer graph in ${where}`)
      continue
    }
    for (const dep of deps) if (!allowed.has(dep)) problems.push(`${pkg} → ${dep}: a dependency that ${where} does not document`)
    for (const dep of allowed) if (!deps.has(dep)) problems.push(`${pkg} → ${dep}: documented in ${where}, but not a dependency`)
  }
  for (const pkg of documented.keys()) if (!actual.has(pkg)) problems.push(`${pkg}: in the layer graph of ${where}, but no such package`)
  return problems
}

/** The @fara packages a source file imports (static, re-exported or dynamic), leaving out comment lines (TSDoc examples). */
export function faraImports (source: string): Set<string> {
  const code = source.split('\n').filter(l => !/^\s*(\/\/|\/\*|\*)/.test(l)).join('\n')
  const found = new Set<string>()
  const patterns = [
    /^\s*(?:import|export)\b[^'"`;]*?\bfrom\s*['"](@fara\/[a-z0-9-]+)/gm,
    /^\s*import\s*['"](@fara\/[a-z0-9-]+)/gm,
    /\bimport\s*\(\s*['"](@fara\/[a-z0-9-]+)/g
  ]
  for (const pattern of patterns) for (const m of code.matchAll(pattern)) found.add(m[1]!)
  return found
}

interface Manifest { name: string, dir: string, deps: Set<string> }

function manifests (): Manifest[] {
  return readdirSync(join(root, 'packages')).sort().map(dir => {
    const json = JSON.parse(readFileSync(join(root, 'packages', dir, 'package.json'), 'utf8')) as Record<string, unknown> & { name: string }
    const deps = DEPENDENCY_FIELDS.flatMap(field => Object.keys((json[field] ?? {}) as Record<string, string>))
    return { name: json.name, dir: join(root, 'packages', dir), deps: new Set(deps.filter(d => d.startsWith('@fara/'))) }
  })
}

function sourceFiles (dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap(e => {
    const path = join(dir, e.name)
    if (e.isDirectory()) return sourceFiles(path)
    return /\.(ts|mts|js|mjs)$/.test(e.name) && !e.name.endsWith('.d.ts') ? [path] : []
  })
}

const edges = (pairs: Array<[string, string[]]>): Graph => new Map(pairs.map(([pkg, deps]) => [pkg, new Set(deps)]))

describe('the comparison', () => {
  it('names each package and edge that differs, in both directions', () => {
    const actual = edges([['@fara/sdk', ['@fara/demux', '@fara/rendezvous']], ['@fara/demux', []], ['@fara/rendezvous', []], ['@fara/extra', []]])
    const wrong = edges([['@fara/sdk', ['@fara/demux', '@fara/identity']], ['@fara/demux', []], ['@fara/rendezvous', []], ['@fara/gone', []]])
    expect(compareGraphs(wrong, actual).sort()).toEqual([
      `@fara/extra: a package missing from the layer graph in ${ARCHITECTURE}`,
      `@fara/gone: in the layer graph of ${ARCHITECTURE}, but no such package`,
      `@fara/sdk → @fara/identity: documented in ${ARCHITECTURE}, but not a dependency`,
      `@fara/sdk → @fara/rendezvous: a dependency that ${ARCHITECTURE} does not document`
    ])
    expect(compareGraphs(actual, actual)).toEqual([])
  })

  it('fails the real packages against a graph with one edge taken out', () => {
    const wrong = parseLayerTable(readFileSync(join(root, ARCHITECTURE), 'utf8'))
    wrong.get('@fara/sdk')!.delete('@fara/demux')
    const actual = new Map(manifests().map(m => [m.name, m.deps]))
    expect(compareGraphs(wrong, actual)).toEqual([`@fara/sdk → @fara/demux: a dependency that ${ARCHITECTURE} does not document`])
  })

  it('reads the table and the diagram', () => {
    const markdown = [
      '## Layers', '', '```mermaid', 'flowchart TB', '  a["@fara/a: top"]', '  b["@fara/b: bottom"]', '  a --> b', '```', '',
      '<!-- layer-graph: test -->', '| package | may depend on |', '|---|---|', '| `@fara/a` | `@fara/b` |', '| `@fara/b` | — |', '', 'after'
    ].join('\n')
    const expected = edges([['@fara/a', ['@fara/b']], ['@fara/b', []]])
    expect(parseLayerTable(markdown)).toEqual(expected)
    expect(parseLayerDiagram(markdown)).toEqual(expected)
    expect(() => parseLayerTable('no table')).toThrow(/layer-graph/)
  })

  it('finds static, re-exported, multi-line and dynamic imports, not those in comments', () => {
    const source = [
      "import { a } from '@fara/identity'",
      'import type {',
      '  B',
      "} from '@fara/demux/constants'",
      "export { c } from '@fara/transport'",
      "const d = await import('@fara/srv')",
      ' * import { e } from \'@fara/sdk\'',
      "// import { f } from '@fara/cli'",
      "const g = '@fara/tcpmux'"
    ].join('\n')
    expect([...faraImports(source)].sort()).toEqual(['@fara/demux', '@fara/identity', '@fara/srv', '@fara/transport'])
  })
})

describe('the layer graph of spec/architecture.md', () => {
  const markdown = readFileSync(join(root, ARCHITECTURE), 'utf8')
  const documented = parseLayerTable(markdown)

  it('is what the packages declare (dependencies, peer and optional dependencies)', () => {
    const actual = new Map(manifests().map(m => [m.name, m.deps]))
    expect(compareGraphs(documented, actual)).toEqual([])
  })

  it('is what its diagram draws', () => {
    expect(compareGraphs(documented, parseLayerDiagram(markdown), `the diagram of ${ARCHITECTURE}`)).toEqual([])
  })

  it('leaves no @fara import of packages/*/src undeclared', () => {
    const problems: string[] = []
    for (const m of manifests()) {
      for (const file of sourceFiles(join(m.dir, 'src'))) {
        for (const dep of faraImports(readFileSync(file, 'utf8'))) {
          if (dep !== m.name && !m.deps.has(dep)) problems.push(`${relative(root, file)} imports ${dep}, which ${m.name} does not declare`)
        }
      }
    }
    expect(problems).toEqual([])
  })
})
