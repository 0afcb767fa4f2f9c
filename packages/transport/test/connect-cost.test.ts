// What `createNode` does to keep a connect's CPU down without changing a byte
// on the wire (bench/README.md § Connect latency): Noise's identity signature
// made once per node (internal/noise-signature.ts), and loggers that cost
// nothing until their namespace is enabled (internal/quiet-logger.ts).
import { generateKeyPair } from '@libp2p/crypto/keys'
import { disable, enable } from '@libp2p/logger'
import { afterEach, describe, expect, it } from 'vitest'
import { createNode, openStream } from '../src/index.ts'
import { KeptSigner } from '../src/internal/noise-signature.ts'
import { quietLogger } from '../src/internal/quiet-logger.ts'
import { resources } from './resources.ts'
import type { PrivateKey } from '@libp2p/interface'

const PROTOCOL = '/fara-test/connect-cost/1'

/** `key`, counting the calls to its own `sign`. */
function counted (key: PrivateKey): { key: PrivateKey, signs: () => number } {
  let signs = 0
  const sign = (data: Parameters<PrivateKey['sign']>[0]): ReturnType<PrivateKey['sign']> => { signs++; return key.sign(data) }
  return { key: Object.create(key, { sign: { value: sign } }) as PrivateKey, signs: () => signs }
}

describe('a connect\'s CPU', () => {
  const r = resources()

  it('signs the Noise static key once per node, however many connections it makes or takes', async () => {
    const listenerKey = counted(await generateKeyPair('Ed25519'))
    const dialerKey = counted(await generateKeyPair('Ed25519'))
    const listener = await createNode({ privateKey: listenerKey.key, listen: ['/ip4/127.0.0.1/tcp/0'] })
    const dialer = await createNode({ privateKey: dialerKey.key, listen: [] })
    r.nodes.push(listener, dialer)
    await listener.handle(PROTOCOL, async (stream) => {
      for await (const chunk of stream) stream.send(chunk)
      await stream.close()
    })
    for (let i = 0; i < 3; i++) {
      const stream = await openStream(dialer, listener.peerId, listener.getMultiaddrs(), PROTOCOL)
      stream.send(Uint8Array.of(i))
      await stream.close()
      const echoed: number[] = []
      for await (const chunk of stream) echoed.push(...chunk.subarray())
      expect(echoed).toEqual([i])
      await dialer.hangUp(listener.peerId)
    }
    // three handshakes on each side, each checked by the other side's Noise: one signature each
    expect(listenerKey.signs()).toBe(1)
    expect(dialerKey.signs()).toBe(1)
  })

  it('answers the kept message with the key\'s own signature, and signs anything else afresh', async () => {
    const key = counted(await generateKeyPair('Ed25519'))
    const signer = new KeptSigner(key.key)
    const kept = new TextEncoder().encode('noise-libp2p-static-key:0123456789abcdef0123456789abcdef')
    signer.keep(kept)
    const first = await signer.key.sign(kept)
    const again = await signer.key.sign(Uint8Array.from(kept))
    expect(again).toEqual(first)
    expect(key.key.publicKey.verify(kept, first)).toBe(true)
    const other = new TextEncoder().encode('something else')
    expect(key.key.publicKey.verify(other, await signer.key.sign(other))).toBe(true)
    expect(key.signs()).toBe(2)
    // everything else is the key's own
    expect(signer.key.publicKey.equals(key.key.publicKey)).toBe(true)
    expect(signer.key.type).toBe('Ed25519')
  })
})

describe('quietLogger', () => {
  afterEach(() => { disable() })

  it('is disabled while DEBUG names nothing, follows enable() at any time, and scopes like libp2p\'s', () => {
    const log = quietLogger().forComponent('fara-test:quiet')
    const scoped = log.newScope('inner')
    expect(log.enabled).toBe(false)
    expect(scoped.enabled).toBe(false)
    // a disabled logger takes any call and prints nothing
    log('%s', 'nothing'); log.error('nothing'); log.trace('nothing'); scoped('nothing')
    enable('fara-test:quiet:inner')
    expect(log.enabled).toBe(false)
    expect(scoped.enabled).toBe(true)
    enable('fara-test:*')
    expect(log.enabled).toBe(true)
    disable()
    expect(scoped.enabled).toBe(false)
  })
})
