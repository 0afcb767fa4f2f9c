import { describe, expect, it } from 'vitest'
import { thrown } from '@fara/testkit'
import {
  checkAppName, checkMultiaddrs, checkServiceName, formatHostPort, intOf, listOf, parseCommandLine, parseHostPort, positionalsOf
} from '../src/internal/args.ts'
import type { OptionSpec } from '../src/internal/args.ts'

const OPTIONS: Record<string, OptionSpec> = {
  forward: { type: 'string', help: '' },
  relay: { type: 'string', multiple: true, help: '' },
  json: { type: 'boolean', help: '' },
  n: { type: 'string', help: '' }
}

/** The UsageError `fn` throws; fails if it returns. */
const usage = (fn: () => unknown): Error & { command: string } => thrown(fn) as Error & { command: string }

describe('parseCommandLine', () => {
  it('parses options and positionals', () => {
    const args = parseCommandLine('serve', ['web', '--forward', '127.0.0.1:80', '--relay', 'a', '--relay', 'b,c', '--json'], OPTIONS)
    expect(args.positionals).toEqual(['web'])
    expect(args.values.forward).toBe('127.0.0.1:80')
    expect(listOf(args, 'relay')).toEqual(['a', 'b', 'c'])
    expect(args.values.json).toBe(true)
  })

  it('names an unknown option in a UsageError for the command', () => {
    const err = usage(() => parseCommandLine('serve', ['--frob'], OPTIONS))
    expect(err.name).toBe('UsageError')
    expect(err.message).toBe('unknown option --frob')
    expect(err.command).toBe('serve')
  })

  it('says which option is missing its value', () => {
    expect(usage(() => parseCommandLine('serve', ['--forward'], OPTIONS)).message).toBe('option --forward needs a value')
  })

  it('refuses a value given to a boolean option', () => {
    expect(usage(() => parseCommandLine('serve', ['--json=yes'], OPTIONS)).message).toBe('option --json takes no value')
  })
})

describe('positionalsOf', () => {
  it('names what is missing and what is extra', () => {
    expect(usage(() => positionalsOf('serve', [], ['name'])).message).toBe('missing <name>')
    expect(usage(() => positionalsOf('serve', ['a', 'b'], ['name'])).message).toBe('unexpected argument "b"')
    expect(positionalsOf('id', ['list'], ['action', 'app'], 1)).toEqual(['list', undefined])
  })
})

describe('parseHostPort', () => {
  it('reads host:port, [v6]:port and a bare port', () => {
    expect(parseHostPort('c', '--listen', '127.0.0.1:8080', false)).toEqual({ host: '127.0.0.1', port: 8080 })
    expect(parseHostPort('c', '--listen', 'localhost:22', false)).toEqual({ host: 'localhost', port: 22 })
    expect(parseHostPort('c', '--listen', '[::1]:22', false)).toEqual({ host: '::1', port: 22 })
    expect(parseHostPort('c', '--listen', '5432', false)).toEqual({ host: '127.0.0.1', port: 5432 })
    expect(parseHostPort('c', '--listen', '127.0.0.1:0', true)).toEqual({ host: '127.0.0.1', port: 0 })
  })

  it('writes IPv6 back in brackets', () => {
    expect(formatHostPort({ host: '::1', port: 22 })).toBe('[::1]:22')
    expect(formatHostPort({ host: '127.0.0.1', port: 22 })).toBe('127.0.0.1:22')
  })

  for (const [value, why] of [
    ['abc', 'no port'], ['host:', 'port is not a number'], [':80', 'no port'], ['h:70000', 'port must be'], ['h:0', 'port must be 1'],
    ['::1:22', 'brackets'], ['[zz]:22', 'not an IPv6'], ['bad host:22', 'not a host name'], ['h:-1', 'port is not a number']
  ]) {
    it(`refuses ${JSON.stringify(value)} (${why})`, () => {
      const err = usage(() => parseHostPort('serve', '--forward', value!, false))
      expect(err.name).toBe('UsageError')
      expect(err.message).toContain('--forward must be host:port')
      expect(err.message).toContain(why!)
    })
  }
})

describe('names and addresses', () => {
  it('accepts service names the rendezvous accepts and refuses others', () => {
    expect(checkServiceName('serve', 'web')).toBe('web')
    expect(checkServiceName('serve', 'my-db.internal_2')).toBe('my-db.internal_2')
    for (const bad of ['', 'Web', '-web', 'a'.repeat(64), 'we b']) {
      expect(usage(() => checkServiceName('serve', bad)).name).toBe('UsageError')
    }
  })

  it('checks application names', () => {
    expect(checkAppName('id', '<app>', 'web')).toBe('web')
    expect(usage(() => checkAppName('id', '<app>', 'Web')).message).toContain('<app> must match')
  })

  it('requires /p2p/ at the end of a rendezvous address', () => {
    const id = '12D3KooWPo5KrxYfF9ngRsbnax3Vc8DxbiP6V9YvWLtPfxUSSfKa'
    expect(checkMultiaddrs('c', '--rendezvous', [`/ip4/127.0.0.1/tcp/4001/p2p/${id}`], true)).toHaveLength(1)
    expect(usage(() => checkMultiaddrs('c', '--rendezvous', ['/ip4/127.0.0.1/tcp/4001'], true)).message).toContain('must end in /p2p/<peer id>')
    expect(usage(() => checkMultiaddrs('c', '--rendezvous', ['not-an-addr'], true)).message).toContain('is not a multiaddr')
  })

  it('bounds integer options', () => {
    const args = parseCommandLine('connect', ['--n', '5000'], OPTIONS)
    expect(usage(() => intOf('connect', args, 'n', 1, 4096)).message).toBe('--n must be an integer from 1 to 4096, got "5000"')
    expect(intOf('connect', parseCommandLine('connect', ['--n', '7'], OPTIONS), 'n', 1, 4096)).toBe(7)
  })
})
