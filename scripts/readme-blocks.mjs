// Docs that run (issue 17): every ```ts/typescript/js/javascript and
// ```sh/bash/shell/console block of README.md and packages/*/README.md is
// executed against the packed packages, or is marked as a fragment with a reason.
//
//   node scripts/readme-blocks.mjs --project <dir> --bin <dir> [--only <file[:line]>] [--timeout <s>] [--root <dir>] [--as-root] [--keep]
//
// --project: a fresh npm project outside the repository ("type": "module") with
// the packed @fara/* tarballs installed; --bin: a directory holding a working
// `fara`, put first on PATH. --root reads the READMEs from another checkout (or
// a copy); --only runs some blocks (the others count as not run: exit 1).
// Run as root, the blocks run as `nobody` (unless --as-root), so that a block
// that writes outside its own directories (/etc, /var/lib) fails instead of
// changing the machine: --project, --bin and Node must be readable by nobody.
//
// Markers are HTML comments on the lines right above the fence (invisible on
// GitHub and in typedoc), one per line, no blank line in between:
//   <!-- fragment: <reason> -->     not run; the reason is required
//   <!-- env: NAME=value … -->      variables the block needs that a reader sets
//   <!-- timeout: <seconds> -->     a longer limit than --timeout for this block
// An unknown `<!-- word: … -->` marker, or a marker that is not right above a
// fence, is an error (a typo would otherwise run or skip the wrong block).
//
// TS/JS: written into the project (<project>/.readme-blocks/<block>/block.mts or
// .mjs), the TS ones typechecked together first (strict, nodenext, against the
// installed declarations, with the repository's TypeScript), then each run there
// with Node >= 22 (TypeScript by type stripping), HOME its own; it must exit 0 by
// itself within the timeout. Shell: `bash -e` in a fresh HOME and working
// directory, PATH = --bin, Node's directory, /usr/bin:/bin, /usr/sbin:/sbin;
// a ```console block runs its `$ ` lines (a trailing `\` continues one) and
// shows, but does not check, the rest. Whatever a block leaves running is
// stopped (SIGTERM to its process group, then SIGKILL) and reported.
import { spawn, spawnSync } from 'node:child_process'
import { chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, relative, resolve } from 'node:path'
import { performance } from 'node:perf_hooks'

/** Fence languages that are run, and how. */
export const KINDS = Object.freeze({ ts: 'ts', typescript: 'ts', js: 'js', javascript: 'js', sh: 'sh', bash: 'sh', shell: 'sh', console: 'console' })
/** Marker names a block may carry. */
export const MARKERS = Object.freeze(['fragment', 'env', 'timeout'])

