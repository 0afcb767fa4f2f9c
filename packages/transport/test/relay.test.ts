import { createHash, randomBytes } from 'node:crypto'
import { createServer } from 'node:net'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { RELAY_V2_STOP_CODEC } from '@libp2p/circuit-relay-v2'
import { describe, expect, it } from 'vitest'
import { resources } from './resources.ts'
import { checkRelayAddrs, createNode, dialEntity, relayServer } from '../src/index.ts'
import { DIRECT_DIAL_HEAD_START, MAX_RELAYS, RELAY_CLIENT_LIMITS, RELAY_SERVER_LIMITS } from '../src/constants.ts'
import type { NodeInit, RelayReservationEvents, RelayReservations, RelayServer, RelayServerInit, RelayStatus } from '../src/index.ts'
import type { Connection, Libp2p, PrivateKey, Stream } from '@libp2p/interface'

const ECHO = '/test/echo/1'
const KiB = 1024
const MiB = 1024 * KiB
const { nodes, servers, sockets } = resources()

/** A TCP server on 127.0.0.1 that accepts connections and never says a word (a direct address that leads nowhere). */
async function silentServer (): Promise<number> {
  const server = createServer(socket => { sockets.push(socket) })
  servers.push(server)
  await new Promise<void>(resolve => { server.listen(0, '127.0.0.1', resolve) })
  return (server.address() as { port: number }).port
}

type Node = Libp2p<{ relays?: RelayReservations }>
type RelayNode = Libp2p<{ relay: RelayServer }>

async function node (init: Partial<NodeInit> = {}): Promise<Node> {
  const n = await createNode({ privateKey: await generateKeyPair('Ed25519'), listen: [], ...init })
  nodes.push(n)
  return n
}

async function relay (init: RelayServerInit = {}, options: { privateKey?: PrivateKey, port?: number } = {}): Promise<RelayNode> {
  const n = await createNode({
    privateKey: options.privateKey ?? await generateKeyPair('Ed25519'),
    listen: [`/ip4/127.0.0.1/tcp/${options.port ?? 0}`],
    allowPinnedPort: options.port != null,
    services: { relay: relayServer(init) }
  })
  nodes.push(n)
  return n
}

function addrOf (n: Libp2p): string {
  const addr = n.getMultiaddrs()[0]
  if (addr == null) throw new Error('node has no address')
  return addr.toString()
}

function keeper (n: Node): RelayReservations {
  const relays = n.services.relays
  if (relays == null) throw new Error('node has no relay keeper')
  return relays
}

/** The next event of `type` (past states are not replayed: subscribe before the cause). */
async function next<K extends keyof RelayReservationEvents> (target: RelayReservations, type: K): Promise<RelayStatus> {
  return new Promise(resolve => {
    target.addEventListener(type, (evt) => { resolve(evt.detail) }, { once: true })
  })
}

/** Echo every byte back on ECHO, hashing what arrived. */
async function serveEcho (n: Libp2p, received: Array<{ bytes: number, sha256: string }>): Promise<void> {
  await n.handle(ECHO, async (stream) => {
    const hash = createHash('sha256')
    let bytes = 0
    for await (const chunk of stream) {
      const data = chunk.subarray()
      hash.update(data)
      bytes += data.byteLength
      if (!stream.send(data)) await new Promise(resolve => stream.addEventListener('drain', resolve, { once: true }))
    }
    await stream.close()
    received.push({ bytes, sha256: hash.digest('hex') })
  })
}

/** Send `bytes` random bytes on ECHO and read the echo; both digests. */
async function echo (connection: Connection, bytes: number): Promise<{ sent: string, received: string, receivedBytes: number }> {
  const stream: Stream = await connection.newStream(ECHO)
  const sent = createHash('sha256')
  const received = createHash('sha256')
  let receivedBytes = 0
  const reading = (async () => {
    for await (const chunk of stream) {
      received.update(chunk.subarray())
      receivedBytes += chunk.byteLength
    }
  })()
  for (let offset = 0; offset < bytes; offset += 64 * KiB) {
    const chunk = randomBytes(Math.min(64 * KiB, bytes - offset))
    sent.update(chunk)
    if (!stream.send(chunk)) await new Promise(resolve => stream.addEventListener('drain', resolve, { once: true }))
  }
  await stream.close()
  await reading
  return { sent: sent.digest('hex'), received: received.digest('hex'), receivedBytes }
}

