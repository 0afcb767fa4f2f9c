// The shape issue 19 gave the packages, kept by a test: no source file over
// 400 lines; each package's main entry reads like libp2p's (factory, Init,
// Components, interface, errors), with its upper-case constants in the
// `./constants` subpath instead; @fara/rendezvous's main entry at most 50 names.
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'
import { describe, expect, it } from 'vitest'

const root = fileURLToPath(new URL('..', import.meta.url))
const packages = readdirSync(join(root, 'packages')).filter(p => statSync(join(root, 'packages', p)).isDirectory()).sort()

const MAX_SOURCE_LINES = 400
const MAX_RENDEZVOUS_MAIN_EXPORTS = 50
/** An upper-case constant's name: `MAX_RELAYS`, `ENV` (not `ReplyCode`, a type or a class). */
const CONSTANT_NAME = /^[A-Z][A-Z0-9_]*$/

/** Every `.ts` file below `dir`. */
function sources (dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap(e => {
    const path = join(dir, e.name)
    if (e.isDirectory()) return sources(path)
    return e.name.endsWith('.ts') ? [path] : []
  })
}

/** Source files over `max` lines, as `path (n lines)`. */
export function longFiles (files: Array<{ path: string, text: string }>, max: number): string[] {
  return files.map(f => ({ path: f.path, lines: f.text.split('\n').length - (f.text.endsWith('\n') ? 1 : 0) }))
    .filter(f => f.lines > max).map(f => `${f.path} (${f.lines} lines)`)
}

/** The names each entry file exports (values and types), read by the TypeScript checker. */
function exportsOf (entries: string[]): Map<string, string[]> {
  const program = ts.createProgram(entries, {
    target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext,
    allowImportingTsExtensions: true, noEmit: true, skipLibCheck: true, strict: true
  })
  const checker = program.getTypeChecker()
  const out = new Map<string, string[]>()
  for (const entry of entries) {
    const file = program.getSourceFile(entry)
    const symbol = file == null ? undefined : checker.getSymbolAtLocation(file)
    if (symbol == null) throw new Error(`cannot read the exports of ${entry}`)
    out.set(entry, checker.getExportsOfModule(symbol).map(s => s.name))
  }
  return out
}

describe('package structure (issue 19)', () => {
  it(`finds no file under packages/*/src over ${MAX_SOURCE_LINES} lines`, () => {
    const files = packages.flatMap(p => sources(join(root, 'packages', p, 'src')))
      .map(path => ({ path: relative(root, path), text: readFileSync(path, 'utf8') }))
    expect(files.length).toBeGreaterThan(100)
    expect(longFiles(files, MAX_SOURCE_LINES)).toEqual([])
  })

  it('would report a file over the limit', () => {
    const text = 'x\n'.repeat(MAX_SOURCE_LINES + 1)
    expect(longFiles([{ path: 'a.ts', text }, { path: 'b.ts', text: 'y\n' }], MAX_SOURCE_LINES)).toEqual([`a.ts (${MAX_SOURCE_LINES + 1} lines)`])
  })

  it('gives every package a ./constants subpath built from src/constants.ts', () => {
    for (const p of packages) {
      const manifest = JSON.parse(readFileSync(join(root, 'packages', p, 'package.json'), 'utf8')) as { exports: Record<string, { import?: string }> }
      expect(manifest.exports['./constants']?.import, `packages/${p}/package.json exports "./constants"`).toBe('./dist/constants.js')
    }
  })

  describe('main entries', () => {
    const entries = packages.map(p => join(root, 'packages', p, 'src', 'index.ts'))
    const exported = exportsOf(entries)

    it('export no upper-case constant (they live in ./constants)', () => {
      const constants = entries.flatMap(e => (exported.get(e) ?? []).filter(n => CONSTANT_NAME.test(n)).map(n => `${relative(root, e)}: ${n}`))
      expect(constants).toEqual([])
      // the check sees constants where they are: the constants entries hold them
      const held = exportsOf([join(root, 'packages', 'rendezvous', 'src', 'constants.ts')])
      expect([...held.values()][0]).toContain('MAX_POINT_MESSAGE_BYTES')
    })

    it(`@fara/rendezvous exports at most ${MAX_RENDEZVOUS_MAIN_EXPORTS} names from its main entry`, () => {
      const names = exported.get(join(root, 'packages', 'rendezvous', 'src', 'index.ts')) ?? []
      expect(names).toContain('Rendezvous')
      expect(names.length).toBeLessThanOrEqual(MAX_RENDEZVOUS_MAIN_EXPORTS)
    })
  })
})
