/** Thrown when encoded hop parameters (bytes or text) are malformed or break a field rule of spec/port-hopping.md#encoding. */
export class InvalidHopParamsError extends Error {
  static override name = 'InvalidHopParamsError'
  override name = 'InvalidHopParamsError'
  constructor (message = 'Invalid hop parameters') { super(message) }
}

/** Thrown when encoded hop parameters carry a version this implementation does not know. */
export class UnsupportedHopVersionError extends Error {
  static override name = 'UnsupportedHopVersionError'
  override name = 'UnsupportedHopVersionError'
  /** The version byte that was read. */
  readonly version: number
  constructor (version: number, message = `Unsupported hop parameters version ${version}`) {
    super(message)
    this.version = version
  }
}

/**
 * Thrown when every HMAC block allowed for a slot was rejected by the unbiased
 * reduction. The probability is below 2^-1024: it means a broken HMAC, not bad luck.
 */
export class HopDerivationError extends Error {
  static override name = 'HopDerivationError'
  override name = 'HopDerivationError'
  constructor (message = 'No port candidate accepted within the block bound') { super(message) }
}

/** Thrown when a hopping listener could open none of the ports of its window. */
export class HopListenError extends Error {
  static override name = 'HopListenError'
  override name = 'HopListenError'
  constructor (message = 'Could not listen on any port of the window', options?: ErrorOptions) { super(message, options) }
}

/** Thrown when a dial by schedule failed on the current slot's port and on both neighbours; `errors` holds each attempt's error. */
export class HopDialError extends Error {
  static override name = 'HopDialError'
  override name = 'HopDialError'
  /** One error per port tried, in the order tried. */
  readonly errors: Error[]
  constructor (errors: Error[], message = 'Dial by schedule failed on every port of the window') {
    super(message)
    this.errors = errors
  }
}
