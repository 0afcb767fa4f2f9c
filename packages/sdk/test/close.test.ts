// An entity that closes on purpose ends its associations itself
// (spec/resumption.md, the end of "Closing"): the ABORT frame goes out behind
// the data already queued on the path, and the node stops only after that, so
// the peer fails at once with the reason instead of resuming into nothing.
import { describe, expect, it } from 'vitest'
import { createEntity } from '../src/index.ts'
import { LOOPBACK, entityPool } from './entities.ts'

describe('Entity.close with data queued', () => {
  const { entity, track, rendezvous } = entityPool()

  it('delivers the queued data and then the reset to a peer that was not reading, before the node stops', async () => {
    const server = await entity('server')
    let full!: () => void
    const queued = new Promise<void>((resolve) => { full = resolve })
    let sent = 0
    await server.serve('firehose', async (a) => {
      const chunk = new Uint8Array(64 * 1024).fill(7)
      // fill every window and queue between here and the client, which reads nothing yet
      while (a.send(chunk)) sent += chunk.byteLength
      sent += chunk.byteLength
      full()
      await a.finished.catch(() => {})
    })
    // a short resume timeout: a lost ABORT frame fails this test in 3 s instead of 30
    const client = track(await createEntity({ app: 'client', rendezvous, listen: LOOPBACK, demux: { resumeTimeout: 3_000 } }))
    const association = await client.connect('firehose')
    await queued
    const closing = server.close()
    let got = 0
    let read: Error | undefined
    try {
      for await (const chunk of association) got += chunk.byteLength
    } catch (err) {
      read = err as Error
    }
    await closing
    expect(read?.name).toBe('AssociationResetError')
    expect(read?.message).toMatch(/server closed/)
    // nothing the server had queued before its close was lost
    expect(got).toBe(sent)
  })
})

describe('Entity.close while data pours in', () => {
  const { entity, track, rendezvous } = entityPool()

  it('tells the sender at once (ABORT, AssociationResetError), though its data keeps arriving until the path closes', async () => {
    // a long resume timeout: a lost ABORT frame leaves the server waiting for a resumption, and the test times out
    const server = track(await createEntity({ app: 'server', rendezvous, listen: LOOPBACK, demux: { resumeTimeout: 60_000 } }))
    let flowing!: () => void
    const started = new Promise<void>((resolve) => { flowing = resolve })
    let ended!: (err: Error | undefined) => void
    const serverEnd = new Promise<Error | undefined>((resolve) => { ended = resolve })
    await server.serve('firehose', async (a) => {
      const chunk = new Uint8Array(256 * 1024).fill(7)
      try {
        while (true) {
          if (!a.send(chunk)) await a.onDrain()
        }
      } catch (err) {
        ended(err as Error)
      }
    })
    const client = await entity('client', [])
    const association = await client.connect('firehose')
    // read at full speed, so the server's window is wide open when the client leaves (the client's
    // per-association node must outlive the ABORT frame queued behind the data it still acknowledges)
    let got = 0
    const reading = (async () => {
      try {
        for await (const chunk of association) {
          got += chunk.byteLength
          if (got >= 32 * 1024 * 1024) flowing()
        }
      } catch { /* the reset ends the reading */ }
    })()
    await started
    await client.close()
    await reading
    const err = await serverEnd
    expect(err?.name).toBe('AssociationResetError')
    expect(err?.message).toMatch(/client closed/)
  })
})
