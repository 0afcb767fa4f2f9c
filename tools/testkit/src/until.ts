// Waiting for a state, never for time: poll a condition until it holds, with a deadline.

/** Options for {@link until}. */
export interface UntilOptions {
  /** Fail once this long has passed (default 5000 ms). */
  timeoutMs?: number
  /** Check again after this long (default 10 ms): a poll interval, not a synchronisation. */
  intervalMs?: number
}

/**
 * Resolve once `check()` holds (it may be async), polling it; fail naming `what`
 * once `timeoutMs` has passed.
 *
 * @example
 * ```ts
 * await until(() => server.pending === 0, 'the server to forget the socket')
 * await until(async () => (await stats()).connections === 0, 'the connections closed', { timeoutMs: 30_000, intervalMs: 200 })
 * ```
 */
export async function until (check: () => boolean | Promise<boolean>, what: string, options: UntilOptions = {}): Promise<void> {
  const { timeoutMs = 5_000, intervalMs = 10 } = options
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, intervalMs)) // poll interval, not synchronisation
  }
}
