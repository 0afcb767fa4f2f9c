/**
 * Exit codes of the `fara` command (documented in the package README). 0, 1
 * and 2 follow the usual convention (success, failure, usage: see the GNU
 * coding standards and BSD `sysexits.h` for the tradition); 3 to 6 tell a
 * script *why* a command failed; 130 is the shell's 128 + SIGINT (POSIX 2.8.2).
 */
export const ExitCode = {
  /** The command did what it was asked; also a long-running command stopped by SIGTERM after a clean shutdown. */
  OK: 0,
  /** A runtime failure not covered below. */
  FAILURE: 1,
  /** Bad arguments, a bad config file or a bad environment variable: one line on stderr, nothing started. */
  USAGE: 2,
  /** The name is not registered at the rendezvous (or not under this secret). */
  NOT_FOUND: 3,
  /** The rendezvous point or the service could not be reached. */
  UNREACHABLE: 4,
  /** Reached, but refused or not proven: the key did not match, the association or the record was refused. */
  REFUSED: 5,
  /** The keystore could not be used: wrong passphrase, unsafe file modes, a damaged file. */
  KEYSTORE: 6,
  /** Stopped by SIGINT (Ctrl-C), after a clean shutdown. */
  INTERRUPTED: 130
} as const

/** One of the {@link ExitCode} values. */
export type ExitCode = typeof ExitCode[keyof typeof ExitCode]

/** Environment variables read by the command (flags win over them, they win over the config file). */
export const ENV = {
  /** Path of the config file. */
  CONFIG: 'FARA_CONFIG',
  /** Multiaddrs of the rendezvous point, comma separated, each ending in `/p2p/<peer id>`. */
  RENDEZVOUS: 'FARA_RENDEZVOUS',
  /** The keystore directory. */
  KEYSTORE: 'FARA_KEYSTORE',
  /** Passphrase of an encrypted keystore (without one, the keystore is a plain key directory). */
  PASSPHRASE: 'FARA_PASSPHRASE',
  /** A file whose first line is the passphrase. */
  PASSPHRASE_FILE: 'FARA_PASSPHRASE_FILE',
  /** Relays to hold a slot on, comma separated multiaddrs. */
  RELAYS: 'FARA_RELAYS',
  /** Listen multiaddrs of a serving entity, comma separated. */
  LISTEN: 'FARA_LISTEN',
  /** Data directory of `fara rendezvous`. */
  DATA_DIR: 'FARA_DATA_DIR',
  /** Secret (invite) of a private name. */
  SECRET: 'FARA_SECRET',
  /** DHT nodes to join with `FARA_RENDEZVOUS=dht`, comma separated multiaddrs ending in `/p2p/<peer id>`. */
  BOOTSTRAP: 'FARA_BOOTSTRAP',
  /** The garbage collector's setting, one of {@link GC_SETTINGS} (read at start, so environment only). */
  GC: 'FARA_GC'
} as const

/**
 * Values of `FARA_GC`: `tuned` (the default: `fara` calls `tuneGc()` from `@fara/sdk` at start, more
 * throughput for more peak memory) or `node-defaults` (it does not).
 */
export const GC_SETTINGS = ['tuned', 'node-defaults'] as const

/** One of {@link GC_SETTINGS}. */
export type GcSetting = typeof GC_SETTINGS[number]

/** Name of the config file inside `$XDG_CONFIG_HOME/fara` (XDG Base Directory Specification 0.8). */
export const CONFIG_FILE = 'config.json'

/** Largest config or passphrase file read, in bytes: a config is a few lines. */
export const MAX_CONFIG_BYTES = 64 * 1024

/** Default TCP listen address of a serving entity and of a rendezvous point: every interface, OS-assigned port. */
export const DEFAULT_LISTEN = '/ip4/0.0.0.0/tcp/0'

/** First delay before retrying a registration the rendezvous point did not take (ms); doubled on each failure. */
export const RETRY_INITIAL_MS = 1_000

/** Longest delay between two registration attempts (ms). */
export const RETRY_MAX_MS = 30_000

/** Most TCP connections `fara connect --listen` tunnels at once (each is one association); more are closed at once. */
export const DEFAULT_MAX_CONNECTIONS = 64

/** Most time a clean shutdown may take before the process exits anyway (ms). */
export const SHUTDOWN_TIMEOUT_MS = 10_000

/** How long a forward target may take to accept a TCP connection (ms). */
export const FORWARD_CONNECT_TIMEOUT_MS = 10_000

/** Application name of the entity `fara connect` and `fara resolve` run as (its key is fresh unless `--stable-identity`). */
export const CLIENT_APP = 'fara-connect'

/** `fara serve --hop`: the shortest hop interval accepted (ms); @fara/port-hopping's own bound (MIN_INTERVAL_MS; one second is for tests). */
export const MIN_HOP_INTERVAL_MS = 1_000

/** `fara serve --hop`: the longest hop interval accepted (ms), one day; @fara/port-hopping's own bound (MAX_INTERVAL_MS). */
export const MAX_HOP_INTERVAL_MS = 24 * 3_600_000

/** How long a start-up check (resolving the name, reaching the forward target) may take before it is reported as failed (ms). */
export const START_CHECK_TIMEOUT_MS = 5_000
