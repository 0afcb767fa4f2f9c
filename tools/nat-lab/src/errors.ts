/** Thrown when a command that builds or tears down the lab exits with a failure. */
export class LabCommandError extends Error {
  static override name = 'LabCommandError'
  override name = 'LabCommandError'
  /** The command line that failed. */
  readonly argv: readonly string[]
  /** Its exit status (null when killed by a signal or not started). */
  readonly status: number | null
  /** The end of its standard error. */
  readonly stderr: string
  constructor (argv: readonly string[], status: number | null, stderr: string, message = `lab command failed (${status}): ${argv.join(' ')}: ${stderr.trim()}`) {
    super(message)
    this.argv = argv
    this.status = status
    this.stderr = stderr
  }
}

/** Thrown by `createLab` when this machine cannot run a lab (not root, or a tool is missing). */
export class LabUnavailableError extends Error {
  static override name = 'LabUnavailableError'
  override name = 'LabUnavailableError'
  /** What is missing, e.g. `['root', 'ipset (apt-get install ipset)']`. */
  readonly missing: readonly string[]
  constructor (missing: readonly string[], message = `NAT lab unavailable: needs ${missing.join(', ')}`) {
    super(message)
    this.missing = missing
  }
}

/** Thrown when a lab is used after `destroy()`. */
export class LabDestroyedError extends Error {
  static override name = 'LabDestroyedError'
  override name = 'LabDestroyedError'
  constructor (message = 'The lab has been destroyed') { super(message) }
}
