// The `fara` binary as a user runs it: a separate Node process, its exit code, its stdout and stderr.
import { spawn, spawnSync } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { freePort } from '@fara/testkit'

const BIN = fileURLToPath(new URL('../bin/fara.js', import.meta.url))
const ID = '12D3KooWPo5KrxYfF9ngRsbnax3Vc8DxbiP6V9YvWLtPfxUSSfKa'
let home: string

beforeAll(async () => { home = await mkdtemp(join(tmpdir(), 'fara-cli-bin-')) })
afterAll(async () => { await rm(home, { recursive: true, force: true }) })

/** An environment with nothing of the caller's Fara settings in it. */
function cleanEnv (extra: Record<string, string> = {}): Record<string, string> {
  return { PATH: process.env.PATH ?? '', HOME: home, XDG_CONFIG_HOME: join(home, 'config'), XDG_DATA_HOME: join(home, 'data'), ...extra }
}

function fara (args: string[], extra: Record<string, string> = {}): { status: number | null, stdout: string, stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { env: cleanEnv(extra), cwd: home, encoding: 'utf8', timeout: 60_000 })
  return { status: r.status, stdout: r.stdout, stderr: r.stderr }
}

function jsonLines (text: string): Array<Record<string, unknown>> {
  return text.trim().split('\n').filter(l => l.length > 0).map(l => JSON.parse(l) as Record<string, unknown>)
}

