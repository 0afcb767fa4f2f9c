// Model-based property test of the RecordStore (spec/rendezvous.md#store-rules):
// random sequences of register / renew / withdraw / replay / revoke / resolve /
// sweep from several keys (two plain keys, two generations of a certified
// application key) under a clock that jumps, checked step by step against a
// simple model of the rules: a live name belongs to its first key until it
// expires or is withdrawn; seq strictly increases; a withdrawal refuses that
// key's older records for MAX_TTL_MS; expired and revoked records are never
// served; the store and each key are bounded.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { MemoryDatastore } from 'datastore-core'
import { createKeystore, selfCertifyingName } from '@fara/identity'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { rejectionIfAny } from '@fara/testkit'
import { RecordStore, createRecord, createTombstone } from '../src/index.ts'
import { MAX_CLOCK_SKEW_MS, MAX_TTL_MS, MIN_TTL_MS } from '../src/constants.ts'
import { budget, propsFile, runs } from './arbitraries.ts'
import type { SignedRecord } from '../src/index.ts'
import type { AppIdentity, SignedRevocation } from '@fara/identity'
import type { PrivateKey } from '@libp2p/interface'

propsFile('rendezvous/store-props')

const T0 = 1_750_000_000_000
const MAX_RECORDS = 6
const MAX_PER_KEY = 2
const FAST_KDF = { N: 2 ** 10, r: 8, p: 1 }

/** The signers: two plain keys, and two generations of one application key certified by a device key (owner 'D'). */
type Signer = 'A' | 'B' | 'C0' | 'C1'
const ownerOf = (s: Signer): string => s === 'C0' || s === 'C1' ? 'D' : s
const generationOf = (s: Signer): number | undefined => s === 'C0' ? 0 : s === 'C1' ? 1 : undefined

let dir: string
const keys = {} as { A: PrivateKey, B: PrivateKey, C0: AppIdentity, C1: AppIdentity, revocations: SignedRevocation[] }
let NAMES: string[] = []

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fara-store-props-'))
  const ks = await createKeystore(join(dir, 'ks'), { passphrase: 'pw', kdf: FAST_KDF })
  keys.C0 = await ks.app('svc', { now: T0 })
  keys.C1 = await ks.rotate('svc', { now: T0 })
  await ks.rotate('svc', { now: T0 })
  // revocations[b - 1] revokes every generation below b
  keys.revocations = [await ks.revoke('svc', 1, { now: T0 }), await ks.revoke('svc', 2, { now: T0 })]
  keys.A = await generateKeyPair('Ed25519')
  keys.B = await generateKeyPair('Ed25519')
  // three human-friendly names and one that only A can hold
  NAMES = ['alpha', 'beta', 'gamma', selfCertifyingName('svc', keys.A.publicKey)]
})

afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

// ---- the model ----------------------------------------------------------------

interface Slot { owner: string, seq: number, expires: number, generation: number | undefined }
interface Signed { signed: SignedRecord, tombstone: boolean, signer: Signer, name: string, seq: number, expires: number }

interface Model {
  now: number
  slots: Map<string, Slot>
  /** Withdrawals by name, then by owner: the tombstone's seq, remembered until seq + MAX_TTL_MS. */
  withdrawn: Map<string, Map<string, { seq: number, until: number }>>
  /** Certified generations below this are revoked. */
  revokedBelow: number
  history: Signed[]
}

interface Real { store: RecordStore, clock: { now: number }, datastore: MemoryDatastore }

const storeOf = (clock: { now: number }, datastore: MemoryDatastore): RecordStore =>
  new RecordStore({ now: () => clock.now, maxRecords: MAX_RECORDS, maxRecordsPerKey: MAX_PER_KEY, datastore })

const live = (m: Model, name: string): Slot | undefined => {
  const s = m.slots.get(name)
  return s != null && s.expires > m.now ? s : undefined
}
const liveWithdrawal = (m: Model, name: string, owner: string): { seq: number, until: number } | undefined => {
  const w = m.withdrawn.get(name)?.get(owner)
  return w != null && w.until > m.now ? w : undefined
}
const liveCount = (m: Model): number =>
  [...m.slots.keys()].filter(n => live(m, n) != null).length +
  [...m.withdrawn.values()].flatMap(byOwner => [...byOwner.values()]).filter(w => w.until > m.now).length

