import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { streamPair } from '@libp2p/utils'
import { afterEach, beforeAll } from 'vitest'
import { aidToHex, createDemux } from '../src/index.ts'
import type { Association, Demux } from '../src/index.ts'
import type { PeerId, Stream } from '@libp2p/interface'
import type { StreamPairOptions } from '@libp2p/utils'

/** Shared helpers for the demux tests; call {@link useStreams} once per test file. */
export const peers: { alice: PeerId, bob: PeerId } = {} as never
const opened: Stream[] = []

/** Create the two peers before the file's tests and abort every stream a test left open. */
export function useStreams (): void {
  beforeAll(async () => {
    peers.alice = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    peers.bob = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
  })
  afterEach(() => {
    for (const s of opened.splice(0)) {
      if (s.status === 'open') s.abort(new Error('test over'))
    }
  })
}

/** A connected pair of real libp2p v3 streams: [initiator end, responder end]. */
export async function pair (opts: StreamPairOptions = {}): Promise<[Stream, Stream]> {
  const [out, inb] = await streamPair(opts)
  opened.push(out, inb)
  return [out, inb]
}


/** Resolves once the stream has fully closed (or at once if it already has). */
export async function closed (stream: Stream): Promise<void> {
  if (stream.status !== 'open') return
  await new Promise<void>(resolve => { stream.addEventListener('close', () => { resolve() }, { once: true }) })
}

export const hex = (b: Uint8Array | undefined): string => b == null ? 'undefined' : aidToHex(b)

export interface Setup {
  initiator: Demux<string>
  responder: Demux<string>
  serviceAid: Uint8Array
}

/** An initiator demux and a responder demux with one service, 'echo', listening. */
export function setup (): Setup {
  const initiator = createDemux<string>()
  const responder = createDemux<string>()
  return { initiator, responder, serviceAid: responder.listen('echo') }
}

/**
 * Send `data` in `chunk`-sized pieces honouring backpressure, calling `at(sent)` after each, then close.
 * With `turns`, each piece goes in a turn of the event loop of its own, as a sender fed by socket reads
 * sends (the in-memory streams resolve `onDrain` in microtasks, so without it the sends of a whole
 * transfer can fall in one turn, whose end is when the association writes what is under 1 MiB).
 */
export async function sendAll (a: Association, data: Uint8Array, chunk: number, at: (sent: number) => void = () => {}, turns = false): Promise<void> {
  for (let i = 0; i < data.byteLength; i += chunk) {
    if (turns) await new Promise(resolve => setImmediate(resolve))
    if (!a.send(data.subarray(i, i + chunk))) await a.onDrain()
    at(i + chunk)
  }
  await a.close()
}

/** Send back everything that arrives, then close. */
export async function echo (a: Association): Promise<void> {
  for await (const chunk of a) {
    if (!a.send(chunk)) await a.onDrain()
  }
  await a.close()
}
