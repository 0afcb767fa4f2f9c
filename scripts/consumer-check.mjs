// Fara as an application developer meets it (issue 17): pack every package,
// serve the tarballs as the @fara scope of a registry, and install them into
// fresh projects outside the workspace, next to a bare libp2p baseline:
//   npx node scripts/consumer-check.mjs [--keep <dir>]
//
// 1. Weight: packages installed and time to import, @fara/sdk against
//    libp2p + @libp2p/tcp + Noise + Yamux, installed in the same run.
//    Fails above MAX_PACKAGES packages or MAX_IMPORT_RATIO.
// 2. Consumers: an ESM program, a TypeScript program (nodenext, strict) type-
//    checked against the installed declarations, and require() of the SDK.
// 3. The READMEs' code blocks, run in a project with every package (scripts/readme-blocks.mjs).
// 4. `npm install -g @fara/cli` into a fresh prefix, then `fara` run with the
//    system's Node first on PATH (it may be Node 20: the command brings Node 24).
//
// The @fara scope comes from a registry on 127.0.0.1 that serves the packed
// tarballs, exactly as the public registry would serve them once published;
// every other package comes from the configured registry.
import { execFile, execFileSync, spawn, spawnSync } from 'node:child_process'
import { createServer } from 'node:http'
import { chmodSync, createReadStream, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { performance } from 'node:perf_hooks'
import { promisify } from 'node:util'
import { packAll } from './pack.mjs'

const run = promisify(execFile)

/** Most packages a client install of @fara/sdk may add (issue 17). */
const MAX_PACKAGES = 150
/** Slowest import of @fara/sdk relative to the libp2p baseline (issue 17). */
const MAX_IMPORT_RATIO = 1.5
/** Import timings per project (the median counts), alternating between projects. */
const IMPORT_RUNS = 7

const repo = resolve(import.meta.dirname, '..')
const keep = process.argv.includes('--keep') ? resolve(process.argv[process.argv.indexOf('--keep') + 1]) : undefined
const work = keep ?? mkdtempSync(join(tmpdir(), 'fara-consumer-'))
mkdirSync(work, { recursive: true })
// readable by all: run as root, scripts/readme-blocks.mjs runs the blocks as nobody
chmodSync(work, 0o755)
const node24 = process.execPath
if (Number(process.versions.node.split('.')[0]) < 22) throw new Error(`run with Node >= 22 (npx node scripts/consumer-check.mjs), not ${process.version}`)
const failures = []
const check = (ok, what) => { console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`); if (!ok) failures.push(what) }

const readJson = (file) => JSON.parse(readFileSync(file, 'utf8'))
const transport = readJson(join(repo, 'packages/transport/package.json'))
const BASELINE = Object.fromEntries(['libp2p', '@libp2p/tcp', '@chainsafe/libp2p-noise', '@chainsafe/libp2p-yamux'].map(n => [n, transport.dependencies[n]]))

// ---- the @fara scope of a registry, on loopback
const tarballs = packAll(join(work, 'packed'))
const server = createServer((req, res) => {
  const path = decodeURIComponent(req.url ?? '/')
  const tarball = tarballs.find(t => path === `/tarballs/${t.file.split('/').pop()}`)
  if (tarball != null) {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': statSync(tarball.file).size })
    createReadStream(tarball.file).pipe(res)
    return
  }
  const pkg = tarballs.find(t => path === `/${t.name}`)
  if (pkg == null) { res.writeHead(404).end('{}'); return }
  const manifest = readJson(join(repo, 'packages', pkg.name.slice('@fara/'.length), 'package.json'))
  const base = `http://127.0.0.1:${server.address().port}`
  const version = { ...manifest, dist: { tarball: `${base}/tarballs/${pkg.file.split('/').pop()}`, integrity: pkg.integrity, shasum: pkg.shasum } }
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ name: pkg.name, 'dist-tags': { latest: pkg.version }, versions: { [pkg.version]: version } }))
})
await new Promise(resolve => server.listen(0, '127.0.0.1', resolve))
const scope = `--@fara:registry=http://127.0.0.1:${server.address().port}/`

/** `npm` with the scope's registry, in `cwd` (asynchronously: this process serves the scope meanwhile); seconds taken. */
async function npm (cwd, args, extraEnv = {}) {
  const started = performance.now()
  try {
    await run('npm', [...args, scope, '--no-audit', '--no-fund', '--loglevel', 'error'], { cwd, encoding: 'utf8', env: { ...process.env, ...extraEnv }, maxBuffer: 64 * 1024 * 1024 })
  } catch (err) {
    throw new Error(`npm ${args.join(' ')} in ${cwd} failed:\n${err.stdout}\n${err.stderr}`)
  }
  return (performance.now() - started) / 1000
}

