import { describe, expect, it } from 'vitest'
import { AssociationTable, aidToHex } from '../src/index.ts'
import { DEFAULT_AID_ATTEMPTS } from '../src/constants.ts'
import type { RandomBytes } from '../src/index.ts'

/** A random source that returns the given byte patterns in order, then fails the test. */
function scripted (...fills: number[]): RandomBytes & { calls: number } {
  const source = Object.assign((n: number): Uint8Array => {
    const fill = fills[source.calls++]
    if (fill === undefined) throw new Error('random source exhausted')
    return new Uint8Array(n).fill(fill)
  }, { calls: 0 })
  return source
}

describe('AssociationTable', () => {
  it('registers a value under a fresh AId and looks it up', () => {
    const table = new AssociationTable<string>()
    const a = table.register('alpha')
    const b = table.register('beta')
    expect(a.byteLength).toBe(8)
    expect(aidToHex(a)).not.toBe(aidToHex(b))
    expect(table.lookup(a)).toBe('alpha')
    expect(table.lookup(b)).toBe('beta')
    expect(table.size).toBe(2)
  })

  it('finds an entry by an equal AId in another buffer', () => {
    const table = new AssociationTable<string>()
    const aid = table.register('alpha')
    expect(table.lookup(new Uint8Array(aid))).toBe('alpha')
  })

  it('does not find an AId that was never registered, nor a malformed one', () => {
    const table = new AssociationTable<string>()
    table.register('alpha')
    expect(table.lookup(new Uint8Array(8))).toBeUndefined()
    expect(table.lookup(new Uint8Array(3))).toBeUndefined()
    expect(table.lookup(undefined as unknown as Uint8Array)).toBeUndefined()
    expect(table.release(new Uint8Array(3))).toBe(false)
  })

  it('releases an entry exactly once', () => {
    const table = new AssociationTable<string>()
    const aid = table.register('alpha')
    expect(table.release(aid)).toBe(true)
    expect(table.lookup(aid)).toBeUndefined()
    expect(table.size).toBe(0)
    expect(table.release(aid)).toBe(false)
  })

  it('clears every entry', () => {
    const table = new AssociationTable<number>()
    const aids = [table.register(1), table.register(2), table.register(3)]
    table.clear()
    expect(table.size).toBe(0)
    for (const aid of aids) expect(table.lookup(aid)).toBeUndefined()
  })

  it('throws AssociationTableFullError at maxEntries, and accepts again after a release', () => {
    const table = new AssociationTable<number>({ maxEntries: 3 })
    const aids = [table.register(1), table.register(2), table.register(3)]
    let err: Error | undefined
    try { table.register(4) } catch (e) { err = e as Error }
    expect(err?.name).toBe('AssociationTableFullError')
    expect(table.size).toBe(3)
    table.release(aids[1]!)
    expect(table.lookup(table.register(5))).toBe(5)
  })

  it('draws a new AId when the first one collides with a live entry', () => {
    const random = scripted(0xaa, 0xaa, 0xbb)
    const table = new AssociationTable<string>({ random })
    const first = table.register('first')
    const second = table.register('second')
    expect(aidToHex(first)).toBe('aa'.repeat(8))
    expect(aidToHex(second)).toBe('bb'.repeat(8))
    expect(random.calls).toBe(3)
    expect(table.lookup(first)).toBe('first')
    expect(table.lookup(second)).toBe('second')
  })

  it('may reuse an AId once its entry was released', () => {
    const table = new AssociationTable<string>({ random: scripted(0xaa, 0xaa) })
    const first = table.register('first')
    table.release(first)
    expect(aidToHex(table.register('second'))).toBe('aa'.repeat(8))
  })

  it('gives up after maxAttempts colliding draws with AssociationTableFullError, keeping the live entry', () => {
    const random = Object.assign((n: number) => { random.calls++; return new Uint8Array(n).fill(7) }, { calls: 0 })
    const table = new AssociationTable<string>({ random, maxAttempts: 5 })
    const aid = table.register('live')
    random.calls = 0
    let err: Error | undefined
    try { table.register('other') } catch (e) { err = e as Error }
    expect(err?.name).toBe('AssociationTableFullError')
    expect(random.calls).toBe(5)
    expect(table.size).toBe(1)
    expect(table.lookup(aid)).toBe('live')
  })

  it('defaults to a bounded number of attempts', () => {
    const random = Object.assign((n: number) => { random.calls++; return new Uint8Array(n) }, { calls: 0 })
    const table = new AssociationTable<string>({ random })
    table.register('live')
    random.calls = 0
    expect(() => table.register('other')).toThrow(expect.objectContaining({ name: 'AssociationTableFullError' }))
    expect(random.calls).toBe(DEFAULT_AID_ATTEMPTS)
  })

  it('propagates a RangeError from a random source that returns the wrong length', () => {
    const table = new AssociationTable<string>({ random: (n) => new Uint8Array(n - 1) })
    expect(() => table.register('x')).toThrow(RangeError)
    expect(table.size).toBe(0)
  })

  it.each([
    [{ maxEntries: 0 }, /^maxEntries /],
    [{ maxEntries: -1 }, /^maxEntries /],
    [{ maxEntries: 1.5 }, /^maxEntries /],
    [{ maxEntries: Number.NaN }, /^maxEntries /],
    [{ maxAttempts: 0 }, /^maxAttempts /],
    [{ maxAttempts: Infinity }, /^maxAttempts /]
  ])('refuses %o with a RangeError naming the option', (init, message) => {
    expect(() => new AssociationTable(init)).toThrow(RangeError)
    expect(() => new AssociationTable(init)).toThrow(message)
  })
})
