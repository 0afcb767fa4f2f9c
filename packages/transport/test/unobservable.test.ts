// The unobservable layer at a real listener (a libp2p node on a real TCP port),
// probed with raw sockets: what a stranger sends gets silence and a close;
// only a first flight made with the listener's key gets an answer.
import { randomBytes } from 'node:crypto'
import { createServer, connect } from 'node:net'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { multiaddr } from '@multiformats/multiaddr'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createNode, dialEntity, replayMemory } from '../src/index.ts'
import { UNOBSERVABLE } from '../src/constants.ts'
import { elligatorKeyPair } from '../src/internal/elligator2.ts'
import { clientHello } from '../src/internal/wire/hello.ts'
import { staticPublicFromEd25519, x25519Secret } from '../src/internal/wire/keys.ts'
import type { Refusal, ReplayMemory } from '../src/index.ts'
import type { Libp2p } from '@libp2p/interface'
import type { AddressInfo, Server } from 'node:net'

const SILENT = { min: 150, max: 300 }
let node: Libp2p
let port: number
let listenerKey: Uint8Array
let otherKey: Uint8Array
const refusals: Refusal[] = []

beforeAll(async () => {
  node = await createNode({
    privateKey: await generateKeyPair('Ed25519'),
    listen: ['/ip4/127.0.0.1/tcp/0'],
    unobservable: { silentClose: SILENT, onRefused: (reason) => { refusals.push(reason) } }
  })
  port = Number(node.getMultiaddrs()[0]!.getComponents().find(c => c.name === 'tcp')!.value)
  listenerKey = staticPublicFromEd25519(node.peerId.publicKey!.raw)
  otherKey = staticPublicFromEd25519((await generateKeyPair('Ed25519')).publicKey.raw)
})

afterAll(async () => {
  await node.stop()
})

/** A first flight as a legitimate initiator makes it, with overrides for the tests. */
function flight (init: { time?: number, padding?: number, listener?: Uint8Array } = {}): Uint8Array {
  const pair = elligatorKeyPair()
  const hello = clientHello({ listener: init.listener ?? listenerKey, secret: x25519Secret(pair.secretKey), representative: pair.representative, time: init.time ?? Date.now(), padding: init.padding ?? 40 })
  return hello!.bytes
}

interface Observed { received: number, closedBy: 'listener' | 'us', ms: number }

/** Connect, send `bytes`, and watch until the listener closes (or `waitMs` passes, then close ourselves). */
async function probe (bytes: Uint8Array | null, waitMs = 5_000, to = port): Promise<Observed> {
  const socket = connect({ port: to, host: '127.0.0.1' })
  await new Promise<void>((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject) })
  const start = performance.now()
  let received = 0
  socket.on('data', (d: Buffer) => { received += d.byteLength })
  socket.on('error', () => {})
  if (bytes != null) socket.write(bytes)
  return new Promise(resolve => {
    const timer = setTimeout(() => { socket.destroy(); resolve({ received, closedBy: 'us', ms: performance.now() - start }) }, waitMs)
    socket.once('close', () => { clearTimeout(timer); resolve({ received, closedBy: 'listener', ms: performance.now() - start }) })
  })
}

async function refusedWith (bytes: Uint8Array | null): Promise<{ observed: Observed, reason: Refusal | undefined }> {
  const before = refusals.length
  const observed = await probe(bytes)
  return { observed, reason: refusals[before] }
}

function flip (bytes: Uint8Array, at: number): Uint8Array {
  const copy = new Uint8Array(bytes)
  copy[at < 0 ? copy.byteLength + at : at]! ^= 0x01
  return copy
}