/** What verifyRecord says about `r` at the model's time, before any store rule. */
function verdict (m: Model, r: Signed): string | undefined {
  if (r.seq > m.now + MAX_CLOCK_SKEW_MS) return 'InvalidRecordError'
  if (!r.tombstone && r.expires <= m.now) return 'ExpiredRecordError'
  const generation = generationOf(r.signer)
  if (generation != null && generation < m.revokedBelow) return 'RevokedError'
  // the self-certifying name belongs to A alone
  if (r.name === NAMES[3] && ownerOf(r.signer) !== 'A') return 'InvalidRecordError'
  return undefined
}

/** The model's answer to put(r): an error name, or 'ok' (and the model updated). */
function modelPut (m: Model, r: Signed): string {
  const bad = verdict(m, r)
  if (bad != null) return bad
  const owner = ownerOf(r.signer)
  const current = live(m, r.name)
  const withdrawal = liveWithdrawal(m, r.name, owner)
  if (withdrawal != null && r.seq <= withdrawal.seq) return 'StaleRecordError'
  if (current != null) {
    if (current.owner !== owner) return 'NameTakenError'
    if (r.seq <= current.seq) return 'StaleRecordError'
  } else {
    if (liveCount(m) >= MAX_RECORDS) return 'StoreFullError'
    if ([...m.slots.keys()].filter(n => live(m, n)?.owner === owner).length >= MAX_PER_KEY) return 'TooManyRegistrationsError'
  }
  m.slots.set(r.name, { owner, seq: r.seq, expires: r.expires, generation: generationOf(r.signer) })
  return 'ok'
}

/** The model's answer to remove(t). */
function modelRemove (m: Model, t: Signed): string {
  const bad = verdict(m, t)
  if (bad != null) return bad
  const owner = ownerOf(t.signer)
  const current = live(m, t.name)
  if (current == null) return 'NameNotFoundError'
  if (current.owner !== owner) return 'NameTakenError'
  if (t.seq <= current.seq) return 'StaleRecordError'
  m.slots.delete(t.name)
  const byOwner = m.withdrawn.get(t.name) ?? new Map<string, { seq: number, until: number }>()
  byOwner.set(owner, { seq: t.seq, until: t.seq + MAX_TTL_MS })
  m.withdrawn.set(t.name, byOwner)
  return 'ok'
}

const outcome = async (p: Promise<unknown>): Promise<string> => (await rejectionIfAny(p))?.name ?? 'ok'

function privateKeyOf (s: Signer): PrivateKey {
  return s === 'A' || s === 'B' ? keys[s] : keys[s].privateKey
}

async function sign (m: Model, s: Signer, nameIndex: number, seqOffset: number, ttl: number | 'tombstone'): Promise<Signed> {
  const name = NAMES[nameIndex % NAMES.length]!
  const seq = m.now + seqOffset
  const certificate = s === 'C0' || s === 'C1' ? { certificate: keys[s].certificate } : {}
  const signed = ttl === 'tombstone'
    ? await createTombstone(privateKeyOf(s), name, seq, certificate)
    : await createRecord(privateKeyOf(s), { name, addrs: ['/ip4/127.0.0.1/tcp/4001'], aid: new Uint8Array(8).fill(nameIndex), ttl, now: seq, ...certificate })
  const r = { signed, tombstone: ttl === 'tombstone', signer: s, name, seq, expires: ttl === 'tombstone' ? seq : seq + ttl }
  m.history.push(r)
  return r
}

// ---- the commands ---------------------------------------------------------------

type Cmd = fc.AsyncCommand<Model, Real>

class Register implements Cmd {
  readonly s: Signer
  readonly name: number
  readonly seqOffset: number
  readonly ttl: number
  constructor (s: Signer, name: number, seqOffset: number, ttl: number) {
    this.s = s
    this.name = name
    this.seqOffset = seqOffset
    this.ttl = ttl
  }

  check (): boolean { return true }
  async run (m: Model, r: Real): Promise<void> {
    const rec = await sign(m, this.s, this.name, this.seqOffset, this.ttl)
    const want = modelPut(m, rec)
    expect(await outcome(r.store.put(rec.signed))).toBe(want)
  }

  toString (): string { return `register(${this.s}, ${this.name}, seq ${this.seqOffset >= 0 ? '+' : ''}${this.seqOffset}, ttl ${this.ttl})` }
}

class Withdraw implements Cmd {
  readonly s: Signer
  readonly name: number
  readonly seqOffset: number
  constructor (s: Signer, name: number, seqOffset: number) {
    this.s = s
    this.name = name
    this.seqOffset = seqOffset
  }

  check (): boolean { return true }
  async run (m: Model, r: Real): Promise<void> {
    const t = await sign(m, this.s, this.name, this.seqOffset, 'tombstone')
    const want = modelRemove(m, t)
    expect(await outcome(r.store.remove(t.signed))).toBe(want)
  }

