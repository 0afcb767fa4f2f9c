/** Where an entity listens unless told otherwise: every IPv4 interface, on a port the OS picks. */
export const DEFAULT_LISTEN = ['/ip4/0.0.0.0/tcp/0']

/** Ports below this are well-known (IANA system ports) and never used (spec/architecture.md, invariant 3). */
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

/**
 * How long direct addresses are tried before relayed ones, when a record has
 * both (ms): a direct address behind a NAT may drop the connection attempt
 * silently, and the relayed path should not wait a whole `dialTimeout` for it.
 */
export const DIRECT_DIAL_HEAD_START = 3_000

/** Most relays one node reserves a slot on (`relays` of createNode); each adds at least one address to the record, which holds 16. */
export const MAX_RELAYS = 8

/**
 * Limits of an entity's slot keeping on its relays (spec/transport.md#relays).
 */
export const RELAY_CLIENT_LIMITS = {
  /** One attempt to reserve a slot: dial the relay, send RESERVE, read the answer (ms). */
  reservationTimeout: 10_000,
  /** First retry after a failed or lost reservation (ms); doubled after each failure. */
  retryMin: 1_000,
  /** Longest wait between two attempts (ms). */
  retryMax: 60_000
} as const

/**
 * Limits of a Fara relay (circuit relay v2 server), set on purpose
 * (spec/transport.md#relay-limits). A relayed connection is never cut by
 * size or age: data and duration limits are off, and what is bounded is how
 * many entities and connections the relay carries.
 */
export const RELAY_SERVER_LIMITS = {
  /** Entities holding a slot at once (libp2p default 15); a slot is freed when its entity disconnects or lets it expire. */
  maxReservations: 256,
  /** Lifetime of a slot unless renewed (ms); entities renew 5 minutes before it ends (libp2p default 2 h). */
  reservationTtl: 30 * 60_000,
  /** Relayed connections open at once to one reserving entity (STOP streams; libp2p default 300). */
  maxCircuitsPerEntity: 256,
  /**
   * Slots held at once by entities at one source (an IPv4 address, an IPv6 /64): an eighth of
   * `maxReservations`, so that no one host can take every slot (libp2p: no such limit). Peer ids cost
   * nothing, so a limit per peer would not stop one host; a relay given another `maxReservations`
   * scales this to the same share, at least 1.
   */
  maxReservationsPerSource: 32,
  /**
   * Relayed connections open at once from one source (an IPv4 address, an IPv6 /64) to one reserving
   * entity: an eighth of `maxCircuitsPerEntity`, so that no one host can use up another entity's
   * relayed connections (libp2p: no such limit); scaled with `maxCircuitsPerEntity` likewise.
   */
  maxCircuitsPerSource: 32,
  /**
   * Slots held at once by entities at one source prefix (an IPv4 /24, an IPv6 /56; `SOURCE_PREFIXES`):
   * a quarter of `maxReservations` (spec/transport.md#relay-limits), so that one network with many
   * addresses cannot take every slot either, while a NAT'd site of several hosts is not held to one
   * host's share; scaled with `maxReservations`, at least 1.
   */
  maxReservationsPerPrefix: 64,
  /** Relayed connections open at once from one source prefix to one reserving entity: a quarter of `maxCircuitsPerEntity`, scaled likewise. */
  maxCircuitsPerPrefix: 64,
  /**
   * Relayed connections open at once from one key (peer id) to one reserving entity: 1/32 of
   * `maxCircuitsPerEntity`. A client needs one (its associations share the connection); the rest is
   * room for a resumption's new connection while the old one is still closing. Keys are free, so this
   * bounds a well-behaved client, and the per-address and per-prefix limits bound a host.
   */
  maxCircuitsPerPeer: 8,
  /** Circuit and reservation requests (HOP streams) open at once on one connection to the relay (libp2p default 32). */
  maxHopStreamsPerConnection: 32,
  /** A HOP request (reserve or connect) must be answered within this time (ms; libp2p default 30 s). */
  hopTimeout: 10_000,
  /**
   * libp2p's default per-connection limits (128 KiB, 2 minutes) are not
   * applied: an association is never cut by size or age, and a relayed
   * connection is not "limited", so associations open on it as on a direct one.
   */
  applyDefaultLimit: false
} as const

/**
 * How per-source limits group remote addresses (spec/security.md#sources).
 * An *address* is what one host can pick from: an IPv4 address, or an IPv6
 * /64 (a host picks any address in its /64). A *prefix* is one site or one
 * subscriber: an IPv4 /24, an IPv6 /56 (RIPE-690: the usual end-site
 * assignment). Keys cost nothing, addresses and prefixes do, so every limit
 * the rendezvous point, the relay and an entity apply per key also holds per
 * address and per prefix. The prefix lengths are configurable where a limit is.
 */
