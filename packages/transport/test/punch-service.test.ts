// birthdayPunch's options are checked when the service is made, before any
// socket is opened (spec/direct-paths.md#classification: observers on two IPv4 addresses).
import { generateKeyPair } from '@libp2p/crypto/keys'
import { defaultLogger } from '@libp2p/logger'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { describe, expect, it } from 'vitest'
import { birthdayPunch } from '../src/punch.ts'
import type { BirthdayPunchComponents, BirthdayPunchInit } from '../src/punch.ts'

const id = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
const components = { logger: defaultLogger() } as unknown as BirthdayPunchComponents
const make = (init: BirthdayPunchInit): unknown => birthdayPunch(init)(components)
const error = (init: BirthdayPunchInit): unknown => { try { make(init); return undefined } catch (err) { return err } }

describe('birthdayPunch options', () => {
  it('takes observers on two IPv4 addresses', () => {
    expect(error({ observers: [`/ip4/198.18.0.1/udp/3479/p2p/${id}`, `/ip4/198.18.0.2/udp/3479/p2p/${id}`] })).toBeUndefined()
  })

  it('refuses observers on one address only: a NAT that maps per address would look consistent', () => {
    const err = error({ observers: [`/ip4/198.18.0.1/udp/3479/p2p/${id}`, `/ip4/198.18.0.1/udp/3480/p2p/${id}`] })
    expect(err).toBeInstanceOf(RangeError)
    expect((err as Error).message).toMatch(/two different IPs/)
  })

  it('refuses an IPv6 observer, which the IPv4 punch socket cannot reach', () => {
    expect(error({ observers: [`/ip4/198.18.0.1/udp/3479/p2p/${id}`, `/ip6/::1/udp/3479/p2p/${id}`] })).toBeInstanceOf(RangeError)
  })

  it('refuses an observer without a port, a peer id, or that is no multiaddr', () => {
    for (const bad of [`/ip4/198.18.0.1/p2p/${id}`, '/ip4/198.18.0.1/udp/3479', 'not a multiaddr', `/ip4/198.18.0.1/udp/0/p2p/${id}`]) {
      expect(error({ observers: [bad, `/ip4/198.18.0.2/udp/3479/p2p/${id}`] }), bad).toBeInstanceOf(RangeError)
    }
  })

  it('refuses out-of-range schedule options with a RangeError naming the option', () => {
    const observers = [`/ip4/198.18.0.1/udp/3479/p2p/${id}`, `/ip4/198.18.0.2/udp/3479/p2p/${id}`]
    for (const [key, value] of [['sockets', 0], ['sockets', 2000], ['intervalMs', 0], ['maxProbes', 1.5], ['lowTtl', 256], ['budgetMs', -1]] as const) {
      const err = error({ observers, [key]: value })
      expect(err, `${key}=${value}`).toBeInstanceOf(RangeError)
      expect((err as Error).message).toContain(key)
    }
  })

  it('refuses a missing observers list with a TypeError', () => {
    expect(error({} as BirthdayPunchInit)).toBeInstanceOf(TypeError)
  })
})
