// `--verbose`: the SDK's lifecycle log (`fara:*` debug lines, the README
// "Logging" of @fara/sdk) on stderr, as `DEBUG=fara*` shows it. libp2p's
// logger reads DEBUG once, when it is loaded; `enable` replaces what it
// read, so the namespaces the user set are kept and `fara*` is added.

/** What `--verbose` turns on. */
export const VERBOSE_NAMESPACES = 'fara*'

/** Turn the lifecycle log on for the rest of this process, keeping whatever `DEBUG` already enables. */
export async function verbose (): Promise<void> {
  const { enable } = await import('@libp2p/logger')
  const current = process.env.DEBUG?.trim() ?? ''
  enable(current === '' ? VERBOSE_NAMESPACES : `${current},${VERBOSE_NAMESPACES}`)
}
