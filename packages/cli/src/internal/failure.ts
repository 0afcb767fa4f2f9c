import { IdentityAppMismatchError, InsecureIdentityFileError, InvalidIdentityFileError, KeystoreExistsError, WrongPassphraseError } from '@fara/identity'
import { ExitCode } from '../constants.ts'
import { ConfigError, ForwardFailedError, InvalidInviteError, MissingSettingError, UsageError, ZoneNotServedError } from '../errors.ts'
import { rejectionMessage } from './allow.ts'
import type * as Sdk from '@fara/sdk'
import type * as Srv from '@fara/srv'

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

/**
 * The `name` of an error class exported by `M`, a package loaded on first use
 * (lazy.ts: @fara/sdk, which re-exports the errors of the layers below it, and
 * @fara/srv), so its classes are not at hand before it is. The compiler checks
 * that `M` exports a class of that name; each class's `name` is its export name.
 */
function nameIn<M> (name: keyof M & `${string}Error`): string {
  return name
}

/** Raised by AbortSignal.timeout: a platform name, not a class of ours. */
const TIMEOUT_ERROR = 'TimeoutError'

const BY_NAME: Record<string, { exit: ExitCode, hint?: string, message?: (err: Error, ctx: FailureContext) => string }> = {
  [UsageError.name]: { exit: ExitCode.USAGE },
  [ConfigError.name]: { exit: ExitCode.USAGE },
  [MissingSettingError.name]: { exit: ExitCode.USAGE },
  [nameIn<typeof Sdk>('NameNotFoundError')]: {
    exit: ExitCode.NOT_FOUND,
    message: (_, ctx) => `no service ${ctx.name == null ? '' : `${JSON.stringify(ctx.name)} `}is registered at the rendezvous point`,
    hint: 'is `fara serve` running? a private name needs --private and the same --secret'
  },
  [nameIn<typeof Sdk>('RendezvousUnavailableError')]: {
    exit: ExitCode.UNREACHABLE,
    // a Fara node stays silent to a dialler that names another key (spec/unobservable.md), so a wrong /p2p/ id looks like no answer
    hint: 'check FARA_RENDEZVOUS / --rendezvous (the address and its /p2p/ id: a point stays silent to a dialler that names another key) and that `fara rendezvous` runs'
  },
  [nameIn<typeof Sdk>('DialFailedError')]: { exit: ExitCode.UNREACHABLE, hint: 'the service is registered but could not be reached at its addresses' },
  [TIMEOUT_ERROR]: { exit: ExitCode.UNREACHABLE, message: (err) => `timed out: ${err.message}` },
  [nameIn<typeof Sdk>('PeerMismatchError')]: { exit: ExitCode.REFUSED, hint: 'the peer at the registered address does not hold the registered key' },
  [nameIn<typeof Sdk>('AssociationRejectedError')]: { exit: ExitCode.REFUSED, message: (err) => rejectionMessage(err) },
  [InvalidInviteError.name]: { exit: ExitCode.USAGE },
  [nameIn<typeof Sdk>('AssociationResetError')]: { exit: ExitCode.FAILURE },
  [nameIn<typeof Sdk>('NameTakenError')]: {
    exit: ExitCode.REFUSED,
    message: (_, ctx) => `the name ${ctx.name == null ? '' : `${JSON.stringify(ctx.name)} `}is registered by another key`,
    hint: 'pick another name, or serve it with the keystore and --app that registered it'
  },
  [nameIn<typeof Sdk>('InvalidSignatureError')]: { exit: ExitCode.REFUSED },
  [nameIn<typeof Sdk>('RevokedError')]: { exit: ExitCode.REFUSED },
  [nameIn<typeof Sdk>('InvalidRecordError')]: { exit: ExitCode.REFUSED },
  [nameIn<typeof Sdk>('PrivateRecordOpenError')]: { exit: ExitCode.REFUSED },
  [WrongPassphraseError.name]: { exit: ExitCode.KEYSTORE, hint: 'FARA_PASSPHRASE or --passphrase-file' },
  [InsecureIdentityFileError.name]: { exit: ExitCode.KEYSTORE, hint: 'chmod 700 the keystore directory and 600 its files' },
  [InvalidIdentityFileError.name]: { exit: ExitCode.KEYSTORE },
  [IdentityAppMismatchError.name]: { exit: ExitCode.KEYSTORE },
  [KeystoreExistsError.name]: { exit: ExitCode.KEYSTORE },
  [ForwardFailedError.name]: { exit: ExitCode.UNREACHABLE },
  // DNS (@fara/srv): `fara resolve --srv`, and the zone check of --rendezvous dns://… / fara serve --srv
  [ZoneNotServedError.name]: { exit: ExitCode.USAGE, hint: 'check the zone, and that the server is its primary' },
  [nameIn<typeof Srv>('ServiceNotFoundError')]: { exit: ExitCode.NOT_FOUND },
  [nameIn<typeof Srv>('ServiceNotAvailableError')]: { exit: ExitCode.NOT_FOUND },
  [nameIn<typeof Srv>('DnsUnavailableError')]: { exit: ExitCode.UNREACHABLE, hint: 'check the DNS server (--dns-server, or the server in dns://…) and that it answers' },
  [nameIn<typeof Srv>('UpdateRefusedError')]: {
    exit: ExitCode.REFUSED,
    message: () => 'the DNS server refused the update (REFUSED)',
    hint: 'its allow-update or update-policy for the zone does not grant this TSIG key'
  },
  [nameIn<typeof Srv>('TsigBadKeyError')]: { exit: ExitCode.REFUSED, hint: 'the DNS server has no key of this name: check the TSIG key file' },
  [nameIn<typeof Srv>('TsigBadSignatureError')]: { exit: ExitCode.REFUSED, hint: 'the DNS server has a key of this name with another secret: check the TSIG key file' },
  [nameIn<typeof Srv>('TsigBadTimeError')]: { exit: ExitCode.REFUSED, hint: 'this clock and the DNS server\'s differ by more than 5 minutes' },
  [nameIn<typeof Srv>('TsigVerificationError')]: { exit: ExitCode.REFUSED, hint: 'the DNS server\'s answer is not signed with the TSIG key' }
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

const TRANSIENT = new Set([
  nameIn<typeof Sdk>('RendezvousUnavailableError'), nameIn<typeof Sdk>('RateLimitedError'), nameIn<typeof Sdk>('RendezvousInternalError'),
  TIMEOUT_ERROR, nameIn<typeof Sdk>('StoreFullError'), nameIn<typeof Sdk>('DialFailedError')
])

/** True for a failure of the rendezvous point that may pass: worth another registration attempt. */
export function isTransient (err: unknown): boolean {
  return TRANSIENT.has((err as Error)?.name)
}
