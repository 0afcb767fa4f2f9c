import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { LineBuffer, decodeHelp, decodeReply, decodeRequest, encodeHelp, encodeReply, encodeRequest } from '../src/internal/codec.ts'
import type { Line } from '../src/internal/codec.ts'

const bytes = (s: string): Buffer => Buffer.from(s, 'latin1')
/** A valid TCPMUX name: visible ASCII, no space. */
const nameArb = fc.string({ unit: fc.integer({ min: 0x21, max: 0x7e }).map(c => String.fromCharCode(c)), minLength: 1, maxLength: 40 })

/** Feed `data` cut at `cuts`; what the buffer returns, with every byte after the line gathered. */
function feed (max: number, data: Buffer, cuts: number[]): { line: Buffer, rest: Buffer } | 'too-long' | undefined {
  const buffer = new LineBuffer(max)
  const points = [...new Set(cuts.map(c => c % (data.length + 1)))].sort((a, b) => a - b)
  let start = 0
  let found: Line | undefined
  const after: Buffer[] = []
  for (const end of [...points, data.length]) {
    const chunk = data.subarray(start, end)
    start = end
    if (found != null) { after.push(chunk); continue }
    if (chunk.length === 0) continue
    const r = buffer.push(chunk)
    if (r === 'too-long') return r
    if (r != null) { found = r; after.push(r.rest) }
  }
  return found == null ? undefined : { line: found.line, rest: Buffer.concat(after) }
}

/** The reference: the same answer computed on the whole input at once. */
function reference (max: number, data: Buffer): { line: Buffer, rest: Buffer } | 'too-long' | undefined {
  const lf = data.indexOf(0x0a)
  if (lf === -1) return data.length >= max ? 'too-long' : undefined
  if (lf + 1 > max) return 'too-long'
  return { line: data.subarray(0, lf), rest: data.subarray(lf + 1) }
}

describe('LineBuffer (the bounded line reader of both ends)', () => {
  it('gives the same line and the same following bytes however the input is cut', () => {
    fc.assert(fc.property(
      fc.integer({ min: 3, max: 64 }),
      fc.uint8Array({ maxLength: 200 }).map(a => Buffer.from(a)),
      fc.array(fc.nat(), { maxLength: 20 }),
      (max, data, cuts) => {
        const got = feed(max, data, cuts)
        const want = reference(max, data)
        if (typeof want !== 'object') expect(got).toBe(want)
        else {
          expect(got).not.toBe('too-long')
          expect(Buffer.from((got as Line).line).equals(want.line)).toBe(true)
          expect(Buffer.from((got as Line).rest).equals(want.rest)).toBe(true)
        }
      }), { numRuns: 2000 })
  })

  it('refuses as soon as max bytes arrived without LF, and never holds more than max', () => {
    fc.assert(fc.property(fc.integer({ min: 3, max: 300 }), fc.integer({ min: 1, max: 50 }), (max, step) => {
      const buffer = new LineBuffer(max)
      let sent = 0
      for (;;) {
        const r = buffer.push(Buffer.alloc(step, 0x61))
        sent += step
        if (r === 'too-long') break
        expect(r).toBeUndefined()
        expect(buffer.length).toBeLessThan(max)
      }
      expect(sent).toBeGreaterThanOrEqual(max)
      expect(sent - step).toBeLessThan(max)
    }))
  })

  it('accepts a line of exactly max bytes with its LF and refuses one byte more', () => {
    expect(new LineBuffer(6).push(bytes('echo\r\n'))).toMatchObject({ line: bytes('echo\r') })
    expect(new LineBuffer(6).push(bytes('echos\r\n'))).toBe('too-long')
    const b = new LineBuffer(6)
    expect(b.push(bytes('echos\r'))).toBe('too-long')
  })
})

