import { DEFAULT_INTERVAL_MS, SKEW_SLOTS } from './constants.ts'
import { hmacKey, reduce, slotBlock } from './internal/derive.ts'
import { checkHopParams, rangeSize } from './params.ts'
import type { HopParams, PortRange } from './params.ts'

/** Options of {@link createSchedule}. {@link HopParams} are a valid `ScheduleInit`. */
export interface ScheduleInit {
  /** HMAC-SHA256 key, exactly 32 bytes (copied). */
  key: Uint8Array
  /** Start of slot 0 (ms since the Unix epoch); default 0. */
  epoch?: number
  /** Slot length (ms), at least 1000; default 30000. */
  intervalMs?: number
  /** Port range, both ends included, within 1024–65535 and at least 16 ports. */
  range: PortRange
  /** Clock (ms since the Unix epoch) used where a time is left out; default `Date.now`. */
  now?: () => number
}

/** A slot and the port it maps to. */
export interface HopSlot {
  /** Slot number: `floor((t - epoch) / intervalMs)`. */
  slot: number
  /** Port of the slot. */
  port: number
}

/**
 * A keyed port schedule (spec/port-hopping.md#the-schedule): time is cut into
 * slots of `intervalMs`, and each slot maps to a port of the range through
 * HMAC-SHA256 under the key. Without the key, the next port cannot be told
 * from the ports seen so far.
 */
export interface Schedule {
  /** The parameters, validated and frozen (they hold the key: keep them private). */
  readonly params: HopParams
  /** The schedule's clock: ms since the Unix epoch. */
  now(): number
  /** Slot of time `t`: `floor((t - epoch) / intervalMs)`; a time exactly on a boundary belongs to the new slot. Negative before the epoch. */
  slotAt(t: number): number
  /** Port of a slot (any safe integer, negative included). */
  portOf(slot: number): number
  /** The current slot and its port. */
  current(): HopSlot
  /**
   * Ports live at `t` (default now): those of slots `s - 1`, `s` and `s + 1`,
   * in that order, without repeats (one slot of clock skew tolerated each way).
   */
  ports(t?: number): number[]
  /**
   * Ports to dial at `t` (default now), in order: slot `s`, then the neighbour
   * across the nearer slot boundary, then the other one; without repeats.
   */
  dialPorts(t?: number): number[]
  /** Start (ms since the Unix epoch) of the first slot after the one holding `t` (default now). */
  nextChangeAt(t?: number): number
}

/** How many recent slot → port results a schedule remembers (the listener and the dialer ask for the same few slots). */
const CACHE_SLOTS = 16

/**
 * Make a schedule.
 *
 * @example
 * ```ts
 * import { randomBytes } from 'node:crypto'
 * import { createSchedule } from '@fara/port-hopping'
 *
 * const schedule = createSchedule({ key: randomBytes(32), intervalMs: 30_000, range: { start: 20_000, end: 20_999 } })
 * console.log(schedule.ports())                   // the three ports live now
 * console.log(new Date(schedule.nextChangeAt()))  // when the window moves
 * ```
 *
 * @throws `TypeError` when `init` or a field has the wrong type (the message names it).
 * @throws `RangeError` when the key is not 32 bytes, the interval under 1000 ms, or the range outside 1024–65535 or under 16 ports; later, when a time or slot is not a safe number.
 * @throws {@link HopDerivationError} when a slot gets no port within the HMAC block bound (probability below 2^-1024: a broken HMAC, not bad luck).
 */
export function createSchedule (init: ScheduleInit): Schedule {
  if (init == null || typeof init !== 'object') throw new TypeError(`init must be an object, got ${init === null ? 'null' : typeof init}`)
  if (init.now != null && typeof init.now !== 'function') throw new TypeError(`init.now must be a function, got ${typeof init.now}`)
  const params = checkHopParams({ key: init.key, epoch: init.epoch ?? 0, intervalMs: init.intervalMs ?? DEFAULT_INTERVAL_MS, range: init.range }, 'init')
  return new KeyedSchedule(params, init.now ?? Date.now)
}

class KeyedSchedule implements Schedule {
  readonly params: HopParams
  readonly #clock: () => number
  readonly #key: ReturnType<typeof hmacKey>
  readonly #n: number
  readonly #cache = new Map<number, number>()

  constructor (params: HopParams, clock: () => number) {
    this.params = params
    this.#clock = clock
    this.#key = hmacKey(params.key)
    this.#n = rangeSize(params.range)
  }

  now (): number {
    const t = this.#clock()
    checkTime(t, 'now()')
    return t
  }

  slotAt (t: number): number {
    checkTime(t, 't')
    return Math.floor((t - this.params.epoch) / this.params.intervalMs)
  }

  portOf (slot: number): number {
    if (!Number.isSafeInteger(slot)) throw new RangeError(`slot must be a safe integer, got ${String(slot)}`)
    const cached = this.#cache.get(slot)
    if (cached != null) return cached
    const port = this.params.range.start + reduce(block => slotBlock(this.#key, slot, block), this.#n)
    if (this.#cache.size >= CACHE_SLOTS) this.#cache.delete(this.#cache.keys().next().value as number)
    this.#cache.set(slot, port)
    return port
  }

  current (): HopSlot {
    const slot = this.slotAt(this.now())
    return { slot, port: this.portOf(slot) }
  }

  ports (t: number = this.now()): number[] {
    const slot = this.slotAt(t)
    const slots: number[] = []
    for (let d = -SKEW_SLOTS; d <= SKEW_SLOTS; d++) slots.push(slot + d)
    return unique(slots.map(s => this.portOf(s)))
  }

  dialPorts (t: number = this.now()): number[] {
    const slot = this.slotAt(t)
    const intoSlot = t - this.params.epoch - slot * this.params.intervalMs
    // past the middle of the slot, a peer whose clock is ahead has likelier moved on than one behind
    const late = intoSlot * 2 >= this.params.intervalMs
    const order = late ? [slot, slot + 1, slot - 1] : [slot, slot - 1, slot + 1]
    return unique(order.map(s => this.portOf(s)))
  }

  nextChangeAt (t: number = this.now()): number {
    return this.params.epoch + (this.slotAt(t) + 1) * this.params.intervalMs
  }
}

function checkTime (t: number, name: string): void {
  if (typeof t !== 'number') throw new TypeError(`${name} must be a number (ms since the Unix epoch), got ${typeof t}`)
  if (!Number.isFinite(t) || Math.abs(t) > Number.MAX_SAFE_INTEGER) throw new RangeError(`${name} must be a finite time in ms within ±(2^53 - 1), got ${t}`)
}

function unique (ports: number[]): number[] {
  return [...new Set(ports)]
}