const COMMENT = /^\s{0,3}<!--(.*)-->\s*$/
const MARKER = /^\s*([a-z][a-z-]*)\s*:(.*)$/s
const FENCE = /^( {0,3})(`{3,}|~{3,})(.*)$/
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/

/** A `<!-- name: value -->` line as { name, value }, or undefined for any other line. */
function markerOf (line) {
  const comment = COMMENT.exec(line)
  if (comment == null) return undefined
  const marker = MARKER.exec(comment[1])
  return marker == null ? undefined : { name: marker[1], value: marker[2].trim() }
}

/**
 * The fenced code blocks of one markdown text, in order:
 * `{ file, line, lang, kind, code, fragment, env, timeout, errors }`. `line` is
 * the 1-based line of the opening fence; `kind` is 'ts' | 'js' | 'sh' | 'console'
 * for blocks that run, undefined for the others (json, plain …); `fragment` the
 * reason of a fragment marker; `errors` what is wrong with the block's markers
 * or fence. Markers above a block that does not run are errors too.
 */
export function extractBlocks (text, file = '<markdown>') {
  const lines = text.split(/\r?\n/)
  const blocks = []
  for (let i = 0; i < lines.length; i++) {
    const open = FENCE.exec(lines[i])
    if (open == null) continue
    const [, indent, fence, info] = open
    if (fence[0] === '`' && info.includes('`')) continue // not a fence (CommonMark: no backtick in a backtick fence's info)
    const lang = info.trim().split(/\s+/)[0].toLowerCase()
    const block = { file, line: i + 1, lang, kind: KINDS[lang], code: '', fragment: undefined, env: {}, timeout: undefined, errors: [] }
    const code = []
    let j = i + 1
    const close = new RegExp(`^ {0,3}${fence[0] === '`' ? '`' : '~'}{${fence.length},}\\s*$`)
    for (; j < lines.length && !close.test(lines[j]); j++) code.push(lines[j].replace(new RegExp(`^ {0,${indent.length}}`), ''))
    if (j === lines.length) block.errors.push('the fence is never closed')
    block.code = code.join('\n')
    // the markers: the run of comment lines right above the fence
    for (let k = i - 1; k >= 0 && COMMENT.test(lines[k]); k--) {
      const marker = markerOf(lines[k])
      if (marker == null) continue // an ordinary comment
      if (!MARKERS.includes(marker.name)) block.errors.push(`line ${k + 1}: unknown marker "${marker.name}:" (known: ${MARKERS.join(', ')})`)
      else if (block.kind == null) block.errors.push(`line ${k + 1}: a "${marker.name}:" marker above a \`\`\`${lang} block, which is not run`)
      else if (marker.name === 'fragment') {
        if (marker.value === '') block.errors.push(`line ${k + 1}: a fragment marker needs a reason: <!-- fragment: <why this block cannot run> -->`)
        else block.fragment = marker.value
      } else if (marker.name === 'env') {
        for (const pair of marker.value.split(/\s+/).filter(Boolean)) {
          const eq = pair.indexOf('=')
          const name = pair.slice(0, Math.max(eq, 0))
          if (eq <= 0 || !ENV_NAME.test(name)) block.errors.push(`line ${k + 1}: env marker: "${pair}" is not NAME=value`)
          else block.env[name] = pair.slice(eq + 1)
        }
        if (Object.keys(block.env).length === 0) block.errors.push(`line ${k + 1}: an env marker with no NAME=value`)
      } else if (marker.name === 'timeout') {
        const seconds = Number(marker.value.replace(/\s*s$/, ''))
        if (!(seconds > 0)) block.errors.push(`line ${k + 1}: timeout marker: "${marker.value}" is not a number of seconds`)
        else block.timeout = seconds
      }
    }
    blocks.push(block)
    i = j
  }
  return blocks
}

/** Markers that are not right above a fence (so they apply to nothing): `{ file, line, message }`. */
export function strayMarkers (text, file = '<markdown>') {
  const lines = text.split(/\r?\n/)
  const stray = []
  let inFence
  for (let i = 0; i < lines.length; i++) {
    const fence = FENCE.exec(lines[i])
    if (inFence != null) {
      if (fence != null && fence[2][0] === inFence[0] && fence[2].length >= inFence.length && fence[3].trim() === '') inFence = undefined
      continue
    }
    if (fence != null) { inFence = fence[2]; continue }
    const marker = markerOf(lines[i])
    if (marker == null || !MARKERS.includes(marker.name)) continue
    let k = i + 1
    while (k < lines.length && COMMENT.test(lines[k])) k++
    if (k >= lines.length || FENCE.exec(lines[k]) == null) stray.push({ file, line: i + 1, message: `"${marker.name}:" marker not right above a fence: it applies to no block` })
  }
  return stray
}

/**
 * A ```console transcript as a script: its `$ ` lines (and the lines a trailing
 * backslash continues), without the prompt; output lines are left out.
 */
export function consoleCommands (code) {
  const out = []
  let continued = false
  for (const line of code.split('\n')) {
    if (continued) out.push(line)
    else if (/^\$( |$)/.test(line)) out.push(line.slice(2))
    else continue
    continued = /\\$/.test(line)
  }
  return out.join('\n')
}

/** README.md and packages/*\/README.md under `root`, as paths relative to it. */
export function readmeFiles (root) {
  const packages = join(root, 'packages')
  const inPackages = existsSync(packages)
    ? readdirSync(packages).sort().map(p => join('packages', p, 'README.md')).filter(p => existsSync(join(root, p)))
    : []
  return [...(existsSync(join(root, 'README.md')) ? ['README.md'] : []), ...inPackages]
}

// ---------------------------------------------------------------- the runner

const TAIL_BYTES = 64 * 1024

