import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { parseTsigKey } from '../src/index.ts'

// as `tsig-keygen -a hmac-sha256 fara-key` prints it (BIND 9.18)
const KEYGEN = `key "fara-key" {
\talgorithm hmac-sha256;
\tsecret "WLR8AigMsB9v7DQnBPXf7aFPRqq0R4tDGY9GiO0v1xU=";
};
`

describe('parseTsigKey', () => {
  it('reads the key statement tsig-keygen prints', () => {
    expect(parseTsigKey(KEYGEN)).toEqual({ name: 'fara-key', algorithm: 'hmac-sha256', secret: 'WLR8AigMsB9v7DQnBPXf7aFPRqq0R4tDGY9GiO0v1xU=' })
  })

  it('accepts comments, a quoted algorithm and a missing final semicolon', () => {
    expect(parseTsigKey(`# made by hand\nkey "k.example" { algorithm "HMAC-SHA256"; secret "${'A'.repeat(44)}"; }`).name).toBe('k.example')
  })

  it('reads a secret that holds // (base64 does, about one key in a hundred), with comments of every kind around it', () => {
    const secret = 'ab//cdEFgh+/ijKLmnOPqrSTuvWXyz0123456789ab=='
    const text = `// made by hand\nkey "k.example" { # the key\n  algorithm hmac-sha256; /* a\ncomment */ secret "${secret}"; // the secret\n};\n`
    expect(parseTsigKey(text)).toEqual({ name: 'k.example', algorithm: 'hmac-sha256', secret })
  })

  const bad: Array<[string, string]> = [
    ['another algorithm', KEYGEN.replace('hmac-sha256', 'hmac-md5')],
    ['a secret that is not base64', KEYGEN.replace('WLR8', 'WL!8')],
    ['a secret under 16 octets', KEYGEN.replace(/secret "[^"]+"/, 'secret "c2hvcnQ="')],
    ['no key statement', 'options { };'],
    ['an unterminated statement', KEYGEN.slice(0, 40)],
    ['a file over 4096 characters', KEYGEN + ' '.repeat(5000)]
  ]
  for (const [what, text] of bad) {
    it(`refuses ${what} with MalformedMessageError`, () => {
      expect(() => parseTsigKey(text)).toThrow(expect.objectContaining({ name: 'MalformedMessageError' }))
    })
  }

  it('rejects a non-string with TypeError', () => {
    expect(() => parseTsigKey(3 as never)).toThrow(TypeError)
  })

  it('never throws anything but MalformedMessageError on arbitrary text (property)', () => {
    fc.assert(fc.property(fc.oneof(fc.string({ maxLength: 300 }), fc.constantFrom(...Array.from(KEYGEN)).chain(() => fc.string())), (text) => {
      try {
        parseTsigKey(text)
      } catch (err) {
        expect(err).toMatchObject({ name: 'MalformedMessageError' })
      }
    }), { numRuns: 2_000 })
    fc.assert(fc.property(fc.nat({ max: KEYGEN.length }), fc.nat({ max: KEYGEN.length }), fc.string({ maxLength: 3 }), (from, to, insert) => {
      const text = KEYGEN.slice(0, Math.min(from, to)) + insert + KEYGEN.slice(Math.max(from, to))
      try {
        parseTsigKey(text)
      } catch (err) {
        expect(err).toMatchObject({ name: 'MalformedMessageError' })
      }
    }), { numRuns: 2_000 })
  })
})
