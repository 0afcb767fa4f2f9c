// `npm run lab`: build the NAT lab (network namespaces + iptables, needs root)
// and run examples/src/share.ts inside it: a rendezvous point + relay on the
// "public internet", a receiver behind a port-restricted NAT, a sender behind
// a symmetric NAT sending an 8 MiB file by name, and a short chat.
import { randomBytes, createHash } from 'node:crypto'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createLab, labPrerequisites } from '@fara/nat-lab'
import { watch } from '@fara/testkit'
import type { Lab } from '@fara/nat-lab'

const share = fileURLToPath(new URL('../examples/dist/share.js', import.meta.url))
const missing = labPrerequisites()
if (missing.length > 0) {
  console.error(`npm run lab needs ${missing.join(' and ')} (network namespaces and iptables: run it as root)`)
  process.exit(2)
}

/** Run share.js in a namespace (the lab kills it on destroy), echoing its output with a prefix; `first` resolves with the first line matching. */
function run (lab: Lab, ns: string, who: string, args: string[], input?: string): { first: (match: (line: string) => boolean) => Promise<string>, done: Promise<number | null> } {
  const child = lab.spawn(ns, [process.execPath, share, ...args], { stdio: ['pipe', 'pipe', 'inherit'] })
  const watched = watch(who, child, { onLine: (line) => { console.log(`${who.padEnd(10)} ${line.text}`) } })
  if (input != null) child.stdin!.end(input)
  return { first: async (match) => (await watched.line(l => match(l.text), 120_000)).text, done: watched.exited }
}

const dir = await mkdtemp(join(tmpdir(), 'fara-lab-demo-'))
const lab = await createLab({ nats: [{ name: 'home', type: 'port-restricted' }, { name: 'mobile', type: 'symmetric' }] })
let failed = false
try {
  console.log(`lab: public ${lab.publicAddress}; 'home' behind a port-restricted NAT, 'mobile' behind a symmetric NAT\n`)
  const point = run(lab, lab.public.ns, 'point', ['point', '--host', lab.publicAddress])
  const addr = (JSON.parse(await point.first(l => l.includes('"point"'))) as { multiaddrs: string[] }).multiaddrs[0]!
  const receiver = run(lab, lab.nats.home!.hosts[0]!.ns, 'home', ['receive', 'photos', '--point', addr, '--dir', join(dir, 'received'), '--secret', 'family-invite'])
  await receiver.first(l => l.includes('"serving"'))
  const file = join(dir, 'holiday.bin')
  const bytes = randomBytes(8 * 1024 * 1024)
  await writeFile(file, bytes)
  const sender = run(lab, lab.nats.mobile!.hosts[0]!.ns, 'mobile', ['send', 'photos', file, '--point', addr, '--secret', 'family-invite'])
  const code = await sender.done
  const copy = await readFile(join(dir, 'received', 'holiday.bin')).catch(() => Buffer.alloc(0))
  const same = createHash('sha256').update(copy).digest('hex') === createHash('sha256').update(bytes).digest('hex')
  console.log(`\nfile: sender exit ${code}, received copy ${same ? 'has the same SHA-256' : 'DIFFERS'}`)
  const chat = run(lab, lab.nats.mobile!.hosts[0]!.ns, 'chat', ['chat', 'photos', '--point', addr, '--secret', 'family-invite'], 'hello from the train\nsee you tonight\n')
  await chat.done
  failed = code !== 0 || !same
} finally {
  lab.destroy()
  await rm(dir, { recursive: true, force: true })
}
console.log(failed ? '\nlab demo FAILED' : '\nlab demo done: reached by name across two NATs, through the relay, 8 MiB intact')
process.exit(failed ? 1 : 0)