/** A fresh project with `dependencies` installed: its directory, how many packages, how big, how long. */
async function project (name, dependencies) {
  const dir = join(work, name)
  rmSync(dir, { recursive: true, force: true })
  mkdirSync(dir, { recursive: true })
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: `consumer-${name}`, version: '1.0.0', private: true, type: 'module', dependencies }, null, 2))
  const seconds = await npm(dir, ['install'])
  const lock = readJson(join(dir, 'package-lock.json'))
  const packages = Object.keys(lock.packages).filter(p => p !== '').length
  const bytes = Number(execFileSync('du', ['-sb', join(dir, 'node_modules')], { encoding: 'utf8' }).split('\t')[0])
  return { name, dir, packages, mib: bytes / 1024 / 1024, seconds }
}

/** ms for Node 24 to import `specifiers` in `dir`, one fresh process each time. */
function importMs (dir, specifiers) {
  const code = `const t = performance.now(); ${specifiers.map(s => `await import(${JSON.stringify(s)});`).join(' ')} console.log(performance.now() - t)`
  const r = spawnSync(node24, ['--input-type=module', '-e', code], { cwd: dir, encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`import in ${dir} failed: ${r.stderr}`)
  return Number(r.stdout.trim())
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

try {
  // ---- 1. weight
  const baseline = await project('libp2p', BASELINE)
  const sdk = await project('sdk', { '@fara/sdk': tarballs.find(t => t.name === '@fara/sdk').version })
  const times = { libp2p: [], sdk: [] }
  for (let i = 0; i < IMPORT_RUNS; i++) {
    times.libp2p.push(importMs(baseline.dir, Object.keys(BASELINE)))
    times.sdk.push(importMs(sdk.dir, ['@fara/sdk']))
  }
  const ratio = median(times.sdk) / median(times.libp2p)
  console.log(`\n| project | packages | node_modules MiB | npm install s | import ms (median of ${IMPORT_RUNS}) |`)
  console.log('|---|---|---|---|---|')
  for (const p of [baseline, sdk]) console.log(`| ${p.name === 'sdk' ? '@fara/sdk' : Object.keys(BASELINE).join(' + ')} | ${p.packages} | ${p.mib.toFixed(1)} | ${p.seconds.toFixed(1)} | ${median(times[p.name]).toFixed(0)} |`)
  console.log(`(Node ${process.versions.node}; load average ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')})\n`)
  check(sdk.packages <= MAX_PACKAGES, `@fara/sdk installs ${sdk.packages} packages (at most ${MAX_PACKAGES}; the baseline ${baseline.packages})`)
  check(ratio <= MAX_IMPORT_RATIO, `@fara/sdk imports in ${ratio.toFixed(2)}× the baseline's time (at most ${MAX_IMPORT_RATIO}×)`)
  const natives = readdirSync(join(sdk.dir, 'node_modules')).filter(n => ['node-datachannel', 'classic-level', '@libp2p'].includes(n))
  check(!natives.includes('node-datachannel') && !natives.includes('classic-level'), 'no WebRTC (node-datachannel) or LevelDB (classic-level) in a client install: optional peers')

  // ---- 2. consumers
  writeFileSync(join(sdk.dir, 'esm.mjs'), [
    "import { createEntity, memoryRendezvous, NameNotFoundError } from '@fara/sdk'",
    "const client = await createEntity({ app: 'consumer', rendezvous: memoryRendezvous(), listen: [] })",
    "try { await client.connect('nobody-serves-this') } catch (err) { if (!(err instanceof NameNotFoundError)) throw err }",
    'await client.close()',
    "console.log('esm ok')"
  ].join('\n'))
  const esm = spawnSync(node24, ['esm.mjs'], { cwd: sdk.dir, encoding: 'utf8', timeout: 60_000 })
  check(esm.status === 0 && esm.stdout.includes('esm ok'), `an ESM program runs against the installed @fara/sdk${esm.status === 0 ? '' : `: ${esm.stderr.slice(-500)}`}`)
  // the optional peers, absent from a client install: a typed error that names what to install
  writeFileSync(join(sdk.dir, 'optional.mjs'), [
    "import { createEntity, createRendezvousPoint, memoryRendezvous, MissingDependencyError } from '@fara/sdk'",
    'const missing = []',
    "try { await (await createEntity({ app: 'direct', rendezvous: memoryRendezvous(), listen: [], direct: { stunServers: [] } })).close() } catch (err) { if (err instanceof MissingDependencyError) missing.push(err.dependency); else throw err }",
    "try { await (await createRendezvousPoint({ listen: ['/ip4/127.0.0.1/tcp/0'], dataDir: 'point-data' })).close() } catch (err) { if (err instanceof MissingDependencyError) missing.push(err.dependency); else throw err }",
    'console.log(JSON.stringify(missing))'
  ].join('\n'))
  const optional = spawnSync(node24, ['optional.mjs'], { cwd: sdk.dir, encoding: 'utf8', timeout: 60_000 })
  check(optional.status === 0 && optional.stdout.trim() === '["@libp2p/webrtc","datastore-level"]', `without the optional peers, direct paths and a point's data directory fail with MissingDependencyError naming the package${optional.status === 0 ? ` (${optional.stdout.trim()})` : `: ${optional.stderr.slice(-500)}`}`)
  const cjs = spawnSync(node24, ['-e', "const sdk = require('@fara/sdk'); if (typeof sdk.createEntity !== 'function') process.exit(1)"], { cwd: sdk.dir, encoding: 'utf8' })
  check(cjs.status === 0, `require('@fara/sdk') works (Node ${process.versions.node})${cjs.status === 0 ? '' : `: ${cjs.stderr.slice(-300)}`}`)
  // TypeScript, strict, nodenext, with @types/node (public types mention node:stream; README.md#typescript)
  const ts = await project('typescript', { '@fara/sdk': tarballs.find(t => t.name === '@fara/sdk').version, '@types/node': readJson(join(repo, 'package.json')).devDependencies['@types/node'] })
  writeFileSync(join(ts.dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext', target: 'es2023', strict: true, noEmit: true, skipLibCheck: false, exactOptionalPropertyTypes: true, noUncheckedIndexedAccess: true, types: ['node'] }, files: ['main.ts'] }))
  writeFileSync(join(ts.dir, 'main.ts'), [
    "import { createEntity, memoryRendezvous, NameNotFoundError } from '@fara/sdk'",
    "import type { Association, Entity, EntityInit } from '@fara/sdk'",
    "const init: EntityInit = { app: 'consumer', rendezvous: memoryRendezvous(), listen: [] }",
    'const entity: Entity = await createEntity(init)',
    'try {',
    "  const association: Association = await entity.connect('echo', { signal: AbortSignal.timeout(5_000) })",
    '  association.send(new TextEncoder().encode(\'hi\'))',
    '} catch (err) {',
    '  if (err instanceof NameNotFoundError) console.log(err.name)',
    '} finally {',
    '  await entity.close()',
    '}',
    'export {}'
  ].join('\n'))
  const tsc = spawnSync(node24, [join(repo, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], { cwd: ts.dir, encoding: 'utf8' })
  check(tsc.status === 0, `a TypeScript program (strict, nodenext, skipLibCheck off) typechecks against the installed declarations${tsc.status === 0 ? '' : `:\n${tsc.stdout.slice(-2000)}`}`)

  // ---- 4. the command, installed globally on whatever Node the machine has
  const prefix = join(work, 'global')
  rmSync(prefix, { recursive: true, force: true })
  const systemPath = ['/usr/local/bin', '/usr/bin', '/bin'].join(':')
  const globalSeconds = await npm(work, ['install', '-g', '--prefix', prefix, '--globalconfig', execFileSync('npm', ['config', 'get', 'globalconfig'], { encoding: 'utf8' }).trim(), '@fara/cli'], { PATH: `${systemPath}:${process.env.PATH}` })
  const systemNode = spawnSync('node', ['--version'], { encoding: 'utf8', env: { PATH: systemPath } }).stdout.trim()
  const env = { PATH: `${join(prefix, 'bin')}:${systemPath}`, HOME: mkdtempSync(join(tmpdir(), 'fara-consumer-home-')) }
  const help = spawnSync('fara', ['--help'], { encoding: 'utf8', env })
  check(help.status === 0 && help.stdout.includes('Usage: fara'), `npm install -g @fara/cli (${globalSeconds.toFixed(0)} s), then \`fara --help\` with the system's Node (${systemNode}) first on PATH${help.status === 0 ? '' : `: ${help.stderr}`}`)
  const demo = spawnSync('fara', ['demo'], { encoding: 'utf8', env, timeout: 120_000 })
  check(demo.status === 0, `the installed \`fara demo\` runs to the end${demo.status === 0 ? '' : `: ${demo.stderr.slice(-500)}`}`)

  // ---- 3. the README's code blocks, against the installed packages and command
  const bin = join(work, 'bin')
  rmSync(bin, { recursive: true, force: true })
  mkdirSync(bin)
  symlinkSync(join(prefix, 'bin', 'fara'), join(bin, 'fara'))
  // every package (the package READMEs' samples import them all), asynchronously, with the
  // scope's registry in its environment: a block may install from it
  const all = await project('readme', Object.fromEntries(tarballs.map(t => [t.name, t.version])))
  const blocks = spawn(node24, [join(repo, 'scripts/readme-blocks.mjs'), '--project', all.dir, '--bin', bin], { stdio: 'inherit', env: { ...process.env, 'npm_config_@fara:registry': `http://127.0.0.1:${server.address().port}/` } })
  const blocksStatus = await new Promise(resolve => blocks.on('exit', resolve))
  check(blocksStatus === 0, 'every README code block runs, or is marked as a fragment with a reason')
} finally {
  server.close()
  if (keep == null) rmSync(work, { recursive: true, force: true })
}

console.log(failures.length === 0 ? '\nconsumer check: all passed' : `\nconsumer check: ${failures.length} failed`)
process.exit(failures.length === 0 ? 0 : 1)
