// The error a call throws or a promise rejects with, for assertions on it. Two strengths:
// `thrown` / `rejection` fail the test when nothing goes wrong; `thrownIfAny` /
// `rejectionIfAny` report "nothing" as undefined (property tests, where most inputs are fine).

/** An error as a test inspects it: a Node error or a wire error may carry a `code`. */
export type Caught = Error & { code?: unknown }

/** The error `fn` throws; fails if it returns. */
export function thrown (fn: () => unknown): Caught {
  try {
    fn()
  } catch (err) {
    return err as Caught
  }
  throw new Error('expected a throw')
}

/** The error `p` rejects with; fails if it resolves. */
export async function rejection (p: Promise<unknown>): Promise<Caught> {
  try {
    await p
  } catch (err) {
    return err as Caught
  }
  throw new Error('expected a rejection')
}

/** The error `fn` throws, or undefined if it returns. */
export function thrownIfAny (fn: () => unknown): Caught | undefined {
  try {
    fn()
  } catch (err) {
    return err as Caught
  }
  return undefined
}

/** The error `p` rejects with, or undefined if it resolves. */
export async function rejectionIfAny (p: Promise<unknown>): Promise<Caught | undefined> {
  try {
    await p
  } catch (err) {
    return err as Caught
  }
  return undefined
}
