// How the `rendezvous` setting picks a backend: dns:// URLs, `dht` with its bootstrap nodes, rendezvous
// point multiaddrs; and what is refused, with which error. Nothing here touches the network.
import { describe, expect, it } from 'vitest'
import { thrown } from '@fara/testkit'
import { backendSpecOf, checkRendezvousValues, isPrivateAddress, isPrivateMultiaddr, parseDnsServer, parseDnsUrl } from '../src/internal/backends.ts'
import type { BackendContext } from '../src/internal/backends.ts'
import type { Settings, Source } from '../src/internal/config.ts'

const ID = '12D3KooWPo5KrxYfF9ngRsbnax3Vc8DxbiP6V9YvWLtPfxUSSfKa'
const POINT = `/ip4/203.0.113.7/tcp/4001/p2p/${ID}`

function settings (rendezvous: string[], bootstrap: string[] = [], source: Source = 'flag', configPath?: string): Settings {
  const s = <T>(value: T, src: Source = 'default'): { value: T, source: Source } => ({ value, source: src })
  return {
    configPath,
    rendezvous: s(rendezvous, source),
    bootstrap: s(bootstrap, bootstrap.length > 0 ? 'flag' : 'default'),
    keystore: s('/k'),
    passphrase: s(undefined),
    relays: s([]),
    listen: s([]),
    dataDir: s('/d'),
    secret: s(undefined)
  } as unknown as Settings
}

const ctx = (values: Record<string, string> = {}): BackendContext => ({ args: { values, positionals: [] }, cwd: '/work', signal: new AbortController().signal, env: { HOME: '/home/me' } })

describe('dns:// URLs', () => {
  it('parses server, port, zone and key file (RFC 4501 shape); a relative or ~ key file is resolved', () => {
    expect(parseDnsUrl('x', '--rendezvous', 'dns://192.0.2.53:5353/fara.example.com?tsig=/etc/fara.key', '/work')).toEqual({
      kind: 'dns', server: '192.0.2.53:5353', zone: 'fara.example.com', tsig: '/etc/fara.key', url: 'dns://192.0.2.53:5353/fara.example.com?tsig=/etc/fara.key'
    })
    expect(parseDnsUrl('x', 'r', 'dns://[2001:db8::53]/fara.example.com.', '/work')).toMatchObject({ server: '[2001:db8::53]:53', zone: 'fara.example.com', tsig: undefined })
    expect(parseDnsUrl('x', 'r', 'DNS://192.0.2.53/z.test?tsig=keys/a%2Bb.key', '/work').tsig).toBe('/work/keys/a+b.key')
    expect(parseDnsUrl('x', 'r', 'dns://192.0.2.53/z.test?tsig=~/fara.key', '/work', { HOME: '/home/me' }).tsig).toBe('/home/me/fara.key')
  })

  for (const [url, why] of [
    ['dns://ns.example.com/z.test', 'must be an IP address'],
    ['dns:///z.test', 'no DNS server'],
    ['dns://192.0.2.53', 'no zone'],
    ['dns://192.0.2.53/', 'no zone'],
    ['dns://192.0.2.53:0/z.test', 'port 0'],
    ['dns://192.0.2.53:99999/z.test', 'not a URL'],
    ['dns://me@192.0.2.53/z.test', 'no user name'],
    ['dns://192.0.2.53/z.test#x', 'no #fragment'],
    ['dns://192.0.2.53/z.test?type=SRV', 'unknown parameter "type"'],
    ['dns://192.0.2.53/z.test?tsig=', 'tsig= needs a file'],
    ['dns://192.0.2.53/a/b', 'no zone']
  ] as Array<[string, string]>) {
    it(`refuses ${url} (${why})`, () => {
      const err = thrown(() => parseDnsUrl('resolve', '--rendezvous', url, '/'))
      expect(err.name).toBe('UsageError')
      expect(err.message).toContain(why)
    })
  }

  it('--dns-server takes an IP with an optional port, never a host name', () => {
    expect(parseDnsServer('x', '--dns-server', '192.0.2.53')).toBe('192.0.2.53:53')
    expect(parseDnsServer('x', '--dns-server', '192.0.2.53:5353')).toBe('192.0.2.53:5353')
    expect(parseDnsServer('x', '--dns-server', '::1')).toBe('[::1]:53')
    expect(parseDnsServer('x', '--dns-server', '[::1]:5353')).toBe('[::1]:5353')
    expect(thrown(() => parseDnsServer('x', '--dns-server', 'ns.example.com:53')).message).toContain('must be an IP address')
  })
})