/** Runs `command` in its own process group; stops whatever it leaves behind. */
function run (command, args, { cwd, env, timeoutMs, user }) {
  return new Promise((resolve) => {
    const started = performance.now()
    const child = spawn(command, args, { cwd, env, ...user, detached: true, stdio: ['ignore', 'pipe', 'pipe'] })
    const out = { stdout: '', stderr: '' }
    for (const name of ['stdout', 'stderr']) {
      child[name].setEncoding('utf8')
      child[name].on('data', (chunk) => { out[name] = (out[name] + chunk).slice(-TAIL_BYTES) })
    }
    const group = (signal) => { try { process.kill(-child.pid, signal); return true } catch { return false } }
    let timedOut = false
    const timer = setTimeout(() => { timedOut = true; group('SIGTERM'); setTimeout(() => group('SIGKILL'), 5_000).unref() }, timeoutMs)
    let status
    child.on('error', (err) => { status = { code: 127, signal: null }; out.stderr += `\n${err.message}`; finish() })
    child.on('exit', (code, signal) => {
      status = { code, signal }
      clearTimeout(timer)
      // background jobs of the block (servers started with `&`) still hold the group
      const leftover = group(0)
      if (leftover) { group('SIGTERM'); setTimeout(() => group('SIGKILL'), 5_000).unref() }
      status.leftover = leftover
      // their pipes close when they are gone; do not wait for ever
      setTimeout(finish, 6_000).unref()
    })
    child.on('close', () => finish())
    let done = false
    function finish () {
      if (done || status == null) return
      done = true
      clearTimeout(timer)
      resolve({ ...status, timedOut, seconds: (performance.now() - started) / 1000, ...out })
    }
  })
}

/** The last `n` lines of `text`, indented. */
const tail = (text, n) => text.trimEnd().split('\n').slice(-n).map(l => `      ${l}`).join('\n')

function parseArgs (argv) {
  const opts = { timeout: 60, keep: false, asRoot: false, only: [] }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    const value = () => { if (i + 1 >= argv.length) throw new Error(`${arg} needs a value`); return argv[++i] }
    if (arg === '--project') opts.project = resolve(value())
    else if (arg === '--bin') opts.bin = resolve(value())
    else if (arg === '--root') opts.root = resolve(value())
    else if (arg === '--node') opts.node = resolve(value())
    else if (arg === '--timeout') opts.timeout = Number(value())
    else if (arg === '--only') opts.only.push(value())
    else if (arg === '--keep') opts.keep = true
    else if (arg === '--as-root') opts.asRoot = true
    else throw new Error(`unknown argument ${arg}`)
  }
  if (opts.project == null || opts.bin == null) throw new Error('usage: node scripts/readme-blocks.mjs --project <dir> --bin <dir> [--only <file[:line]>] [--timeout <s>] [--root <dir>] [--as-root] [--keep]')
  if (!(opts.timeout > 0)) throw new Error('--timeout: a number of seconds')
  return opts
}

/** A Node that runs TypeScript by type stripping (>= 22.18 / 23.6): this one, else the repository's. */
function findNode (repo) {
  const [major, minor] = process.versions.node.split('.').map(Number)
  if (major > 23 || (major === 23 && minor >= 6) || (major === 22 && minor >= 18)) return process.execPath
  const bundled = join(repo, 'node_modules', 'node', 'bin', 'node')
  if (existsSync(bundled)) return bundled
  throw new Error(`Node ${process.versions.node} cannot strip types: run with Node 24 (npx node …) or pass --node`)
}

/** As root: the uid and gid of `nobody`, whom the blocks run as; otherwise undefined (the blocks run as us). */
function blockUser (asRoot) {
  if (asRoot || process.getuid?.() !== 0) return undefined
  const entry = readFileSync('/etc/passwd', 'utf8').split('\n').find(l => l.startsWith('nobody:'))
  if (entry == null) throw new Error('running as root, and there is no user nobody to run the blocks as: pass --as-root to run them as root')
  const [, , uid, gid] = entry.split(':')
  return { uid: Number(uid), gid: Number(gid) }
}

/**
 * Type errors of TS blocks already written to `block.path`, checked together
 * (strict, nodenext, each file a module) against the declarations installed in
 * the project, with the repository's TypeScript and @types/node: Map<block, lines>.
 */
