import { createHash, randomBytes } from 'node:crypto'
import fc from 'fast-check'
import { createIdentity, selfCertifyingName } from '@fara/identity'
import { beforeAll, describe, expect, it } from 'vitest'
import { thrownIfAny } from '@fara/testkit'
import {
  INVITE_CHECKSUM_BYTES, INVITE_PREFIX, MAX_INVITE_ADDRS, MAX_INVITE_CHARS, MAX_INVITE_SECRET_BYTES, NS_INVITE_CHECKSUM,
  decodeInvite, encodeInvite, inviteFor, inviteQr
} from '../src/internal/invite.ts'
import { mutate, mutations, runs } from '@fara/testkit/props'
import type { Invite } from '../src/internal/invite.ts'

const BASE58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz'

/** An Ed25519 peer id (identity multihash of the protobuf public key) for `key`, in base58btc. */
function peerId (key: Uint8Array): string {
  const bytes = Uint8Array.from([0x00, 0x24, 0x08, 0x01, 0x12, 0x20, ...key])
  let n = BigInt(`0x${Buffer.from(bytes).toString('hex')}`)
  let out = ''
  while (n > 0n) { out = BASE58[Number(n % 58n)]! + out; n /= 58n }
  for (const b of bytes) { if (b !== 0) break; out = `1${out}` }
  return out
}

const ID = peerId(new Uint8Array(32).fill(7))
/** A self-certifying name with the longest label: the longest service name (120 bytes). */
let LONGEST_NAME = ''
beforeAll(async () => { LONGEST_NAME = selfCertifyingName('l'.repeat(63), (await createIdentity({ app: 'device' })).publicKey) })
const POINT = `/ip4/203.0.113.7/tcp/44173/p2p/${ID}`

/** A body with a valid checksum: what a careful forger could send. */
function sealed (body: number[] | Uint8Array): string {
  const b = Buffer.from(body)
  const sum = createHash('sha256').update(NS_INVITE_CHECKSUM).update(b).digest().subarray(0, INVITE_CHECKSUM_BYTES)
  return INVITE_PREFIX + Buffer.concat([b, sum]).toString('base64url')
}

/** The binary multiaddr of POINT, with its length byte. */
function pointField (): number[] {
  const bytes = Buffer.from(encodeInvite({ rendezvous: [POINT] }).slice(INVITE_PREFIX.length), 'base64url')
  const length = bytes[3]!
  return [...bytes.subarray(3, 4 + length)]
}

function invalid (text: string): string {
  const err = thrownIfAny(() => decodeInvite(text))
  expect(err?.name, `expected InvalidInviteError for ${text}`).toBe('InvalidInviteError')
  return err!.message
}

const addrArb = fc.tuple(
  fc.oneof(fc.ipV4().map(ip => `/ip4/${ip}`), fc.stringMatching(/^[a-z][a-z0-9-]{0,40}\.example$/).map(h => `/dns4/${h}`)),
  fc.integer({ min: 1, max: 65535 }),
  fc.uint8Array({ minLength: 32, maxLength: 32 })
).map(([host, port, key]) => `${host}/tcp/${port}/p2p/${peerId(key)}`)

const nameArb = fc.stringMatching(/^[a-z0-9][a-z0-9._-]{0,62}$/).filter(n => !/\.[a-z2-7]{56}$/.test(n))

const inviteArb: fc.Arbitrary<Invite> = fc.record({
  rendezvous: fc.array(addrArb, { minLength: 1, maxLength: MAX_INVITE_ADDRS }),
  target: fc.oneof(
    fc.constant({}),
    nameArb.map(name => ({ name })),
    nameArb.map(name => ({ name, private: true })),
    fc.tuple(nameArb, fc.string({ unit: 'grapheme', maxLength: 60 }).filter(s => Buffer.byteLength(s) <= MAX_INVITE_SECRET_BYTES))
      .map(([name, secret]) => ({ name, private: true, secret }))
  )
}).map(({ rendezvous, target }) => ({ rendezvous, ...target }))

