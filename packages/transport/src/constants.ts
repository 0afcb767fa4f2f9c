/** Where an entity listens unless told otherwise: every IPv4 interface, on a port the OS picks. */
export const DEFAULT_LISTEN = ['/ip4/0.0.0.0/tcp/0']

/** Ports below this are well-known (IANA system ports) and never used (ARCHITECTURE invariant 2). */
export const WELL_KNOWN_PORT_LIMIT = 1024

/**
 * Connection-manager limits, set on purpose (spec/transport.md#limits).
 * libp2p's default inbound threshold of 5 new connections per second per host
 * resets clients behind one NAT, or many ephemeral clients on one host; these
 * limits bound memory instead.
 */
export const ENTITY_CONNECTION_LIMITS = {
  /** Open connections held at once. */
  maxConnections: 256,
  /** Connections still in the Noise/Yamux upgrade at once. */
  maxIncomingPendingConnections: 64,
  /** New inbound connections per second per remote host. */
  inboundConnectionThreshold: 100,
  /** Whole dial, all addresses (ms). */
  dialTimeout: 10_000,
  /** Inbound Noise + Yamux upgrade (ms). */
  inboundUpgradeTimeout: 10_000
} as const

/** Limits for a rendezvous point, which many entities reach from few hosts. */
export const RENDEZVOUS_CONNECTION_LIMITS = {
  ...ENTITY_CONNECTION_LIMITS,
  maxConnections: 4096,
  maxIncomingPendingConnections: 256,
  inboundConnectionThreshold: 1000
} as const
