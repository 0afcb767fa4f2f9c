// fara-share: send files and chat between two machines by name, across NATs.
//
//   node examples/dist/share.js point   [--host 0.0.0.0] [--port 40123] [--data ./point-data]
//   node examples/dist/share.js receive <name> --point <addr> [--dir ./received] [--secret S]
//   node examples/dist/share.js send    <name> <file> --point <addr> [--secret S]
//   node examples/dist/share.js chat    <name> --point <addr> [--secret S]
//
// `point` runs a rendezvous point that is also a relay; give its printed
// address to both peers. `receive` serves <name> (privately with --secret)
// from behind any NAT through the relay; `send` and `chat` reach it by name.
import { createHash } from 'node:crypto'
import { createReadStream, createWriteStream } from 'node:fs'
import { mkdir, rename, stat } from 'node:fs/promises'
import { basename, join } from 'node:path'
import { createInterface } from 'node:readline'
import { parseArgs } from 'node:util'
import { createRendezvousPoint } from '@fara/rendezvous'
import { createEntity, rendezvousPoint } from '@fara/sdk'
import type { Association } from '@fara/sdk'

const MAX_HEADER = 4096
const { values: opts, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    point: { type: 'string', multiple: true },
    host: { type: 'string', default: '0.0.0.0' },
    port: { type: 'string', default: '0' },
    data: { type: 'string' },
    dir: { type: 'string', default: './received' },
    secret: { type: 'string' }
  }
})
const [command, name, file] = positionals

function usage (message: string): never {
  console.error(`fara-share: ${message}\nusage: share.js point | receive <name> | send <name> <file> | chat <name>  (--point <addr> for all but point)`)
  process.exit(2)
}

const privately = opts.secret == null ? {} : { private: { secret: opts.secret } }

/** One JSON line, then raw bytes: the header of every association. */
async function readHeader (association: Association): Promise<{ header: Record<string, unknown>, rest: AsyncIterator<Uint8Array>, first: Uint8Array }> {
  const it = association[Symbol.asyncIterator]()
  let buf = Buffer.alloc(0)
  while (true) {
    const nl = buf.indexOf(10)
    if (nl >= 0) return { header: JSON.parse(buf.subarray(0, nl).toString()) as Record<string, unknown>, rest: it, first: buf.subarray(nl + 1) }
    if (buf.byteLength > MAX_HEADER) throw new RangeError('header too long')
    const next = await it.next()
    if (next.done === true) throw new Error('stream ended before the header')
    buf = Buffer.concat([buf, next.value])
  }
}

function progress (label: string, done: number, total: number): void {
  const pct = total === 0 ? 100 : Math.floor(done * 100 / total)
  if (process.stderr.isTTY) {
    const width = 30
    const filled = Math.round(width * pct / 100)
    process.stderr.write(`\r${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${pct}% ${(done / 1048576).toFixed(1)}/${(total / 1048576).toFixed(1)} MiB`)
    if (done === total) process.stderr.write('\n')
  } else {
    // not a terminal: one JSON line per quarter
    const quarter = Math.floor(pct / 25)
    if (quarter > (printed.get(label) ?? -1)) {
      printed.set(label, quarter)
      console.log(JSON.stringify({ event: 'progress', label, done, total }))
    }
  }
}
const printed = new Map<string, number>()

async function runPoint (): Promise<void> {
  const point = await createRendezvousPoint({
    listen: [`/ip4/${opts.host}/tcp/${opts.port}`],
    allowPinnedPort: opts.port !== '0',
    relay: true,
    ...(opts.data == null ? {} : { dataDir: opts.data })
  })
  console.log(JSON.stringify({ event: 'point', multiaddrs: point.multiaddrs.map(String) }))
  const stop = (): void => { point.close().then(() => process.exit(0), () => process.exit(1)) }
  process.on('SIGINT', stop)
  process.on('SIGTERM', stop)
}

