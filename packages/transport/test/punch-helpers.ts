// Helpers of the punch and observer tests (punch-*.test.ts, observer-*.test.ts):
// a UDP socket whose packets are awaited in order, and a way to show that
// nothing more arrived without sleeping: a marker sent to the socket itself
// arrives after every packet the kernel queued before it.
import { randomBytes } from 'node:crypto'
import { createSocket } from 'node:dgram'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { defaultLogger } from '@libp2p/logger'
import UDX from 'udx-native'
import { natObserver } from '../src/index.ts'
import { staticKeyFromEd25519, staticPublicFromEd25519 } from '../src/internal/wire/keys.ts'
import type { NatObserver, NatObserverInit } from '../src/index.ts'
import type { PrivateKey } from '@libp2p/interface'
import type { KeyObject } from 'node:crypto'
import type { Socket } from 'node:dgram'
import type { UdxSocket } from 'udx-native'

export interface Packet { msg: Buffer, from: { host: string, port: number } }

/** A node:dgram socket that queues what it receives; {@link Inbox.next} takes packets in arrival order. */
export class Inbox {
  readonly socket: Socket
  readonly host: string
  readonly #queue: Packet[] = []
  readonly #waiters: Array<(p: Packet) => void> = []

  private constructor (socket: Socket, host: string) {
    this.socket = socket
    this.host = host
    socket.on('message', (msg, from) => {
      const packet = { msg, from: { host: from.address, port: from.port } }
      const waiter = this.#waiters.shift()
      if (waiter != null) waiter(packet)
      else this.#queue.push(packet)
    })
  }

  /** Bind a socket on `host`, port 0. */
  static async open (host = '127.0.0.1'): Promise<Inbox> {
    const socket = createSocket('udp4')
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject)
      socket.bind(0, host, () => { socket.off('error', reject); resolve() })
    })
    return new Inbox(socket, host)
  }

  get port (): number { return this.socket.address().port }

  /** The next packet (queued or still to come); with `from`, the next one from there (others are dropped). */
  async next (from?: { host: string, port: number }): Promise<Packet> {
    for (;;) {
      const p = this.#queue.shift() ?? await new Promise<Packet>(resolve => { this.#waiters.push(resolve) })
      if (from == null || (p.from.host === from.host && p.from.port === from.port)) return p
    }
  }

  /** Send and resolve once the datagram has left (so sends from one test are ordered). */
  async send (bytes: Uint8Array, port: number, host = '127.0.0.1'): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.socket.send(bytes, port, host, (err) => { if (err == null) resolve(); else reject(err) })
    })
  }

  /**
   * Every packet that reached this socket before now and was not taken yet
   * (a marker sent to itself closes the list); with `from`, only those from
   * these endpoints (a stray packet from another test on loopback is not ours).
   */
  async drain (from?: Array<{ host: string, port: number }>): Promise<Packet[]> {
    const marker = randomBytes(16)
    await this.send(marker, this.port, this.host)
    const out: Packet[] = []
    for (;;) {
      const p = await this.next()
      if (p.from.port === this.port && p.msg.equals(marker)) return out
      if (from == null || from.some(f => f.host === p.from.host && f.port === p.from.port)) out.push(p)
    }
  }

  async close (): Promise<void> {
    await new Promise<void>(resolve => { this.socket.close(() => { resolve() }) })
  }
}

/** A packet a udx socket was asked to send. */
export interface Sent { bytes: Uint8Array, port: number, host: string | undefined, ttl: number | undefined }

/**
 * Record every trySend of `socket` (what the code under test asked for,
 * whatever the kernel then did); with `through: false` nothing leaves.
 */
export function recordSends (socket: UdxSocket, through = true): Sent[] {
  const sent: Sent[] = []
  const trySend = socket.trySend.bind(socket)
  socket.trySend = (bytes, port, host, ttl) => {
    sent.push({ bytes: new Uint8Array(bytes), port, host, ttl })
    if (through) trySend(bytes, port, host, ttl)
  }
  return sent
}

/** Things a test opened, closed after it. */
export class Resources {
  readonly #closers: Array<() => Promise<void>> = []

  add (close: () => Promise<void>): void { this.#closers.push(close) }

  async inbox (host = '127.0.0.1'): Promise<Inbox> {
    const inbox = await Inbox.open(host)
    this.add(async () => { await inbox.close() })
    return inbox
  }

  udxSocket (udx = new UDX()): UdxSocket {
    const socket = udx.createSocket()
    socket.bind(0, '0.0.0.0')
    this.add(async () => { await socket.close().catch(() => {}) })
    return socket
  }

  async observer (init: NatObserverInit, privateKey?: PrivateKey): Promise<ObserverUnderTest> {
    const o = await startObserver(init, privateKey)
    this.add(async () => { await o.observer.stop() })
    return o
  }

  async closeAll (): Promise<void> {
    for (const close of this.#closers.splice(0).reverse()) await close()
  }
}

/** A started observer, with its keys as an asker and the test (which made its node key) know them. */
export interface ObserverUnderTest {
  observer: NatObserver
  /** Its static X25519 public key, as an asker derives it from the peer id. */
  key: Uint8Array
  /** Its static X25519 secret (the test's own copy, for fake observers under the same key). */
  secret: KeyObject
  publicKey: Uint8Array
}

export async function startObserver (init: NatObserverInit, privateKey?: PrivateKey): Promise<ObserverUnderTest> {
  const nodeKey = privateKey ?? await generateKeyPair('Ed25519')
  const observer = natObserver(init)({ privateKey: nodeKey, logger: defaultLogger() })
  await observer.start()
  const { secret, publicKey } = staticKeyFromEd25519(nodeKey.raw.subarray(0, 32))
  return { observer, key: staticPublicFromEd25519(nodeKey.publicKey.raw), secret, publicKey }
}

/** The X25519 key of a node nobody runs. */
export async function strangerKey (): Promise<Uint8Array> {
  return staticPublicFromEd25519((await generateKeyPair('Ed25519')).publicKey.raw)
}