function typecheck (blocks, { repo, node, scratch }) {
  const errors = new Map()
  if (blocks.length === 0) return errors
  const tsc = join(repo, 'node_modules', 'typescript', 'bin', 'tsc')
  if (!existsSync(tsc)) throw new Error(`no ${tsc} to typecheck the TypeScript blocks: npm install in the repository first`)
  const compilerOptions = {
    module: 'nodenext', moduleResolution: 'nodenext', moduleDetection: 'force', target: 'es2023', lib: ['es2023'],
    strict: true, noUncheckedIndexedAccess: true, exactOptionalPropertyTypes: true, skipLibCheck: true, noEmit: true,
    types: ['node'], typeRoots: [join(repo, 'node_modules', '@types')]
  }
  writeFileSync(join(scratch, 'tsconfig.json'), JSON.stringify({ compilerOptions, files: blocks.map(b => b.path) }))
  const r = spawnSync(node, [tsc, '-p', join(scratch, 'tsconfig.json'), '--pretty', 'false'], { cwd: scratch, encoding: 'utf8' })
  for (const line of r.stdout.split('\n')) {
    const m = /^(.+?)\((\d+),\d+\): (error .*)$/.exec(line)
    const block = m == null ? undefined : blocks.find(b => b.path === resolve(scratch, m[1]))
    if (block == null) continue
    errors.set(block, [...(errors.get(block) ?? []), `${block.file}:${block.line + Number(m[2])}: ${m[3]}`])
  }
  if (r.status !== 0 && errors.size === 0) throw new Error(`tsc failed outside the blocks:\n${r.stdout}${r.stderr}`)
  return errors
}

/** Hands `paths` to the user the blocks run as. */
const give = (user, ...paths) => { if (user != null) for (const p of paths) chownSync(p, user.uid, user.gid) }

