import { connect as tcpConnect, createServer } from 'node:net'
import { once } from 'node:events'
import { ExitCode } from '../constants.ts'
import { positionalsOf } from '../internal/args.ts'
import { portOf } from '../internal/entity.ts'
import { sdk } from '../internal/lazy.ts'
import type { Command, Context } from '../internal/command.ts'
import type { AddressInfo, Server } from 'node:net'

const NAME = 'demo'
const SERVICE = 'chat'
const HELLO = 'hello, is this the chat?'

/** A TCP relay on the path that forwards both ways and keeps a copy of every byte (a router, an ISP box). */
async function observer (targetPort: number): Promise<{ server: Server, port: number, seen: Buffer[] }> {
  const seen: Buffer[] = []
  const server = createServer(down => {
    const up = tcpConnect(targetPort, '127.0.0.1')
    down.on('data', (d: Buffer) => seen.push(d))
    up.on('data', (d: Buffer) => seen.push(d))
    down.pipe(up).pipe(down)
    down.on('error', () => up.destroy())
    up.on('error', () => down.destroy())
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return { server, port: (server.address() as AddressInfo).port, seen }
}

async function run (ctx: Context): Promise<ExitCode> {
  positionalsOf(NAME, ctx.args.positionals, [])
  const { createEntity, createRendezvousPoint, rendezvousPoint, aidToHex } = await sdk()
  const s = ctx.out.out
  const step = (n: number, title: string): void => { ctx.out.result('step', { step: n, title }, `\n${s.bold(`${n}. ${title}`)}`) }
  const say = (who: string, text: string, fields: Record<string, unknown> = {}): void => {
    ctx.out.result('say', { who, text, ...fields }, `${s.cyan(who.padEnd(11))} ${text}`)
  }

  step(1, 'A rendezvous point starts (the directory: name → key, address, AId)')
  const point = await createRendezvousPoint({ listen: ['/ip4/127.0.0.1/tcp/0'] })
  const cleanup: Array<() => Promise<unknown>> = [async () => point.close()]
  try {
    say('rendezvous', `key ${point.node.peerId.toString()}, random port ${portOf(point.multiaddrs)}`)

    step(2, `An application serves "${SERVICE}" on a random port, with its own key`)
    const server = await createEntity({ app: 'chat-server', rendezvous: rendezvousPoint(point.multiaddrs), listen: ['/ip4/127.0.0.1/tcp/0'] })
    cleanup.unshift(async () => server.close())
    const path = await observer(portOf(server.multiaddrs) ?? 0)
    cleanup.push(async () => { path.server.close() })
    const service = await server.serve(SERVICE, async (association) => {
      say('service', `association: my AId ${aidToHex(association.localAid)}, the client's ${aidToHex(association.remoteAid!)}`)
      for await (const chunk of association) {
        say('service', `received "${Buffer.from(chunk).toString()}"`)
        association.send(Buffer.from(`welcome to ${SERVICE}!`))
      }
      await association.close()
    }, { addrs: [`/ip4/127.0.0.1/tcp/${path.port}`], signal: ctx.signal })
    say('service', `key ${server.peerId.toString()}, random port ${portOf(server.multiaddrs)} (not a well-known one)`)
    say('service', `service AId ${aidToHex(service.aid)}: 64 random bits, only inside the signed record`)

    step(3, `A client connects to "${SERVICE}" by name, from a fresh key`)
    const client = await createEntity({ app: 'chat-client', rendezvous: rendezvousPoint(point.multiaddrs), listen: [] })
    cleanup.unshift(async () => client.close())
    const association = await client.connect(SERVICE, { signal: ctx.signal })
    say('client', `Noise proved the service holds ${association.remotePeer.toString()}`)
    association.send(Buffer.from(HELLO))
    await association.close()
    for await (const chunk of association) say('client', `received "${Buffer.from(chunk).toString()}"`)

    step(4, 'What an observer on the path saw')
    const wire = Buffer.concat(path.seen)
    const secrets: Array<[string, Buffer]> = [
      ['service name', Buffer.from(SERVICE)], ['service AId', Buffer.from(service.aid)], ['client AId', Buffer.from(association.localAid)],
      ['service association AId', Buffer.from(association.remoteAid!)], ['payload', Buffer.from(HELLO)]
    ]
    let leaked = 0
    say('observer', `${wire.byteLength} bytes between the client and 127.0.0.1:${path.port}`, { bytes: wire.byteLength })
    for (const [what, bytes] of secrets) {
      const seen = wire.includes(bytes)
      if (seen) leaked++
      say('observer', `${what}: ${seen ? s.red('SEEN') : s.green('not seen')}`, { what, seen })
    }
    ctx.out.result('done', { leaked }, `\n${leaked === 0 ? s.green('Done: reached by name, encrypted end to end, nothing identifying on the wire.') : s.red('LEAK: see above')}`)
    return leaked === 0 ? ExitCode.OK : ExitCode.FAILURE
  } finally {
    for (const close of cleanup) await close().catch(() => {})
  }
}

/** `fara demo`. */
export const demo: Command = {
  name: NAME,
  summary: 'the whole path once, on this machine, narrated (what `npm start` shows)',
  usage: ['demo'],
  description: [
    'Starts a rendezvous point, a service registered by name on a random port, and a client that connects by',
    'name through an observer on the path, then shows that the observer saw no name, no AId and no payload.',
    'Needs nothing else: everything runs in this process, on 127.0.0.1. Exit code 1 if anything leaked.'
  ],
  options: {},
  examples: [['fara demo', 'run it'], ['fara demo --json', 'the same as JSON lines']],
  run
}
