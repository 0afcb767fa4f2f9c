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