describe('checkRelayAddrs', () => {
  const relayId = '12D3KooWAS3PCifWxsvHjjVCjSarJypNg2TYrL2QN7RfKwAXzzZr'
  const good = `/ip4/127.0.0.1/tcp/4001/p2p/${relayId}`

  it('accepts relay multiaddrs that end in /p2p/<relay id> and returns their ids', () => {
    expect(checkRelayAddrs([good])).toEqual([{ addr: expect.anything(), id: relayId }])
  })

  it('refuses a non-array or a non-string with a TypeError', () => {
    expect(() => checkRelayAddrs(good)).toThrow(TypeError)
    expect(() => checkRelayAddrs([42])).toThrow(TypeError)
  })

  it.each([
    ['not a multiaddr', 'relay.example.net:4001'],
    ['no relay id', '/ip4/127.0.0.1/tcp/4001'],
    ['itself relayed', `${good}/p2p-circuit/p2p/${relayId}`]
  ])('refuses an address that is %s with a RangeError that names it', (_what, addr) => {
    expect(() => checkRelayAddrs([addr])).toThrow(RangeError)
    expect(() => checkRelayAddrs([addr])).toThrow(addr.slice(0, 12))
  })

  it('refuses the same relay twice and more than MAX_RELAYS relays', () => {
    expect(() => checkRelayAddrs([good, good.replace('4001', '4002')])).toThrow(/twice/)
    expect(() => checkRelayAddrs(Array.from({ length: MAX_RELAYS + 1 }, () => good))).toThrow(RangeError)
  })

  it('is applied by createNode', async () => {
    await expect(createNode({ privateKey: await generateKeyPair('Ed25519'), listen: [], relays: ['/ip4/127.0.0.1/tcp/4001'] })).rejects.toThrow(RangeError)
    await expect(createNode({ privateKey: await generateKeyPair('Ed25519'), listen: [], dialRelayed: 'yes' as unknown as boolean })).rejects.toThrow(TypeError)
  })
})

describe('relayServer', () => {
  it.each([
    [{ maxReservations: 0 }, RangeError],
    [{ maxReservations: 1.5 }, TypeError],
    [{ reservationTtl: 1_000 }, RangeError],
    [{ reservationTtl: 48 * 60 * 60_000 }, RangeError],
    [{ maxCircuitsPerEntity: -1 }, RangeError]
  ])('refuses %o', (init, type) => {
    expect(() => relayServer(init as RelayServerInit)).toThrow(type)
  })

  it('never limits a relayed connection by size or age, and bounds slots and circuits instead', () => {
    // libp2p's defaults would reset every relayed connection after 128 KiB or 2 minutes
    expect(RELAY_SERVER_LIMITS.applyDefaultLimit).toBe(false)
    expect(RELAY_SERVER_LIMITS.maxReservations).toBe(256)
    expect(RELAY_SERVER_LIMITS.reservationTtl).toBe(30 * 60_000)
    expect(RELAY_SERVER_LIMITS.maxCircuitsPerEntity).toBe(256)
    expect(RELAY_CLIENT_LIMITS.retryMax).toBeLessThanOrEqual(RELAY_SERVER_LIMITS.reservationTtl)
  })
})