describe('decodeRequest (server side, untrusted input)', () => {
  it('never throws, whatever the bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (line) => {
      const r = decodeRequest(line)
      expect(['name', 'help', 'invalid']).toContain(r.kind)
    }), { numRuns: 2000 })
  })

  it('reads back every valid name, with CRLF or a bare LF', () => {
    fc.assert(fc.property(nameArb, fc.boolean(), (name, crlf) => {
      const wire = crlf ? encodeRequest(name).subarray(0, -1) : bytes(name)
      const r = decodeRequest(wire)
      if (name.toUpperCase() === 'HELP') expect(r).toEqual({ kind: 'help' })
      else expect(r).toEqual({ kind: 'name', name })
    }))
  })

  it('recognises HELP in any case and refuses empty lines, spaces, controls and non-ASCII', () => {
    for (const h of ['HELP', 'help', 'HeLp\r']) expect(decodeRequest(bytes(h))).toEqual({ kind: 'help' })
    for (const bad of ['', '\r', 'a b', 'tab\there', 'nul\0', 'caf\xe9', '\r\r', ' echo']) {
      expect(decodeRequest(bytes(bad))).toEqual({ kind: 'invalid' })
    }
  })
})

describe('decodeReply (client side, untrusted input)', () => {
  it('only returns or throws the two typed errors, whatever the bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (line) => {
      try {
        expect(typeof decodeReply(line).message).toBe('string')
      } catch (err) {
        expect(['ServiceRefusedError', 'MalformedReplyError']).toContain((err as Error).name)
      }
    }), { numRuns: 2000 })
  })

  it('reads + and - with their messages, and strips control characters from them', () => {
    fc.assert(fc.property(fc.string({ maxLength: 100 }).filter(s => !/[\u0000-\u001f\u007f]/.test(s) && s.trim() === s), (message) => { // eslint-disable-line no-control-regex
      expect(decodeReply(encodeReply(true, message).subarray(0, -1)).message).toBe(message)
      expect(() => decodeReply(encodeReply(false, message).subarray(0, -1))).toThrow(expect.objectContaining({ name: 'ServiceRefusedError', reason: message }))
    }))
    expect(decodeReply(bytes('+Go\r')).message).toBe('Go')
    expect(decodeReply(bytes('+')).message).toBe('')
    expect(() => decodeReply(bytes('-bad\x1b[31m news\r'))).toThrow(expect.objectContaining({ reason: 'bad[31m news' }))
  })

  it('refuses an empty line and a line that starts with anything but + or -', () => {
    for (const bad of ['', '\r', 'HTTP/1.1 400 Bad Request\r', ' +ok', '\0+Go']) {
      expect(() => decodeReply(bytes(bad))).toThrow(expect.objectContaining({ name: 'MalformedReplyError' }))
    }
  })
})

describe('decodeHelp (client side, untrusted input)', () => {
  it('only returns names or throws the typed errors, whatever the bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 400 }), (answer) => {
      try {
        for (const name of decodeHelp(answer, 254)) expect(name).toMatch(/^[\x21-\x7e]{1,254}$/)
      } catch (err) {
        expect(['ServiceRefusedError', 'MalformedReplyError']).toContain((err as Error).name)
      }
    }), { numRuns: 2000 })
  })

  it('reads back any list as the RFC sends it, and as real servers vary it', () => {
    fc.assert(fc.property(fc.array(nameArb.filter(n => !n.startsWith('+') && !n.startsWith('-')), { maxLength: 20 }), (names) => {
      const rfc = encodeHelp(names)
      expect(decodeHelp(rfc, 254)).toEqual(names)
      // bare LF, a status line first, NULs and a description after each name
      const varied = bytes(`+Services follow\r\n\0${names.map(n => `${n}\tsome description\n\0`).join('')}`)
      expect(decodeHelp(varied, 254)).toEqual(names)
    }))
  })

  it('reads an empty answer as an empty list and a - first line as a refusal', () => {
    expect(decodeHelp(Buffer.alloc(0), 254)).toEqual([])
    expect(decodeHelp(bytes('\r\n\0'), 254)).toEqual([])
    expect(() => decodeHelp(bytes('-Service name not found\r\n\0'), 254)).toThrow(expect.objectContaining({ name: 'ServiceRefusedError', reason: 'Service name not found' }))
    expect(() => decodeHelp(bytes('echo\r\nbad\x07name\r\n'), 254)).toThrow(expect.objectContaining({ name: 'MalformedReplyError' }))
    expect(() => decodeHelp(bytes(`${'a'.repeat(300)}\r\n`), 254)).toThrow(expect.objectContaining({ name: 'MalformedReplyError' }))
  })
})
