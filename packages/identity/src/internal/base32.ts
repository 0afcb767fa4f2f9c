// RFC 4648 §6 base32, lowercase, without padding: the encoding of
// self-certifying names (spec/identity.md#self-certifying-names).

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567'

/** Encode bytes as lowercase RFC 4648 base32 without `=` padding. */
export function base32Encode (bytes: Uint8Array): string {
  let out = ''
  let buffer = 0
  let bits = 0
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte
    bits += 8
    while (bits >= 5) {
      bits -= 5
      out += ALPHABET[(buffer >>> bits) & 31]
    }
    buffer &= (1 << bits) - 1
  }
  if (bits > 0) out += ALPHABET[(buffer << (5 - bits)) & 31]
  return out
}

/**
 * Decode lowercase unpadded base32, or return undefined if `text` holds a
 * character outside the alphabet, has an impossible length, or sets bits
 * after the last whole byte (so every byte string has exactly one encoding).
 */
export function base32Decode (text: string): Uint8Array | undefined {
  const tail = (text.length * 5) % 8
  if (tail >= 5) return undefined // 1, 3 or 6 leftover characters cannot end an encoding
  const out = new Uint8Array(Math.floor(text.length * 5 / 8))
  let buffer = 0
  let bits = 0
  let at = 0
  for (const char of text) {
    const value = ALPHABET.indexOf(char)
    if (value < 0 || char.length !== 1) return undefined
    buffer = (buffer << 5) | value
    bits += 5
    if (bits >= 8) {
      bits -= 8
      out[at++] = (buffer >>> bits) & 0xff
    }
    buffer &= (1 << bits) - 1
  }
  return buffer === 0 ? out : undefined
}
