// Two ends of the unobservable layer over an in-memory connection pair: what
// libp2p writes above the layer comes out unchanged on the other side, before
// and after the switch to passthrough, in every split.
import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { collect, noiseMessage, select, wirePair } from './wire-pair.ts'

describe('unobservable connection', () => {
  for (const writes of [0, 3, 16]) {
    it(`carries a Noise-shaped stream both ways, switching to passthrough once the handshake is over and ${writes} padded writes are spent`, async () => {
      const { initiator, listener } = await wirePair(writes)
      // initiator: select + msg 1, then msg 3, then transport messages (some split across writes); a
      // transport message is never shorter than its 16-byte tag (shorter lengths are the records' escape)
      const i2l = [Buffer.concat([select, noiseMessage(32)]), noiseMessage(200), ...Array.from({ length: 24 }, (_, i) => noiseMessage(16 + i * 997 % 65519))]
      const l2i = [Buffer.concat([select, noiseMessage(150)]), ...Array.from({ length: 24 }, (_, i) => noiseMessage(16 + i * 1499 % 65519))]
      const wantAtListener = Buffer.concat(i2l)
      const wantAtInitiator = Buffer.concat(l2i)
      const atListener = collect(listener, wantAtListener.byteLength)
      initiator.send(i2l[0]!)
      await listener.verified
      const atInitiator = collect(initiator, wantAtInitiator.byteLength)
      // each write in its own turn of the event loop, so each is its own write below (sends of one turn are joined)
      const turn = async (): Promise<void> => { await new Promise(resolve => setImmediate(resolve)) }
      for (const m of l2i) { listener.send(m); await turn() }
      for (const m of i2l.slice(1)) {
        // one message in two writes, at an odd place
        const cut = Math.floor(m.byteLength / 3)
        initiator.send(m.subarray(0, cut))
        await turn()
        initiator.send(m.subarray(cut))
        await turn()
      }
      expect((await atListener).equals(wantAtListener)).toBe(true)
      expect((await atInitiator).equals(wantAtInitiator)).toBe(true)
      expect(initiator.passthrough).toEqual({ sending: true, receiving: true })
      expect(listener.passthrough).toEqual({ sending: true, receiving: true })
      for (const c of [initiator, listener]) c.abort(new Error("done")) // the in-memory pair has no graceful close to wait for
    })
  }

  it('answers the selection of /noise inside the layer: the initiator has the answer without the listener sending it, and a listener that answers anything else is cut off', async () => {
    const { initiator, listener } = await wirePair(0)
    const got = collect(initiator, select.byteLength)
    initiator.send(Buffer.concat([select, noiseMessage(32)]))
    await listener.verified
    expect((await got).equals(select)).toBe(true) // the listener has sent nothing yet
    const closed = new Promise<unknown>(resolve => { listener.addEventListener('close', (evt) => { resolve((evt as unknown as { error?: Error }).error) }, { once: true }) })
    listener.send(Buffer.from('\x13/multistream/1.0.0\n\x03na\n', 'latin1'))
    expect(await closed).toMatchObject({ name: 'HandshakeFailedError' })
    initiator.abort(new Error('done'))
  })

  it('never switches a stream that is not libp2p-noise: it stays framed and still carries every byte', async () => {
    const { initiator, listener } = await wirePair(0)
    const data = randomBytes(300_000)
    const got = collect(listener, data.byteLength)
    initiator.send(data.subarray(0, 1000))
    await listener.verified
    initiator.send(data.subarray(1000))
    expect((await got).equals(data)).toBe(true)
    expect(initiator.passthrough.sending).toBe(false)
    for (const c of [initiator, listener]) c.abort(new Error("done"))
  })
})
