// Direct paths (issue 4, part 3): two peers meet over a circuit relay, then
// upgrade to a direct WebRTC connection (ICE over UDP) with a local coturn as
// STUN server. Loopback only: this proves the mechanics and measures them; it
// does not prove NAT traversal (spec/direct-paths.md#nat-pairs).
import { spawn } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { createSocket } from 'node:dgram'
import { accessSync, constants as fs } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { circuitRelayServer, circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { identify } from '@libp2p/identify'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { tcp } from '@libp2p/tcp'
import { createLibp2p } from 'libp2p'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { directPaths, upgradeToDirect, webrtcAddr } from '../src/webrtc.ts'
import type { Connection, Libp2p, Stream } from '@libp2p/interface'
import type { ChildProcess } from 'node:child_process'

const turnserver = process.env.PATH?.split(delimiter).map(d => join(d, 'turnserver')).find(f => {
  try { accessSync(f, fs.X_OK); return true } catch { return false }
})
if (turnserver == null) {
  if (process.env.FARA_REQUIRE_LAB === '1') {
    throw new Error('direct-path lab required (FARA_REQUIRE_LAB=1) but turnserver (coturn) is not on PATH: apt-get install coturn')
  }
  console.warn('SKIPPING direct-path lab: turnserver (coturn) not on PATH (apt-get install coturn)')
}

const ECHO = '/fara/test/echo/1'
const SINK = '/fara/test/sha256/1'
const PAYLOAD = 8 * 1024 * 1024
const CHUNK = 64 * 1024
const ROUNDS = 5

// RFC 8489 §5: Binding request, magic cookie 0x2112A442, 96-bit transaction id
function bindingRequest (): Buffer {
  const msg = Buffer.alloc(20)
  msg.writeUInt16BE(0x0001, 0)
  msg.writeUInt32BE(0x2112A442, 4)
  randomBytes(12).copy(msg, 8)
  return msg
}

/** A UDP port on 127.0.0.1 that nothing uses: bound by the OS, then released. */
async function freeUdpPort (): Promise<number> {
  const socket = createSocket('udp4')
  await new Promise<void>(resolve => { socket.bind(0, '127.0.0.1', resolve) })
  const { port } = socket.address()
  await new Promise<void>(resolve => { socket.close(resolve) })
  return port
}

/** Wait until a STUN server answers a Binding request (RFC 8489 §6.3: success response 0x0101). */
async function stunReady (port: number, timeoutMs: number): Promise<void> {
  const socket = createSocket('udp4')
  const deadline = Date.now() + timeoutMs
  let timer: NodeJS.Timeout | undefined
  try {
    await new Promise<void>((resolve, reject) => {
      socket.on('message', msg => { if (msg.readUInt16BE(0) === 0x0101) resolve() })
      socket.on('error', reject)
      const tick = (): void => {
        if (Date.now() > deadline) { reject(new Error(`no STUN answer on 127.0.0.1:${port} after ${timeoutMs} ms`)); return }
        socket.send(bindingRequest(), port, '127.0.0.1')
        timer = setTimeout(tick, 100)
      }
      tick()
    })
  } finally {
    clearTimeout(timer)
    socket.close()
  }
}

interface Stun { url: string, process: ChildProcess, dir: string, log: () => string }

async function startStun (binary: string): Promise<Stun> {
  const dir = await mkdtemp(join(tmpdir(), 'fara-stun-'))
  const port = await freeUdpPort()
  const child = spawn(binary, [
    '-n', '--listening-ip', '127.0.0.1', '--listening-port', String(port), '--stun-only',
    '--no-cli', '--no-tls', '--no-dtls', '--log-file', 'stdout', '--simple-log', '--pidfile', join(dir, 'turnserver.pid')
  ], { stdio: ['ignore', 'pipe', 'pipe'] })
  let log = ''
  child.stdout!.on('data', (d: Buffer) => { log += d.toString() })
  child.stderr!.on('data', (d: Buffer) => { log += d.toString() })
  const exited = new Promise<never>((_resolve, reject) => {
    child.on('exit', code => { reject(new Error(`turnserver exited (${code}) before answering: ${log.slice(-2000)}`)) })
  })
  await Promise.race([stunReady(port, 5_000), exited])
  exited.catch(() => {})
  return { url: `stun:127.0.0.1:${port}`, process: child, dir, log: () => log }
}

async function stopStun (stun: Stun): Promise<void> {
  if (stun.process.exitCode == null && stun.process.signalCode == null) {
    const exited = new Promise<void>(resolve => { stun.process.on('exit', () => { resolve() }) })
    stun.process.kill('SIGTERM')
    await exited
  }
  await rm(stun.dir, { recursive: true, force: true })
}

/** Read a stream to its end. */
async function readAll (stream: Stream): Promise<Buffer> {
  const chunks: Uint8Array[] = []
  for await (const chunk of stream) chunks.push(chunk.subarray())
  return Buffer.concat(chunks)
}

/** Serve ECHO (every byte back) and SINK (SHA-256 and length of everything received) on relayed connections too. */
async function serve (node: Libp2p): Promise<void> {
  await node.handle(ECHO, async (stream) => {
    for await (const chunk of stream) {
      if (!stream.send(chunk)) await stream.onDrain()
    }
    await stream.close()
  }, { runOnLimitedConnection: true })
  await node.handle(SINK, async (stream) => {
    const hash = createHash('sha256')
    let received = 0
    for await (const chunk of stream) {
      const bytes = chunk.subarray()
      hash.update(bytes)
      received += bytes.byteLength
    }
    const reply = Buffer.alloc(40)
    hash.digest().copy(reply)
    reply.writeBigUInt64BE(BigInt(received), 32)
    stream.send(reply)
    await stream.close()
  }, { runOnLimitedConnection: true })
}

/** Open a stream, send one byte, wait for it to come back: median of ROUNDS, in ms. */
async function firstByte (connection: Connection): Promise<number> {
  const times: number[] = []
  for (let i = 0; i < ROUNDS; i++) {
    const start = performance.now()
    const stream = await connection.newStream(ECHO, { runOnLimitedConnection: true, signal: AbortSignal.timeout(5_000) })
    stream.send(Uint8Array.of(i))
    for await (const chunk of stream) {
      expect(chunk.subarray()[0]).toBe(i)
      break
    }
    times.push(performance.now() - start)
    await stream.close().catch(() => {})
  }
  return times.sort((x, y) => x - y)[Math.floor(ROUNDS / 2)]!
}

/** Send `payload` on a fresh SINK stream with backpressure; the remote's SHA-256 and byte count must match. Returns ms. */
async function transfer (connection: Connection, payload: Buffer): Promise<number> {
  const start = performance.now()
  const stream = await connection.newStream(SINK, { runOnLimitedConnection: true, signal: AbortSignal.timeout(20_000) })
  const reply = readAll(stream)
  for (let offset = 0; offset < payload.byteLength; offset += CHUNK) {
    if (!stream.send(payload.subarray(offset, offset + CHUNK))) {
      await stream.onDrain({ signal: AbortSignal.timeout(20_000) })
    }
  }
  await stream.close()
  const answer = await reply
  const elapsed = performance.now() - start
  expect(answer.byteLength).toBe(40)
  expect(Number(answer.readBigUInt64BE(32))).toBe(payload.byteLength)
  expect(answer.subarray(0, 32).toString('hex')).toBe(createHash('sha256').update(payload).digest('hex'))
  return elapsed
}

describe('directPaths', () => {
  it('returns the WebRTC transport and the /webrtc listen address', () => {
    const direct = directPaths({ stunServers: ['stun:127.0.0.1:3478'] })
    expect(direct.listen).toEqual(['/webrtc'])
    expect(direct.transports).toHaveLength(1)
  })

  it.each([['stun.example.net:3478'], ['http://stun.example.net'], ['stun:'], ['stun:host:99999'], ['stun:host/path']])(
    'refuses the STUN server %s with a RangeError that names it', (uri) => {
      expect(() => directPaths({ stunServers: [uri] })).toThrow(RangeError)
      expect(() => directPaths({ stunServers: [uri] })).toThrow(JSON.stringify(uri))
    })

  it('refuses a non-array or non-string STUN list with a TypeError', () => {
    expect(() => directPaths({ stunServers: 'stun:a' as unknown as string[] })).toThrow(TypeError)
    expect(() => directPaths({ stunServers: [3478] as unknown as string[] })).toThrow(TypeError)
  })

  it('refuses a maxMessageSize outside 1024..262144 with a RangeError', () => {
    expect(() => directPaths({ maxMessageSize: 512 })).toThrow(RangeError)
    expect(() => directPaths({ maxMessageSize: 262_145 })).toThrow(RangeError)
    expect(() => directPaths({ maxMessageSize: 1.5 })).toThrow(TypeError)
    expect(() => directPaths({ maxMessageSize: 262_144 })).not.toThrow()
  })

  it('cannot start without identify: libp2p throws UnmetServiceDependenciesError', async () => {
    const direct = directPaths()
    const err = await createLibp2p({
      privateKey: await generateKeyPair('Ed25519'),
      transports: [tcp(), circuitRelayTransport(), ...direct.transports],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()]
    }).then(async node => { await node.stop(); return undefined }, (e: Error) => e)
    expect(err?.name).toBe('UnmetServiceDependenciesError')
  })
})

