// The TCPMUX lines (RFC 1078): request `name CRLF`, status `+msg CRLF` /
// `-msg CRLF`, and the HELP list. Pure functions over bytes, every one bounded.
import { HELP_NAME } from '../constants.ts'
import { MalformedReplyError, ServiceRefusedError } from '../errors.ts'

const LF = 0x0a
const CR = 0x0d
const NUL = 0x00

/** A complete line (terminator removed) and the bytes that followed it in the same reads. */
export interface Line { line: Buffer, rest: Buffer }

/**
 * Collects bytes up to the first LF, holding at most `max` bytes (LF
 * included). `push` returns the line once complete, `'too-long'` as soon as
 * `max` bytes arrived without an LF, or `undefined` to ask for more.
 */
export class LineBuffer {
  readonly #max: number
  #chunks: Buffer[] = []
  #length = 0

  constructor (max: number) { this.#max = max }

  /** Bytes held so far. */
  get length (): number { return this.#length }

  push (chunk: Uint8Array): Line | 'too-long' | undefined {
    const bytes = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
    const lf = bytes.indexOf(LF)
    if (lf === -1) {
      if (this.#length + bytes.length >= this.#max) return 'too-long'
      this.#chunks.push(bytes)
      this.#length += bytes.length
      return undefined
    }
    if (this.#length + lf + 1 > this.#max) return 'too-long'
    const line = Buffer.concat([...this.#chunks, bytes.subarray(0, lf)])
    this.#chunks = []
    this.#length = 0
    return { line, rest: bytes.subarray(lf + 1) }
  }
}

/** True for a byte RFC 1078 names may use here: visible ASCII, no space. */
function isNameByte (b: number): boolean { return b > 0x20 && b < 0x7f }

/** True if `name` is 1 to `max` characters of visible ASCII (0x21–0x7E). */
export function isValidName (name: string, max: number): boolean {
  if (name.length === 0 || name.length > max) return false
  for (let i = 0; i < name.length; i++) {
    if (!isNameByte(name.charCodeAt(i))) return false
  }
  return true
}

/** A request line as the server understood it. */
export type Request =
  | { kind: 'name', name: string }
  | { kind: 'help' }
  | { kind: 'invalid' }

/**
 * Decode a request line (LF already removed): one trailing CR is dropped
 * (CRLF per RFC 1078, bare LF accepted); the rest must be a valid name.
 * Never throws.
 */
export function decodeRequest (line: Uint8Array): Request {
  let end = line.byteLength
  if (end > 0 && line[end - 1] === CR) end--
  if (end === 0) return { kind: 'invalid' }
  for (let i = 0; i < end; i++) {
    if (!isNameByte(line[i]!)) return { kind: 'invalid' }
  }
  const name = Buffer.from(line.buffer, line.byteOffset, end).toString('latin1')
  return name.toUpperCase() === HELP_NAME ? { kind: 'help' } : { kind: 'name', name }
}

/** Text for display: UTF-8 (invalid sequences replaced), control characters removed, trimmed. */
export function cleanText (bytes: Uint8Array): string {
  // eslint-disable-next-line no-control-regex
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8').replace(/[\u0000-\u0008\u000a-\u001f\u007f]/g, '').trim()
}

/** A positive status line. */
export interface Accepted { message: string }

/**
 * Decode a status line (LF already removed). `+msg` returns the message,
 * `-msg` throws {@link ServiceRefusedError}, anything else throws
 * {@link MalformedReplyError}.
 */
export function decodeReply (line: Uint8Array): Accepted {
  let end = line.byteLength
  if (end > 0 && line[end - 1] === CR) end--
  const first = line[0]
  const message = cleanText(line.subarray(1, Math.max(1, end)))
  if (end > 0 && first === 0x2b) return { message } // '+'
  if (end > 0 && first === 0x2d) throw new ServiceRefusedError(message) // '-'
  throw new MalformedReplyError(`TCPMUX status line must start with + or -, got ${JSON.stringify(cleanText(line.subarray(0, 32)))}`)
}

/**
 * Decode the whole answer to HELP (everything up to the server's close).
 * Tolerates what real servers send: names one per line (RFC 1078, CRLF or
 * LF), an optional `+` status line first, NUL bytes, blank lines, and a
 * description after the name (only the first word is kept). A `-` first line
 * throws {@link ServiceRefusedError}; a line with control characters or
 * non-ASCII bytes throws {@link MalformedReplyError}. An empty answer is an
 * empty list.
 */
export function decodeHelp (answer: Uint8Array, maxNameBytes: number): string[] {
  const names: string[] = []
  let first = true
  let start = 0
  while (start < answer.byteLength) {
    let end = answer.indexOf(LF, start)
    if (end === -1) end = answer.byteLength
    const raw = answer.subarray(start, end)
    start = end + 1
    // drop NULs (xinetd adds one after its line), CR and blanks at the ends
    let a = 0
    let b = raw.byteLength
    const blank = (x: number): boolean => x === NUL || x === CR || x === 0x20 || x === 0x09
    while (a < b && blank(raw[a]!)) a++
    while (b > a && blank(raw[b - 1]!)) b--
    if (a === b) continue
    const line = raw.subarray(a, b)
    if (first) {
      first = false
      if (line[0] === 0x2d) throw new ServiceRefusedError(cleanText(line.subarray(1))) // '-'
      if (line[0] === 0x2b) continue // '+': a status line before the list
    }
    let word = 0
    while (word < line.byteLength && line[word] !== 0x20 && line[word] !== 0x09) word++
    for (let i = 0; i < line.byteLength; i++) {
      const x = line[i]!
      if (x !== 0x20 && x !== 0x09 && !isNameByte(x)) {
        throw new MalformedReplyError(`HELP answer holds a byte that is not printable ASCII (0x${x.toString(16).padStart(2, '0')})`)
      }
    }
    if (word > maxNameBytes) throw new MalformedReplyError(`HELP answer lists a name longer than ${maxNameBytes} bytes`)
    names.push(Buffer.from(line.subarray(0, word)).toString('latin1'))
  }
  return names
}

/** The request line for `name`: `name CRLF` (RFC 1078). */
export function encodeRequest (name: string): Buffer {
  return Buffer.from(`${name}\r\n`, 'latin1')
}

/** A status line: `+message CRLF` or `-message CRLF` (RFC 1078). */
export function encodeReply (ok: boolean, message = ''): Buffer {
  return Buffer.from(`${ok ? '+' : '-'}${message}\r\n`, 'utf8')
}

/** The HELP answer: one name per line, CRLF, no status line (RFC 1078). */
export function encodeHelp (names: Iterable<string>): Buffer {
  let text = ''
  for (const name of names) text += `${name}\r\n`
  return Buffer.from(text, 'latin1')
}
