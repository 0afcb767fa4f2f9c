import { CLIENT_APP, ExitCode } from '../constants.ts'
import { checkServiceName, flagOf, positionalsOf } from '../internal/args.ts'
import { PRIVATE_OPTIONS, RENDEZVOUS_OPTIONS, settingFlagsOf } from '../internal/command.ts'
import { rendezvousOf } from '../internal/entity.ts'
import { lookupPrivacy } from '../internal/privacy.ts'
import { sdk } from '../internal/lazy.ts'
import { SRV_RESOLVE_OPTIONS, resolveSrvName, wantsSrvLookup } from '../internal/srv-lookup.ts'
import type { Command, Context } from '../internal/command.ts'

const NAME = 'resolve'

async function run (ctx: Context): Promise<ExitCode> {
  if (wantsSrvLookup(NAME, ctx)) return resolveSrvName(NAME, ctx)
  const [name] = positionalsOf(NAME, ctx.args.positionals, ['name']) as [string]
  checkServiceName(NAME, name)
  const settings = await ctx.settings(settingFlagsOf(NAME, ctx.args))
  const rendezvous = await rendezvousOf(NAME, settings, ctx)
  const { createEntity, aidToHex } = await sdk()
  const entity = await createEntity({ app: CLIENT_APP, rendezvous, listen: [] })
  try {
    const record = await entity.resolve(name, { ...lookupPrivacy(name, flagOf(ctx.args, 'private'), settings), signal: ctx.signal })
    const owner = record.owner.equals(record.publicKey) ? undefined : record.owner
    const cert = record.certificate
    const s = ctx.out.out
    ctx.out.result('resolved', {
      name: record.name,
      peerId: record.peerId.toString(),
      addrs: record.addrs.map(String),
      aid: aidToHex(record.aid),
      seq: record.seq,
      expires: record.expires,
      certificate: cert == null ? null : { app: cert.app, generation: cert.generation, notAfter: cert.notAfter }
    }, [
      `${s.bold(record.name)}  ${s.dim('(signature verified)')}`,
      `  key      ${record.peerId.toString()}`,
      ...(owner == null || cert == null ? [] : [`  device   certified app ${JSON.stringify(cert.app)}, generation ${cert.generation}`]),
      ...record.addrs.map((a, i) => `  ${i === 0 ? 'address' : '       '}  ${a.toString()}`),
      `  AId      ${aidToHex(record.aid)}`,
      `  expires  ${new Date(record.expires).toISOString()}`
    ])
    return ExitCode.OK
  } finally {
    await entity.close()
  }
}

/** `fara resolve <name>`. */
export const resolve: Command = {
  name: NAME,
  summary: 'look a name up and show its verified record (key, addresses, AId, expiry)',
  usage: ['resolve <name> [--private] [--secret <secret>] [options]', 'resolve --srv <_service._tcp.domain> [--dns-server <ip[:port]>]'],
  description: [
    'Asks the rendezvous point for <name> and verifies the record\'s signature (and the device certificate, if any).',
    'Exit code 3 if no live record exists (under this secret, for a private name). A name the config file lists as',
    'private (in "services" or "tunnels") is looked up privately, with its secret, without --private/--secret.',
    'With --srv, looks up an SRV name in DNS and prints its targets in the order RFC 2782 says to try them',
    '(exit 3: no such name or no SRV records; 4: no DNS server answered).'
  ],
  options: { ...PRIVATE_OPTIONS, ...RENDEZVOUS_OPTIONS, ...SRV_RESOLVE_OPTIONS },
  examples: [
    ['fara resolve web', 'who serves "web", and where'],
    ['fara resolve web --rendezvous dns://192.0.2.53/fara.example.com', '"web" from its signed TXT record in a DNS zone'],
    ['fara resolve web --rendezvous dht --bootstrap /ip4/203.0.113.7/tcp/4001/p2p/12D3KooW…', '"web" from the DHT, joined through that node (`fara rendezvous --dht` prints its address)'],
    ['fara resolve --srv _imaps._tcp.example.com', 'the SRV targets of any service, in the order to try them'],
    ['fara resolve --srv web._fara._tcp.fara.example.com --dns-server 192.0.2.53 --json', 'what `fara serve --srv` published, asked of the zone\'s server'],
    ['fara resolve web --json | jq -r .peerId', 'the key, for a script'],
    ['FARA_SECRET=correct-horse fara resolve db', 'a private name']
  ],
  run
}