describe('upgradeToDirect', () => {
  it('fails with DialFailedError when there is no relayed connection or address to upgrade', async () => {
    const node = await createLibp2p({ privateKey: await generateKeyPair('Ed25519'), transports: [tcp()], connectionEncrypters: [noise()], streamMuxers: [yamux()] })
    try {
      const peer = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
      const err = await upgradeToDirect(node, peer).then(() => undefined, (e: Error) => e)
      expect(err?.name).toBe('DialFailedError')
      await expect(upgradeToDirect(node, peer, [`/ip4/127.0.0.1/tcp/4001/p2p/${peer.toString()}`])).rejects.toThrow(expect.objectContaining({ name: 'DialFailedError' }))
      await expect(upgradeToDirect(node, peer, [], { attempts: 0 })).rejects.toThrow(RangeError)
      await expect(upgradeToDirect(node, peer, [], { attemptTimeout: 1.5 })).rejects.toThrow(TypeError)
      await expect(upgradeToDirect(node, peer, 'x' as unknown as string[])).rejects.toThrow(TypeError)
    } finally {
      await node.stop()
    }
  })
})

describe('webrtcAddr', () => {
  it('turns a relayed address into the WebRTC address behind it, with or without the target', async () => {
    const [relay, peer] = await Promise.all([generateKeyPair('Ed25519'), generateKeyPair('Ed25519')]).then(ks => ks.map(k => peerIdFromPrivateKey(k)))
    const base = `/ip4/127.0.0.1/tcp/4001/p2p/${relay!.toString()}/p2p-circuit`
    const want = `${base}/webrtc/p2p/${peer!.toString()}`
    expect(webrtcAddr(base, peer!).toString()).toBe(want)
    expect(webrtcAddr(`${base}/p2p/${peer!.toString()}`, peer!).toString()).toBe(want)
    expect(() => webrtcAddr(`/ip4/127.0.0.1/tcp/4001/p2p/${peer!.toString()}`, peer!)).toThrow(RangeError)
    expect(() => webrtcAddr(`${base}/p2p/${relay!.toString()}`, peer!)).toThrow(expect.objectContaining({ name: 'PeerMismatchError' }))
  })
})

