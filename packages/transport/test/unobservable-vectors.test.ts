// The TypeScript layer against the vectors of spec/vectors/generate-unobservable.py,
// a pure-Python implementation written from spec/unobservable.md.
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { elligatorKeyPair, representativeToPublicKey } from '../src/internal/elligator2.ts'
import { LengthMasker, encodeFrames } from '../src/internal/wire/frames.ts'
import { clientHello, openClientHead, serverHello } from '../src/internal/wire/hello.ts'
import { KEY_BYTES, MAC_BYTES, mac, staticKeyFromEd25519, x25519Secret } from '../src/internal/wire/keys.ts'

interface Write { data: string, padding: number | null, switch: boolean, wire: string }
interface Passthrough { message: string, wire: string }
interface Case {
  name: string
  listenerSeed: string
  listenerPublic: string
  initiatorSeed: string
  initiatorSecret: string
  initiatorPublic: string
  rx: string
  listenerEphemeralSeed: string
  listenerEphemeralSecret: string
  ry: string
  time: number
  clientPadding: number
  serverPadding: number
  rekeyBytes: number
  es: string
  clientHello: string
  serverHello: string
  c2sWrites: Write[]
  c2sPassthrough: Passthrough[]
  s2cWrites: Write[]
}

const vectors = JSON.parse(readFileSync(new URL('../../../spec/vectors/unobservable.json', import.meta.url), 'utf8')) as { cases: Case[] }
const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'))
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

describe('unobservable layer: vectors from the independent generator', () => {
  it('has vectors', () => {
    expect(vectors.cases.length).toBeGreaterThanOrEqual(4)
  })

  for (const v of vectors.cases) {
    it(`reproduces "${v.name}" byte for byte`, () => {
      const listener = staticKeyFromEd25519(hex(v.listenerSeed))
      expect(toHex(listener.publicKey)).toBe(v.listenerPublic)

      const x = elligatorKeyPair(hex(v.initiatorSeed))
      expect(toHex(x.secretKey)).toBe(v.initiatorSecret)
      expect(toHex(x.representative)).toBe(v.rx)
      const y = elligatorKeyPair(hex(v.listenerEphemeralSeed))
      expect(toHex(y.secretKey)).toBe(v.listenerEphemeralSecret)
      expect(toHex(y.representative)).toBe(v.ry)

      // the initiator
      const sent = clientHello({ listener: listener.publicKey, secret: x25519Secret(x.secretKey), representative: x.representative, time: v.time, padding: v.clientPadding, rekeyBytes: v.rekeyBytes })
      expect(sent).not.toBeNull()
      expect(toHex(sent!.es)).toBe(v.es)
      expect(toHex(sent!.bytes)).toBe(v.clientHello)

      // the listener opens it
      const hello = hex(v.clientHello)
      const rx = hello.subarray(0, KEY_BYTES)
      const xPublic = representativeToPublicKey(rx)
      expect(toHex(xPublic)).toBe(v.initiatorPublic)
      const head = openClientHead({ secret: listener.secret, listener: listener.publicKey, rx, x: xPublic, head: hello.subarray(KEY_BYTES, KEY_BYTES + 10), rekeyBytes: v.rekeyBytes })
      expect(head).not.toBeNull()
      expect(head!.time).toBe(v.time)
      expect(head!.padding).toBe(v.clientPadding)
      const end = hello.byteLength - MAC_BYTES
      head!.in.update(hello.subarray(KEY_BYTES + 10, end))
      expect(toHex(mac(head!.macKey, rx, hello.subarray(KEY_BYTES, end)))).toBe(toHex(hello.subarray(end)))

      // the listener answers
      const answer = serverHello({ es: head!.es, listener: listener.publicKey, rx, clientMac: hello.subarray(end), x: xPublic, secret: x25519Secret(y.secretKey), representative: y.representative, padding: v.serverPadding, rekeyBytes: v.rekeyBytes })
      expect(toHex(answer!.bytes)).toBe(v.serverHello)

      // frames, each direction continuing its keystream
      for (const w of v.c2sWrites) expect(toHex(encodeFrames(sent!.out, hex(w.data), w.padding ?? undefined, w.switch))).toBe(w.wire)
      for (const w of v.s2cWrites) expect(toHex(encodeFrames(answer!.out, hex(w.data), w.padding ?? undefined, w.switch))).toBe(w.wire)
      // after a SWITCH: libp2p-noise messages as they are, lengths masked; and unmasked again by the listener
      const mask = new LengthMasker(sent!.outLengths(), 'mask')
      const unmask = new LengthMasker(head!.inLengths(), 'unmask')
      for (const p of v.c2sPassthrough) {
        const message = hex(p.message)
        const framed = Buffer.concat([Buffer.from([message.byteLength >> 8, message.byteLength & 0xff]), message])
        const wire = Buffer.concat(mask.transform(framed))
        expect(toHex(wire)).toBe(p.wire)
        expect(Buffer.concat(unmask.transform(wire)).equals(framed)).toBe(true)
      }
      // and the listener's incoming keystream decrypts what the initiator sent: a header, then the data
      const w0 = v.c2sWrites[0]!
      const plain = head!.in.update(hex(w0.wire))
      const n = Math.min(w0.data.length / 2, 0x3fff)
      expect((plain[0]! << 8) | plain[1]!).toBe(n)
      expect(Buffer.from(plain.subarray(2, 2 + n)).equals(Buffer.from(hex(w0.data).subarray(0, n)))).toBe(true)
    })
  }
})
