// `npm start`: the whole path once, on one machine, narrated.
// A rendezvous point, a service registered by name on a random port, a client
// that connects by name, and an on-path observer (a TCP relay in the middle,
// like a router or an ISP box) that records every byte it forwards.
import { createServer, connect } from 'node:net'
import { createRendezvousPoint, rendezvousPoint } from '@fara/rendezvous'
import { createEntity, aidToHex } from '@fara/sdk'
import type { AddressInfo, Server } from 'node:net'

const SERVICE = 'chat'
const say = (who: string, text: string): void => { console.log(`${who.padEnd(12)} ${text}`) }
const step = (n: number, title: string): void => { console.log(`\n${n}. ${title}`) }
const portOf = (addr: { getComponents: () => Array<{ name: string, value?: string }> } | undefined): string =>
  addr?.getComponents().find(c => c.name === 'tcp')?.value ?? '?'

/** A relay on the path that forwards bytes both ways and keeps a copy. */
async function observer (targetPort: number): Promise<{ server: Server, port: number, seen: Buffer[], peers: Set<number> }> {
  const seen: Buffer[] = []
  const peers = new Set<number>()
  const server = createServer(down => {
    if (down.remotePort != null) peers.add(down.remotePort)
    const up = connect(targetPort, '127.0.0.1')
    down.on('data', (d: Buffer) => seen.push(d))
    up.on('data', (d: Buffer) => seen.push(d))
    down.pipe(up).pipe(down)
    down.on('error', () => up.destroy())
    up.on('error', () => down.destroy())
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  return { server, port: (server.address() as AddressInfo).port, seen, peers }
}

/** The longest run of printable ASCII: random data of a few KiB has runs of about 6 to 9 bytes; protocol strings would stand out. */
function longestPrintable (bytes: Buffer): string {
  return (bytes.toString('latin1').match(/[\x20-\x7e]+/g) ?? []).reduce((a, b) => b.length > a.length ? b : a, '')
}

step(1, 'A rendezvous point starts (the directory: name -> key, address, AId)')
const point = await createRendezvousPoint({ listen: ['/ip4/127.0.0.1/tcp/0'] })
say('rendezvous', `key ${point.node.peerId.toString()}`)
say('rendezvous', `listens on random port ${portOf(point.multiaddrs[0])}`)

step(2, `An application serves "${SERVICE}" on a random port, with its own key`)
const server = await createEntity({ app: 'chat-server', rendezvous: rendezvousPoint(point.multiaddrs), listen: ['/ip4/127.0.0.1/tcp/0'] })
const path = await observer(Number(portOf(server.multiaddrs[0])))
const service = await server.serve(SERVICE, async (association) => {
  say('service', `association opened: my AId ${aidToHex(association.localAid)}, theirs ${aidToHex(association.remoteAid!)}`)
  say('service', `peer proved key ${association.remotePeer.toString()} (fresh, one-time)`)
  for await (const chunk of association) {
    say('service', `received "${Buffer.from(chunk).toString()}"`)
    association.send(Buffer.from(`welcome to ${SERVICE}!`))
  }
  await association.close()
}, { addrs: [`/ip4/127.0.0.1/tcp/${path.port}`] })
say('service', `key ${server.peerId.toString()}`)
say('service', `listens on random port ${portOf(server.multiaddrs[0])} (not a well-known port)`)
say('service', `service AId ${aidToHex(service.aid)} (64 random bits, published only in the signed record)`)
say('rendezvous', `holds a record signed by the service: "${SERVICE}" -> key, address, AId; verified on register and on every resolve`)

step(3, `A client connects to "${SERVICE}" by name`)
const client = await createEntity({ app: 'chat-client', rendezvous: rendezvousPoint(point.multiaddrs), listen: [] })
const record = await client.resolve(SERVICE)
say('client', `resolved "${SERVICE}": key ${record.peerId.toString()}, address ${record.addrs.map(String).join(' ')}, AId ${aidToHex(record.aid)}`)
const association = await client.connect(SERVICE)
say('client', `dialled with a fresh key; Noise proved the service holds ${association.remotePeer.toString()}`)
say('client', `association opened with my AId ${aidToHex(association.localAid)}; the open left with the first data (no extra round trip)`)
association.send(Buffer.from('hello, is this the chat?'))
await association.close()
for await (const chunk of association) say('client', `received "${Buffer.from(chunk).toString()}"`)
say('client', `service's AId for this association: ${aidToHex(association.remoteAid!)}`)

step(4, 'What the observer on the path saw')
const wire = Buffer.concat(path.seen)
say('observer', `${wire.byteLength} bytes between 127.0.0.1:${[...path.peers].join(',')} and 127.0.0.1:${path.port}`)
const longest = longestPrintable(wire)
say('observer', `longest printable run: ${longest.length} bytes ${JSON.stringify(longest)} (no "/multistream", no "/noise": random-looking from the first byte)`)
say('observer', `first bytes: ${wire.subarray(0, 16).toString('hex')}… (an Elligator2-encoded key, then encrypted, padded hellos)`)
const secrets: Array<[string, Buffer]> = [
  ['service name', Buffer.from(SERVICE)],
  ['service AId', Buffer.from(service.aid)],
  ['client AId', Buffer.from(association.localAid)],
  ['service association AId', Buffer.from(association.remoteAid!)],
  ['payload', Buffer.from('hello, is this the chat?')],
  ['libp2p negotiation', Buffer.from('/multistream/1.0.0')],
  ['security protocol', Buffer.from('/noise')]
]
let leaked = 0
for (const [what, bytes] of secrets) {
  const found = wire.includes(bytes)
  if (found) leaked++
  say('observer', `${what}: ${found ? 'SEEN' : 'not seen'}`)
}
say('observer', 'every byte is under the unobservable layer, Noise inside it; the port is random and says nothing')
say('prober', 'a stranger who connects to that port gets no byte back and a close after 2-8 s (spec/unobservable.md)')

await client.close()
await server.close()
await point.close()
path.server.close()
console.log(`\n${leaked === 0 ? 'Done: reached by name, encrypted end to end, nothing identifying on the wire.' : 'LEAK: see above'}`)
process.exit(leaked === 0 ? 0 : 1)
