import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { rejection } from '@fara/testkit'
import { defaultConfigPath, loadConfig, resolveSettings } from '../src/internal/config.ts'

const ID = '12D3KooWPo5KrxYfF9ngRsbnax3Vc8DxbiP6V9YvWLtPfxUSSfKa'
const A = (port: number): string => `/ip4/127.0.0.1/tcp/${port}/p2p/${ID}`

let dir: string
beforeAll(async () => { dir = await mkdtemp(join(tmpdir(), 'fara-cli-config-')) })
afterAll(async () => { await rm(dir, { recursive: true, force: true }) })

async function configFile (name: string, body: unknown): Promise<string> {
  const path = join(dir, name)
  await writeFile(path, typeof body === 'string' ? body : JSON.stringify(body))
  return path
}

describe('config file', () => {
  it('is found at $XDG_CONFIG_HOME/fara/config.json, else ~/.config/fara/config.json', () => {
    expect(defaultConfigPath({ XDG_CONFIG_HOME: '/x/conf', HOME: '/home/u' })).toBe('/x/conf/fara/config.json')
    expect(defaultConfigPath({ HOME: '/home/u' })).toBe('/home/u/.config/fara/config.json')
    // a relative XDG value is ignored, as the XDG spec says
    expect(defaultConfigPath({ XDG_CONFIG_HOME: 'rel', HOME: '/home/u' })).toBe('/home/u/.config/fara/config.json')
  })

  it('may be missing at the default path', async () => {
    const loaded = await loadConfig(undefined, { XDG_CONFIG_HOME: join(dir, 'nowhere'), HOME: dir }, dir)
    expect(loaded).toEqual({ path: undefined, config: {} })
  })

  it('must exist when named by --config or $FARA_CONFIG', async () => {
    const missing = join(dir, 'missing.json')
    for (const [flag, env] of [[missing, {}], [undefined, { FARA_CONFIG: missing }]] as const) {
      const err = await rejection(loadConfig(flag, { ...env, HOME: dir }, dir))
      expect(err.name).toBe('ConfigError')
      expect(err.message).toContain('no such file')
    }
  })

  it('prefers --config over $FARA_CONFIG over the default', async () => {
    const a = await configFile('a.json', { keystore: 'ka' })
    const b = await configFile('b.json', { keystore: 'kb' })
    await mkdir(join(dir, 'xdg', 'fara'), { recursive: true })
    await writeFile(join(dir, 'xdg', 'fara', 'config.json'), JSON.stringify({ keystore: 'kx' }))
    const env = { FARA_CONFIG: b, XDG_CONFIG_HOME: join(dir, 'xdg'), HOME: dir }
    expect((await loadConfig(a, env, dir)).config.keystore).toBe(join(dir, 'ka'))
    expect((await loadConfig(undefined, env, dir)).config.keystore).toBe(join(dir, 'kb'))
    expect((await loadConfig(undefined, { ...env, FARA_CONFIG: undefined }, dir)).config.keystore).toBe(join(dir, 'xdg', 'fara', 'kx'))
  })

  it('resolves relative paths against its own directory and splits lists', async () => {
    await mkdir(join(dir, 'sub'), { recursive: true })
    const path = await configFile(join('sub', 'c.json'), { keystore: './keys', dataDir: '/abs/rv', rendezvous: `${A(1)}, ${A(2)}`, relays: [A(3)] })
    const { config } = await loadConfig(path, {}, '/elsewhere')
    expect(config).toEqual({ keystore: join(dir, 'sub', 'keys'), dataDir: '/abs/rv', rendezvous: [A(1), A(2)], relays: [A(3)] })
  })

  for (const [what, body, message] of [
    ['not JSON', '{ nope', 'not JSON'],
    ['not an object', '[1, 2]', 'must hold a JSON object'],
    ['an unknown key (a typo)', { rendevous: [] }, 'unknown key "rendevous"'],
    ['a list of the wrong type', { relays: [1] }, 'relays must be a string or an array of strings'],
    ['an empty path', { keystore: '' }, 'keystore must be a non-empty string']
  ] as const) {
    it(`refuses ${what} with a ConfigError naming the file`, async () => {
      const path = await configFile(`bad-${what.replace(/\W/g, '')}.json`, body)
      const err = await rejection(loadConfig(path, {}, dir))
      expect(err.name).toBe('ConfigError')
      expect(err.message).toContain(path)
      expect(err.message).toContain(message)
    })
  }

  it('refuses a file larger than 64 KiB', async () => {
    const path = await configFile('huge.json', JSON.stringify({ keystore: 'x'.repeat(70_000) }))
    expect((await rejection(loadConfig(path, {}, dir))).message).toContain('larger than')
  })
})