async function main () {
  const repo = resolve(import.meta.dirname, '..')
  const opts = parseArgs(process.argv.slice(2))
  const root = opts.root ?? repo
  const node = opts.node ?? findNode(repo)
  if (!existsSync(join(opts.project, 'package.json')) || JSON.parse(readFileSync(join(opts.project, 'package.json'), 'utf8')).type !== 'module') throw new Error(`--project ${opts.project}: needs a package.json with "type": "module"`)
  if (relative(repo, opts.project).split(/[\\/]/)[0] !== '..') throw new Error(`--project ${opts.project}: must be outside the repository, so that only the installed packages resolve`)
  if (!existsSync(join(opts.bin, 'fara'))) throw new Error(`--bin ${opts.bin}: holds no fara`)
  const user = blockUser(opts.asRoot)
  if (user != null) {
    const check = spawnSync('/bin/sh', ['-c', 'test -r "$1/package.json" && test -x "$1/node_modules" && test -x "$2/fara" && test -x "$3"', 'sh', opts.project, opts.bin, node], { ...user, stdio: 'ignore' })
    if (check.status !== 0) throw new Error(`running as root, the blocks run as nobody (uid ${user.uid}), who cannot read ${opts.project}, run ${join(opts.bin, 'fara')} or run ${node}: make their directories world-readable (chmod 755 a mkdtemp directory), or pass --as-root`)
  }
  const PATH = [opts.bin, dirname(node), '/usr/bin', '/bin', '/usr/sbin', '/sbin'].join(':')
  const scratch = join(opts.project, '.readme-blocks')
  rmSync(scratch, { recursive: true, force: true })

  const blocks = []
  const problems = []
  for (const file of readmeFiles(root)) {
    const text = readFileSync(join(root, file), 'utf8')
    blocks.push(...extractBlocks(text, file).filter(b => b.kind != null || b.errors.length > 0))
    problems.push(...strayMarkers(text, file))
  }
  const selected = (b) => opts.only.length === 0 || opts.only.some(o => o === b.file || o === `${b.file}:${b.line}`)
  const slug = (b) => `${b.file.replace(/\/?README\.md$/, '').replace(/^packages\//, '') || 'root'}-${b.line}`

  console.log(`readme-blocks: ${blocks.length} blocks in ${readmeFiles(root).length} READMEs; Node ${spawnSync(node, ['--version'], { encoding: 'utf8' }).stdout.trim()}` +
    `${user == null ? '' : `, as nobody (uid ${user.uid})`}; the project ${opts.project}\n`)
  const started = performance.now()
  // TS/JS blocks: one directory each in the project, and the TS ones typechecked together first
  const code = blocks.filter(b => (b.kind === 'ts' || b.kind === 'js') && b.errors.length === 0 && b.fragment == null && selected(b))
  mkdirSync(scratch)
  for (const block of code) {
    block.dir = join(scratch, slug(block))
    block.path = join(block.dir, `block.${block.kind === 'ts' ? 'mts' : 'mjs'}`)
    mkdirSync(join(block.dir, '.home'), { recursive: true })
    writeFileSync(block.path, `${block.code}\n`)
    give(user, block.dir, join(block.dir, '.home'), block.path)
  }
  const typeErrors = typecheck(code.filter(b => b.kind === 'ts'), { repo, node, scratch })

  const results = []
  for (const block of blocks) {
    const where = `${block.file}:${block.line}`.padEnd(36) + ` ${block.lang.padEnd(10)}`
    if (block.errors.length > 0) {
      results.push({ block, status: 'failed' })
      console.log(`${where} FAILED: ${block.errors.join('; ')}`)
      continue
    }
    if (block.fragment != null) {
      results.push({ block, status: 'fragment' })
      console.log(`${where} fragment: ${block.fragment}`)
      continue
    }
    if (!selected(block)) {
      results.push({ block, status: 'skipped' })
      console.log(`${where} not run (--only)`)
      continue
    }
    if (typeErrors.has(block)) {
      results.push({ block, status: 'failed' })
      console.log(`${where} FAILED: does not typecheck\n${typeErrors.get(block).map(l => `      ${l}`).join('\n')}`)
      continue
    }
    const timeoutMs = (block.timeout ?? opts.timeout) * 1000
    let r
    if (block.kind === 'ts' || block.kind === 'js') {
      r = await run(node, [block.path], { cwd: block.dir, env: { PATH, HOME: join(block.dir, '.home'), NO_COLOR: '1', ...block.env }, timeoutMs, user })
    } else {
      const dir = mkdtempSync(join(tmpdir(), `fara-readme-${slug(block)}-`))
      const home = join(dir, 'home')
      const work = join(dir, 'work')
      mkdirSync(home)
      mkdirSync(work)
      const script = join(dir, 'block.sh')
      writeFileSync(script, `${block.kind === 'console' ? consoleCommands(block.code) : block.code}\n`)
      give(user, dir, home, work, script)
      r = await run('/bin/bash', ['-e', script], { cwd: work, env: { PATH, HOME: home, LANG: 'C.UTF-8', NO_COLOR: '1', ...block.env }, timeoutMs, user })
      if (!opts.keep) rmSync(dir, { recursive: true, force: true })
    }
    const ok = !r.timedOut && r.code === 0
    results.push({ block, status: ok ? 'ran' : 'failed', seconds: r.seconds })
    const left = r.leftover ? '; left processes running: stopped' : ''
    if (ok) console.log(`${where} ran (${r.seconds.toFixed(1)} s${left})`)
    else {
      const why = r.timedOut ? `timed out after ${timeoutMs / 1000} s (a server that does not stop?)` : r.signal != null ? `killed by ${r.signal}` : `exit ${r.code}`
      console.log(`${where} FAILED: ${why} (${r.seconds.toFixed(1)} s${left})`)
      if (r.stdout.trim() !== '') console.log(`    stdout (tail):\n${tail(r.stdout, 10)}`)
      console.log(`    stderr (tail):\n${r.stderr.trim() === '' ? '      (empty)' : tail(r.stderr, 20)}`)
    }
  }
  if (!opts.keep) rmSync(scratch, { recursive: true, force: true })

  for (const p of problems) console.log(`${p.file}:${p.line}`.padEnd(47) + ` FAILED: ${p.message}`)
  const count = (status, of = results) => of.filter(r => r.status === status).length
  const ran = count('ran')
  const fragments = count('fragment')
  const failed = count('failed') + problems.length
  const notRun = count('skipped')
  console.log(`\n${results.length} blocks: ${ran} ran, ${fragments} fragments (reasons above), ${failed} failed` +
    `${notRun > 0 ? `, ${notRun} not run` : ''} (${((performance.now() - started) / 1000).toFixed(0)} s)`)
  for (const file of [...new Set(results.map(r => r.block.file))]) {
    const of = results.filter(r => r.block.file === file)
    console.log(`  ${file.padEnd(34)} ${count('ran', of)} ran, ${count('fragment', of)} fragments${count('failed', of) > 0 ? `, ${count('failed', of)} failed` : ''}`)
  }
  if (failed > 0 || notRun > 0) {
    console.log(`\nreadme-blocks: ${failed > 0 ? `${failed} failed` : ''}${failed > 0 && notRun > 0 ? ', ' : ''}${notRun > 0 ? `${notRun} unmarked blocks not run` : ''}: ` +
      'fix the block (or the code), or mark it <!-- fragment: <reason> --> on the line above its fence')
    process.exitCode = 1
  }
}

if (import.meta.filename === resolve(process.argv[1] ?? '')) {
  main().catch((err) => { console.error(`readme-blocks: ${err.message}`); process.exitCode = 2 })
}
