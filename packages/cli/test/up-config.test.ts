import { describe, expect, it } from 'vitest'
import { thrown } from '@fara/testkit'
import { checkConfig, resolveSettings } from '../src/internal/config.ts'
import { lookupPrivacy } from '../src/internal/privacy.ts'
import { systemdUnit, unitWord } from '../src/internal/systemd.ts'

const KEY = '12D3KooWPo5KrxYfF9ngRsbnax3Vc8DxbiP6V9YvWLtPfxUSSfKa'
const PATH = '/etc/fara/up.json'

/** The ConfigError `checkConfig` throws for `json`; fails if it accepts it. */
const error = (json: unknown): Error => thrown(() => checkConfig(json, PATH))

describe('config file: services and tunnels (fara up)', () => {
  it('reads services and tunnels with their defaults, host:port parsed', () => {
    const config = checkConfig({
      app: 'myhost',
      services: [
        { name: 'web', forward: '127.0.0.1:8000' },
        { name: 'db', forward: '5432', secret: 's3', allow: [KEY] },
        { name: 'dns', forwardUdp: '[::1]:53', udpIdle: 30 }
      ],
      tunnels: [{ name: 'web', listen: '127.0.0.1:8080' }, { name: 'db', listenUdp: '127.0.0.1:0', secret: 's3', maxFlows: 8 }]
    }, PATH)
    expect(config.app).toBe('myhost')
    expect(config.services).toEqual([
      { name: 'web', forward: { host: '127.0.0.1', port: 8000 }, udpIdle: 60 },
      { name: 'db', forward: { host: '127.0.0.1', port: 5432 }, udpIdle: 60, private: { secret: 's3' }, allow: [KEY] },
      { name: 'dns', forwardUdp: { host: '::1', port: 53 }, udpIdle: 30 }
    ])
    expect(config.tunnels?.[0]).toEqual({ name: 'web', listen: { host: '127.0.0.1', port: 8080 }, maxConnections: 64, udpIdle: 60, maxFlows: 256 })
    expect(config.tunnels?.[1]?.private).toEqual({ secret: 's3' })
  })

  it.each([
    [{ services: {} }, 'services must be an array'],
    [{ services: ['web'] }, 'services[0] must be an object'],
    [{ services: [{ name: 'Web!', forward: '1' }] }, 'services[0]: name must be'],
    [{ services: [{ name: 'web' }] }, 'services[0] ("web"): needs forward (TCP) or forwardUdp (UDP)'],
    [{ services: [{ name: 'web', forward: '1', forwardUdp: '2' }] }, 'not both'],
    [{ services: [{ name: 'web', forward: 'localhost' }] }, 'forward must be host:port (no port)'],
    [{ services: [{ name: 'web', forward: '127.0.0.1:0' }] }, 'port must be 1 to 65535'],
    [{ services: [{ name: 'web', forward: 8000 }] }, 'forward must be a "host:port" string'],
    [{ services: [{ name: 'web', forward: '1', port: 2 }] }, 'unknown key "port"'],
    [{ services: [{ name: 'web', forward: '1', private: 'yes' }] }, 'private must be true or false'],
    [{ services: [{ name: 'web', forward: '1', private: false, secret: 'x' }] }, '"private": false with a secret'],
    [{ services: [{ name: 'web', forward: '1', secret: '' }] }, 'secret must be a non-empty string'],
    [{ services: [{ name: 'web', forward: '1', allow: [] }] }, 'allow lists no key'],
    [{ services: [{ name: 'web', forward: '1', allow: ['alice'] }] }, '"alice" is not a client key'],
    [{ services: [{ name: 'web', forward: '1', udpIdle: 0 }] }, 'udpIdle must be an integer from 1 to 86400'],
    [{ services: [{ name: 'web', forward: '1' }, { name: 'web', forward: '2' }] }, 'lists "web" twice'],
    [{ tunnels: [{ name: 'web' }] }, 'needs listen (TCP) or listenUdp (UDP)'],
    [{ tunnels: [{ name: 'a', listen: '8080' }, { name: 'b', listen: '127.0.0.1:8080' }] }, 'both listen on tcp 127.0.0.1:8080'],
    [{ tunnels: [{ name: 'web', listen: '1', maxConnections: 1.5 }] }, 'maxConnections must be an integer'],
    [{ services: [{ name: 'db', forward: '1', secret: 'a' }], tunnels: [{ name: 'db', listen: '2', secret: 'b' }] }, 'different private/secret settings'],
    [{ services: [{ name: 'db', forward: '1', private: true }], tunnels: [{ name: 'db', listen: '2' }] }, 'different private/secret settings'],
    [{ app: 'My Host' }, 'app must match']
  ])('refuses %j with one clear ConfigError', (json, message) => {
    const err = error(json)
    expect(err.name).toBe('ConfigError')
    expect(err.message).toContain(message)
    expect(err.message).toContain(PATH)
    expect(err.message).not.toContain('\n')
  })

  it('a name the config lists as private is looked up privately with its secret; flags and FARA_SECRET win; others stay public', async () => {
    const config = checkConfig({
      services: [{ name: 'db', forward: '1', secret: 's3' }, { name: 'web', forward: '2' }],
      tunnels: [{ name: 'vault', listen: '3', private: true }]
    }, PATH)
    const settings = await resolveSettings({}, {}, { path: PATH, config }, '/')
    expect(lookupPrivacy('db', false, settings)).toEqual({ private: { secret: 's3' } })
    expect(lookupPrivacy('vault', false, settings)).toEqual({ private: true })
    expect(lookupPrivacy('web', false, settings)).toEqual({})
    expect(lookupPrivacy('other', false, settings)).toEqual({})
    expect(lookupPrivacy('db', true, settings)).toEqual({ private: true })
    const withSecret = await resolveSettings({ secret: 'flag' }, {}, { path: PATH, config }, '/')
    expect(lookupPrivacy('db', false, withSecret)).toEqual({ private: { secret: 'flag' } })
    const fromEnv = await resolveSettings({}, { FARA_SECRET: 'env' }, { path: PATH, config }, '/')
    expect(lookupPrivacy('web', false, fromEnv)).toEqual({ private: { secret: 'env' } })
  })
})

describe('systemd unit', () => {
  it('quotes words with spaces and escapes % (systemd.syntax(7))', () => {
    expect(unitWord('/usr/bin/node')).toBe('/usr/bin/node')
    expect(unitWord('/srv/my app/up.json')).toBe('"/srv/my app/up.json"')
    expect(unitWord('a"b%c')).toBe('"a\\"b%%c"')
  })

  it('runs `up --config <file>`, reloads with SIGHUP, restarts on failure, carries the environment', () => {
    const unit = systemdUnit({ node: '/usr/bin/node', bin: '/opt/fara/bin/fara.js', config: '/etc/fara/up.json', environment: { FARA_KEYSTORE: '/var/lib/fara' }, user: 'fara' })
    expect(unit.split('\n')).toEqual(expect.arrayContaining([
      'ExecStart=/usr/bin/node /opt/fara/bin/fara.js up --config /etc/fara/up.json',
      'ExecReload=/bin/kill -HUP $MAINPID',
      'Restart=on-failure',
      'User=fara',
      'Environment=FARA_KEYSTORE=/var/lib/fara'
    ]))
  })
})
