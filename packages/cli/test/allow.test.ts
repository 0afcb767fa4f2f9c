import { createIdentity } from '@fara/identity'
import { beforeAll, describe, expect, it } from 'vitest'
import { thrownIfAny } from '@fara/testkit'
import { KEY_REFUSED_MESSAGE, MAX_ALLOW_ENTRIES, allowListOf, clientIdentityOf, isClientKey, rejectionMessage } from '../src/internal/allow.ts'
import { parseCommandLine } from '../src/internal/args.ts'
import { checkConfig, resolveSettings } from '../src/internal/config.ts'
import { describeFailure } from '../src/internal/failure.ts'
import type { Settings } from '../src/internal/config.ts'

let keys: string[] = []
beforeAll(async () => {
  keys = await Promise.all([1, 2, 3].map(async () => (await createIdentity({ app: 'client' })).peerId.toString()))
})

function settingsWith (allow: Settings['allow'], configPath = '/etc/fara.json'): Settings {
  return { configPath, allow } as unknown as Settings
}

describe('client keys', () => {
  it('accepts the peer id of every Fara key (Ed25519)', () => {
    for (const k of keys) expect(isClientKey(k)).toBe(true)
  })

  it.each([
    '', 'hello', '12D3KooW', 'QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N',
    // one character changed (0 and l are not base58), one dropped, one added
    '12D3KooW0ykRWPZgG62GNvX3jjSaX5ZWPVACLLuPbJ66CnQWtyVR', '12D3KooW9ykRWPZgG62GNvX3jjSaX5ZWPVACLLuPbJ66CnQWtyV', '12D3KooW9ykRWPZgG62GNvX3jjSaX5ZWPVACLLuPbJ66CnQWtyVRR',
    'x'.repeat(10_000)
  ])('refuses %j', (text) => {
    expect(isClientKey(text)).toBe(false)
  })
})

describe('allowListOf', () => {
  it('is undefined (every client) when nothing is listed', () => {
    expect(allowListOf('serve', settingsWith({ value: undefined, source: 'default' }))).toBeUndefined()
  })

  it('gives the listed keys, once each', () => {
    expect([...allowListOf('serve', settingsWith({ value: [keys[0]!, keys[1]!, keys[0]!], source: 'flag' }))!]).toEqual([keys[0], keys[1]])
  })

  it('refuses a flag value that is not a key with a UsageError naming --allow and the value', () => {
    const err = thrownIfAny(() => allowListOf('serve', settingsWith({ value: [keys[0]!, 'alice'], source: 'flag' })))
    expect(err?.name).toBe('UsageError')
    expect(err?.message).toMatch(/^--allow: "alice" is not a client key/)
    expect(describeFailure(err).exit).toBe(2)
  })

  it('refuses a bad config value with a ConfigError naming the file', () => {
    const err = thrownIfAny(() => allowListOf('serve', settingsWith({ value: ['alice'], source: 'config' })))
    expect(err?.name).toBe('ConfigError')
    expect(err?.message).toMatch(/^config file \/etc\/fara\.json: allow: "alice"/)
    expect(describeFailure(err).exit).toBe(2)
  })

  it('refuses an empty list (it would refuse everyone) and an over-long one', () => {
    expect(thrownIfAny(() => allowListOf('serve', settingsWith({ value: [], source: 'flag' })))?.message).toMatch(/lists no key/)
    const many = Array(MAX_ALLOW_ENTRIES + 1).fill(keys[0]!) as string[]
    expect(thrownIfAny(() => allowListOf('serve', settingsWith({ value: many, source: 'config' })))?.message).toMatch(/at most/)
  })
})

describe('the "allow" setting', () => {
  it('comes from the config file (an array or one comma-separated string), and --allow replaces it', async () => {
    expect(checkConfig({ allow: [keys[0]] }, '/etc/fara.json')).toEqual({ allow: [keys[0]] })
    expect(checkConfig({ allow: `${keys[0]!}, ${keys[1]!}` }, '/etc/fara.json')).toEqual({ allow: [keys[0], keys[1]] })
    expect(thrownIfAny(() => checkConfig({ allow: 7 }, '/etc/fara.json'))?.name).toBe('ConfigError')
    const loaded = { path: '/etc/fara.json', config: { allow: [keys[0]!] } }
    expect((await resolveSettings({}, {}, loaded, '/')).allow).toEqual({ value: [keys[0]], source: 'config' })
    expect((await resolveSettings({ allow: [keys[2]!] }, {}, loaded, '/')).allow).toEqual({ value: [keys[2]], source: 'flag' })
    expect((await resolveSettings({}, {}, { path: undefined, config: {} }, '/')).allow).toEqual({ value: undefined, source: 'default' })
  })
})

describe('clientIdentityOf', () => {
  const OPTIONS = {
    identity: { type: 'string', help: '' },
    app: { type: 'string', help: '' },
    'stable-identity': { type: 'boolean', help: '' }
  } as const
  const parse = (argv: string[]): ReturnType<typeof clientIdentityOf> => clientIdentityOf('connect', parseCommandLine('connect', argv, OPTIONS))

  it('--identity <app> is that app\'s stable key', () => {
    expect(parse(['--identity', 'laptop'])).toEqual({ app: 'laptop', stable: true })
    expect(parse(['--identity', 'laptop', '--app', 'laptop', '--stable-identity'])).toEqual({ app: 'laptop', stable: true })
  })

  it('keeps the older --stable-identity and --app working', () => {
    expect(parse(['--stable-identity'])).toEqual({ app: 'fara-connect', stable: true })
    expect(parse(['--stable-identity', '--app', 'laptop'])).toEqual({ app: 'laptop', stable: true })
    expect(parse([])).toEqual({ app: 'fara-connect', stable: false })
  })

  it('refuses --identity and --app that disagree, and a bad app name, as usage errors', () => {
    expect(thrownIfAny(() => parse(['--identity', 'a', '--app', 'b']))?.name).toBe('UsageError')
    expect(thrownIfAny(() => parse(['--identity', 'Not An App']))?.message).toMatch(/^--identity must match/)
  })
})

describe('refusal by an allow-list', () => {
  it('reads as one clear line with exit 5; other rejections keep their message', () => {
    const refused = Object.assign(new Error('Association rejected: this key is not admitted'), { name: 'AssociationRejectedError', code: 5 })
    expect(rejectionMessage(refused)).toBe(KEY_REFUSED_MESSAGE)
    expect(describeFailure(refused)).toMatchObject({ exit: 5, name: 'AssociationRejectedError', message: KEY_REFUSED_MESSAGE })
    const unknown = Object.assign(new Error('Association rejected: unknown AId'), { name: 'AssociationRejectedError', code: 1 })
    expect(describeFailure(unknown)).toMatchObject({ exit: 5, message: 'Association rejected: unknown AId' })
  })
})
