import { isSelfCertifyingName } from '@fara/identity'
import { MAX_HOP_INTERVAL_MS, MIN_HOP_INTERVAL_MS } from '../constants.ts'
import type { ExitCode } from '../constants.ts'
import { UsageError } from '../errors.ts'
import { DURATION, checkAppName, checkServiceName, durationOf, flagOf, formatHostPort, listOf, parseHostPort, positionalsOf, stringOf } from '../internal/args.ts'
import { KEYSTORE_OPTIONS, PRIVATE_OPTIONS, RENDEZVOUS_OPTIONS, exitAfterStop, settingFlagsOf, untilAborted } from '../internal/command.ts'
import { keystoreOf, portOf, rendezvousOf } from '../internal/entity.ts'
import { lookupPrivacy } from '../internal/privacy.ts'
import { forwarder, register, watchGuessing, watchRelays } from '../internal/serving.ts'
import { admitting, allowListOf } from '../internal/allow.ts'
import { inviteQr, serviceInvite } from '../internal/invite.ts'
import { SRV_SERVE_OPTIONS, announceBackend } from '../internal/backends.ts'
import { describeFailure } from '../internal/failure.ts'
import { checkForward } from '../internal/checks.ts'
import { sdk, transport } from '../internal/lazy.ts'
import { reportingRendezvous } from '../internal/reporting.ts'
import { UDP_SERVE_OPTIONS, udpForwarder, udpServeOf } from '../internal/udp-forward.ts'
import type { Command, Context } from '../internal/command.ts'
import type { Entity } from '@fara/sdk'

const NAME = 'serve'

/** Check an address list with a transport checker, turning its RangeError into a usage error. */
function checked (what: string, check: () => unknown): void {
  try {
    check()
  } catch (err) {
    throw new UsageError(`${what}: ${(err as Error).message}`, NAME)
  }
}

