// The SDK and the transport pull in libp2p (half a second to load): they are
// loaded on first use, so `--help`, `fara config` and bad arguments answer at once.

/** `@fara/sdk`, loaded on first use. */
export async function sdk (): Promise<typeof import('@fara/sdk')> {
  return import('@fara/sdk')
}

/** `@fara/transport`, loaded on first use. */
export async function transport (): Promise<typeof import('@fara/transport')> {
  return import('@fara/transport')
}