  toString (): string { return `withdraw(${this.s}, ${this.name}, seq ${this.seqOffset >= 0 ? '+' : ''}${this.seqOffset})` }
}

class Replay implements Cmd {
  readonly index: number
  constructor (index: number) {
    this.index = index
  }

  check (m: Readonly<Model>): boolean { return m.history.length > 0 }
  async run (m: Model, r: Real): Promise<void> {
    const old = m.history[this.index % m.history.length]!
    if (old.tombstone) expect(await outcome(r.store.remove(old.signed))).toBe(modelRemove(m, old))
    else expect(await outcome(r.store.put(old.signed))).toBe(modelPut(m, old))
  }

  toString (): string { return `replay(#${this.index})` }
}

class Advance implements Cmd {
  readonly ms: number
  constructor (ms: number) {
    this.ms = ms
  }

  check (): boolean { return true }
  async run (m: Model, r: Real): Promise<void> {
    m.now += this.ms
    r.clock.now += this.ms
  }

  toString (): string { return `advance(${this.ms})` }
}

class Revoke implements Cmd {
  readonly below: 1 | 2
  constructor (below: 1 | 2) {
    this.below = below
  }

  check (): boolean { return true }
  async run (m: Model, r: Real): Promise<void> {
    await r.store.revoke(keys.revocations[this.below - 1]!)
    m.revokedBelow = Math.max(m.revokedBelow, this.below)
    for (const [name, slot] of m.slots) {
      if (slot.generation != null && slot.generation < m.revokedBelow) m.slots.delete(name)
    }
  }

  toString (): string { return `revoke(below ${this.below})` }
}

class Resolve implements Cmd {
  readonly name: number
  constructor (name: number) {
    this.name = name
  }

  check (): boolean { return true }
  async run (m: Model, r: Real): Promise<void> {
    const name = NAMES[this.name % NAMES.length]!
    const slot = live(m, name)
    const got = await r.store.get(name).catch((err: Error) => err)
    if (slot == null) {
      expect((got as Error).name).toBe('NameNotFoundError')
    } else {
      expect(got).not.toBeInstanceOf(Error)
      const record = got as Awaited<ReturnType<RecordStore['get']>>
      expect([record.seq, record.expires]).toEqual([slot.seq, slot.expires])
      expect(record.expires).toBeGreaterThan(m.now)
      // served records are genuine and verify at the store's clock
      expect(record.name).toBe(name)
    }
  }

  toString (): string { return `resolve(${this.name})` }
}

/** A restart: a new store loads what the datastore holds; nothing acknowledged is lost, nothing refused comes back. */
class Reload implements Cmd {
  check (): boolean { return true }
  async run (_m: Model, r: Real): Promise<void> {
    r.store = storeOf(r.clock, r.datastore)
    await r.store.load()
  }

  toString (): string { return 'reload()' }
}

class Sweep implements Cmd {
  check (): boolean { return true }
  async run (_m: Model, r: Real): Promise<void> { r.store.sweep() }
  toString (): string { return 'sweep()' }
}

const signer = fc.oneof({ weight: 3, arbitrary: fc.constantFrom<Signer>('A', 'B') }, { weight: 2, arbitrary: fc.constantFrom<Signer>('C0', 'C1') })
const nameIndex = fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 0, max: 1 }) }, { weight: 1, arbitrary: fc.integer({ min: 2, max: 3 }) })
const seqOffset = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(-1, 0, 1, 500) },
  { weight: 1, arbitrary: fc.constantFrom(-MAX_TTL_MS - 1_000, -60_000, -1_000, MAX_CLOCK_SKEW_MS, MAX_CLOCK_SKEW_MS + 1) }
)
const ttl = fc.constantFrom(MIN_TTL_MS, MIN_TTL_MS, 5_000, 60_000, MAX_TTL_MS, MAX_TTL_MS)
const advance = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(1, 999, 1_000, 4_000, 60_000) },
  { weight: 1, arbitrary: fc.constantFrom(MAX_TTL_MS - 1, MAX_TTL_MS + 1_000) }
)

