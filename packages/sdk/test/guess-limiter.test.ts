// The counting behind AId-guessing limits (spec/security.md#guessing), with a clock the test controls:
// per connection, per key with a backoff that doubles, and per source address without ever blocking it.
import { multiaddr } from '@multiformats/multiaddr'
import { describe, expect, it } from 'vitest'
import { GUESS_LIMITS } from '../src/constants.ts'
import { GuessLimiter, sourceOf } from '../src/internal/guesses.ts'
import type { GuessLimits } from '../src/index.ts'
import type { Connection } from '@libp2p/interface'

/** Just what the limiter reads of a connection. */
const conn = (peer: string, addr = '/ip4/198.51.100.7/tcp/4001'): Connection => ({ remotePeer: { toString: () => peer }, remoteAddr: multiaddr(addr) }) as unknown as Connection

function limiter (limits: Partial<GuessLimits>): { g: GuessLimiter, advance: (ms: number) => void } {
  let t = 1_000_000
  return { g: new GuessLimiter({ ...GUESS_LIMITS, ...limits }, () => t), advance: (ms) => { t += ms } }
}

describe('GuessLimiter', () => {
  it('closes a connection at its refusal after perConnection, and counts each connection apart', () => {
    const { g } = limiter({ perConnection: 3 })
    const a = conn('k1')
    const closes = Array.from({ length: 4 }, () => g.refused(a, sourceOf(a)).closeConnection)
    expect(closes).toEqual([false, false, false, true])
    expect(g.refused(conn('k1'), '198.51.100.7').closeConnection).toBe(false)
  })

  it('blocks a key that runs out, for a block that doubles each time up to maxBlockMs, and forgets the backoff after a quiet spell', () => {
    const { g, advance } = limiter({ burst: 2, rate: 0.001, blockMs: 1_000, maxBlockMs: 4_000, perConnection: 1_000, sourceBurst: 1_000 })
    const c = conn('k1')
    const peerBlock = (): number => g.refused(c, 'x').blocks.find(b => b.scope === 'peer')?.blockMs ?? 0
    expect([peerBlock(), peerBlock(), peerBlock()]).toEqual([0, 0, 1_000])
    expect(g.blocked(c)).toBe(true)
    // refusals while blocked change nothing
    expect(peerBlock()).toBe(0)
    const blocks: number[] = []
    for (let i = 0; i < 4; i++) {
      advance(blocks.at(-1) ?? 1_000)
      expect(g.blocked(c)).toBe(false)
      blocks.push(peerBlock())
    }
    expect(blocks).toEqual([2_000, 4_000, 4_000, 4_000])
    // a quiet spell longer than the longest block: back to the first block
    advance(4_000 + 4_001)
    expect(peerBlock()).toBe(1_000)
    // another key is not blocked
    expect(g.blocked(conn('k2'))).toBe(false)
  })

  it('throttles a source that runs out without blocking it: its connections close at their first refusal, other keys are never refused', () => {
    const { g, advance } = limiter({ sourceBurst: 3, sourceRate: 0.001, blockMs: 1_000, burst: 1_000, perConnection: 1_000 })
    const keys = ['a', 'b', 'c', 'd'].map(k => conn(k))
    const verdicts = keys.map(c => g.refused(c, sourceOf(c)))
    expect(verdicts.map(v => v.blocks.map(b => b.scope))).toEqual([[], [], [], ['source', 'connection']])
    expect(verdicts[3]!.blocks[0]).toEqual({ scope: 'source', source: '198.51.100.7', blockMs: 1_000 })
    // throttled: a fresh connection of a fresh key is closed at its first refusal, and nothing is blocked
    const fresh = conn('e')
    expect(g.refused(fresh, sourceOf(fresh))).toMatchObject({ closeConnection: true, closePeer: false })
    expect(keys.concat(fresh).some(c => g.blocked(c))).toBe(false)
    // the throttle ends; the bucket is empty, so the next refusal throttles again, for twice as long
    advance(1_001)
    const next = conn('f')
    expect(g.refused(next, sourceOf(next)).blocks[0]).toMatchObject({ scope: 'source', blockMs: 2_000 })
  })

  it("counts a relayed connection by its key and connection only: the relay's address is everyone's", () => {
    const relayed = conn('k1', '/ip4/127.0.0.1/tcp/1/p2p/12D3KooWECrYcrnCk4AMUYbN6UxVX3MpCZS5tUs3bvd3c4fBddJJ/p2p-circuit/p2p/12D3KooWJeNGkykN1jeMVKjrQ7hckv8sJnBNghFKf67iCGViUyVW')
    expect(sourceOf(relayed)).toBe('relayed')
    const { g } = limiter({ sourceBurst: 1, perConnection: 1_000 })
    const scopes = Array.from({ length: 5 }, () => g.refused(relayed, 'relayed').blocks.map(b => b.scope)).flat()
    expect(scopes).not.toContain('source')
    expect(sourceOf(conn('k', '/ip6/2001:db8:0:1:aaaa::7/tcp/1'))).toBe('2001:db8:0:1::/64')
  })

  it('checks its limits', () => {
    expect(() => new GuessLimiter({ ...GUESS_LIMITS, perConnection: 0 })).toThrow(/guess limit perConnection must be a positive number/)
  })
})
