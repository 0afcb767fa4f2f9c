/**
 * Mocha's globals, as the suites of @libp2p/interface-compliance-tests call
 * them, on top of vitest: `describe`, `it`, the four hooks, and the `this` of
 * a test (`this.skip()`, `this.timeout(ms)`). The suites are libp2p's code,
 * run unchanged; {@link mochaSuite} adds only the list of cases that Fara
 * fails by design, each with its reason and the error it must fail with: such
 * a case passes only if it fails with that error, so CI notices when it fails
 * otherwise or starts to pass.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, it } from 'vitest'
import type { TestContext } from 'vitest'

/** The `this` of a mocha test or hook, as far as the libp2p suites use it. */
export interface MochaContext {
  /** Skip the running test. */
  skip: () => never
  /**
   * Mocha lengthens the running test's timeout here. Vitest fixes a test's
   * timeout when it is registered (the project's `testTimeout`), so this only
   * records the value; see README.md.
   */
  timeout: (ms?: number) => number
}

type MochaFn = (this: MochaContext) => unknown

/** A case that fails by design: why, and the error message it must fail with. */
export interface ExpectedFailure {
  reason: string
  error: RegExp
}

/** The expected failures of one {@link mochaSuite} run, and which of them the suite registered. */
interface Frame {
  fails: ReadonlyMap<string, ExpectedFailure>
  seen: Set<string>
}

let frame: Frame | undefined

function within<T> (f: Frame | undefined, fn: () => T): T {
  const prev = frame
  frame = f
  try {
    return fn()
  } finally {
    frame = prev
  }
}

function contextOf (ctx: TestContext | undefined): MochaContext {
  let timeout = 0
  return {
    skip: () => {
      if (ctx == null) throw new Error('this.skip() in a hook is not supported by the vitest adapter')
      ctx.skip()
      throw new Error('unreachable: ctx.skip() throws')
    },
    timeout: (ms) => {
      if (ms != null) timeout = ms
      return timeout
    }
  }
}

function checked (fn: MochaFn, what: string): MochaFn {
  if (typeof fn !== 'function') throw new TypeError(`${what} must be a function, got ${typeof fn}`)
  // a parameter is mocha's `done` callback; the libp2p suites return promises instead
  if (fn.length > 0) throw new TypeError(`${what}: mocha done-callbacks are not supported by the vitest adapter`)
  return fn
}

function mochaIt (name: string, fn?: MochaFn): void {
  if (fn == null) {
    it.todo(name)
    return
  }
  const test = checked(fn, `it('${name}')`)
  const run = async (ctx: TestContext): Promise<unknown> => test.call(contextOf(ctx))
  const expected = frame?.fails.get(name)
  if (expected == null) {
    it(name, run)
    return
  }
  frame?.seen.add(name)
  it(`${name} [fails by design: ${expected.reason}]`, async (ctx) => {
    let error: unknown
    try {
      await run(ctx)
    } catch (err) {
      error = err
    }
    if (error === undefined) throw new Error(`expected to fail (${expected.reason}), but passed: take it off the list`)
    // vitest's ctx.skip() throws an error with this code: a skip stays a skip
    if ((error as { code?: unknown }).code === 'VITEST_PENDING' || !expected.error.test(String((error as Error).message))) throw error
  })
}
// the suites' own mocha calls: a case the suite itself marks pending or skipped stays so (none of ./transport's does today: CI reports 0 skipped)
mochaIt.skip = (name: string): void => { it.skip(name) }

function mochaDescribe (name: string, fn: () => void): void {
  const f = frame
  describe(name, () => { within(f, fn) })
}
mochaDescribe.skip = (name: string): void => { describe.skip(name) }

function hook (register: (fn: () => Promise<unknown>) => void, name: string): (fn: MochaFn) => void {
  return (fn) => {
    const h = checked(fn, name)
    register(async () => h.call(contextOf(undefined)))
  }
}

Object.assign(globalThis, {
  describe: mochaDescribe,
  it: mochaIt,
  before: hook(beforeAll, 'before'),
  after: hook(afterAll, 'after'),
  beforeEach: hook(beforeEach, 'beforeEach'),
  afterEach: hook(afterEach, 'afterEach')
})

/**
 * Register one run of a libp2p compliance suite: `register` calls the suite
 * with its setup. `fails` names the cases (by their `it` title) that fail by
 * design, each with the reason and the error; a name the suite does not
 * register fails the run, so a renamed case cannot hide a failure.
 */
export function mochaSuite (name: string, register: () => void, options: { fails?: Record<string, ExpectedFailure> } = {}): void {
  const f: Frame = { fails: new Map(Object.entries(options.fails ?? {})), seen: new Set() }
  describe(name, () => {
    within(f, register)
    afterAll(() => {
      const unseen = [...f.fails.keys()].filter(n => !f.seen.has(n))
      if (unseen.length > 0) throw new Error(`expected failures not registered by the suite: ${unseen.join(', ')}`)
    })
  })
}
