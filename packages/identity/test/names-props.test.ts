// Property tests of service names and self-certifying names (spec/identity.md#service-names,
// #self-certifying-names): the parser, the predicates and the boundary check
// agree with each other and with the rules, on any string; typos never name
// the original key.
import { generateKeyPairFromSeed } from '@libp2p/crypto/keys'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { thrownIfAny } from '@fara/testkit'
import { assertServiceName, isSelfCertifyingName, isServiceName, nameMatchesKey, parseSelfCertifyingName, selfCertifyingName } from '../src/index.ts'
import { NAME_LABEL_PATTERN } from '../src/constants.ts'
import { base32Decode, base32Encode } from '../src/internal/base32.ts'
import { budget, propsFile, runs } from './arbitraries.ts'
import type { PublicKey } from '@libp2p/interface'

propsFile('identity/names-props')

const B32 = 'abcdefghijklmnopqrstuvwxyz234567'
/** spec/identity.md#service-names: a human-friendly name... */
const HUMAN = /^[a-z0-9][a-z0-9._-]{0,62}$/
/** ...that does not end like a self-certifying one (then it must be one). */
const SELF_CERTIFYING_TAIL = /\.[a-z2-7]{56}$/
const label = fc.stringMatching(/^[a-z0-9](?:[a-z0-9-]{0,20}[a-z0-9])?$/)
const b32 = (min: number, max: number): fc.Arbitrary<string> => fc.string({ unit: fc.constantFrom(...B32), minLength: min, maxLength: max })
const seed = fc.uint8Array({ minLength: 32, maxLength: 32 })
const keyOf = async (s: Uint8Array): Promise<PublicKey> => (await generateKeyPairFromSeed('Ed25519', s)).publicKey

/** Strings near the grammar: human names (also too long), names with a 56-character tail, near misses and noise. */
const nameLike = fc.oneof(
  fc.stringMatching(/^[a-z0-9][a-z0-9._-]{0,70}$/),
  fc.tuple(fc.stringMatching(/^[a-z0-9._-]{0,66}$/), b32(54, 58)).map(([l, t]) => `${l}.${t}`),
  fc.tuple(label, b32(56, 56), fc.constantFrom('', '.', 'A', ' ', '\n', '0', '1', '8', '=')).map(([l, t, x]) => `${l}.${t}${x}`),
  fc.string({ maxLength: 80 }),
  fc.string({ unit: 'grapheme', maxLength: 70 }),
  fc.string({ unit: fc.constantFrom(...'az09._-AZ 2718\u0000\u00e9/:'), maxLength: 70 })
)

describe('base32 (properties)', () => {
  it('round-trips any bytes, and decodes a string only if it is the one encoding of its bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), bytes => {
      expect(base32Decode(base32Encode(bytes))).toEqual(bytes)
    }), { numRuns: runs(1_000) })
    fc.assert(fc.property(fc.oneof(b32(0, 70), fc.string({ maxLength: 70 })), text => {
      const bytes = base32Decode(text)
      if (bytes != null) expect(base32Encode(bytes)).toBe(text)
    }), { numRuns: runs(2_000) })
  })
})