async function runReceive (): Promise<void> {
  if (name == null) usage('receive needs a name')
  const point = opts.point ?? usage('--point is required')
  await mkdir(opts.dir, { recursive: true })
  const entity = await createEntity({ app: `share-${name}`, rendezvous: rendezvousPoint(point), relays: point })
  await entity.serve(name, async (association) => {
    const { header, rest, first } = await readHeader(association)
    if (header.type === 'chat') {
      console.log(JSON.stringify({ event: 'chat-open', peer: association.remotePeer.toString() }))
      let text = Buffer.from(first).toString()
      for (let next = await rest.next(); ; next = await rest.next()) {
        const lines = text.split('\n')
        text = lines.pop() ?? ''
        for (const line of lines) {
          console.log(`> ${line}`)
          association.send(Buffer.from(`ack: ${line}\n`))
        }
        if (next.done === true) break
        text += Buffer.from(next.value).toString()
      }
      await association.close()
      return
    }
    const size = Number(header.size)
    const target = join(opts.dir, basename(String(header.name)))
    const partial = `${target}.part`
    const out = createWriteStream(partial)
    const hash = createHash('sha256')
    let received = 0
    const take = (chunk: Uint8Array): void => { hash.update(chunk); received += chunk.byteLength; out.write(chunk); progress(`receiving ${basename(target)}`, received, size) }
    if (first.byteLength > 0) take(first)
    for (let next = await rest.next(); next.done !== true; next = await rest.next()) take(next.value)
    await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => { if (err == null) resolve(); else reject(err) }))
    const sha256 = hash.digest('hex')
    const ok = received === size && sha256 === header.sha256
    if (ok) await rename(partial, target)
    association.send(Buffer.from(JSON.stringify({ ok, received, sha256 }) + '\n'))
    await association.close()
    console.log(JSON.stringify({ event: 'file', name: basename(target), bytes: received, sha256, ok }))
  }, privately)
  console.log(JSON.stringify({ event: 'serving', name, peer: entity.peerId.toString(), addrs: entity.multiaddrs.map(String) }))
  const stop = (): void => { entity.close().then(() => process.exit(0), () => process.exit(1)) }
  process.on('SIGINT', stop)
  process.on('SIGTERM', stop)
}

async function runSend (): Promise<void> {
  if (name == null || file == null) usage('send needs a name and a file')
  const point = opts.point ?? usage('--point is required')
  const size = (await stat(file)).size
  const hash = createHash('sha256')
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer)
  const sha256 = hash.digest('hex')
  const entity = await createEntity({ app: 'share-sender', rendezvous: rendezvousPoint(point), listen: [] })
  try {
    const association = await entity.connect(name, privately)
    association.send(Buffer.from(JSON.stringify({ type: 'file', name: basename(file), size, sha256 }) + '\n'))
    let sent = 0
    for await (const chunk of createReadStream(file, { highWaterMark: 64 * 1024 })) {
      sent += (chunk as Buffer).byteLength
      if (!association.send(chunk as Buffer)) await association.onDrain()
      progress(`sending ${basename(file)}`, sent, size)
    }
    await association.close()
    const { header } = await readHeader(association)
    console.log(JSON.stringify({ event: 'sent', name: basename(file), bytes: size, sha256, receiver: header }))
    process.exitCode = header.ok === true ? 0 : 1
  } finally {
    await entity.close()
  }
}

async function runChat (): Promise<void> {
  if (name == null) usage('chat needs a name')
  const point = opts.point ?? usage('--point is required')
  const entity = await createEntity({ app: 'share-chat', rendezvous: rendezvousPoint(point), listen: [] })
  const association = await entity.connect(name, privately)
  association.send(Buffer.from(JSON.stringify({ type: 'chat' }) + '\n'))
  const replies = (async () => { for await (const chunk of association) process.stdout.write(chunk) })()
  for await (const line of createInterface({ input: process.stdin })) association.send(Buffer.from(`${line}\n`))
  await association.close()
  await replies
  await entity.close()
}

const commands: Record<string, () => Promise<void>> = { point: runPoint, receive: runReceive, send: runSend, chat: runChat }
const run = commands[command ?? ''] ?? (() => usage(`unknown command ${JSON.stringify(command)}`))
run().catch((err: Error) => {
  console.error(`fara-share: ${err.name}: ${err.message}`)
  process.exit(1)
})