describe('settings precedence: flags > env > config > defaults', () => {
  const file = { rendezvous: [A(3)], keystore: '/cfg/keys', relays: [A(3)], listen: ['/ip4/127.0.0.3/tcp/0'], dataDir: '/cfg/rv' }
  const env = {
    HOME: '/home/u',
    FARA_RENDEZVOUS: `${A(2)},${A(22)}`,
    FARA_KEYSTORE: 'env-keys',
    FARA_RELAYS: A(2),
    FARA_LISTEN: '/ip4/127.0.0.2/tcp/0',
    FARA_DATA_DIR: '/env/rv',
    FARA_SECRET: 'env-secret'
  }
  const flags = { rendezvous: [A(1)], keystore: 'flag-keys', relays: [A(1)], listen: ['/ip4/127.0.0.1/tcp/0'], dataDir: 'flag-rv', secret: 'flag-secret' }

  it('takes the flag over everything', async () => {
    const s = await resolveSettings(flags, env, { path: '/cfg/c.json', config: file }, '/cwd')
    expect(s.rendezvous).toEqual({ value: [A(1)], source: 'flag' })
    expect(s.keystore).toEqual({ value: '/cwd/flag-keys', source: 'flag' })
    expect(s.relays).toEqual({ value: [A(1)], source: 'flag' })
    expect(s.listen).toEqual({ value: ['/ip4/127.0.0.1/tcp/0'], source: 'flag' })
    expect(s.dataDir).toEqual({ value: '/cwd/flag-rv', source: 'flag' })
    expect(s.secret).toEqual({ value: 'flag-secret', source: 'flag' })
  })

  it('takes the environment over the config file', async () => {
    const s = await resolveSettings({}, env, { path: '/cfg/c.json', config: file }, '/cwd')
    expect(s.rendezvous).toEqual({ value: [A(2), A(22)], source: 'env' })
    expect(s.keystore).toEqual({ value: '/cwd/env-keys', source: 'env' })
    expect(s.relays.source).toBe('env')
    expect(s.listen).toEqual({ value: ['/ip4/127.0.0.2/tcp/0'], source: 'env' })
    expect(s.dataDir).toEqual({ value: '/env/rv', source: 'env' })
    expect(s.secret).toEqual({ value: 'env-secret', source: 'env' })
  })

  it('takes the config file over the defaults, and an empty variable counts as unset', async () => {
    const s = await resolveSettings({}, { HOME: '/home/u', FARA_RENDEZVOUS: '', FARA_KEYSTORE: '' }, { path: '/cfg/c.json', config: file }, '/cwd')
    expect(s.rendezvous).toEqual({ value: [A(3)], source: 'config' })
    expect(s.keystore).toEqual({ value: '/cfg/keys', source: 'config' })
    expect(s.listen.source).toBe('config')
    expect(s.dataDir.source).toBe('config')
  })

  it('takes FARA_GC from the environment only, tuned by default, and refuses a value it does not know', async () => {
    const none = { path: undefined, config: {} }
    expect((await resolveSettings({}, { HOME: '/home/u' }, none, '/cwd')).gc).toEqual({ value: 'tuned', source: 'default' })
    expect((await resolveSettings({}, { HOME: '/home/u', FARA_GC: 'node-defaults' }, none, '/cwd')).gc).toEqual({ value: 'node-defaults', source: 'env' })
    expect((await resolveSettings({}, { HOME: '/home/u', FARA_GC: 'tuned' }, none, '/cwd')).gc).toEqual({ value: 'tuned', source: 'env' })
    await expect(resolveSettings({}, { HOME: '/home/u', FARA_GC: 'off' }, none, '/cwd')).rejects.toMatchObject({ name: 'ConfigError', message: expect.stringContaining('expected tuned or node-defaults') })
  })

  it('falls back to XDG defaults', async () => {
    const s = await resolveSettings({}, { HOME: '/home/u', XDG_DATA_HOME: '/data' }, { path: undefined, config: {} }, '/cwd')
    expect(s.rendezvous).toEqual({ value: [], source: 'default' })
    expect(s.keystore).toEqual({ value: '/data/fara/keystore', source: 'default' })
    expect(s.dataDir).toEqual({ value: '/data/fara/rendezvous', source: 'default' })
    expect(s.listen).toEqual({ value: ['/ip4/0.0.0.0/tcp/0'], source: 'default' })
    expect(s.passphrase).toEqual({ value: undefined, source: 'default' })
    const home = await resolveSettings({}, { HOME: '/home/u' }, { path: undefined, config: {} }, '/cwd')
    expect(home.keystore.value).toBe('/home/u/.local/share/fara/keystore')
  })
})

describe('passphrase', () => {
  it('comes from --passphrase-file, then $FARA_PASSPHRASE, then $FARA_PASSPHRASE_FILE, then the config', async () => {
    const files = await Promise.all(['flag', 'envfile', 'config'].map(async (n) => {
      const path = join(dir, `${n}.pass`)
      await writeFile(path, `${n}-pass\nsecond line ignored\n`, { mode: 0o600 })
      return path
    }))
    const [flagFile, envFile, configPass] = files as [string, string, string]
    const loaded = { path: undefined, config: { passphraseFile: configPass } }
    const env = { HOME: dir, FARA_PASSPHRASE: 'env-pass', FARA_PASSPHRASE_FILE: envFile }
    expect((await resolveSettings({ passphraseFile: flagFile }, env, loaded, dir)).passphrase).toEqual({ value: 'flag-pass', source: 'flag' })
    expect((await resolveSettings({}, env, loaded, dir)).passphrase).toEqual({ value: 'env-pass', source: 'env' })
    expect((await resolveSettings({}, { ...env, FARA_PASSPHRASE: undefined }, loaded, dir)).passphrase).toEqual({ value: 'envfile-pass', source: 'env' })
    expect((await resolveSettings({}, { HOME: dir }, loaded, dir)).passphrase).toEqual({ value: 'config-pass', source: 'config' })
  })

  it('refuses a passphrase file others can read, or an empty one', async () => {
    const open = join(dir, 'open.pass')
    await writeFile(open, 'pass\n')
    await chmod(open, 0o644)
    const err = await rejection(resolveSettings({ passphraseFile: open }, { HOME: dir }, { path: undefined, config: {} }, dir))
    expect(err.name).toBe('ConfigError')
    expect(err.message).toContain('chmod 600')
    const empty = join(dir, 'empty.pass')
    await writeFile(empty, '\nsecret on line two\n', { mode: 0o600 })
    expect((await rejection(resolveSettings({ passphraseFile: empty }, { HOME: dir }, { path: undefined, config: {} }, dir))).message).toContain('first line is empty')
  })
})