describe('--rendezvous values', () => {
  it('dns:// and dht stand alone; multiaddrs must name the peer', () => {
    expect(checkRendezvousValues('x', ['dht'])).toEqual(['dht'])
    expect(checkRendezvousValues('x', [POINT, POINT])).toEqual([POINT, POINT])
    expect(thrown(() => checkRendezvousValues('x', ['dht', POINT])).message).toContain('stand alone')
    expect(thrown(() => checkRendezvousValues('x', ['dns://192.0.2.53/z.test', 'dht'])).message).toContain('stand alone')
    expect(thrown(() => checkRendezvousValues('x', ['/ip4/203.0.113.7/tcp/4001'])).message).toContain('/p2p/<peer id>')
  })

  it('selects the backend; dht needs bootstrap nodes (MissingSettingError, exit 2)', () => {
    expect(backendSpecOf('resolve', settings([POINT]), ctx())).toEqual({ kind: 'point', addrs: [POINT] })
    expect(backendSpecOf('resolve', settings(['dht'], [POINT]), ctx())).toEqual({ kind: 'dht', bootstrap: [POINT] })
    expect(thrown(() => backendSpecOf('resolve', settings(['dht']), ctx())).name).toBe('MissingSettingError')
    expect(thrown(() => backendSpecOf('resolve', settings([]), ctx())).name).toBe('MissingSettingError')
  })

  it('a key file named in the config file is relative to the config file', () => {
    const spec = backendSpecOf('resolve', settings(['dns://192.0.2.53/z.test?tsig=fara.key'], [], 'config', '/etc/fara/config.json'), ctx())
    expect(spec).toMatchObject({ kind: 'dns', tsig: '/etc/fara/fara.key' })
    expect(backendSpecOf('resolve', settings(['dns://192.0.2.53/z.test?tsig=fara.key'], [], 'env'), ctx())).toMatchObject({ tsig: '/work/fara.key' })
  })

  it('fara serve --srv is dns://<dns-server>/<zone>?tsig=<file>, and not together with --rendezvous', () => {
    const srv = { srv: 'fara.example.com', 'dns-server': '192.0.2.53', 'tsig-key': 'k.key' }
    expect(backendSpecOf('serve', settings([POINT], [], 'env'), ctx(srv))).toEqual({
      kind: 'dns', server: '192.0.2.53:53', zone: 'fara.example.com', tsig: '/work/k.key', url: 'dns://192.0.2.53:53/fara.example.com?tsig=/work/k.key'
    })
    expect(thrown(() => backendSpecOf('serve', settings([POINT]), ctx(srv))).message).toContain('not both')
    expect(thrown(() => backendSpecOf('serve', settings([], [], 'default'), ctx({ srv: 'z.test', 'tsig-key': 'k' }))).message).toContain('--dns-server')
    expect(thrown(() => backendSpecOf('serve', settings([], [], 'default'), ctx({ srv: 'z.test', 'dns-server': '192.0.2.53' }))).message).toContain('--tsig-key')
    expect(thrown(() => backendSpecOf('serve', settings([POINT]), ctx({ 'tsig-key': 'k' }))).message).toContain('goes with --srv')
  })
})

describe('private addresses (a DHT bootstrapped from one is a LAN)', () => {
  it('knows loopback, RFC 1918, link-local and ULA addresses', () => {
    for (const ip of ['127.0.0.1', '10.1.2.3', '172.16.0.1', '172.31.255.255', '192.168.1.1', '169.254.0.1', '::1', 'fd00::1', 'fe80::1']) expect(isPrivateAddress(ip), ip).toBe(true)
    for (const ip of ['203.0.113.7', '172.32.0.1', '8.8.8.8', '2001:db8::1']) expect(isPrivateAddress(ip), ip).toBe(false)
    expect(isPrivateMultiaddr(`/ip4/192.168.1.5/tcp/4001/p2p/${ID}`)).toBe(true)
    expect(isPrivateMultiaddr(POINT)).toBe(false)
    expect(isPrivateMultiaddr(`/dns4/localhost/tcp/4001/p2p/${ID}`)).toBe(false)
  })
})
