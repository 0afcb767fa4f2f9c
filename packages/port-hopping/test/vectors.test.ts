// The package reproduces spec/vectors/port-hopping.json; the vectors come from
// spec/vectors/generate-port-hopping.mjs, which shares no code with it.
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { thrown } from '@fara/testkit'
import { createSchedule, decodeHopParams, encodeHopParams, hopParamsFromString, hopParamsToString } from '../src/index.ts'
import { HOP_DOMAIN } from '../src/constants.ts'
import { hmacKey, reduce, slotBlock, slotMessage } from '../src/internal/derive.ts'
import type { HopParams } from '../src/index.ts'

interface ParamsJson { key: string, epoch: number, intervalMs: number, range: { start: number, end: number } }
interface Vectors {
  domain: string
  messages: Array<{ key: string, slot: number, block: number, message: string, hmac: string }>
  schedules: Array<{
    name: string
    params: ParamsJson
    encoded: string
    text: string
    slots: Array<{ slot: number, port: number }>
    times: Array<{ t: number, slot: number, port: number, window: number[], dial: number[], nextChangeAt: number }>
  }>
  rejection: ParamsJson & { slot: number, limit: number, block0: string, rejected: number[], accepted: { block: number, candidate: number, x: number }, port: number }
  invalid: Array<{ why: string, hex: string, error: string }>
  invalidText: Array<{ why: string, text: string, error: string }>
}

const vectors = JSON.parse(readFileSync(new URL('../../../spec/vectors/port-hopping.json', import.meta.url), 'utf8')) as Vectors
const unhex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'))
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')
const paramsOf = (p: ParamsJson): HopParams => ({ key: unhex(p.key), epoch: p.epoch, intervalMs: p.intervalMs, range: p.range })

describe('spec/vectors/port-hopping.json', () => {
  it('uses the domain string of the package', () => {
    expect(vectors.domain).toBe(HOP_DOMAIN)
  })

  it.each(vectors.messages)('HMAC message and block of slot $slot, block $block', (v) => {
    expect(hex(slotMessage(v.slot, v.block))).toBe(v.message)
    expect(hex(slotBlock(hmacKey(unhex(v.key)), v.slot, v.block))).toBe(v.hmac)
  })

  describe.each(vectors.schedules)('$name', (v) => {
    const schedule = createSchedule(paramsOf(v.params))

    it('maps each slot to its port', () => {
      for (const { slot, port } of v.slots) expect(schedule.portOf(slot), `slot ${slot}`).toBe(port)
    })

    it('gives the slot, window, dial order and next change of each time', () => {
      for (const at of v.times) {
        expect(schedule.slotAt(at.t), `slotAt(${at.t})`).toBe(at.slot)
        expect(schedule.portOf(at.slot)).toBe(at.port)
        expect(schedule.ports(at.t), `ports(${at.t})`).toEqual(at.window)
        expect(schedule.dialPorts(at.t), `dialPorts(${at.t})`).toEqual(at.dial)
        expect(schedule.nextChangeAt(at.t)).toBe(at.nextChangeAt)
      }
    })

    it('encodes to the same bytes and text, and decodes back', () => {
      expect(hex(encodeHopParams(paramsOf(v.params)))).toBe(v.encoded)
      expect(hopParamsToString(paramsOf(v.params))).toBe(v.text)
      const decoded = decodeHopParams(unhex(v.encoded))
      expect({ ...decoded, key: hex(decoded.key) }).toEqual(v.params)
      expect(hex(encodeHopParams(hopParamsFromString(v.text)))).toBe(v.encoded)
    })
  })

  it('rejects a biased candidate and takes the next one (the rejection vector)', () => {
    const r = vectors.rejection
    const key = hmacKey(unhex(r.key))
    expect(hex(slotBlock(key, r.slot, 0))).toBe(r.block0)
    const n = r.range.end - r.range.start + 1
    expect(n * Math.floor(2 ** 32 / n)).toBe(r.limit)
    expect(Buffer.from(unhex(r.block0)).readUInt32BE(0)).toBe(r.rejected[0])
    expect(r.rejected[0]).toBeGreaterThanOrEqual(r.limit)
    expect(reduce(block => slotBlock(key, r.slot, block), n) + r.range.start).toBe(r.port)
    expect(createSchedule(paramsOf(r)).portOf(r.slot)).toBe(r.port)
    // a reduction without the rejection (plain x mod n) would give another port
    expect(r.range.start + r.rejected[0]! % n).not.toBe(r.port)
  })

  it.each(vectors.invalid)('refuses encoded parameters: $why → $error', (v) => {
    expect(thrown(() => decodeHopParams(unhex(v.hex))).name).toBe(v.error)
  })

  it.each(vectors.invalidText)('refuses text parameters: $why → $error', (v) => {
    expect(thrown(() => hopParamsFromString(v.text)).name).toBe(v.error)
  })
})
