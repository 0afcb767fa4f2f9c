import { describe, expect, it } from 'vitest'
import { readAll, rejection } from '@fara/testkit'
import { ReplyCode } from '@fara/demux'
import { echo } from './echo.ts'
import { entityPool } from './entities.ts'

describe('sdk: serve({ allow }) admits only the listed keys', () => {
  const { entity } = entityPool()

  it('serves a client whose stable key is allowed, refuses any other key with REFUSED (5), and asks with the proven key', async () => {
    const server = await entity('echo')
    const friend = await entity('friend', [])
    const stranger = await entity('stranger', [])
    const asked: string[] = []
    await server.serve('echo', echo, { allow: (peer) => { asked.push(peer.toString()); return peer.equals(friend.peerId) } })

    const ok = await friend.connect('echo', { stableIdentity: true })
    ok.send(Buffer.from('hello'))
    await ok.close()
    expect((await readAll(ok)).toString()).toBe('hello')

    const refused = await stranger.connect('echo', { stableIdentity: true })
    const err = await rejection(readAll(refused))
    expect(err.name).toBe('AssociationRejectedError')
    expect(err.code).toBe(ReplyCode.REFUSED)

    // a fresh one-time key is not on the list either
    const ephemeral = await friend.connect('echo')
    expect((await rejection(readAll(ephemeral))).code).toBe(ReplyCode.REFUSED)

    expect(asked.slice(0, 2)).toEqual([friend.peerId.toString(), stranger.peerId.toString()])
    expect(asked).toHaveLength(3)
    expect(asked[2]).not.toBe(friend.peerId.toString())
    // refusals are not AId guessing: nobody was blocked
    expect(server.guessesBlocked).toBe(0)
  })

  it('refuses a non-function allow with a TypeError', async () => {
    const server = await entity('echo')
    await expect(server.serve('echo', echo, { allow: ['12D3KooW'] as never })).rejects.toThrow(TypeError)
  })
})