describe('unobservable layer: a listener answers only a first flight made with its key', () => {
  it('answers a valid first flight with its own hello, and nothing else', async () => {
    const observed = await probe(flight(), 1_000)
    expect(observed.received).toBeGreaterThanOrEqual(32 + 2 + 16)
    expect(observed.received).toBeLessThan(32 + 2 + 512 + 16 + 1)
  })

  // a garbled flight fails where its bytes first stop making sense: a padding length over the bound,
  // a wrong MAC, or too few bytes for the length it claims (then it waits for its close time)
  const GARBLED: Refusal[] = ['mac', 'padding', 'timeout']
  const cases: Array<[string, () => Uint8Array | null, Refusal[]]> = [
    ['nothing', () => null, ['timeout']],
    ['64 random bytes', () => randomBytes(64), GARBLED],
    ['the multistream header', () => Buffer.from('\x13/multistream/1.0.0\n'), ['timeout']],
    ['an HTTP request', () => Buffer.from('GET / HTTP/1.1\r\nHost: example.com\r\n\r\n'), GARBLED],
    ['an SSH banner', () => Buffer.from('SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n'), GARBLED],
    ['a truncated first flight', () => flight().subarray(0, 40), ['timeout']],
    ['a first flight with one bit of its MAC flipped', () => flip(flight(), -1), ['mac']],
    ['a first flight with one bit of its time flipped', () => flip(flight(), 35), ['mac']],
    ['a first flight with one bit of its padding flipped', () => flip(flight(), 50), ['mac']],
    ['a first flight with one bit of its representative flipped', () => flip(flight(), 3), GARBLED],
    ['a first flight made for another key', () => flight({ listener: otherKey }), GARBLED],
    ['a first flight that claims more padding than the bound', () => flight({ padding: 2000 }), ['padding']],
    ['a first flight ten minutes old', () => flight({ time: Date.now() - 600_000 }), ['stale']],
    ['a first flight from before the listener started', () => flight({ time: Date.now() - 60_000 }), ['stale']],
    ['a representative that maps to a low-order point', () => Buffer.concat([new Uint8Array(32), randomBytes(60)]), ['low-order']]
  ]
  for (const [what, make, reasons] of cases) {
    it(`sends nothing to ${what}, and closes at the connection's close time (${reasons.join(' or ')})`, async () => {
      const { observed, reason } = await refusedWith(make())
      expect(observed.received).toBe(0)
      expect(observed.closedBy).toBe('listener')
      expect(observed.ms).toBeGreaterThanOrEqual(SILENT.min - 20) // timers may fire a little early against performance.now()
      expect(reasons).toContain(reason)
    })
  }

  it('sends nothing to a replay of a first flight it accepted, within the window', async () => {
    const bytes = flight()
    expect((await probe(bytes, 1_000)).received).toBeGreaterThan(0)
    const { observed, reason } = await refusedWith(bytes)
    expect(observed.received).toBe(0)
    expect(observed.closedBy).toBe('listener')
    expect(reason).toBe('replay')
  })

  it('sends nothing to any byte string, and keeps serving (property)', async () => {
    await fc.assert(fc.asyncProperty(fc.uint8Array({ minLength: 0, maxLength: 400 }), async (bytes) => {
      const observed = await probe(bytes)
      expect(observed.received).toBe(0)
      expect(observed.closedBy).toBe('listener')
    }), { numRuns: 20 })
    const client = await createNode({ privateKey: await generateKeyPair('Ed25519'), listen: [] })
    try {
      const connection = await dialEntity(client, node.peerId, node.getMultiaddrs())
      expect(connection.status).toBe('open')
    } finally {
      await client.stop()
    }
  })
})

