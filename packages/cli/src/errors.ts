/** Thrown when the command line is wrong: an unknown command or option, a missing or malformed value. Exit code 2. */
export class UsageError extends Error {
  static override name = 'UsageError'
  override name = 'UsageError'
  /** The command whose `--help` explains the right usage (empty for `fara` itself). */
  readonly command: string
  constructor (message = 'Bad command line', command = '') {
    super(message)
    this.command = command
  }
}

/** Thrown when the config file or an environment variable cannot be used (unreadable, not JSON, unknown key, wrong type). Exit code 2. */
export class ConfigError extends Error {
  static override name = 'ConfigError'
  override name = 'ConfigError'
  constructor (message = 'Bad configuration') { super(message) }
}

/** Thrown when the local TCP service behind `fara serve --forward` refuses or does not answer. */
export class ForwardFailedError extends Error {
  static override name = 'ForwardFailedError'
  override name = 'ForwardFailedError'
  constructor (message = 'The forward target did not accept the connection') { super(message) }
}

/** Thrown when an invite (`fara1:…`) cannot be read: wrong prefix or alphabet, too long, damaged, or a field out of bounds. Exit code 2. */
export class InvalidInviteError extends Error {
  static override name = 'InvalidInviteError'
  override name = 'InvalidInviteError'
  constructor (message = 'Not a valid invite') { super(message) }
}

/** Thrown when the DNS server of `--rendezvous dns://…` or `fara serve --srv` does not serve the zone (NOTAUTH to an update, REFUSED or NXDOMAIN to its SOA). Exit code 2. */
export class ZoneNotServedError extends Error {
  static override name = 'ZoneNotServedError'
  override name = 'ZoneNotServedError'
  constructor (message = 'The DNS server does not serve this zone') { super(message) }
}

/** Thrown when a command needs a setting nobody gave: no rendezvous point, or an encrypted keystore without a passphrase. Exit code 2. */
export class MissingSettingError extends Error {
  static override name = 'MissingSettingError'
  override name = 'MissingSettingError'
  constructor (message = 'A required setting is missing') { super(message) }
}

/** Thrown when an association carrying UDP (`--forward-udp`, `--listen-udp`) lacks the UDP preamble or frames a datagram over 65,507 bytes (spec/udp.md); it ends that flow only. */
export class UdpFrameError extends Error {
  static override name = 'UdpFrameError'
  override name = 'UdpFrameError'
  constructor (message = 'Malformed UDP frame') { super(message) }
}
