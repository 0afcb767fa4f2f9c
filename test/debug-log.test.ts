// The lifecycle log (issue 17; packages/sdk/README.md, "Logging"): `DEBUG=fara*`, or `fara … --verbose`,
// shows one line per event (register, renew, resolve, dial, open, accept, repath, refuse, close,
// withdraw, …), found here by namespace and event name only; a private name, its secret and its
// lookup keys never show. Each program runs in its own process, as a user runs it.
import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { privateLookupKeys } from '@fara/rendezvous/private'
import { afterAll, describe, expect, it } from 'vitest'
import { runFara } from './fixtures/cli-process.ts'
import { eventsOf, linesOf, logLines } from './helpers/log-lines.ts'
import { exampleFile, readmeSample } from './helpers/readme.ts'

const scratch = mkdtempSync(join(tmpdir(), 'fara-debug-log-'))
afterAll(() => { rmSync(scratch, { recursive: true, force: true }) })

/** The environment of this process without DEBUG (the runner's own must not count), plus `extra`. */
function envWith (extra: Record<string, string>): Record<string, string> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k, v]) => k !== 'DEBUG' && v != null)) as Record<string, string>
  return { ...env, DEBUG_COLORS: 'no', ...extra }
}

/** Run `file` with Node in a fresh directory, to its end. */
function runNode (file: string, args: string[], env: Record<string, string>): { status: number | null, stdout: string, stderr: string } {
  const cwd = mkdtempSync(join(scratch, 'run-'))
  return spawnSync(process.execPath, [file, ...args], { cwd, encoding: 'utf8', timeout: 60_000, env })
}

