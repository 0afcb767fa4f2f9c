import { generateKeyPair } from '@libp2p/crypto/keys'
import { describe, expect, it } from 'vitest'
import { thrown } from '@fara/testkit'
import { assertServiceName, isSelfCertifyingName, isServiceName, nameMatchesKey, parseSelfCertifyingName, selfCertifyingName } from '../src/index.ts'
import { SERVICE_NAME_PATTERN } from '../src/constants.ts'
import { base32Decode, base32Encode } from '../src/internal/base32.ts'
import { vectors } from './helpers.ts'
import type { PublicKey } from '@libp2p/interface'

const B32 = 'abcdefghijklmnopqrstuvwxyz234567'
const valid = vectors.names.valid[0]!

describe('base32', () => {
  // RFC 4648 §10 test vectors, lowercased and without padding
  it.each([['', ''], ['f', 'my'], ['fo', 'mzxq'], ['foo', 'mzxw6'], ['foob', 'mzxw6yq'], ['fooba', 'mzxw6ytb'], ['foobar', 'mzxw6ytboi']])(
    'encodes %j as %j and back (RFC 4648)', (text, encoded) => {
      expect(base32Encode(new TextEncoder().encode(text))).toBe(encoded)
      expect(Buffer.from(base32Decode(encoded)!).toString()).toBe(text)
    })

  it('round-trips every length from 0 to 40 bytes', () => {
    for (let n = 0; n <= 40; n++) {
      const bytes = new Uint8Array(n).map((_, i) => (i * 37 + n) & 0xff)
      expect(base32Decode(base32Encode(bytes))).toEqual(bytes)
    }
    expect(base32Encode(new Uint8Array(35)).length).toBe(56)
  })

  it.each(['a', 'abc', 'abcdef', 'MY', 'm1', 'm=', 'mz'])('refuses %j: a character outside the alphabet, an impossible length or stray bits', (text) => {
    expect(base32Decode(text)).toBeUndefined()
  })
})

describe('selfCertifyingName', () => {
  it('makes label.<56 base32 characters> that parses back to the label, key hash and version 1', async () => {
    const key = (await generateKeyPair('Ed25519')).publicKey
    const name = selfCertifyingName('chat', key)
    expect(name).toMatch(/^chat\.[a-z2-7]{56}$/)
    const parsed = parseSelfCertifyingName(name)
    expect(parsed.label).toBe('chat')
    expect(parsed.version).toBe(1)
    expect(parsed.keyHash.byteLength).toBe(32)
    expect(isSelfCertifyingName(name)).toBe(true)
    expect(selfCertifyingName('other-label', key).slice('other-label.'.length)).toBe(name.slice('chat.'.length))
  })

  it('refuses a bad label with a RangeError, a non-string with a TypeError, and a non-Ed25519 key', async () => {
    const key = (await generateKeyPair('Ed25519')).publicKey
    for (const label of ['', '-chat', 'chat-', 'Chat', 'a.b', 'a_b', 'a'.repeat(64)]) {
      expect(thrown(() => selfCertifyingName(label, key)).name).toBe('RangeError')
    }
    expect(selfCertifyingName('a'.repeat(63), key).length).toBe(63 + 1 + 56)
    expect(thrown(() => selfCertifyingName(7 as never, key)).name).toBe('TypeError')
    expect(thrown(() => selfCertifyingName('chat', {} as PublicKey)).name).toBe('TypeError')
    const secp = (await generateKeyPair('secp256k1')).publicKey
    expect(thrown(() => selfCertifyingName('chat', secp)).name).toBe('RangeError')
  })
})