describe('invites: round trip', () => {
  it.each<[string, Invite]>([
    ['a rendezvous point alone', { rendezvous: [POINT] }],
    ['a public name', { rendezvous: [POINT], name: 'web' }],
    ['a private name without a secret', { rendezvous: [POINT], name: 'db', private: true }],
    ['a private name with a secret', { rendezvous: [POINT, `/ip6/2001:db8::7/tcp/1/p2p/${ID}`], name: 'db', private: true, secret: 'correct horse ✓' }],
    ['an empty secret', { rendezvous: [POINT], name: 'db', private: true, secret: '' }],
    ['a self-certifying name', { rendezvous: [POINT], name: 'self-certifying' }]
  ])('%s', (_, given) => {
    const invite = given.name === 'self-certifying' ? { ...given, name: LONGEST_NAME } : given
    const text = encodeInvite(invite)
    expect(text.startsWith(INVITE_PREFIX)).toBe(true)
    expect(text).toMatch(/^fara1:[A-Za-z0-9_-]+$/)
    expect(decodeInvite(text)).toEqual(invite)
  })

  it('ignores white space around the text (a copied line)', () => {
    const text = encodeInvite({ rendezvous: [POINT], name: 'web' })
    expect(decodeInvite(`  ${text}\n`)).toEqual({ rendezvous: [POINT], name: 'web' })
  })

  it('any invite decodes to what was encoded, within MAX_INVITE_CHARS', () => {
    fc.assert(fc.property(inviteArb, (invite) => {
      const text = encodeInvite(invite)
      expect(text.length).toBeLessThanOrEqual(MAX_INVITE_CHARS)
      expect(decodeInvite(text)).toEqual(invite)
    }), { numRuns: runs(300) })
  })

  it('holds nothing but the addresses, the name and the secret: the same fields give the same text', () => {
    const invite = { rendezvous: [POINT], name: 'db', secret: 's' }
    expect(encodeInvite(invite)).toBe(encodeInvite({ ...invite }))
    // a rendezvous point's invite is a few dozen bytes: 3 header bytes, the address, a name length, the checksum
    expect(Buffer.from(encodeInvite({ rendezvous: [POINT] }).slice(INVITE_PREFIX.length), 'base64url').byteLength).toBe(3 + pointField().length + 1 + INVITE_CHECKSUM_BYTES)
  })
})

describe('invites: bounds', () => {
  const longest = `/dns4/${'a'.repeat(208)}/tcp/65535/p2p/${ID}` // 255 bytes, the most one address may take

  it('every field at its bound still fits in MAX_INVITE_CHARS and round-trips', () => {
    expect(LONGEST_NAME).toHaveLength(120)
    const invite = { rendezvous: Array(MAX_INVITE_ADDRS).fill(longest) as string[], name: LONGEST_NAME, private: true, secret: 'x'.repeat(MAX_INVITE_SECRET_BYTES) }
    const text = encodeInvite(invite)
    expect(text.length).toBeLessThanOrEqual(MAX_INVITE_CHARS)
    expect(decodeInvite(text)).toEqual(invite)
  })

  it.each<[string, Invite]>([
    ['no address', { rendezvous: [] }],
    ['too many addresses', { rendezvous: Array(MAX_INVITE_ADDRS + 1).fill(POINT) as string[] }],
    ['an address over 255 bytes', { rendezvous: [`/dns4/${'a'.repeat(209)}/tcp/65535/p2p/${ID}`] }],
    ['an address without /p2p', { rendezvous: ['/ip4/203.0.113.7/tcp/1'] }],
    ['not a multiaddr', { rendezvous: ['203.0.113.7:1'] }],
    ['a bad name', { rendezvous: [POINT], name: 'Web Server' }],
    ['a secret over its bound', { rendezvous: [POINT], name: 'db', secret: 'x'.repeat(MAX_INVITE_SECRET_BYTES + 1) }],
    ['a secret without a name', { rendezvous: [POINT], secret: 's' }],
    ['private without a name', { rendezvous: [POINT], private: true }]
  ])('encoding refuses %s with a RangeError', (_, invite) => {
    expect(thrownIfAny(() => encodeInvite(invite))?.name).toBe('RangeError')
  })

  it('refuses a text over MAX_INVITE_CHARS before decoding it', () => {
    expect(invalid(INVITE_PREFIX + 'A'.repeat(MAX_INVITE_CHARS))).toMatch(/too long/)
  })

  it('picks at most MAX_INVITE_ADDRS addresses for a point, those that are not loopback first', () => {
    const loop = `/ip4/127.0.0.1/tcp/1/p2p/${ID}`
    const lan = (i: number): string => `/ip4/192.168.1.${i}/tcp/1/p2p/${ID}`
    expect(decodeInvite(inviteFor([loop, lan(1)])!).rendezvous).toEqual([lan(1), loop])
    expect(decodeInvite(inviteFor([loop, lan(1), lan(2), lan(3), lan(4), lan(5)])!).rendezvous).toEqual([lan(1), lan(2), lan(3), lan(4)])
    expect(decodeInvite(inviteFor([loop])!).rendezvous).toEqual([loop])
    // a DNS zone or the DHT is not a point an invite can name
    expect(inviteFor(['dht'])).toBeUndefined()
    expect(inviteFor([loop], { name: 'db', secret: 'x'.repeat(MAX_INVITE_SECRET_BYTES + 1) })).toBeUndefined()
  })
})

