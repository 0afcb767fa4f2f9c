// Checks the API reference pages TypeDoc generated (`npm run docs`, into
// docs/api) for the entry points of issue 17: each page must show an Example
// section with a code block, and a Throws section (`@example`, `@throws` in the
// doc comment). Fails naming each page, and the section it lacks.
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const api = join(root, 'docs', 'api')

/**
 * The entry points: `[package, name]` for a function page (`package/module`
 * for a subpath entry such as `rendezvous/dht`; the main entry is `index`), `[package,
 * 'Interface#member']` for a method of an interface. `examplesOnly` holds
 * those that raise no error at all: their pages need an Example only.
 */
const entryPoints = [
  ['sdk', 'createEntity'], ['sdk', 'Entity#serve'], ['sdk', 'Entity#connect'],
  // the rendezvous backends, and the point; the SDK re-exports three of them
  ['rendezvous', 'createRendezvousPoint'], ['rendezvous', 'memoryRendezvous'], ['rendezvous', 'rendezvousPoint'], ['rendezvous/dht', 'dhtRendezvous'],
  ['sdk', 'createRendezvousPoint'], ['sdk', 'memoryRendezvous'], ['sdk', 'rendezvousPoint'],
  // the adapters: DNS SRV
  ['srv', 'srvRendezvous'], ['srv', 'createSrvRendezvous'], ['srv', 'resolveSrv'], ['srv', 'orderSrv'], ['srv', 'dnsClient'],
  ['srv', 'parseTsigKey'], ['srv', 'ownerName'], ['srv', 'hostName'], ['srv', 'srvAddress'], ['srv', 'rcodeName'],
  // the adapters: TCPMUX
  ['tcpmux', 'createTcpmuxServer'], ['tcpmux', 'tcpmuxConnect'], ['tcpmux', 'tcpmuxHelp'], ['tcpmux', 'createTcpmuxGateway'],
  // hopping
  ['port-hopping', 'createHopParams'], ['port-hopping', 'createSchedule'], ['port-hopping', 'hopSchedules'], ['port-hopping', 'hoppingTcp'],
  ['port-hopping', 'decodeHopParams'], ['port-hopping', 'hopParamsFromString']
]
const examplesOnly = new Set(['srv:srvAddress', 'srv:rcodeName'])

if (!existsSync(join(api, 'index.html'))) {
  console.error('check-api-pages: docs/api/index.html is missing: run `npm run docs` first')
  process.exit(1)
}

/** The HTML of one entry point: its function page, or its member's section of the interface page. */
function htmlOf (pkg, name) {
  const [owner, member] = name.split('#')
  const [dir, module = 'index'] = pkg.split('/')
  const page = member == null ? `functions/_fara_${dir}.${module}.${owner}.html` : `interfaces/_fara_${dir}.${module}.${owner}.html`
  const path = join(api, page)
  const label = member == null ? `docs/api/${page}` : `docs/api/${page}#${member}`
  if (!existsSync(path)) return { label, html: undefined }
  const html = readFileSync(path, 'utf8')
  if (member == null) return { label, html }
  // a member's section runs from its anchor to the next member's, or to the end of its group
  const start = html.indexOf(`id="${member}"`)
  if (start < 0) return { label, html: undefined }
  const ends = [html.indexOf('<section class="tsd-panel tsd-member', start), html.indexOf('</details>', start)].filter(i => i >= 0)
  return { label, html: html.slice(start, ends.length === 0 ? undefined : Math.min(...ends)) }
}

/** The HTML of the first block-tag section of `kind` (up to the next block tag), or undefined. */
function tagSection (html, kind) {
  const start = html.indexOf(`class="tsd-tag-${kind}"`)
  if (start < 0) return undefined
  const next = html.indexOf('class="tsd-tag-', start + 1)
  return html.slice(start, next < 0 ? undefined : next)
}

const problems = []
for (const [pkg, name] of entryPoints) {
  const { label, html } = htmlOf(pkg, name)
  if (html == null) {
    problems.push(`${label}: no such page or member (renamed? update scripts/check-api-pages.mjs)`)
    continue
  }
  const lacks = []
  const example = tagSection(html, 'example')
  if (example == null) lacks.push('an Example section (@example)')
  else if (!example.includes('<pre')) lacks.push('a code block in its Example section')
  if (!examplesOnly.has(`${pkg}:${name}`) && tagSection(html, 'throws') == null) lacks.push('a Throws section (@throws)')
  if (lacks.length > 0) problems.push(`${label} lacks ${lacks.join(' and ')}`)
}

if (problems.length > 0) {
  for (const problem of problems) console.error(problem)
  console.error(`check-api-pages: ${problems.length} of ${entryPoints.length} entry point pages incomplete`)
  process.exit(1)
}
console.log(`check-api-pages: ${entryPoints.length} entry point pages have an Example and, where they raise errors, a Throws section`)