describe('parseSelfCertifyingName', () => {
  it('catches every one-character typo in the key part of the vector name', () => {
    const keyAt = valid.label.length + 1
    for (let i = keyAt; i < valid.name.length; i++) {
      for (const c of B32) {
        if (c === valid.name[i]) continue
        const typo = valid.name.slice(0, i) + c + valid.name.slice(i + 1)
        expect(isSelfCertifyingName(typo), typo).toBe(false)
      }
    }
  })

  it('reports a typo as a bad checksum', () => {
    const err = thrown(() => parseSelfCertifyingName(vectors.names.invalid[0]!.name))
    expect(err.name).toBe('InvalidNameError')
    expect(err.message).toMatch(/checksum/)
  })

  it.each([
    ['no dot', 'chat'],
    ['an empty label', `.${valid.name.slice(5)}`],
    ['a label with an underscore', `a_b${valid.name.slice(4)}`],
    ['a key part one character too long', `${valid.name}a`],
    ['a key part with a digit outside base32', `${valid.name.slice(0, -1)}1`],
    ['a human-friendly name', 'chat.example']
  ])('refuses %s with InvalidNameError', (_what, name) => {
    expect(thrown(() => parseSelfCertifyingName(name)).name).toBe('InvalidNameError')
    expect(isSelfCertifyingName(name)).toBe(false)
  })

  it('refuses a non-string with a TypeError, and isSelfCertifyingName says false', () => {
    expect(thrown(() => parseSelfCertifyingName(undefined as never)).name).toBe('TypeError')
    expect(isSelfCertifyingName(undefined)).toBe(false)
  })
})

describe('nameMatchesKey', () => {
  it('is true for the key the name was made from, with any label, and false for another key or name', async () => {
    const [a, b] = await Promise.all([generateKeyPair('Ed25519'), generateKeyPair('Ed25519')])
    const name = selfCertifyingName('chat', a.publicKey)
    expect(nameMatchesKey(name, a.publicKey)).toBe(true)
    expect(nameMatchesKey(selfCertifyingName('mail', a.publicKey), a.publicKey)).toBe(true)
    expect(nameMatchesKey(name, b.publicKey)).toBe(false)
    expect(nameMatchesKey('chat', a.publicKey)).toBe(false)
    expect(nameMatchesKey(vectors.names.invalid[0]!.name, a.publicKey)).toBe(false)
  })

  it('is false for a key that is not Ed25519, and throws a TypeError for something that is not a key', async () => {
    const secp = (await generateKeyPair('secp256k1')).publicKey
    expect(nameMatchesKey(valid.name, secp)).toBe(false)
    expect(thrown(() => nameMatchesKey(valid.name, 'key' as never)).name).toBe('TypeError')
  })
})

describe('service names', () => {
  const human = ['a', '0', 'chat', 'my-app.v2_beta', 'a'.repeat(63)]

  it('accept human-friendly names and self-certifying names', () => {
    for (const name of [...human, valid.name, `${'a'.repeat(63)}${valid.name.slice(4)}`]) {
      expect(SERVICE_NAME_PATTERN.test(name), name).toBe(true)
      expect(isServiceName(name), name).toBe(true)
      expect(() => { assertServiceName(name) }).not.toThrow()
    }
  })

  it.each(['', 'Chat', '-chat', '.chat', 'a b', 'a/b', 'café', 'a'.repeat(64), 'chat\n', `a.b${valid.name.slice(4)}`, `-x${valid.name.slice(4)}`])(
    'reject %j with a RangeError', (name) => {
      expect(isServiceName(name)).toBe(false)
      expect(thrown(() => { assertServiceName(name) }).name).toBe('RangeError')
    })

  it('never take a mistyped self-certifying name for a human-friendly one, even when it is short enough to be one', () => {
    const typo = vectors.names.invalid[0]!.name
    expect(typo.length).toBeLessThanOrEqual(63)
    expect(isServiceName(typo)).toBe(false)
    const err = thrown(() => { assertServiceName(typo) })
    expect(err.name).toBe('RangeError')
    expect(err.message).toMatch(/checksum/)
  })

  it('throw a TypeError naming the parameter for a non-string', () => {
    expect(thrown(() => { assertServiceName(7) }).name).toBe('TypeError')
    expect(thrown(() => { assertServiceName(7) }).message).toMatch(/^name must be a string/)
    expect(isServiceName(null)).toBe(false)
  })
})
