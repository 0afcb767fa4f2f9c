// A rendezvous point limits requests and held records per source address and per source prefix as well
// as per key (spec/rendezvous.md#rate-limits): one host with a fresh key per request is refused, its
// neighbours and other networks are served, and every refusal is reported once per limit and source.
import { generateKeyPair } from '@libp2p/crypto/keys'
import { describe, expect, it } from 'vitest'
import { pointHarness } from './points.ts'
import { createRecord, rendezvousPoint } from '../src/index.ts'
import { Status } from '../src/constants.ts'
import type { RendezvousPointHandle } from '../src/index.ts'

const { point, client } = pointHarness()

/** One resolve from a fresh key at `from`: the answer's error name (NameNotFoundError: served). */
async function resolveOnce (p: RendezvousPointHandle, from: string): Promise<string> {
  const node = await client(from)
  return rendezvousPoint(p.multiaddrs)({ node }).resolve('nobody').then(() => 'found', (err: Error) => err.name)
}

describe('rendezvous point per-source limits', () => {
  it('refuses a host that uses a fresh key per request once its address is over its rate, and serves its neighbour and other networks', async () => {
    const { point: p, refusals } = await point({ addressRate: 0.001, addressBurst: 3, prefixRate: 0.001, prefixBurst: 5 })
    const answers: string[] = []
    for (let i = 0; i < 5; i++) answers.push(await resolveOnce(p, '127.0.20.1'))
    // every key is fresh, so the per-key limit never applies: the address's does
    expect(answers).toEqual([...Array(3).fill('NameNotFoundError'), 'RateLimitedError', 'RateLimitedError'])
    // a neighbour in the same /24 has the rest of the prefix's share (the refused requests took none of it)
    expect([await resolveOnce(p, '127.0.20.2'), await resolveOnce(p, '127.0.20.2'), await resolveOnce(p, '127.0.20.2')])
      .toEqual(['NameNotFoundError', 'NameNotFoundError', 'RateLimitedError'])
    // another network is served
    expect(await resolveOnce(p, '127.0.21.1')).toBe('NameNotFoundError')
    expect(p.server.stats.rateLimited).toBe(3)
    // each limit and source is reported once (the second refusal of 127.0.20.1 was within the report interval)
    expect(refusals.map(r => [r.kind, r.limit, r.source, r.max, r.refused])).toEqual([
      ['requests', 'address', '127.0.20.1', 0.001, 1],
      ['requests', 'prefix', '127.0.20.0/24', 0.001, 1]
    ])
  })

  it('names the limit in the RATE_LIMITED answer and says when to retry', async () => {
    const { point: p } = await point({ addressRate: 0.1, addressBurst: 1 })
    const node = await client('127.0.22.1')
    const rv = rendezvousPoint(p.multiaddrs)({ node })
    await expect(rv.resolve('nobody')).rejects.toMatchObject({ name: 'NameNotFoundError' })
    const err = await rendezvousPoint(p.multiaddrs)({ node: await client('127.0.22.1') }).resolve('nobody').catch((e: unknown) => e)
    expect(err).toMatchObject({ name: 'RateLimitedError', code: Status.RATE_LIMITED, message: 'too many requests from address 127.0.22.1 (at most 0.1/s, burst 1)' })
    expect((err as { retryAfterMs: number }).retryAfterMs).toBeGreaterThan(0)
    expect((err as { retryAfterMs: number }).retryAfterMs).toBeLessThanOrEqual(10_000)
  })

  it('caps the records that registrations from one address and one prefix hold, under any number of keys', async () => {
    const { point: p, refusals } = await point({ maxRecordsPerAddress: 2, maxRecordsPerPrefix: 3 })
    const register = async (from: string, name: string): Promise<string> => {
      const node = await client(from)
      const record = await createRecord(await generateKeyPair('Ed25519'), { name, addrs: ['/ip4/127.0.0.1/tcp/4001'], aid: new Uint8Array(8) })
      return rendezvousPoint(p.multiaddrs)({ node }).register(record).then(() => 'ok', (err: Error) => err.name)
    }
    const results: string[] = []
    for (let i = 0; i < 3; i++) results.push(await register('127.0.23.1', `a-${i}`))
    results.push(await register('127.0.23.2', 'n-0'), await register('127.0.23.2', 'n-1'))
    results.push(await register('127.0.24.1', 'other'))
    expect(results).toEqual(['ok', 'ok', 'TooManyRegistrationsError', 'ok', 'TooManyRegistrationsError', 'ok'])
    expect(p.server.store.size).toBe(4)
    expect(refusals.map(r => [r.kind, r.limit, r.source, r.max])).toEqual([
      ['registrations', 'address', '127.0.23.1', 2],
      ['registrations', 'prefix', '127.0.23.0/24', 3]
    ])
  })
})