export const SOURCE_PREFIXES = {
  /** Bits of an IPv4 address that name one address (all of them). */
  address4: 32,
  /** Bits of an IPv6 address that name one address (the /64 of a host). */
  address6: 64,
  /** Bits of an IPv4 address that name one prefix. */
  prefix4: 24,
  /** Bits of an IPv6 address that name one prefix. */
  prefix6: 56
} as const

/**
 * A refusal by a per-source or per-key limit is reported (an event and a log
 * line) at most once per this many ms per source and limit, with the number
 * refused since the last report (spec/security.md#sources): a flood must not
 * become a flood of log lines.
 */
export const REFUSAL_REPORT_INTERVAL_MS = 10_000

/** Most sources whose last report a reporter remembers (least recently reported forgotten first). */
export const MAX_REPORTED_SOURCES = 10_000

/**
 * Liveness of every connection (spec/transport.md#liveness): a round trip on
 * a fresh stream every `interval` ms; a connection that does not answer
 * within the adaptive timeout (at least `minTimeout`) is aborted, so that the
 * associations on it notice a dead path (a dropped NAT mapping, a changed
 * address) and resume elsewhere instead of waiting for TCP's own timeout.
 */
export const LIVENESS = {
  /** Between checks of one connection (ms). */
  interval: 10_000,
  /** Least time a check may take before the connection is declared dead (ms). */
  minTimeout: 5_000,
  /** Most time a check may take (ms). */
  maxTimeout: 30_000,
  /** The protocol prefix of the check (`/fara/ping/1.0.0`); it needs no handler: a refusal is an answer too. */
  protocolPrefix: 'fara'
} as const

/**
 * Streams a peer may open on a new connection before this end has set up its
 * handlers (Yamux "early streams"; libp2p's default of 10 aborts the whole
 * connection at the 11th), and streams of one protocol one end may open on
 * one connection (libp2p's default is 64). Both match the entity's 256
 * inbound associations per connection (spec/transport.md#limits).
 */
export const STREAMS_PER_CONNECTION = 256

/**
 * Inbound connections one remote host may have in their Noise + Yamux
 * handshake at once (spec/transport.md#limits): a host that opens many TCP
 * connections and never speaks cannot fill `maxIncomingPendingConnections`
 * and keep everyone else out (a handshake slowloris).
 */
export const MAX_PENDING_PER_HOST = 16

/**
 * Yamux stream windows (spec/transport.md#limits): a stream's receive window
 * grows up to `maxStreamWindowSize` (Yamux's own 16 MiB), and what a stream
 * whose reader is paused may hold is that window plus one frame. libp2p's
 * default read-buffer limit (4 MiB) is below the window Yamux grows to, so a
 * reader that paused (a slow application) had its stream reset with
 * `StreamBufferError` instead of holding the sender back.
 */
export const YAMUX_STREAM = {
  maxStreamWindowSize: 16 * 1024 * 1024,
  maxReadBufferLength: 16 * 1024 * 1024 + 1024 * 1024
} as const

/**
 * Defaults of the unobservable layer (spec/unobservable.md).
 */
export const UNOBSERVABLE = {
  /**
   * A connection that has not proven the key is closed (a FIN, after reading and dropping
   * what it sent) at a time drawn uniformly from this range after it was accepted (ms),
   * whatever it sent: below libp2p's inbound upgrade timeout ({@link ENTITY_CONNECTION_LIMITS}).
   */
  silentClose: { min: 2_000, max: 8_000 },
  /** How far a hello's time may be from the listener's clock (ms). */
  replayWindow: 300_000,
  /** Most hellos a listener remembers per window (about 10 MB); beyond it, new hellos are refused until the window turns. */
  maxHellosPerWindow: 1 << 18,
  /** Largest padding a hello may carry (exclusive); a decoder refuses more. */
  maxHelloPadding: 1024,
  /** Padding: hellos carry 0–511 bytes, each side's first 16 writes one padding frame of 0–255 bytes. */
  padding: { hello: 512, writes: 16, frame: 256 }
} as const

/**
 * The record side channel of a connection under the unobservable layer
 * (spec/unobservable.md#records): opaque records sent straight onto the
 * socket, beside Noise, once a direction is in passthrough.
 */
export const LAYER_RECORDS = {
  /**
   * Largest record (2 MiB); a record has 1 to this many bytes. It bounds
   * what a receiver gathers per connection (one record at a time), and is
   * large enough that the 10-byte header is nothing against a bulk transfer.
   */
  maxRecordBytes: 1 << 21
} as const