describe('invites: garbage is an InvalidInviteError', () => {
  it.each([
    ['', /must start with fara1:/],
    ['fara2:AAAA', /must start with fara1:/],
    [POINT, /must start with fara1:/],
    ['fara1:', /base64url/],
    ['fara1:ab+/', /base64url/],
    ['fara1:AAA=', /base64url/],
    ['fara1:AAAA', /cut short/]
  ])('%j', (text, message) => {
    expect(invalid(text)).toMatch(message)
  })

  it('a damaged character anywhere is caught (checksum, or the alphabet)', () => {
    const text = encodeInvite({ rendezvous: [POINT], name: 'db', secret: 's' })
    for (let i = INVITE_PREFIX.length; i < text.length; i++) {
      const c = text[i] === 'A' ? 'B' : 'A'
      invalid(text.slice(0, i) + c + text.slice(i + 1))
    }
    invalid(text.slice(0, -1))
    invalid(text + 'A')
  })

  it.each<[string, number[], RegExp]>([
    ['another version', [2, 0, 1], /version 2/],
    ['unknown flags', [1, 4, 1], /unknown flags/],
    ['no address', [1, 0, 0], /1 to 4/],
    ['five addresses', [1, 0, 5], /1 to 4/],
    ['an empty address', [1, 0, 1, 0, 0], /empty/],
    ['an address cut short', [1, 0, 1, 40, 4, 127], /cut short/],
    ['an address that is not a multiaddr', [1, 0, 1, 3, 0xff, 0xff, 0xff, 0], /does not decode/]
  ])('a sealed body with %s', (_, body, message) => {
    expect(invalid(sealed(body))).toMatch(message)
  })

  it.each<[string, (addr: number[]) => number[], RegExp]>([
    ['bytes after the last field', a => [1, 0, 1, ...a, 0, 9], /after its last field/],
    ['a name that is not a service name', a => [1, 0, 1, ...a, 3, 0x41, 0x20, 0x42], /not a service name/],
    ['a name over 120 bytes', a => [1, 0, 1, ...a, 121, ...Array(121).fill(0x61)], /over 120/],
    ['a secret for a public name', a => [1, 2, 1, ...a, 2, 0x64, 0x62, 1, 0x73], /not private/],
    ['a private invite with no name', a => [1, 1, 1, ...a, 0], /names no service/],
    ['a secret that is not UTF-8', a => [1, 3, 1, ...a, 2, 0x64, 0x62, 2, 0xc3, 0x28], /not UTF-8/],
    ['a secret cut short', a => [1, 3, 1, ...a, 2, 0x64, 0x62, 9, 0x73], /cut short/],
    ['no name length', a => [1, 0, 1, ...a], /cut short/]
  ])('a sealed body with %s', (_, body, message) => {
    expect(invalid(sealed(body(pointField())))).toMatch(message)
  })

  it('an address that does not end in /p2p is refused', () => {
    const bare = Buffer.from(encodeInvite({ rendezvous: [POINT] }).slice(INVITE_PREFIX.length), 'base64url')
    // /ip4/203.0.113.7/tcp/44173 alone: the first 8 bytes of POINT's binary form
    expect(invalid(sealed([1, 0, 1, 8, ...bare.subarray(4, 12), 0]))).toMatch(/p2p/)
  })

  it('any text: an invite or an InvalidInviteError, never another error', () => {
    const text = fc.oneof(
      fc.string({ maxLength: 200 }),
      fc.string({ unit: fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'), maxLength: 400 }).map(s => INVITE_PREFIX + s)
    )
    fc.assert(fc.property(text, (t) => {
      const err = thrownIfAny(() => decodeInvite(t))
      if (err != null) expect(err.name).toBe('InvalidInviteError')
    }), { numRuns: runs(1000) })
  })

  it('any sealed bytes (a valid checksum): an InvalidInviteError, or an invite that encodes back to the same text', () => {
    const body = fc.oneof(
      fc.uint8Array({ maxLength: 300 }),
      fc.uint8Array({ maxLength: 200 }).map(rest => Uint8Array.from([1, rest[0] ?? 0, 1 + ((rest[1] ?? 0) % 4), ...rest.subarray(2)]))
    )
    fc.assert(fc.property(body, (b) => {
      const text = sealed(b)
      let invite: Invite | undefined
      const err = thrownIfAny(() => { invite = decodeInvite(text) })
      if (err != null) expect(err.name).toBe('InvalidInviteError')
      else expect(encodeInvite(invite!)).toBe(text)
    }), { numRuns: runs(1000) })
  })

  it('a mutated invite: an InvalidInviteError, or (when the mutation kept it valid) one that encodes back to the same text', () => {
    fc.assert(fc.property(inviteArb, mutations(3), (invite, changes) => {
      const text = encodeInvite(invite)
      const bytes = Buffer.from(text.slice(INVITE_PREFIX.length), 'base64url')
      const damaged = INVITE_PREFIX + Buffer.from(mutate(bytes, changes)).toString('base64url')
      let decoded: Invite | undefined
      const err = thrownIfAny(() => { decoded = decodeInvite(damaged) })
      if (err != null) expect(err.name).toBe('InvalidInviteError')
      else expect(encodeInvite(decoded!)).toBe(damaged)
    }), { numRuns: runs(500) })
  })

  it('is not fooled by random bytes (one in 2^32 gets past the checksum)', () => {
    for (let i = 0; i < 200; i++) invalid(INVITE_PREFIX + randomBytes(60).toString('base64url'))
  })
})

describe('inviteQr', () => {
  it('draws the invite as a square QR code with its quiet zone, different for different invites', async () => {
    const { encode } = await import('uqr')
    const invite = inviteFor(['/ip4/203.0.113.7/tcp/4001/p2p/12D3KooWECrYcrnCk4AMUYbN6UxVX3MpCZS5tUs3bvd3c4fBddJJ'])!
    const lines = inviteQr(invite)
    const size = encode(invite, { ecc: 'L', border: 4 }).size
    // two modules per character cell vertically, one horizontally
    expect(lines).toHaveLength(Math.ceil(size / 2))
    for (const line of lines) expect([...line]).toHaveLength(size)
    const other = inviteQr(inviteFor(['/ip4/203.0.113.8/tcp/4001/p2p/12D3KooWECrYcrnCk4AMUYbN6UxVX3MpCZS5tUs3bvd3c4fBddJJ'])!)
    expect(other).not.toEqual(lines)
  })
})