describe('names (properties)', () => {
  it('parseSelfCertifyingName returns the parts or throws InvalidNameError, and isSelfCertifyingName says which', () => {
    fc.assert(fc.property(nameLike, name => {
      let parsed: ReturnType<typeof parseSelfCertifyingName> | undefined
      const err = thrownIfAny(() => { parsed = parseSelfCertifyingName(name) })
      expect(isSelfCertifyingName(name)).toBe(err == null)
      if (err != null) expect(err.name).toBe('InvalidNameError')
      else {
        expect(parsed!.label).toMatch(NAME_LABEL_PATTERN)
        expect(parsed!.keyHash.byteLength).toBe(32)
        expect(parsed!.version).toBe(1)
        expect(name).toBe(`${parsed!.label}.${name.slice(parsed!.label.length + 1)}`)
      }
    }), { numRuns: runs(3_000) })
  })

  it('isServiceName follows the grammar: a human name not shaped like a self-certifying one, or a valid self-certifying name', () => {
    fc.assert(fc.property(nameLike, name => {
      const want = (HUMAN.test(name) && !SELF_CERTIFYING_TAIL.test(name)) || isSelfCertifyingName(name)
      expect(isServiceName(name)).toBe(want)
    }), { numRuns: runs(3_000) })
  })

  it('assertServiceName passes exactly the names isServiceName accepts, and throws RangeError for other strings, TypeError for non-strings', () => {
    fc.assert(fc.property(fc.oneof(nameLike, fc.anything()), value => {
      const err = thrownIfAny(() => { assertServiceName(value) })
      if (typeof value !== 'string') {
        expect(err?.name).toBe('TypeError')
        expect(isServiceName(value)).toBe(false)
      } else if (isServiceName(value)) {
        expect(err).toBeUndefined()
      } else {
        expect(err?.name).toBe('RangeError')
      }
      if (typeof value !== 'string') expect(thrownIfAny(() => parseSelfCertifyingName(value as never))?.name).toBe('TypeError')
    }), { numRuns: runs(3_000) })
  })

  it('makes a name of any label and key that parses back, is a service name and names only that key', async () => {
    await fc.assert(fc.asyncProperty(label, seed, seed, async (l, s1, s2) => {
      fc.pre(!Buffer.from(s1).equals(Buffer.from(s2)))
      const [key, other] = await Promise.all([keyOf(s1), keyOf(s2)])
      const name = selfCertifyingName(l, key)
      expect(name).toMatch(new RegExp(`^${l}\\.[a-z2-7]{56}$`))
      expect(parseSelfCertifyingName(name).label).toBe(l)
      expect(isServiceName(name) && nameMatchesKey(name, key)).toBe(true)
      expect(nameMatchesKey(name, other)).toBe(false)
      // the label is not part of what the key owns
      expect(nameMatchesKey(selfCertifyingName(`${l}x`, key), key)).toBe(true)
    }), { numRuns: runs(300) })
  }, budget(30_000))

  it('never lets a typo in the key part name the same key (substitution, insertion, deletion, transposition)', async () => {
    const edit = fc.record({ kind: fc.constantFrom('sub', 'ins', 'del', 'swap'), at: fc.nat(), char: fc.constantFrom(...B32, 'A', '0', '1', '.') })
    await fc.assert(fc.asyncProperty(label, seed, edit, async (l, s, e) => {
      const key = await keyOf(s)
      const name = selfCertifyingName(l, key)
      const tail = name.length - 56
      const at = tail + (e.at % 56)
      let typo: string
      switch (e.kind) {
        case 'sub': typo = name.slice(0, at) + e.char + name.slice(at + 1); break
        case 'ins': typo = name.slice(0, at) + e.char + name.slice(at); break
        case 'del': typo = name.slice(0, at) + name.slice(at + 1); break
        default: typo = at + 1 < name.length ? name.slice(0, at) + name[at + 1]! + name[at]! + name.slice(at + 2) : name
      }
      fc.pre(typo !== name)
      expect(nameMatchesKey(typo, key)).toBe(false)
      // a typo that keeps the shape (a base32 character for another, a transposition) is never a
      // human-friendly name someone else could register: it is refused, or (a 2^-16 checksum
      // collision) the name of another key. Typos that change the shape (an insertion, a deletion,
      // '0' for 'o', '1' for 'l', '8' for 'b') give, with a label of up to 6 or 7 characters, a
      // valid human-friendly name: a known gap of the grammar, reported, not asserted here.
      const keepsShape = (e.kind === 'sub' && B32.includes(e.char)) || e.kind === 'swap'
      if (keepsShape && isServiceName(typo)) expect(isSelfCertifyingName(typo)).toBe(true)
    }), { numRuns: runs(1_000) })
  }, budget(30_000))
})