describe('relays on loopback', () => {
  it('reaches a node that listens nowhere through its relay: unlimited, Noise end to end, 1 MiB intact', async () => {
    const r = await relay()
    const entity = await node({ relays: [addrOf(r)] })
    const [status] = keeper(entity).relays
    expect(status).toMatchObject({ state: 'reserved', id: r.peerId.toString(), error: undefined })
    const relayed = `${addrOf(r)}/p2p-circuit/p2p/${entity.peerId.toString()}`
    expect(entity.getMultiaddrs().map(String)).toEqual([relayed])
    expect(status?.addrs.map(String)).toEqual([relayed])

    // the relay granted a slot with no data or duration limit, for its configured lifetime
    const reservation = r.services.relay.reservations.get(entity.peerId)
    expect(reservation?.limit).toBeUndefined()
    expect(reservation!.expiry.getTime() - Date.now()).toBeGreaterThan(RELAY_SERVER_LIMITS.reservationTtl - 60_000)

    const served: Array<{ bytes: number, sha256: string }> = []
    await serveEcho(entity, served)
    const client = await node({ dialRelayed: true })
    const connection = await dialEntity(client, entity.peerId, entity.getMultiaddrs())
    expect(connection.remoteAddr.toString()).toBe(relayed)
    expect(connection.encryption).toBe('/noise')
    // not "limited": streams of any protocol open on it as on a direct connection
    expect(connection.limits).toBeUndefined()
    expect(entity.getConnections(client.peerId).find(c => c.remoteAddr.toString().includes('/p2p-circuit'))?.limits).toBeUndefined()

    const result = await echo(connection, MiB) // eight times libp2p's default data limit
    expect(result.receivedBytes).toBe(MiB)
    expect(result.received).toBe(result.sent)
    expect(served).toEqual([{ bytes: MiB, sha256: result.sent }])
  })

  it('cannot dial a relayed address without dialRelayed (DialFailedError)', async () => {
    const r = await relay()
    const entity = await node({ relays: [addrOf(r)] })
    const plain = await node()
    expect(plain.services.relays).toBeUndefined()
    await expect(dialEntity(plain, entity.peerId, entity.getMultiaddrs())).rejects.toMatchObject({ name: 'DialFailedError' })
  })

  it('refuses a relayed address that leads to another peer before dialling (PeerMismatchError)', async () => {
    const r = await relay()
    const entity = await node({ relays: [addrOf(r)] })
    const other = await node({ relays: [addrOf(r)] })
    const client = await node({ dialRelayed: true })
    await expect(dialEntity(client, entity.peerId, other.getMultiaddrs())).rejects.toMatchObject({ name: 'PeerMismatchError' })
    expect(client.getConnections()).toEqual([])
  })

  it('prefers a direct address, and falls back to the relayed one when the direct one leads nowhere', async () => {
    const r = await relay()
    const entity = await node({ listen: ['/ip4/127.0.0.1/tcp/0'], relays: [addrOf(r)] })
    const addrs = entity.getMultiaddrs().map(String)
    expect(addrs.filter(a => a.includes('/p2p-circuit'))).toHaveLength(1)
    expect(addrs.filter(a => !a.includes('/p2p-circuit'))).toHaveLength(1)

    const client = await node({ dialRelayed: true })
    const direct = await dialEntity(client, entity.peerId, addrs)
    expect(direct.remoteAddr.toString()).not.toContain('/p2p-circuit')
    await direct.close()

    // a direct address that accepts TCP and never answers Noise: the relay is tried after the head start
    const stalled = `/ip4/127.0.0.1/tcp/${await silentServer()}`
    const other = await node({ dialRelayed: true })
    const started = Date.now()
    const relayed = await dialEntity(other, entity.peerId, [stalled, ...addrs.filter(a => a.includes('/p2p-circuit'))])
    expect(relayed.remoteAddr.toString()).toContain('/p2p-circuit')
    expect(Date.now() - started).toBeLessThan(DIRECT_DIAL_HEAD_START + 2_000)
  })

  it('restores the slot after the relay restarts on the same port and key, without restarting the node', async () => {
    const privateKey = await generateKeyPair('Ed25519')
    const first = await relay({}, { privateKey })
    const port = Number(first.getMultiaddrs()[0]?.getComponents().find(c => c.name === 'tcp')?.value)
    const entity = await node({ relays: [addrOf(first)] })
    const relayed = entity.getMultiaddrs().map(String)
    expect(relayed).toHaveLength(1)

    const lost = next(keeper(entity), 'relay:lost')
    await first.stop()
    expect(await lost).toMatchObject({ state: 'failed', addrs: [], error: { name: 'ReservationFailedError' } })
    expect(entity.getMultiaddrs()).toEqual([])

    const restored = next(keeper(entity), 'relay:reserved')
    const second = await relay({}, { privateKey, port })
    expect((await restored).addrs.map(String)).toEqual(relayed)
    expect(second.services.relay.reservations.has(entity.peerId)).toBe(true)

    const served: Array<{ bytes: number, sha256: string }> = []
    await serveEcho(entity, served)
    const client = await node({ dialRelayed: true })
    const connection = await dialEntity(client, entity.peerId, relayed)
    const result = await echo(connection, 256 * KiB)
    expect(result.received).toBe(result.sent)
  })

  it('a full relay refuses a slot with ReservationRefusedError, keeps serving, and frees the slot when its holder leaves', async () => {
    const r = await relay({ maxReservations: 1 })
    const holder = await node({ relays: [addrOf(r)] })
    expect(keeper(holder).relays[0]?.state).toBe('reserved')

    const refused = await node({ relays: [addrOf(r)] })
    const [status] = keeper(refused).relays
    expect(status?.state).toBe('failed')
    expect(status?.error).toMatchObject({ name: 'ReservationRefusedError', status: 'RESERVATION_REFUSED' })
    expect(status?.error?.message).toContain(r.peerId.toString())
    expect(refused.getMultiaddrs()).toEqual([])
    expect(r.services.relay.reservations.size).toBe(1)

    // no crash: the holder is still reachable through the relay
    const served: Array<{ bytes: number, sha256: string }> = []
    await serveEcho(holder, served)
    const client = await node({ dialRelayed: true })
    const result = await echo(await dialEntity(client, holder.peerId, holder.getMultiaddrs()), 64 * KiB)
    expect(result.received).toBe(result.sent)

    // the holder leaves: its slot is freed at once, and the refused node's next attempt gets it
    const reserved = next(keeper(refused), 'relay:reserved')
    await holder.stop()
    expect((await reserved).state).toBe('reserved')
    expect(r.services.relay.reservations.has(refused.peerId)).toBe(true)
    expect(r.services.relay.reservations.has(holder.peerId)).toBe(false)
  })

  it('accepts a relayed connection only from a configured relay', async () => {
    const configured = await relay()
    const rogue = await relay()
    const entity = await node({ relays: [addrOf(configured)] })
    // the entity is connected to a relay it did not choose; the relay offers it a connection (STOP)
    const inbound = new Promise<Connection>(resolve => { rogue.addEventListener('connection:open', (evt) => { resolve(evt.detail) }, { once: true }) })
    const connection = await dialEntity(entity, rogue.peerId, [addrOf(rogue)])
    const stop = await (await inbound).newStream(RELAY_V2_STOP_CODEC, { negotiateFully: true })
    // without the check, libp2p would first reserve a slot on the rogue relay and keep the stream open
    await Promise.allSettled([(async () => { for await (const _ of stop) { /* nothing comes */ } })()])
    expect(stop.status).toBe('reset')
    expect(rogue.services.relay.reservations.size).toBe(0)
    expect(entity.getMultiaddrs().map(String).filter(a => a.includes(rogue.peerId.toString()))).toEqual([])
    expect(connection.status).toBe('open')
  })

  it('answers no identify request, and runs none', async () => {
    const r = await relay()
    const entity = await node({ relays: [addrOf(r)] })
    expect(entity.getProtocols()).not.toContain('/ipfs/id/1.0.0')
    const client = await node({ dialRelayed: true })
    const connection = await dialEntity(client, entity.peerId, entity.getMultiaddrs())
    await expect(connection.newStream('/ipfs/id/1.0.0')).rejects.toMatchObject({ name: 'UnsupportedProtocolError' })
    // the relay learnt no protocol of the entity's beyond what the entity itself opened
    const seen = await r.peerStore.get(entity.peerId)
    expect(seen.protocols).not.toContain('/ipfs/id/1.0.0')
  })
})
