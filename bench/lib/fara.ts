// The names the bench's Fara services register.

/** The names the bench's services register. */
export const NAMES = {
  sink: 'bench-sink',
  echo: 'bench-echo',
  relayedSink: 'bench-sink-relayed',
  hopSink: 'bench-sink-hop'
} as const
