import { ExitCode } from '../constants.ts'
import { rejectionMessage } from './allow.ts'

/** How a failure is reported: the exit code, one line, and a hint at what to do. */
export interface Failure {
  exit: ExitCode
  name: string
  message: string
  hint?: string
}

/** What a failure was about, for its message. */
export interface FailureContext {
  /** The service name the command was working on. */
  name?: string
}

const BY_NAME: Record<string, { exit: ExitCode, hint?: string, message?: (err: Error, ctx: FailureContext) => string }> = {
  UsageError: { exit: ExitCode.USAGE },
  ConfigError: { exit: ExitCode.USAGE },
  MissingSettingError: { exit: ExitCode.USAGE },
  NameNotFoundError: {
    exit: ExitCode.NOT_FOUND,
    message: (_, ctx) => `no service ${ctx.name == null ? '' : `${JSON.stringify(ctx.name)} `}is registered at the rendezvous point`,
    hint: 'is `fara serve` running? a private name needs --private and the same --secret'
  },
  RendezvousUnavailableError: {
    exit: ExitCode.UNREACHABLE,
    // a Fara node stays silent to a dialler that names another key (spec/unobservable.md), so a wrong /p2p/ id looks like no answer
    hint: 'check FARA_RENDEZVOUS / --rendezvous (the address and its /p2p/ id: a point stays silent to a dialler that names another key) and that `fara rendezvous` runs'
  },
  DialFailedError: { exit: ExitCode.UNREACHABLE, hint: 'the service is registered but could not be reached at its addresses' },
  TimeoutError: { exit: ExitCode.UNREACHABLE, message: (err) => `timed out: ${err.message}` },
  PeerMismatchError: { exit: ExitCode.REFUSED, hint: 'the peer at the registered address does not hold the registered key' },
  AssociationRejectedError: { exit: ExitCode.REFUSED, message: (err) => rejectionMessage(err) },
  InvalidInviteError: { exit: ExitCode.USAGE },
  AssociationResetError: { exit: ExitCode.FAILURE },
  NameTakenError: {
    exit: ExitCode.REFUSED,
    message: (_, ctx) => `the name ${ctx.name == null ? '' : `${JSON.stringify(ctx.name)} `}is registered by another key`,
    hint: 'pick another name, or serve it with the keystore and --app that registered it'
  },
  InvalidSignatureError: { exit: ExitCode.REFUSED },
  RevokedError: { exit: ExitCode.REFUSED },
  InvalidRecordError: { exit: ExitCode.REFUSED },
  PrivateRecordOpenError: { exit: ExitCode.REFUSED },
  WrongPassphraseError: { exit: ExitCode.KEYSTORE, hint: 'FARA_PASSPHRASE or --passphrase-file' },
  InsecureIdentityFileError: { exit: ExitCode.KEYSTORE, hint: 'chmod 700 the keystore directory and 600 its files' },
  InvalidIdentityFileError: { exit: ExitCode.KEYSTORE },
  IdentityAppMismatchError: { exit: ExitCode.KEYSTORE },
  KeystoreExistsError: { exit: ExitCode.KEYSTORE },
  ForwardFailedError: { exit: ExitCode.UNREACHABLE },
  // DNS (@fara/srv): `fara resolve --srv`, and the zone check of --rendezvous dns://… / fara serve --srv
  ZoneNotServedError: { exit: ExitCode.USAGE, hint: 'check the zone, and that the server is its primary' },
  ServiceNotFoundError: { exit: ExitCode.NOT_FOUND },
  ServiceNotAvailableError: { exit: ExitCode.NOT_FOUND },
  DnsUnavailableError: { exit: ExitCode.UNREACHABLE, hint: 'check the DNS server (--dns-server, or the server in dns://…) and that it answers' },
  UpdateRefusedError: {
    exit: ExitCode.REFUSED,
    message: () => 'the DNS server refused the update (REFUSED)',
    hint: 'its allow-update or update-policy for the zone does not grant this TSIG key'
  },
  TsigBadKeyError: { exit: ExitCode.REFUSED, hint: 'the DNS server has no key of this name: check the TSIG key file' },
  TsigBadSignatureError: { exit: ExitCode.REFUSED, hint: 'the DNS server has a key of this name with another secret: check the TSIG key file' },
  TsigBadTimeError: { exit: ExitCode.REFUSED, hint: 'this clock and the DNS server\'s differ by more than 5 minutes' },
  TsigVerificationError: { exit: ExitCode.REFUSED, hint: 'the DNS server\'s answer is not signed with the TSIG key' }
}

/** The exit code, message and hint for `err` (typed errors are matched on `err.name`, as the packages document). */
export function describeFailure (err: unknown, ctx: FailureContext = {}): Failure {
  if (!(err instanceof Error)) return { exit: ExitCode.FAILURE, name: 'Error', message: String(err) }
  const known = BY_NAME[err.name]
  if (known == null) {
    return { exit: ExitCode.FAILURE, name: err.name, message: err.name === 'Error' ? err.message : `${err.name}: ${err.message}` }
  }
  const message = known.message?.(err, ctx) ?? err.message
  return { exit: known.exit, name: err.name, message, ...(known.hint == null ? {} : { hint: known.hint }) }
}

/** True for a failure of the rendezvous point that may pass: worth another registration attempt. */
export function isTransient (err: unknown): boolean {
  const name = (err as Error)?.name
  return name === 'RendezvousUnavailableError' || name === 'RateLimitedError' || name === 'RendezvousInternalError' ||
    name === 'TimeoutError' || name === 'StoreFullError' || name === 'DialFailedError'
}
