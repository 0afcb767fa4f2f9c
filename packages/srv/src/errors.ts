import { Rcode, TsigErrorCode } from './constants.ts'

const rcodeNames = new Map<number, string>([...Object.entries(Rcode), ...Object.entries(TsigErrorCode)].map(([k, v]) => [v, k]))

/**
 * The mnemonic of an RCODE or TSIG error (`'REFUSED'`, `'BADSIG'`), or `RCODE<n>` for one without a name here.
 *
 * @example
 * ```ts
 * import { rcodeName } from '@fara/srv'
 * import { Rcode } from '@fara/srv/constants'
 *
 * console.log(rcodeName(Rcode.REFUSED), rcodeName(4711)) // REFUSED RCODE4711
 * ```
 */
export function rcodeName (code: number): string {
  return rcodeNames.get(code) ?? `RCODE${code}`
}

/** Thrown when a DNS message (or a TXT payload, or a TSIG key file) cannot be decoded or breaks a bound. */
export class MalformedMessageError extends Error {
  static override name = 'MalformedMessageError'
  override name = 'MalformedMessageError'
  constructor (message = 'Malformed DNS message') { super(message) }
}

/** Thrown when an SRV name does not exist (NXDOMAIN) or has no SRV records (NODATA). */
export class ServiceNotFoundError extends Error {
  static override name = 'ServiceNotFoundError'
  override name = 'ServiceNotFoundError'
  /** `'NXDOMAIN'` if the name does not exist, `'NODATA'` if it exists without SRV records. */
  readonly reason: 'NXDOMAIN' | 'NODATA'
  constructor (reason: 'NXDOMAIN' | 'NODATA', message = 'No SRV records for this name') {
    super(message)
    this.reason = reason
  }
}

/** Thrown when the only SRV record of a name has the target `.`: the service is decidedly not available there (RFC 2782). */
export class ServiceNotAvailableError extends Error {
  static override name = 'ServiceNotAvailableError'
  override name = 'ServiceNotAvailableError'
  constructor (message = 'Service decidedly not available at this domain (SRV target ".")') { super(message) }
}

/** Thrown when a DNS server cannot be reached or gives no usable answer (timeout, connection refused, SERVFAIL, REFUSED to a query). */
export class DnsUnavailableError extends Error {
  static override name = 'DnsUnavailableError'
  override name = 'DnsUnavailableError'
  constructor (message = 'DNS server unavailable', options?: ErrorOptions) { super(message, options) }
}

/**
 * Base of the errors a DNS server reports with a code: `rcode` is the header
 * RCODE, or for the `Tsig*` errors the TSIG Error field (the header then says
 * NOTAUTH); `rcodeName` is its mnemonic.
 */
export abstract class DnsRcodeError extends Error {
  readonly rcode: number
  readonly rcodeName: string
  constructor (rcode: number, message: string) {
    super(message)
    this.rcode = rcode
    this.rcodeName = rcodeName(rcode)
  }
}

/** Thrown when the server refuses an update (REFUSED): typically the request is unsigned or its key may not update the zone. */
export class UpdateRefusedError extends DnsRcodeError {
  static override name = 'UpdateRefusedError'
  override name = 'UpdateRefusedError'
  constructor (message = 'Update refused (REFUSED)') { super(Rcode.REFUSED, message) }
}

/** Thrown when the server answers NOTAUTH or NOTZONE: it is not authoritative for the zone, or a name is outside it (RFC 2136 §2.2). */
export class NotAuthoritativeError extends DnsRcodeError {
  static override name = 'NotAuthoritativeError'
  override name = 'NotAuthoritativeError'
  constructor (rcode: number = Rcode.NOTAUTH, message = 'Server is not authoritative for this zone') { super(rcode, message) }
}

/** Thrown when a prerequisite of an update fails (YXDOMAIN, YXRRSET, NXDOMAIN, NXRRSET; RFC 2136 §3.2): nothing was changed. */
export class PrerequisiteFailedError extends DnsRcodeError {
  static override name = 'PrerequisiteFailedError'
  override name = 'PrerequisiteFailedError'
  constructor (rcode: number, message = 'Update prerequisite failed') { super(rcode, message) }
}

/** Thrown when an update fails with any other RCODE (FORMERR, SERVFAIL, NOTIMP, ...). */
export class UpdateFailedError extends DnsRcodeError {
  static override name = 'UpdateFailedError'
  override name = 'UpdateFailedError'
  constructor (rcode: number, message = 'Update failed') { super(rcode, message) }
}

/** Thrown when the server does not know the TSIG key (NOTAUTH with TSIG error BADKEY, RFC 8945 §5.2.1). */
export class TsigBadKeyError extends DnsRcodeError {
  static override name = 'TsigBadKeyError'
  override name = 'TsigBadKeyError'
  constructor (message = 'Server does not know this TSIG key (BADKEY)') { super(TsigErrorCode.BADKEY, message) }
}

/** Thrown when the server could not verify the request's MAC (NOTAUTH with TSIG error BADSIG, RFC 8945 §5.2.2): a wrong secret. */
export class TsigBadSignatureError extends DnsRcodeError {
  static override name = 'TsigBadSignatureError'
  override name = 'TsigBadSignatureError'
  constructor (message = 'Server could not verify the request signature (BADSIG)') { super(TsigErrorCode.BADSIG, message) }
}

/** Thrown when the server finds the request's time outside its fudge (NOTAUTH with TSIG error BADTIME, RFC 8945 §5.2.3). */
export class TsigBadTimeError extends DnsRcodeError {
  static override name = 'TsigBadTimeError'
  override name = 'TsigBadTimeError'
  /** The server's clock (ms since the epoch) if it sent it in the TSIG Other Data. */
  readonly serverTime: number | undefined
  constructor (message = 'Request time outside the server\'s fudge (BADTIME)', serverTime?: number) {
    super(TsigErrorCode.BADTIME, message)
    this.serverTime = serverTime
  }
}

/** Thrown when the server's response to a signed request is unsigned, signed with another key, has a wrong or truncated MAC, or a time outside the fudge. */
export class TsigVerificationError extends Error {
  static override name = 'TsigVerificationError'
  override name = 'TsigVerificationError'
  constructor (message = 'Response signature does not verify') { super(message) }
}