describe.skipIf(turnserver == null)(`relay → direct WebRTC upgrade on loopback${turnserver == null ? ' — skipped: turnserver (coturn) not on PATH' : ''}`, () => {
  let stun: Stun | undefined
  const nodes: Libp2p[] = []

  beforeAll(async () => { stun = await startStun(turnserver!) })

  afterAll(async () => {
    await Promise.all(nodes.splice(0).map(async n => n.stop()))
    if (stun != null) await stopStun(stun)
    // node-datachannel (@libp2p/webrtc's native half) can keep a process alive
    // after every peer connection is closed: release its threads (spec/direct-paths.md#defects)
    const { cleanup } = await import('node-datachannel')
    cleanup()
  })

  it('reserves on a relay, dials over it, upgrades to a direct WebRTC connection that carries 8 MiB intact and outlives the relay', async () => {
    const direct = directPaths({ stunServers: [stun!.url] })
    const relay = await createLibp2p({
      privateKey: await generateKeyPair('Ed25519'),
      addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      services: {
        identify: identify(),
        // explicit, large limits: the relayed leg carries the 8 MiB comparison run
        relay: circuitRelayServer({ reservations: { defaultDataLimit: 1n << 30n, defaultDurationLimit: 10 * 60_000 } })
      }
    })
    nodes.push(relay)
    const relayAddr = relay.getMultiaddrs()[0]!
    const peer = async (listen: string[]): Promise<Libp2p> => {
      const node = await createLibp2p({
        privateKey: await generateKeyPair('Ed25519'),
        addresses: { listen },
        transports: [tcp(), circuitRelayTransport(), ...direct.transports],
        connectionEncrypters: [noise()],
        streamMuxers: [yamux()],
        services: { identify: identify() }
      })
      nodes.push(node)
      return node
    }
    // B listens on no TCP port (as if behind a NAT): only on the relay, and /webrtc behind it
    const b = await peer([`${relayAddr.toString()}/p2p-circuit`, ...direct.listen])
    const a = await peer([])
    await serve(b)

    const bAddrs = b.getMultiaddrs().map(ma => ma.toString())
    const circuitAddr = bAddrs.find(ma => ma.includes('/p2p-circuit/p2p/'))
    expect(circuitAddr, `B's addresses: ${bAddrs.join(' ')}`).toBeDefined()
    expect(bAddrs.some(ma => ma.includes('/p2p-circuit/webrtc/p2p/'))).toBe(true)

    let start = performance.now()
    const relayed = await a.dial(b.getMultiaddrs().find(ma => ma.toString() === circuitAddr)!, { signal: AbortSignal.timeout(10_000) })
    const relayedConnect = performance.now() - start
    expect(relayed.direct).toBe(false)
    expect(relayed.limits).toBeDefined()

    start = performance.now()
    const upgraded = await upgradeToDirect(a, b.peerId, [], { signal: AbortSignal.timeout(20_000) })
    const directConnect = performance.now() - start
    const components = upgraded.remoteAddr.getComponents().map(c => c.name)
    expect(components).toContain('webrtc')
    expect(components.at(-2)).toBe('webrtc') // …/p2p-circuit/webrtc/p2p/<B>: the circuit is where SDP went, not data
    expect(upgraded.direct).toBe(true)
    expect(upgraded.limits).toBeUndefined()
    expect(upgraded.remotePeer.equals(b.peerId)).toBe(true)
    expect(b.getConnections(a.peerId).some(c => c.remoteAddr.toString() === `/webrtc/p2p/${a.peerId.toString()}`)).toBe(true)

    const payload = randomBytes(PAYLOAD)
    const relayedFirst = await firstByte(relayed)
    const relayedMs = await transfer(relayed, payload)
    const directFirst = await firstByte(upgraded)
    const directMs = await transfer(upgraded, payload)

    // libp2p keeps the relayed connection next to the direct one (streams on it are not moved)
    expect(relayed.status).toBe('open')
    // the relay goes away: the relayed connection dies, the direct one carries on
    await relay.stop()
    await expect.poll(() => relayed.status, { timeout: 5_000 }).toBe('closed')
    expect(upgraded.status).toBe('open')
    const stream = await upgraded.newStream(ECHO, { signal: AbortSignal.timeout(5_000) })
    const echoed = readAll(stream)
    stream.send(Buffer.from('still here'))
    await stream.close()
    expect((await echoed).toString()).toBe('still here')

    const mibps = (ms: number): string => (PAYLOAD / 1024 / 1024 / (ms / 1000)).toFixed(1)
    console.log([
      `loopback, ${PAYLOAD / 1024 / 1024} MiB in ${CHUNK / 1024} KiB sends, first byte = median of ${ROUNDS} new-stream echo round trips`,
      '| path | connect (ms) | first byte (ms) | 8 MiB (ms) | MiB/s |',
      '|---|---:|---:|---:|---:|',
      `| relayed (TCP, Noise, Yamux, via relay) | ${relayedConnect.toFixed(1)} | ${relayedFirst.toFixed(2)} | ${relayedMs.toFixed(0)} | ${mibps(relayedMs)} |`,
      `| direct (WebRTC: ICE/UDP, DTLS, SCTP) | ${directConnect.toFixed(1)} | ${directFirst.toFixed(2)} | ${directMs.toFixed(0)} | ${mibps(directMs)} |`
    ].join('\n'))
  }, 40_000)
})