describe('the lifecycle log', () => {
  it('DEBUG=fara* shows the README sample\'s lifecycle, one line per event, on both sides and at the point', () => {
    const file = exampleFile('readme-debug.ts', readmeSample())
    const run = runNode(file, [], envWith({ FARA_PASSPHRASE: 'readme sample', DEBUG: 'fara*' }))
    expect(run.status, `the README sample exited ${run.status}; stderr:\n${run.stderr}`).toBe(0)
    expect(run.stdout.trim()).toBe('hello')
    const lines = logLines(run.stderr)
    const entity = eventsOf(lines, 'fara:entity')
    expect(entity, run.stderr).toEqual(expect.arrayContaining(['start', 'register', 'resolve', 'dial', 'open', 'accept', 'close', 'withdraw', 'stop']))
    // one service registered once, one connect: one line each
    for (const event of ['register', 'resolve', 'dial', 'open', 'accept', 'withdraw']) {
      expect(linesOf(lines, 'fara:entity', event).length, `${event} lines:\n${run.stderr}`).toBe(1)
    }
    // two entities, two ends of the association
    for (const event of ['start', 'stop', 'close']) expect(linesOf(lines, 'fara:entity', event).length, `${event} lines`).toBe(2)
    // the client's steps in their order, the public name as it is
    const order = ['resolve', 'dial', 'open'].map(e => entity.indexOf(e))
    expect(order).toEqual([...order].sort((a, b) => a - b))
    expect(linesOf(lines, 'fara:entity', 'register')[0]!.subject).toBe('"echo"')
    expect(linesOf(lines, 'fara:entity', 'open')[0]!.text).toContain('"echo"')
    expect(eventsOf(lines, 'fara:rendezvous:server')).toEqual(expect.arrayContaining(['register', 'resolve', 'withdraw']))
    // no error lines on a good run
    expect(lines.filter(l => l.namespace.endsWith(':error')).map(l => l.text)).toEqual([])
  })

  it('a private service: register, renew, resolve, open, repath and a refusal show; its name, secret and lookup keys never do', () => {
    const name = `hidden-${randomBytes(4).toString('hex')}`
    const secret = `invite-${randomBytes(8).toString('hex')}`
    const file = fileURLToPath(new URL('./fixtures/private-lifecycle.ts', import.meta.url))
    const run = runNode(file, [JSON.stringify({ name, secret })], envWith({ DEBUG: 'fara*' }))
    expect(run.status, `the scenario exited ${run.status}; stderr:\n${run.stderr}`).toBe(0)
    // what happened: the friend's echoes came back (one after a move to a new path), the stranger was refused, the wrong secret found nothing
    const done = JSON.parse(run.stdout.trim().split('\n').pop()!) as Record<string, unknown>
    expect(done).toMatchObject({ event: 'done', admitted: 'hello', moved: 'moved', resumptions: 1, refused: 'AssociationRejectedError', wrongSecret: 'NameNotFoundError' })

    const lines = logLines(run.stderr)
    expect(eventsOf(lines, 'fara:entity'), run.stderr).toEqual(expect.arrayContaining(['register', 'renew', 'resolve', 'dial', 'open', 'accept', 'repath', 'refuse', 'close', 'withdraw']))
    // the move: one line at each end, under the association's number
    expect(linesOf(lines, 'fara:entity', 'repath').map(l => l.subject)).toEqual([expect.stringMatching(/^#\d+$/), expect.stringMatching(/^#\d+$/)])
    // the name is `private` wherever a public one would be
    for (const event of ['register', 'renew', 'resolve', 'withdraw']) {
      const found = linesOf(lines, 'fara:entity', event)
      expect(found.length, `${event} lines`).toBeGreaterThan(0)
      for (const line of found) expect(line.subject, line.text).toBe('private')
    }
    for (const line of [...linesOf(lines, 'fara:entity', 'open'), ...linesOf(lines, 'fara:entity', 'accept')]) expect(line.text).toMatch(/ private /)
    // the refused key: one refusal at the service, and the client's association ended by it
    expect(linesOf(lines, 'fara:entity', 'refuse')).toHaveLength(1)
    expect(linesOf(lines, 'fara:entity', 'refuse')[0]!.text).toContain('AssociationRejectedError')
    expect(linesOf(lines, 'fara:entity', 'close').some(l => l.text.includes('AssociationRejectedError'))).toBe(true)
    expect(linesOf(lines, 'fara:entity', 'resolve').some(l => l.text.includes('failed - NameNotFoundError'))).toBe(true)
    // the point: private slots stored, found and (for the wrong secret) not found, each without a key
    const point = eventsOf(lines, 'fara:rendezvous:server')
    expect(point).toEqual(expect.arrayContaining(['register', 'resolve', 'refuse', 'withdraw']))
    for (const event of ['register', 'resolve', 'withdraw']) {
      for (const line of linesOf(lines, 'fara:rendezvous:server', event)) expect(line.subject, line.text).toBe('private')
    }

    const lookupKeys = [secret, `not-${secret}`].flatMap(s => privateLookupKeys(name, { secret: new TextEncoder().encode(s) }).map(k => Buffer.from(k.lookupKey)))
    const needles: Array<[string, string]> = [
      ['the private name', name],
      ['the secret', secret],
      ...lookupKeys.flatMap((k, i): Array<[string, string]> => [[`lookup key ${i} (hex)`, k.toString('hex')], [`lookup key ${i} (base64)`, k.toString('base64').replace(/=+$/, '')], [`lookup key ${i} (base64url)`, k.toString('base64url')]])
    ]
    for (const [what, needle] of needles) expect(run.stderr.includes(needle), `${what} is in stderr`).toBe(false)
  })

  it('fara … --verbose prints the same lines on stderr, keeps a DEBUG already set, and nothing without it', async () => {
    const dir = mkdtempSync(join(scratch, 'cli-'))
    const env = envWith({ HOME: dir, XDG_CONFIG_HOME: join(dir, 'config'), XDG_DATA_HOME: join(dir, 'data') })

    const verbose = await runFara(['demo', '--verbose'], env)
    expect(verbose.code, verbose.stderr).toBe(0)
    const lines = logLines(verbose.stderr)
    expect(eventsOf(lines, 'fara:entity'), verbose.stderr).toEqual(expect.arrayContaining(['start', 'register', 'resolve', 'dial', 'open', 'accept', 'close', 'withdraw', 'stop']))
    expect(eventsOf(lines, 'fara:rendezvous:server')).toEqual(expect.arrayContaining(['register', 'resolve', 'withdraw']))

    // the user's DEBUG stays on: libp2p's TCP listener lines come too
    const both = await runFara(['demo', '-v'], { ...env, DEBUG: 'libp2p:tcp:listener' })
    expect(both.code, both.stderr).toBe(0)
    expect(eventsOf(logLines(both.stderr), 'fara:entity')).toContain('open')
    expect(both.stderr).toMatch(/ libp2p:tcp:listener /)

    // without it: not one line
    const quiet = await runFara(['demo'], env)
    expect(quiet.code, quiet.stderr).toBe(0)
    expect(logLines(quiet.stderr)).toEqual([])

    const help = await runFara(['demo', '--help'], env)
    expect(help.stdout.toString()).toMatch(/--verbose/)
  })
})