const commands = fc.commands([
  fc.tuple(signer, nameIndex, seqOffset, ttl).map(([s, n, o, t]) => new Register(s, n, o, t)),
  fc.tuple(signer, nameIndex, seqOffset, ttl).map(([s, n, o, t]) => new Register(s, n, o, t)),
  fc.tuple(signer, nameIndex, seqOffset, ttl).map(([s, n, o, t]) => new Register(s, n, o, t)),
  fc.tuple(signer, nameIndex, seqOffset).map(([s, n, o]) => new Withdraw(s, n, o)),
  fc.tuple(signer, nameIndex, seqOffset).map(([s, n, o]) => new Withdraw(s, n, o)),
  fc.nat().map(i => new Replay(i)),
  fc.nat().map(i => new Replay(i)),
  fc.nat().map(i => new Replay(i)),
  advance.map(ms => new Advance(ms)),
  advance.map(ms => new Advance(ms)),
  fc.constantFrom(1 as const, 2 as const).map(b => new Revoke(b)),
  nameIndex.map(n => new Resolve(n)),
  fc.constant(new Sweep()),
  fc.constant(new Reload())
], { maxCommands: 50, size: 'max' })

describe('RecordStore as a state machine (model-based property)', () => {
  it('answers every register, renew, withdraw, replay, revoke, resolve and restart as the model of the store rules says', async () => {
    await fc.assert(fc.asyncProperty(commands, async cmds => {
      const clock = { now: T0 }
      const datastore = new MemoryDatastore()
      const real: Real = { store: storeOf(clock, datastore), clock, datastore }
      const model: Model = { now: T0, slots: new Map(), withdrawn: new Map(), revokedBelow: 0, history: [] }
      await fc.asyncModelRun(() => ({ model, real }), cmds)
    }), { numRuns: runs(400) })
  }, budget(30_000))
})

describe('RecordStore: the counterexamples the model found, kept as examples', () => {
  const addrs = ['/ip4/127.0.0.1/tcp/4001']
  const aid = new Uint8Array(8)

  it('refuses a withdrawn record replayed after another key held the name and let it expire', async () => {
    let now = T0
    const store = new RecordStore({ now: () => now })
    const withdrawn = await createRecord(keys.A, { name: 'mail', addrs, aid, ttl: MAX_TTL_MS, now })
    await store.put(withdrawn)
    now += 10
    await store.remove(await createTombstone(keys.A, 'mail', now))
    now += 10
    await store.put(await createRecord(keys.B, { name: 'mail', addrs, aid, ttl: MIN_TTL_MS, now }))
    now += 2 * MIN_TTL_MS
    await expect(store.put(withdrawn)).rejects.toMatchObject({ name: 'StaleRecordError' })
  })

  it('refuses a withdrawn record replayed after another key registered and withdrew the name too', async () => {
    let now = T0
    const store = new RecordStore({ now: () => now })
    const withdrawn = await createRecord(keys.A, { name: 'mail', addrs, aid, ttl: MAX_TTL_MS, now })
    await store.put(withdrawn)
    for (const key of [keys.A, keys.B]) {
      now += 10
      if (key === keys.B) await store.put(await createRecord(keys.B, { name: 'mail', addrs, aid, now }))
      now += 10
      await store.remove(await createTombstone(key, 'mail', now))
    }
    await expect(store.put(withdrawn)).rejects.toMatchObject({ name: 'StaleRecordError' })
    // a record A signs after its withdrawal is welcome
    now += 10
    await expect(store.put(await createRecord(keys.A, { name: 'mail', addrs, aid, now }))).resolves.toBeDefined()
  })

  it('still refuses, after a restart, a record withdrawn by a tombstone whose certificate was revoked since', async () => {
    let now = T0
    const datastore = new MemoryDatastore()
    const store = new RecordStore({ now: () => now, datastore })
    const r = await createRecord(keys.C1.privateKey, { name: 'mail', addrs, aid, now, certificate: keys.C1.certificate })
    await store.put(r)
    now += 10
    await store.remove(await createTombstone(keys.C0.privateKey, 'mail', now, { certificate: keys.C0.certificate }))
    now += 10
    await store.revoke(keys.revocations[0]!)
    await expect(store.put(r)).rejects.toMatchObject({ name: 'StaleRecordError' })
    const restarted = new RecordStore({ now: () => now, datastore })
    await restarted.load()
    await expect(restarted.put(r)).rejects.toMatchObject({ name: 'StaleRecordError' })
  })

  it('does not count expired names toward the per-key limit', async () => {
    let now = T0
    const store = new RecordStore({ now: () => now, maxRecordsPerKey: 2 })
    for (const name of ['one', 'two']) await store.put(await createRecord(keys.A, { name, addrs, aid, ttl: MIN_TTL_MS, now }))
    now += 4 * MIN_TTL_MS
    await expect(store.put(await createRecord(keys.A, { name: 'three', addrs, aid, now }))).resolves.toBeDefined()
  })
})