/** `--hop`: the hop parameters, after checking that the listen addresses name a host (the schedule is per host). */
function hopOf (listen: string[], intervalMs: number): { intervalMs: number } {
  if (intervalMs < MIN_HOP_INTERVAL_MS || intervalMs > MAX_HOP_INTERVAL_MS) {
    throw new UsageError(`--hop interval must be ${MIN_HOP_INTERVAL_MS / 1000} s to ${MAX_HOP_INTERVAL_MS / 3_600_000} h, got ${intervalMs} ms`, NAME)
  }
  const unspecific = listen.length === 0 || listen.some(a => /^\/ip[46]\/(0\.0\.0\.0|::)\//.test(a))
  if (unspecific) {
    throw new UsageError('--hop needs --listen with the address clients reach, e.g. --listen /ip4/192.0.2.7/tcp/0: the hopping ports are published per host', NAME)
  }
  return { intervalMs }
}

/** A line for each move of the hopping listener (the ports open now). */
function watchHops (ctx: Context, entity: Entity): void {
  entity.addEventListener('hop', (evt) => {
    const h = evt.detail
    ctx.out.status('hop', { slot: h.slot, ports: h.ports, opened: h.opened, closed: h.closed, failed: h.failed.map(f => ({ port: f.port, error: f.error.message })) },
      `hopped: listening on port${h.ports.length === 1 ? '' : 's'} ${h.ports.join(', ')}${h.failed.length === 0 ? '' : ` (${h.failed.length} could not be opened)`}`)
  })
}

async function run (ctx: Context): Promise<ExitCode> {
  const { args } = ctx
  const [name] = positionalsOf(NAME, args.positionals, ['name']) as [string]
  checkServiceName(NAME, name)
  const udp = udpServeOf(NAME, args)
  const forwardText = stringOf(args, 'forward')
  if (forwardText == null && udp == null) throw new UsageError('--forward <host:port> is required: the local TCP service to expose', NAME)
  const target = udp?.target ?? parseHostPort(NAME, '--forward', forwardText!, false)
  const app = checkAppName(NAME, '--app', stringOf(args, 'app') ?? (isSelfCertifyingName(name) ? name.split('.')[0]! : name))
  const listenFlag = listOf(args, 'listen')
  const [{ createEntity, aidToHex }, { checkListenAddrs, checkRelayAddrs }] = await Promise.all([sdk(), transport()])
  const settings = await ctx.settings({ ...settingFlagsOf(NAME, args), listen: listenFlag, allow: listOf(args, 'allow') })
  const allowed = allowListOf(NAME, settings)
  const listen = settings.listen.value.length === 1 && settings.listen.value[0] === 'none' ? [] : settings.listen.value
  checked(`listen (from ${settings.listen.source})`, () => { checkListenAddrs(listen) })
  checked(`relays (from ${settings.relays.source})`, () => checkRelayAddrs(settings.relays.value))
  if (listen.length === 0 && settings.relays.value.length === 0) throw new UsageError('--listen none needs --relay: the service would be unreachable', NAME)
  const secret = settings.secret.value
  const hopText = stringOf(args, 'hop')
  const hop = hopText == null ? undefined : hopOf(listen, durationOf(NAME, '--hop', hopText))
  // a hopping entity's record carries its hop key, so it serves its names privately only;
  // a name the config file lists as private is served privately without the flags
  const privately = lookupPrivacy(name, flagOf(args, 'private') || hop != null, settings)
  const keystore = await keystoreOf(settings)

  let serving = false
  let failing = false
  const rendezvous = await reportingRendezvous(await rendezvousOf(NAME, settings, ctx), {
    registered: () => {
      if (!serving) return
      if (failing) ctx.out.status('registered', { name, renewal: true }, `registered ${JSON.stringify(name)} again`)
      else if (ctx.out.json) ctx.out.status('renewed', { name }, '')
      failing = false
    },
    failed: (err) => {
      if (!serving || failing) return
      failing = true
      ctx.out.warn('registration-failed', { name, error: err.name, message: err.message }, `registration failed (${describeFailure(err).message}); retrying in the background`)
    }
  })
  ctx.out.status('starting', { app, target: formatHostPort(target) }, `starting ${app}: ${JSON.stringify(name)} → ${formatHostPort(target)}`)
  const entity = await createEntity({ app, rendezvous, keystore, listen, relays: settings.relays.value, ...(hop == null ? {} : { hop }) })
  try {
    if (hop != null) watchHops(ctx, entity)
    if (udp == null) void checkForward(ctx, target)
    watchRelays(ctx, entity)
    watchGuessing(ctx, entity)
    const service = await register(ctx, entity, name, udp == null ? forwarder(ctx, target) : udpForwarder(ctx, udp), { ...privately, ...admitting(ctx, name, allowed) })
    if (service == null) return exitAfterStop(ctx.signal)
    serving = true
    const addrs = service.record?.addrs.map(String) ?? entity.multiaddrs.map(String)
    const invite = serviceInvite(settings.rendezvous.value, name, privately)
    ctx.out.result('registered', {
      name,
      app,
      peerId: entity.peerId.toString(),
      aid: aidToHex(service.aid),
      private: privately.private != null,
      forward: formatHostPort(target),
      protocol: udp == null ? 'tcp' : 'udp',
      port: portOf(entity.multiaddrs),
      addrs,
      expires: service.record?.expires ?? null,
      allowed: allowed == null ? null : [...allowed],
      invite: invite ?? null
    }, [
      `${ctx.out.out.green('serving')} ${ctx.out.out.bold(JSON.stringify(name))}${privately.private == null ? '' : ' (private)'} → ${udp == null ? '' : 'udp '}${formatHostPort(target)}`,
      `  key      ${entity.peerId.toString()}`,
      `  listens  ${addrs.join(' ') || '(only through relays)'}`,
      `  connect  fara connect ${name}${privately.private == null ? '' : secret == null ? ' --private' : ' --secret …'} --listen${udp == null ? '' : '-udp'} 127.0.0.1:0`,
      ...(invite == null ? [] : [`  invite   ${invite}  ${ctx.out.out.dim(`(fara connect --invite …${privately.private != null && secret != null ? '; it holds the secret' : ''})`)}`]),
      ...(allowed == null ? [] : [`  admits   only ${allowed.size} client key${allowed.size === 1 ? '' : 's'} (--allow); others are refused`]),
      // the invite as a QR code, for a phone's camera, on a terminal only
      ...(invite != null && ctx.out.stdoutIsTerminal ? inviteQr(invite) : [])
    ])
    if (privately.private == null) await announceBackend(ctx.out, NAME, settings, ctx, name)
    await untilAborted(ctx.signal)
    ctx.out.status('stopping', { name }, `stopping: withdrawing ${JSON.stringify(name)}`)
  } finally {
    await entity.close()
  }
  return exitAfterStop(ctx.signal)
}

/** `fara serve <name> --forward <host:port>`. */
export const serve: Command = {
  name: NAME,
  summary: 'expose a local TCP service under a name (no well-known port, encrypted, behind NAT with --relay)',
  usage: ['serve <name> --forward <host:port> [--private] [--relay <multiaddr>]… [options]', 'serve <name> --forward-udp <host:port> [--udp-idle <s>] [options]', 'serve <name> --forward <host:port> --srv <zone> --dns-server <ip[:port]> --tsig-key <file> [options]'],
  description: [
    'Registers <name> at the rendezvous point, signed by the application\'s own key (kept in the keystore, so a',
    'restarted `fara serve` is the same service), and forwards every association opened to it to a new TCP',
    'connection to --forward. The registration is renewed, re-made after an address change or a lost relay',
    'slot, and retried while the rendezvous point is unreachable; runs until SIGINT/SIGTERM, then withdraws the name.',
    'The rendezvous may also be a DNS zone (--srv, or --rendezvous dns://…: SRV and signed TXT records by RFC 2136',
    'updates with TSIG, deleted on stop) or the DHT (--rendezvous dht --bootstrap <multiaddr>).',
    'With --allow, only clients that prove one of the listed keys are served (each refusal is a `refused` warning).',
    'It prints an invite (fara1:…) holding the rendezvous point, the name and any secret: fara connect --invite <it>.'
  ],
  options: {
    forward: { type: 'string', short: 'f', value: '<host:port>', help: 'the local TCP service to expose (required, unless --forward-udp)' },
    ...UDP_SERVE_OPTIONS,
    app: { type: 'string', value: '<app>', help: 'application (key) that serves the name (default: the name)' },
    ...PRIVATE_OPTIONS,
    allow: { type: 'string', multiple: true, value: '<client key>', help: 'admit only clients with this key (a peer id, as `fara id show <app>` prints it; comma separated too; config "allow"); others are refused' },
    hop: { type: 'string', value: '[interval]', optional: { value: '30s', pattern: DURATION }, help: 'hop the listening port on a keyed schedule every interval (default 30s; needs --listen with a host, makes the name private: connect with --private)' },
    relay: { type: 'string', multiple: true, value: '<multiaddr>', help: 'hold a slot on this relay, to be reachable behind NAT (env FARA_RELAYS)' },
    listen: { type: 'string', multiple: true, value: '<multiaddr>', help: 'where the entity listens (env FARA_LISTEN; default /ip4/0.0.0.0/tcp/0); `none` with --relay' },
    ...RENDEZVOUS_OPTIONS,
    ...SRV_SERVE_OPTIONS,
    ...KEYSTORE_OPTIONS
  },
  examples: [
    ['fara serve web --forward 127.0.0.1:8000', 'expose a local web server as "web"'],
    ['fara serve web --forward 127.0.0.1:8000 --srv fara.example.com --dns-server 192.0.2.53 --tsig-key fara.key', 'publish "web" in a DNS zone (SRV + signed TXT, RFC 2136/TSIG); the same as --rendezvous dns://192.0.2.53/fara.example.com?tsig=fara.key'],
    ['fara serve web --forward 127.0.0.1:8000 --rendezvous dht --bootstrap /ip4/203.0.113.7/tcp/4001/p2p/12D3KooW…', 'register "web" in the DHT (`fara rendezvous --dht` prints the --bootstrap address)'],
    ['fara serve dns --forward-udp 127.0.0.1:53 --udp-idle 30', 'a DNS server (UDP) as "dns": each client flow gets its own UDP socket, closed after 30 s of silence'],
    ['fara serve ssh --forward 127.0.0.1:22 --private --relay /ip4/203.0.113.7/tcp/4001/p2p/12D3KooW…', 'an sshd behind NAT, under a private name, through the rendezvous point\'s relay'],
    ['FARA_SECRET=correct-horse fara serve db --forward 5432', 'a private name only holders of the secret can find'],
    ['fara serve db --forward 5432 --private --secret correct-horse', 'also prints an invite (fara1:…: rendezvous point, name, secret) for `fara connect --invite`'],
    ['fara serve db --forward 5432 --allow 12D3KooWAbc…,12D3KooWXyz…', 'only these two client keys (`fara id show <app>` on each client; they connect with --identity <app>)'],
    ['fara serve web --forward 127.0.0.1:8000 --hop 30s --listen /ip4/192.0.2.7/tcp/0', 'a port that moves every 30 s (clients: fara connect web --private …)']
  ],
  run
}
