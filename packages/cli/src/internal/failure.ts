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

/**
 * Errors in a dial's chain that mean a TCP connection was made and the peer
 * then did not prove the key the address names: libp2p's upgrade failed
 * (the listener closed, stayed silent or sent something else before the
 * hello; libp2p's own class, not exported), the hello failed its MAC, or
 * Noise proved another key. A refused or unroutable connection has none.
 */
const CONNECTED_UNPROVEN = new Set(['EncryptionFailedError', nameIn<typeof Sdk>('HandshakeFailedError'), nameIn<typeof Sdk>('PeerMismatchError')])

/** True if `err`, its causes or the errors it aggregates hold one of {@link CONNECTED_UNPROVEN}. */
function connectedUnproven (err: unknown, depth = 0): boolean {
  if (err == null || typeof err !== 'object' || depth > 8) return false
  const e = err as Error & { errors?: unknown[], cause?: unknown }
  if (CONNECTED_UNPROVEN.has(e.name)) return true
  return (Array.isArray(e.errors) && e.errors.some(inner => connectedUnproven(inner, depth + 1))) || connectedUnproven(e.cause, depth + 1)
}

/** The dial of a rendezvous point's client (@fara/transport's dialEntity), as the cause of its RendezvousUnavailableError. */
function pointDial (cause: unknown): boolean {
  const name = (cause as Error | undefined)?.name
  return name === nameIn<typeof Sdk>('DialFailedError') || name === nameIn<typeof Sdk>('PeerMismatchError')
}

/**
 * The point's address answered a TCP connection but not with the key of its
 * `/p2p/` id. A Fara node stays silent to a dialler that names another key
 * (spec/unobservable.md), so this cannot tell a wrong id from a listener that
 * is not a point; it does tell both from a dead address (refused, no route).
 */
const POINT_WITHOUT_KEY: Pick<Failure, 'message' | 'hint'> = {
  message: 'something listens at the rendezvous point\'s address but did not prove the key in its /p2p/ id: a wrong /p2p/ id, or not a Fara rendezvous point',
  hint: 'check FARA_RENDEZVOUS / --rendezvous against the address `fara rendezvous` prints; a point also stays silent to a machine whose clock is over 5 min off'
}

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
    // refused, no route, no answer: a listener that took the connection but not the key is POINT_WITHOUT_KEY below
    hint: 'check FARA_RENDEZVOUS / --rendezvous and that `fara rendezvous` runs there'
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
  if (err.name === nameIn<typeof Sdk>('RendezvousUnavailableError') && pointDial(err.cause) && connectedUnproven(err.cause)) {
    return { exit: known.exit, name: err.name, ...POINT_WITHOUT_KEY }
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
