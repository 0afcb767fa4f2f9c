// Every typed error that an SDK call can reject with is exported from
// @fara/sdk itself, under its own name (issue 17): an application matches on
// `err.name` or `instanceof` without importing the lower packages.
import { describe, expect, it } from 'vitest'
import * as demuxErrors from '../../demux/src/errors.ts'
import * as rendezvousErrors from '../../rendezvous/src/errors.ts'
import * as sdk from '../src/index.ts'

/** The error classes a module exports (its base classes included). */
function errorClasses (module: Record<string, unknown>): Array<[string, new (message?: string) => Error]> {
  return Object.entries(module).filter((e): e is [string, new (message?: string) => Error] =>
    typeof e[1] === 'function' && (e[1] as { prototype?: unknown }).prototype instanceof Error)
}

describe('@fara/sdk exports', () => {
  const transportErrors = ['DialFailedError', 'PeerMismatchError', 'StreamOpenError', 'PeerKeyRequiredError', 'HandshakeFailedError', 'PunchFailedError', 'MissingDependencyError']
  const expected = [
    ...errorClasses(demuxErrors).map(([name]) => name),
    ...errorClasses(rendezvousErrors).map(([name]) => name).filter(name => name !== 'RendezvousError'), // the abstract base
    ...transportErrors,
    'EntityClosedError', 'AlreadyServingError',
    // createEntity with a keystore, and loadOrCreateIdentity
    'InvalidIdentityFileError', 'InsecureIdentityFileError', 'IdentityAppMismatchError', 'WrongPassphraseError', 'KeystoreExistsError',
    // connect to a hopping service whose hop parameters this version cannot read
    'InvalidHopParamsError', 'UnsupportedHopVersionError'
  ]

  it('exports every error an association, serve, connect or resolve can reject with', () => {
    const missing = expected.filter(name => typeof (sdk as Record<string, unknown>)[name] !== 'function')
    expect(missing).toEqual([])
  })

  it('names each error after its class, so err.name matches across copies of a package', () => {
    for (const name of expected) {
      const ErrorClass = (sdk as unknown as Record<string, new (message?: string) => Error>)[name]!
      expect(new ErrorClass('x').name, name).toBe(name)
    }
  })
})
