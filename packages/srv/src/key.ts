import { TSIG_ALGORITHM } from './constants.ts'
import { MalformedMessageError } from './errors.ts'
import { nameToLabels } from './internal/wire.ts'

/** A TSIG key shared with the DNS server (RFC 8945): its name, algorithm and base64 secret, as `tsig-keygen` prints them. */
export interface TsigKey {
  /** Key name, a domain name (e.g. `fara-key`); the server must know a key of this name. */
  name: string
  /** Only `'hmac-sha256'` is implemented. */
  algorithm: typeof TSIG_ALGORITHM
  /** The shared secret: base64 text or bytes (at least 16 octets). */
  secret: string | Uint8Array
}

/** Shortest secret accepted, in octets (RFC 8945 §6: at least half the MAC length). */
const MIN_SECRET_BYTES = 16
/** Longest key file parsed, in characters. */
const MAX_KEY_FILE_CHARS = 4096
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/

/** The secret of a key as bytes, after checking the key; TypeError/RangeError naming the bad field. */
export function keySecret (key: TsigKey): Uint8Array {
  if (key == null || typeof key !== 'object') throw new TypeError(`key must be a TsigKey object, got ${key === null ? 'null' : typeof key}`)
  if (typeof key.name !== 'string') throw new TypeError(`key.name must be a string, got ${typeof key.name}`)
  if (nameToLabels(key.name).length === 0) throw new RangeError('key.name must not be the root name')
  if (key.algorithm !== TSIG_ALGORITHM) throw new RangeError(`key.algorithm must be '${TSIG_ALGORITHM}', got ${JSON.stringify(key.algorithm)}`)
  let secret: Uint8Array
  if (typeof key.secret === 'string') {
    const text = key.secret.replace(/\s+/g, '')
    if (!BASE64.test(text) || text.length % 4 !== 0) throw new RangeError('key.secret must be base64 text')
    secret = new Uint8Array(Buffer.from(text, 'base64'))
  } else if (key.secret instanceof Uint8Array) {
    secret = key.secret
  } else {
    throw new TypeError(`key.secret must be base64 text or a Uint8Array, got ${typeof key.secret}`)
  }
  if (secret.byteLength < MIN_SECRET_BYTES) throw new RangeError(`key.secret must be at least ${MIN_SECRET_BYTES} octets, got ${secret.byteLength}`)
  return secret
}

/**
 * `text` without BIND's comments (`#` and `//` to the end of the line, `/* … *\/`),
 * outside quoted strings only: a base64 secret may hold `//`.
 */
function withoutComments (text: string): string {
  let out = ''
  let at = 0
  while (at < text.length) {
    const c = text[at]!
    if (c === '"') {
      const end = text.indexOf('"', at + 1)
      const stop = end < 0 ? text.length : end + 1
      out += text.slice(at, stop)
      at = stop
    } else if (c === '#' || text.startsWith('//', at)) {
      const end = text.indexOf('\n', at)
      at = end < 0 ? text.length : end
    } else if (text.startsWith('/*', at)) {
      const end = text.indexOf('*/', at + 2)
      at = end < 0 ? text.length : end + 2
      out += ' '
    } else {
      out += c
      at++
    }
  }
  return out
}

/**
 * Parse the key statement `tsig-keygen -a hmac-sha256 <name>` prints (the
 * BIND `key` clause): `key "<name>" { algorithm hmac-sha256; secret "<base64>"; };`.
 *
 * @example
 * ```ts
 * import { readFile } from 'node:fs/promises'
 * import { parseTsigKey } from '@fara/srv'
 *
 * // written by: tsig-keygen -a hmac-sha256 fara-key > /etc/bind/fara.key
 * const key = parseTsigKey(await readFile('/etc/bind/fara.key', 'utf8'))
 * console.log(key.name, key.algorithm) // fara-key hmac-sha256
 * ```
 *
 * @throws {@link MalformedMessageError} when the text is not such a statement, names another algorithm, or its secret is not base64 of at least 16 octets.
 * @throws `TypeError` when `text` is not a string.
 */
export function parseTsigKey (text: string): TsigKey {
  if (typeof text !== 'string') throw new TypeError(`key text must be a string, got ${typeof text}`)
  if (text.length > MAX_KEY_FILE_CHARS) throw new MalformedMessageError(`key file of ${text.length} characters; at most ${MAX_KEY_FILE_CHARS}`)
  const body = withoutComments(text).trim()
  const m = /^key\s+"([^"\\]{1,253})"\s*\{\s*algorithm\s+"?([a-z0-9-]+)"?\s*;\s*secret\s+"([A-Za-z0-9+/=\s]+)"\s*;\s*\}\s*;?$/i.exec(body)
  if (m == null) throw new MalformedMessageError('not a key statement: expected key "<name>" { algorithm hmac-sha256; secret "<base64>"; };')
  const key = { name: m[1]!, algorithm: m[2]!.toLowerCase(), secret: m[3]!.replace(/\s+/g, '') }
  if (key.algorithm !== TSIG_ALGORITHM) throw new MalformedMessageError(`key algorithm ${JSON.stringify(key.algorithm)} is not supported; only ${TSIG_ALGORITHM}`)
  try {
    keySecret(key as TsigKey)
  } catch (err) {
    throw new MalformedMessageError(`key statement: ${(err as Error).message}`)
  }
  return key as TsigKey
}