/**
 * The NAT observer's limits (spec/direct-paths.md#observers): questions per
 * source address (a burst, then a rate), how long a question's time stays
 * valid, and how many questions one window remembers against replays.
 */
export const OBSERVER = {
  perSource: { burst: 16, perSecond: 4 },
  /** Sources whose buckets are kept; the oldest is dropped beyond it. */
  maxSources: 65_536,
  replayWindow: 60_000,
  maxQuestionsPerWindow: 1 << 18
} as const

/** The birthday punch negotiation's protocol id (inside the relayed connection's Noise, never on the wire in clear). */
export const PUNCH_PROTOCOL = '/fara/punch/1'

/**
 * The birthday punch (spec/direct-paths.md#the-punch): Holepunch hyperdht's
 * schedule (lib/holepuncher.js), which the lab prototypes verified here
 * (../shared/research/birthday-punch/): the random side opens `sockets` UDP
 * sockets, each sends one packet of TTL `lowTtl` toward the consistent side (it
 * opens a mapping in its own NAT and dies before the far one), then one socket
 * sends every `intervalMs`, round robin; the consistent side sends a probe to a
 * random port of the random side's address every `intervalMs`, at most
 * `maxProbes` (p = sockets / 64,512 per probe: 1,750 probes succeed 99.9 % of
 * the time, 252 on average, about 5 s).
 */
export const PUNCH = {
  sockets: 256,
  lowTtl: 5,
  intervalMs: 20,
  maxProbes: 1_750,
  /** Lowest port the consistent side probes (below it few NATs map). */
  minPort: 1_024,
  /** One attempt, negotiation to upgraded connection, may take this long (ms). */
  budgetMs: 45_000,
  /** Pause after a punch on the random side before the next may start (ms): 256 sockets and their mappings are not free. */
  pauseMs: 2_000,
  /** A classification is reused this long (ms); a change of network interfaces drops it sooner. Shorter than the shortest NAT UDP timeout (30 s), so the consistent side's mapping it names is still there. */
  classificationTtlMs: 20_000,
  /** Time to wait for observers' answers, per try (ms), and tries. */
  observeTimeoutMs: 400,
  observeTries: 3,
  /** Punches a node answers at once (it asked for its own beyond these): a peer names the address the probes go to. */
  maxAnswering: 4,
  /** A peer may ask this node for a punch once per this time (ms). */
  perPeerIntervalMs: 10_000,
  /** Largest negotiation message (bytes). */
  maxMessageBytes: 256,
  /**
   * Receive and send buffers of a socket that carries a punched connection (bytes; the kernel caps them at
   * net.core.rmem_max / wmem_max). With the default 208 KiB a busy receiver dropped about 3 % of the datagrams
   * of a 256 MiB transfer on loopback (RcvbufErrors), and moved 77–91 MiB/s instead of 94–128.
   */
  socketBufferBytes: 4 * 1024 * 1024
} as const

/**
 * The WebRTC transport's listen address. It opens no socket of its own: it
 * turns every relayed address `…/p2p-circuit` into `…/p2p-circuit/webrtc`,
 * which a peer dials to be offered a direct path (spec/direct-paths.md).
 */
export const WEBRTC_LISTEN = '/webrtc'

/**
 * STUN servers used unless told otherwise: none. @libp2p/webrtc would
 * otherwise ask four public servers (Google, Twilio, Cloudflare, Mozilla) on
 * every connection, telling each of them that this entity exists; Fara says
 * nothing it does not have to (spec/direct-paths.md#stun).
 */
export const DEFAULT_STUN_SERVERS: readonly string[] = []

/** Largest data-channel message, framing included: @libp2p/webrtc's own default; larger ones measured no faster (spec/direct-paths.md#measured-on-loopback). */
export const DEFAULT_MAX_MESSAGE_SIZE = 16_384

/** Highest `maxMessageSize` accepted: libdatachannel announces `a=max-message-size:262144` (RFC 8841 §6). */
export const MAX_MAX_MESSAGE_SIZE = 262_144

/**
 * Attempts of one upgrade. Two peers that can reach each other fail an
 * attempt in about one case in ten on loopback (a DTLS race in
 * libdatachannel 0.24, spec/direct-paths.md#defects); three make that rare.
 */
export const UPGRADE_ATTEMPTS = 3

/**
 * Time one upgrade attempt may take (ms). Across the NAT lab a successful
 * upgrade took at most 1.2 s (spec/nat-lab.md); a failed attempt is only
 * noticed when this runs out (spec/direct-paths.md#defects).
 */
export const UPGRADE_ATTEMPT_TIMEOUT = 5_000
