import { PassThrough } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { ExitCode } from '../src/index.ts'
import { describeFailure, isTransient } from '../src/internal/failure.ts'
import { Output, colourOn } from '../src/internal/output.ts'

/** A stream that keeps what is written, optionally claiming to be a terminal. */
function sink (tty = false): PassThrough & { text: () => string, isTTY?: boolean } {
  const s = new PassThrough() as PassThrough & { text: () => string, isTTY?: boolean }
  let text = ''
  s.on('data', (d: Buffer) => { text += d.toString() })
  s.text = () => text
  if (tty) s.isTTY = true
  return s
}

const named = (name: string, message = 'm'): Error => Object.assign(new Error(message), { name })

describe('colours', () => {
  it('only on a terminal, never with NO_COLOR or TERM=dumb, always with FORCE_COLOR', () => {
    expect(colourOn(sink(true), {})).toBe(true)
    expect(colourOn(sink(false), {})).toBe(false)
    expect(colourOn(sink(true), { NO_COLOR: '1' })).toBe(false)
    expect(colourOn(sink(true), { TERM: 'dumb' })).toBe(false)
    expect(colourOn(sink(false), { FORCE_COLOR: '1' })).toBe(true)
    expect(colourOn(sink(true), { FORCE_COLOR: '0' })).toBe(false)
  })

  it('styles stdout and stderr each by their own terminal', () => {
    const out = new Output({ json: false, stdout: sink(true), stderr: sink(false), env: {}, command: 'x' })
    expect(out.out.red('a')).toBe('\u001b[31ma\u001b[39m')
    expect(out.err.red('a')).toBe('a')
  })
})

describe('Output', () => {
  it('puts results on stdout and status lines on stderr', () => {
    const stdout = sink()
    const stderr = sink()
    const out = new Output({ json: false, stdout, stderr, env: {}, command: 'serve' })
    out.result('registered', { name: 'web' }, 'serving "web"')
    out.status('association', { id: 1 }, '#1 association')
    expect(stdout.text()).toBe('serving "web"\n')
    expect(stderr.text()).toBe('fara serve: #1 association\n')
  })

  it('with --json writes one JSON object per line on stdout, event first', () => {
    const stdout = sink()
    const stderr = sink()
    const out = new Output({ json: true, stdout, stderr, env: {}, command: 'connect' })
    out.result('listening', { address: '127.0.0.1:1' }, 'ignored')
    out.status('closed', { id: 1 }, 'ignored')
    const lines = stdout.text().trim().split('\n').map(l => JSON.parse(l) as Record<string, unknown>)
    expect(lines).toEqual([{ event: 'listening', address: '127.0.0.1:1' }, { event: 'closed', id: 1 }])
    expect(Object.keys(lines[0]!)[0]).toBe('event')
    expect(stderr.text()).toBe('')
  })

  it('keeps stdout for data once it carries a tunnel', () => {
    for (const json of [false, true]) {
      const stdout = sink()
      const stderr = sink()
      const out = new Output({ json, stdout, stderr, env: {}, command: 'connect' })
      out.stdoutIsData()
      out.result('connected', { name: 'ssh' }, 'connected')
      out.status('closed', {}, 'closed')
      out.error('NameNotFoundError', 'no service', 3)
      expect(stdout.text()).toBe('')
      expect(stderr.text()).not.toBe('')
    }
  })

  it('prints an error as one line, without control characters from outside', () => {
    const stderr = sink()
    const out = new Output({ json: false, stdout: sink(), stderr, env: {}, command: 'resolve' })
    out.error('X', 'bad\nname \u001b[31mred\u001b[0m', 1, 'a hint')
    expect(stderr.text()).toBe('fara resolve: error: bad name ?[31mred?[0m (a hint)\n')
  })
})

describe('failures', () => {
  const cases: Array<[string, number]> = [
    ['UsageError', ExitCode.USAGE], ['ConfigError', ExitCode.USAGE], ['MissingSettingError', ExitCode.USAGE],
    ['NameNotFoundError', ExitCode.NOT_FOUND],
    ['RendezvousUnavailableError', ExitCode.UNREACHABLE], ['DialFailedError', ExitCode.UNREACHABLE], ['ForwardFailedError', ExitCode.UNREACHABLE],
    ['PeerMismatchError', ExitCode.REFUSED], ['AssociationRejectedError', ExitCode.REFUSED], ['NameTakenError', ExitCode.REFUSED],
    ['WrongPassphraseError', ExitCode.KEYSTORE], ['InsecureIdentityFileError', ExitCode.KEYSTORE],
    ['SomethingElse', ExitCode.FAILURE]
  ]
  for (const [name, exit] of cases) {
    it(`maps ${name} to exit code ${exit}`, () => {
      expect(describeFailure(named(name)).exit).toBe(exit)
    })
  }

  it('names the service in a not-found message and hints at the fix', () => {
    const f = describeFailure(named('NameNotFoundError'), { name: 'web' })
    expect(f.message).toBe('no service "web" is registered at the rendezvous point')
    expect(f.hint).toContain('fara serve')
  })

  it('prefixes the error name of an unknown error, and survives a non-Error', () => {
    expect(describeFailure(named('WeirdError', 'boom')).message).toBe('WeirdError: boom')
    expect(describeFailure('just a string')).toEqual({ exit: ExitCode.FAILURE, name: 'Error', message: 'just a string' })
  })

  it('tells a point address that took the connection but not the key (wrong /p2p/ id) from a dead one', () => {
    const caused = (name: string, cause: unknown): Error => Object.assign(new Error('m', { cause }), { name })
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' })
    const silent = named('EncryptionFailedError', 'unexpected end of input')
    const wrongId = describeFailure(caused('RendezvousUnavailableError', caused('DialFailedError', new AggregateError([refused, silent]))))
    expect(wrongId.exit).toBe(ExitCode.UNREACHABLE)
    expect(wrongId.message).toContain('did not prove the key in its /p2p/ id')
    const dead = describeFailure(caused('RendezvousUnavailableError', caused('DialFailedError', refused)))
    expect(dead).toMatchObject({ exit: ExitCode.UNREACHABLE, message: 'm' })
    // a DHT lookup's failure is not a point's address
    expect(describeFailure(caused('RendezvousUnavailableError', silent)).message).toBe('m')
  })

  it('retries registration only after failures that may pass', () => {
    expect(isTransient(named('RendezvousUnavailableError'))).toBe(true)
    expect(isTransient(named('RateLimitedError'))).toBe(true)
    expect(isTransient(named('NameTakenError'))).toBe(false)
    expect(isTransient(named('InvalidRecordError'))).toBe(false)
  })
})