describe('help', () => {
  it('lists every command', () => {
    const r = fara(['--help'])
    expect(r.status).toBe(0)
    for (const c of ['rendezvous', 'serve', 'connect', 'resolve', 'id', 'config', 'demo']) expect(r.stdout).toMatch(new RegExp(`^  ${c} `, 'm'))
  })

  for (const c of ['rendezvous', 'serve', 'connect', 'resolve', 'id', 'config', 'demo', 'tcpmux', 'up']) {
    it(`fara ${c} --help shows usage, options and examples, and exits 0`, () => {
      const r = fara([c, '--help'])
      expect(r.status).toBe(0)
      expect(r.stdout).toContain(`Usage: fara ${c}`)
      expect(r.stdout).toContain('--json')
      expect(r.stdout).toMatch(/Examples:\n {2}# .+\n {2}.*fara /)
      expect(fara(['help', c]).stdout).toBe(r.stdout)
    })
  }

  // a flag of issue 16 is documented by an example that uses it, not only by its line under Options
  const exampled: Array<[string, string]> = [
    ['tcpmux', '--max-connections'], ['tcpmux', '--map'], ['tcpmux', '--allow'],
    ['resolve', '--bootstrap'], ['up', '--bootstrap'], ['connect', '--bootstrap'], ['serve', '--bootstrap'], ['rendezvous', '--bootstrap'],
    ['connect', '--identity'], ['connect', '--invite'], ['connect', '--listen-udp'], ['serve', '--allow'], ['serve', '--hop'], ['serve', '--forward-udp']
  ]
  for (const [c, flag] of exampled) {
    it(`fara ${c} --help has an example with ${flag}`, () => {
      const examples = fara([c, '--help']).stdout.split('\nExamples:\n')[1] ?? ''
      const lines = examples.split('\n').filter(l => /^ {2}[^ #]/.test(l))
      expect(lines.some(l => l.includes(` ${flag} `)), examples).toBe(true)
    })
  }

  it('prints the version', () => {
    expect(fara(['--version']).stdout).toMatch(/^fara \d+\.\d+\.\d+\n$/)
  })
})

describe('bad arguments: one line on stderr, nothing on stdout, exit 2', () => {
  const cases: Array<[string[], string]> = [
    [['bogus'], 'unknown command "bogus"'],
    [['--frob'], 'expected a command before --frob'],
    [['serve'], 'missing <name>'],
    [['serve', 'web'], '--forward <host:port> is required'],
    [['serve', 'web', '--forward', 'nope'], '--forward must be host:port'],
    [['serve', 'web', '--forward', '127.0.0.1:80', '--frob'], 'unknown option --frob'],
    [['serve', 'web', '--forward'], 'option --forward needs a value'],
    [['serve', 'Bad Name', '--forward', '127.0.0.1:80'], '<name> must be'],
    [['serve', 'web', '--forward', '127.0.0.1:80', '--listen', '/ip4/127.0.0.1/tcp/80', '-r', `/ip4/127.0.0.1/tcp/4001/p2p/${ID}`], 'well-known port'],
    [['serve', 'web', '--forward', '127.0.0.1:80', '--relay', '/ip4/127.0.0.1/tcp/4001'], 'must end in /p2p/<peer id>'],
    [['connect', 'web', '--listen', 'x'], '--listen must be host:port'],
    [['connect', 'web', '--max-connections', '0'], '--max-connections must be an integer'],
    [['connect', 'web', '--listen', '127.0.0.1:0'], 'no rendezvous point'],
    [['resolve'], 'missing <name>'],
    [['resolve', 'web', 'extra'], 'unexpected argument "extra"'],
    [['resolve', 'web', '--rendezvous', '/ip4/127.0.0.1/tcp/1'], 'must end in /p2p/<peer id>'],
    [['resolve', 'web', '--config', 'missing.json'], 'no such file'],
    [['id'], 'missing <create|list|show|rotate>'],
    [['id', 'frob', 'x'], 'unknown action "frob"'],
    [['id', 'create'], 'missing <app>'],
    [['id', 'rotate', 'web'], 'rotation needs an encrypted keystore'],
    [['rendezvous', 'extra'], 'unexpected argument "extra"'],
    [['rendezvous', '--listen', '/ip4/127.0.0.1/udp/5000'], 'has no /tcp/ part']
  ]
  for (const [args, message] of cases) {
    it(`fara ${args.join(' ')}`, () => {
      const r = fara(args)
      expect(r.status).toBe(2)
      expect(r.stdout).toBe('')
      const lines = r.stderr.trimEnd().split('\n')
      expect(lines).toHaveLength(1)
      expect(lines[0]).toContain(message)
    })
  }

  it('with --json also says it as a JSON error line on stdout', () => {
    const r = fara(['serve', 'web', '--json'])
    expect(r.status).toBe(2)
    expect(jsonLines(r.stdout)).toEqual([{ event: 'error', name: 'UsageError', message: '--forward <host:port> is required: the local TCP service to expose', exit: 2 }])
  })

  it('shows FARA_GC in fara config, and refuses a value it does not know with exit 2', () => {
    const shown = (extra: Record<string, string>): unknown => (jsonLines(fara(['config', '--json'], extra).stdout)[0]?.settings as Record<string, unknown>).gc
    expect(shown({})).toEqual({ value: 'tuned', source: 'default' })
    expect(shown({ FARA_GC: 'node-defaults' })).toEqual({ value: 'node-defaults', source: 'env' })
    const r = fara(['config'], { FARA_GC: 'off' })
    expect(r.status).toBe(2)
    expect(r.stderr).toContain('FARA_GC="off": expected tuned or node-defaults')
  })

  it('refuses a config file with an unknown key', async () => {
    const path = join(home, 'typo.json')
    await writeFile(path, JSON.stringify({ rendevous: [] }))
    const r = fara(['config', '--config', path])
    expect(r.status).toBe(2)
    expect(r.stderr).toContain('unknown key "rendevous"')
  })
})

describe('fara config', () => {
  it('shows each setting with its source: flag > env > config file > default', async () => {
    const path = join(home, 'config.json')
    await writeFile(path, JSON.stringify({ rendezvous: [`/ip4/127.0.0.3/tcp/4001/p2p/${ID}`], keystore: 'cfg-keys', listen: ['/ip4/127.0.0.3/tcp/0'] }))
    const r = fara(['config', '--json', '--keystore', '/flag/keys', '--config', path], {
      FARA_RENDEZVOUS: `/ip4/127.0.0.2/tcp/4001/p2p/${ID}`, FARA_KEYSTORE: '/env/keys', FARA_PASSPHRASE: 'not printed'
    })
    expect(r.status).toBe(0)
    expect(r.stdout).not.toContain('not printed')
    const [line] = jsonLines(r.stdout) as [{ configFile: string, settings: Record<string, { value: unknown, source: string }> }]
    expect(line.configFile).toBe(path)
    expect(line.settings.keystore).toEqual({ value: '/flag/keys', source: 'flag' })
    expect(line.settings.rendezvous).toEqual({ value: [`/ip4/127.0.0.2/tcp/4001/p2p/${ID}`], source: 'env' })
    expect(line.settings.listen).toEqual({ value: ['/ip4/127.0.0.3/tcp/0'], source: 'config' })
    expect(line.settings.dataDir).toEqual({ value: join(home, 'data', 'fara', 'rendezvous'), source: 'default' })
    expect(line.settings.passphrase).toEqual({ value: '(set)', source: 'env' })
  })
})

describe('fara id', () => {
  it('creates, shows and lists plain identities, and refuses to create one twice', () => {
    const keystore = join(home, 'plain-keys')
    const created = fara(['id', 'create', 'web', '--keystore', keystore, '--json'])
    expect(created.status).toBe(0)
    const [c] = jsonLines(created.stdout)
    expect(c).toMatchObject({ event: 'created', app: 'web', encrypted: false })
    const shown = jsonLines(fara(['id', 'show', 'web', '--keystore', keystore, '--json']).stdout)[0]
    expect(shown?.peerId).toBe(c?.peerId)
    expect(fara(['id', 'create', 'db', '--keystore', keystore]).status).toBe(0)
    const listed = jsonLines(fara(['id', 'list', '--keystore', keystore, '--json']).stdout)
    expect(listed.map(l => l.app)).toEqual(['db', 'web'])
    const again = fara(['id', 'create', 'web', '--keystore', keystore])
    expect(again.status).toBe(1)
    expect(again.stderr).toContain('already has a key')
    expect(fara(['id', 'show', 'nope', '--keystore', keystore]).status).toBe(1)
  })

  it('rotates an application key in an encrypted keystore; its self-certifying name stays', () => {
    const env = { FARA_KEYSTORE: join(home, 'enc-keys'), FARA_PASSPHRASE: 'correct horse battery staple' }
    const first = jsonLines(fara(['id', 'create', 'web', '--json'], env).stdout).find(l => l.event === 'created')
    expect(first).toMatchObject({ app: 'web', encrypted: true, generation: 0 })
    expect(first?.name).toMatch(/^web\.[a-z2-7]{56}$/)
    const rotated = jsonLines(fara(['id', 'rotate', 'web', '--json'], env).stdout).find(l => l.event === 'rotated')
    expect(rotated).toMatchObject({ app: 'web', generation: 1, name: first?.name })
    expect(rotated?.peerId).not.toBe(first?.peerId)
    const shown = jsonLines(fara(['id', 'show', 'web', '--json'], env).stdout).find(l => l.event === 'identity')
    expect(shown).toMatchObject({ generation: 1, peerId: rotated?.peerId })
    // the keystore is not readable without its passphrase, and not with a wrong one
    expect(fara(['id', 'show', 'web'], { FARA_KEYSTORE: env.FARA_KEYSTORE }).status).toBe(2)
    const wrong = fara(['id', 'show', 'web'], { ...env, FARA_PASSPHRASE: 'wrong' })
    expect(wrong.status).toBe(6)
    expect(wrong.stderr.trimEnd().split('\n').at(-1)).toContain('error:')
  })
})

describe('runtime failures have their own exit codes', () => {
  it('exits 4 when the rendezvous point is unreachable', async () => {
    // a port that was just free: nothing listens there
    const port = await freePort()
    const r = fara(['resolve', 'web', '--rendezvous', `/ip4/127.0.0.1/tcp/${port}/p2p/${ID}`])
    expect(r.status).toBe(4)
    expect(r.stderr).toContain('unreachable')
  })
})

/** Start `fara args…` and wait for its first JSON line with `event`. */
async function startLongRunning (args: string[]): Promise<{ child: ReturnType<typeof spawn>, line: Record<string, unknown> }> {
  const child = spawn(process.execPath, [BIN, ...args, '--json'], { env: cleanEnv(), cwd: home, stdio: ['ignore', 'pipe', 'pipe'] })
  const lines = createInterface({ input: child.stdout! })
  const line = await new Promise<Record<string, unknown>>((resolve, reject) => {
    lines.on('line', (l) => { const j = JSON.parse(l) as Record<string, unknown>; if (j.event === 'ready') resolve(j) })
    child.once('exit', (code) => { reject(new Error(`exited ${code} before ready`)) })
  })
  return { child, line }
}

describe('signals', () => {
  for (const [signal, code] of [['SIGTERM', 0], ['SIGINT', 130]] as const) {
    it(`a rendezvous point stopped by ${signal} shuts down cleanly and exits ${code}`, async () => {
      const { child, line } = await startLongRunning(['rendezvous', '--memory', '--listen', '/ip4/127.0.0.1/tcp/0'])
      expect(line.multiaddrs).toHaveLength(1)
      const exited = once(child, 'exit')
      child.kill(signal)
      const [status] = await exited as [number | null]
      expect(status).toBe(code)
    })
  }
})

describe('fara demo', () => {
  it('runs the narrated path and reports that nothing leaked', () => {
    const r = fara(['demo', '--json'])
    expect(r.status, r.stderr).toBe(0)
    const lines = jsonLines(r.stdout)
    expect(lines.at(-1)).toEqual({ event: 'done', leaked: 0 })
    expect(lines.filter(l => l.who === 'observer' && l.what != null).map(l => l.seen)).toEqual([false, false, false, false, false])
    expect(lines.some(l => l.who === 'client' && String(l.text).includes('welcome to chat'))).toBe(true)
  })
})
