import { CLIENT_APP, ExitCode } from '../constants.ts'
import { checkServiceName, flagOf, positionalsOf } from '../internal/args.ts'
import { PRIVATE_OPTIONS, RENDEZVOUS_OPTIONS, settingFlagsOf } from '../internal/command.ts'
import { privateOf, rendezvousOf } from '../internal/entity.ts'
import { sdk } from '../internal/lazy.ts'
import type { Command, Context } from '../internal/command.ts'

const NAME = 'resolve'

async function run (ctx: Context): Promise<ExitCode> {
  const [name] = positionalsOf(NAME, ctx.args.positionals, ['name']) as [string]
  checkServiceName(NAME, name)
  const settings = await ctx.settings(settingFlagsOf(NAME, ctx.args))
  const rendezvous = await rendezvousOf(NAME, settings)
  const { createEntity, aidToHex } = await sdk()
  const entity = await createEntity({ app: CLIENT_APP, rendezvous, listen: [] })
  try {
    const record = await entity.resolve(name, { ...privateOf(flagOf(ctx.args, 'private'), settings.secret.value), signal: ctx.signal })
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
  usage: ['resolve <name> [--private] [--secret <secret>] [options]'],
  description: [
    'Asks the rendezvous point for <name> and verifies the record\'s signature (and the device certificate, if any).',
    'Exit code 3 if no live record exists (under this secret, for a private name).'
  ],
  options: { ...PRIVATE_OPTIONS, ...RENDEZVOUS_OPTIONS },
  examples: [
    ['fara resolve web', 'who serves "web", and where'],
    ['fara resolve web --json | jq -r .peerId', 'the key, for a script'],
    ['FARA_SECRET=correct-horse fara resolve db', 'a private name']
  ],
  run
}