describe('unobservable layer: the initiator', () => {
  let fake: Server
  beforeAll(async () => {
    // answers any first flight with bytes that are not a listener's hello: more than the longest hello
    // (R_Y + head + the largest padding + MAC), so the initiator always has enough to decide; with fewer,
    // a random padding length beyond what was sent leaves it waiting for the rest until its dial times out
    fake = createServer((socket) => { socket.once('data', () => { socket.write(randomBytes(32 + 2 + UNOBSERVABLE.maxHelloPadding + 16 + 64)) }); socket.on('error', () => {}) })
    await new Promise<void>(resolve => fake.listen(0, '127.0.0.1', resolve))
  })
  afterAll(async () => { await new Promise(resolve => fake.close(resolve)) })

  it('refuses a listener whose hello fails its MAC (not the key in the address): the dial fails typed', async () => {
    const client = await createNode({ privateKey: await generateKeyPair('Ed25519'), listen: [] })
    try {
      const err = await dialEntity(client, node.peerId, [`/ip4/127.0.0.1/tcp/${(fake.address() as AddressInfo).port}`]).then(() => null, (e: Error) => e)
      expect(err?.name).toBe('DialFailedError')
      expect(String(err?.message)).toMatch(/HandshakeFailed|hello/i)
    } finally {
      await client.stop()
    }
  })

  it('will not dial an address without /p2p/<peer id>: PeerKeyRequiredError, before a byte is sent', async () => {
    let accepted = 0
    const silent = createServer((socket) => { accepted++; socket.on('data', () => { throw new Error('a byte was sent') }); socket.on('error', () => {}) })
    await new Promise<void>(resolve => silent.listen(0, '127.0.0.1', resolve))
    const client = await createNode({ privateKey: await generateKeyPair('Ed25519'), listen: [] })
    try {
      const err = await client.dial(multiaddr(`/ip4/127.0.0.1/tcp/${(silent.address() as AddressInfo).port}`)).then(() => null, (e: Error) => e)
      expect(err).not.toBeNull()
      expect(JSON.stringify(err, Object.getOwnPropertyNames(err)) + String((err as Error & { errors?: Error[] }).errors?.map(e => e.name))).toMatch(/PeerKeyRequiredError|\/p2p\/<peer id>/)
      expect(accepted).toBeLessThanOrEqual(1)
    } finally {
      await client.stop()
      await new Promise(resolve => silent.close(resolve))
    }
  })
})

describe('unobservable layer: listeners that share one socket share one replay memory', () => {
  it('refuses on one listener a first flight another accepted, when their memory is shared and answers later', async () => {
    const key = await generateKeyPair('Ed25519')
    const shared = replayMemory()
    // as a rendezvous point's workers ask their primary: the answer comes in a later turn
    const later: ReplayMemory = { check: async (time, tag) => new Promise(resolve => { setImmediate(() => { resolve(shared.check(time, tag)) }) }) }
    const seen: Refusal[] = []
    const listeners = await Promise.all([0, 1].map(async () => createNode({
      privateKey: key,
      listen: ['/ip4/127.0.0.1/tcp/0'],
      unobservable: { silentClose: SILENT, replayMemory: later, onRefused: (reason) => { seen.push(reason) } }
    })))
    try {
      const [a, b] = listeners.map(n => Number(n.getMultiaddrs()[0]!.getComponents().find(c => c.name === 'tcp')!.value))
      const bytes = staticFlight(key.publicKey.raw)
      expect((await probe(bytes, 1_000, a)).received).toBeGreaterThan(0)
      const replayed = await probe(bytes, 5_000, b)
      expect(replayed.received).toBe(0)
      expect(replayed.closedBy).toBe('listener')
      expect(seen).toEqual(['replay'])
      // and a fresh flight is still answered there, through the same memory
      expect((await probe(staticFlight(key.publicKey.raw), 1_000, b)).received).toBeGreaterThan(0)
    } finally {
      await Promise.all(listeners.map(async n => n.stop()))
    }
  })

  it('refuses a first flight when the shared memory cannot answer', async () => {
    const seen: Refusal[] = []
    const key = await generateKeyPair('Ed25519')
    const broken: ReplayMemory = { check: async () => { throw new Error('the primary is gone') } }
    const listener = await createNode({ privateKey: key, listen: ['/ip4/127.0.0.1/tcp/0'], unobservable: { silentClose: SILENT, replayMemory: broken, onRefused: (reason) => { seen.push(reason) } } })
    try {
      const to = Number(listener.getMultiaddrs()[0]!.getComponents().find(c => c.name === 'tcp')!.value)
      expect((await probe(staticFlight(key.publicKey.raw), 5_000, to)).received).toBe(0)
      expect(seen).toEqual(['full'])
    } finally {
      await listener.stop()
    }
  })
})

/** A legitimate first flight to the listener whose Ed25519 public key is `raw`. */
function staticFlight (raw: Uint8Array): Uint8Array {
  return flight({ listener: staticPublicFromEd25519(raw) })
}
