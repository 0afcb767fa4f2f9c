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

/** Thrown when a command needs a setting nobody gave: no rendezvous point, or an encrypted keystore without a passphrase. Exit code 2. */
export class MissingSettingError extends Error {
  static override name = 'MissingSettingError'
  override name = 'MissingSettingError'
  constructor (message = 'A required setting is missing') { super(message) }
}
