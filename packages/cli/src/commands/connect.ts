import { CLIENT_APP, DEFAULT_MAX_CONNECTIONS, ExitCode } from '../constants.ts'
import { flagOf, intOf, parseHostPort, stringOf } from '../internal/args.ts'
import { clientIdentityOf } from '../internal/allow.ts'
import { INVITE_PREFIX, invitePrivacy, targetOf, withInvite } from '../internal/invite.ts'
import { KEYSTORE_OPTIONS, PRIVATE_OPTIONS, RENDEZVOUS_OPTIONS, exitAfterStop, settingFlagsOf, untilAborted } from '../internal/command.ts'
import { keystoreOf, rendezvousOf, short } from '../internal/entity.ts'
import { lookupPrivacy } from '../internal/privacy.ts'
import { checkName } from '../internal/checks.ts'
import { sdk } from '../internal/lazy.ts'
import { bridgeStdio } from '../internal/pipe.ts'
import { openTunnel } from '../internal/tunnel.ts'
import { UDP_CONNECT_OPTIONS, udpConnectOf, udpListenMode } from '../internal/udp-forward.ts'
import { connectTcpmux, isTcpmuxUrl } from '../internal/tcpmux-connect.ts'
import type { HostPort } from '../internal/args.ts'
import type { Command, Context } from '../internal/command.ts'
import type { ConnectOptions, Entity } from '@fara/sdk'

const NAME = 'connect'

/** `--listen`: a local TCP port; every connection accepted there is tunnelled in its own association. */
async function listenMode (ctx: Context, entity: Entity, name: string, local: HostPort, options: ConnectOptions, max: number): Promise<ExitCode> {
  const tunnel = await openTunnel(ctx, entity, name, local, options, { command: NAME, max })
  const { address, host, port } = tunnel
  ctx.out.result('listening', { address, host, port, name }, `${ctx.out.out.green('listening')} on ${ctx.out.out.bold(address)} → ${JSON.stringify(name)}`)
  void checkName(ctx, entity, name, options)
  try {
    await untilAborted(ctx.signal)
    ctx.out.status('stopping', { active: tunnel.active }, `stopping${tunnel.active === 0 ? '' : `: closing ${tunnel.active} connection(s)`}`)
  } finally {
    tunnel.close()
  }
  return exitAfterStop(ctx.signal)
}

/** Without `--listen`: one association over stdin/stdout (`ssh -o ProxyCommand='fara connect %h'`). */
async function stdioMode (ctx: Context, entity: Entity, name: string, options: ConnectOptions): Promise<ExitCode> {
  ctx.out.stdoutIsData()
  const association = await entity.connect(name, { ...options, signal: ctx.signal })
  ctx.out.status('connected', { name, remotePeer: association.remotePeer.toString() }, `connected to ${JSON.stringify(name)} (${short(association.remotePeer)})`)
  const duplex = association.toDuplex()
  const stop = (): void => { duplex.destroy() }
  ctx.signal.addEventListener('abort', stop, { once: true })
  try {
    const { sent, received } = await bridgeStdio(ctx.io.stdin, ctx.io.stdout, duplex)
    ctx.out.status('closed', { toService: sent, toClient: received }, `closed: ${sent} bytes to the service, ${received} back`)
  } catch (err) {
    if (ctx.signal.aborted) return exitAfterStop(ctx.signal)
    throw err
  } finally {
    ctx.signal.removeEventListener('abort', stop)
  }
  return ExitCode.OK
}

async function run (ctx: Context): Promise<ExitCode> {
  const { args } = ctx
  // a legacy TCPMUX server (RFC 1078): no rendezvous, no key
  if (isTcpmuxUrl(args.positionals[0])) return await connectTcpmux(ctx, NAME)
  const { name, invite } = targetOf(NAME, args)
  const listenText = stringOf(args, 'listen')
  const local = listenText == null ? undefined : parseHostPort(NAME, '--listen', listenText, true)
  const udp = udpConnectOf(NAME, args)
  const max = intOf(NAME, args, 'max-connections', 1, 4096) ?? DEFAULT_MAX_CONNECTIONS
  const { stable, app } = clientIdentityOf(NAME, args)
  const settings = await ctx.settings(withInvite(settingFlagsOf(NAME, args), invite))
  const rendezvous = await rendezvousOf(NAME, settings, ctx)
  const { createEntity } = await sdk()
  const privately = invite == null ? lookupPrivacy(name, flagOf(args, 'private'), settings) : invitePrivacy(invite)
  const options: ConnectOptions = { ...privately, ...(stable ? { stableIdentity: true } : {}) }
  // a fresh key per association unless --identity (--stable-identity), which needs the keystore
  const entity = await createEntity({ app, rendezvous, listen: [], ...(stable ? { keystore: await keystoreOf(settings) } : {}) })
  try {
    if (udp != null) return await udpListenMode(ctx, entity, name, udp, options)
    return local == null ? await stdioMode(ctx, entity, name, options) : await listenMode(ctx, entity, name, local, options, max)
  } finally {
    await entity.close()
  }
}

/** `fara connect <name> [--listen <host:port>]`. */
export const connect: Command = {
  name: NAME,
  summary: 'reach a named service: a local port that tunnels to it, or stdin/stdout (ssh ProxyCommand)',
  usage: ['connect <name> --listen <host:port> [options]', 'connect <name> --listen-udp <host:port> [--udp-idle <s>] [--max-flows <n>] [options]', 'connect <name> [options]    (stdin/stdout)', 'connect --invite <fara1:…> [--listen <host:port>] [options]', 'connect tcpmux://<host>[:<port>]/<service> [--listen <host:port>]    (a legacy TCPMUX server, RFC 1078; port 1 by default)'],
  description: [
    'Resolves <name> at the rendezvous point, checks that the service proves the registered key (Noise), and',
    'opens an association from a fresh, one-time key. With --listen, every TCP connection accepted on that local',
    'address gets its own association (port 0: the OS picks one, printed as `listening`). Without --listen, one',
    'association is carried over stdin/stdout and status lines go to stderr: use it as an ssh ProxyCommand.',
    'With --identity <app> the key is that application\'s stable one, for services that admit only listed keys',
    '(exit 5 if refused). An --invite sets the rendezvous point, the name and the secret in one argument.'
  ],
  options: {
    listen: { type: 'string', short: 'l', value: '<host:port>', help: 'local address to accept TCP connections on (port 0: any free port)' },
    ...UDP_CONNECT_OPTIONS,
    ...PRIVATE_OPTIONS,
    'max-connections': { type: 'string', value: '<n>', help: `most tunnelled connections at once (default ${DEFAULT_MAX_CONNECTIONS})` },
    identity: { type: 'string', value: '<app>', help: 'connect with this application\'s stable key from the keystore instead of a fresh one (for a service\'s --allow; `fara id show <app>` prints it)' },
    invite: { type: 'string', value: '<fara1:…>', help: 'an invite from `fara serve` or `fara rendezvous`: sets the rendezvous point, and the name and secret it carries (shows in the process list, as --secret does)' },
    'stable-identity': { type: 'boolean', help: `the older form of --identity: the key of --app (default ${CLIENT_APP})` },
    app: { type: 'string', value: '<app>', help: `application whose key --stable-identity uses (default ${CLIENT_APP})` },
    ...RENDEZVOUS_OPTIONS,
    ...KEYSTORE_OPTIONS
  },
  examples: [
    ['fara connect web --listen 127.0.0.1:8080 && curl http://127.0.0.1:8080/', 'a local port for the service named "web"'],
    ['ssh -o ProxyCommand=\'fara connect %h\' user@ssh', 'ssh to the service named "ssh" (the host name is the service name)'],
    ['fara connect web --listen 127.0.0.1:8080 --rendezvous dns://192.0.2.53/fara.example.com', 'find "web" in a DNS zone (its signed TXT record; no key needed to read)'],
    ['fara connect web --listen 127.0.0.1:8080 --rendezvous dht --bootstrap /ip4/203.0.113.7/tcp/4001/p2p/12D3KooW…', 'find "web" in the DHT'],
    ['fara connect web --listen 127.0.0.1:0 --json', 'print {"event":"listening","address":"127.0.0.1:…"} for a script'],
    ['fara connect db --identity laptop --listen 127.0.0.1:5432', 'as the key of "laptop", for a service that admits only listed keys (fara serve … --allow <key>)'],
    [`fara connect --invite ${INVITE_PREFIX}AQEB… --listen 127.0.0.1:0`, 'the service, rendezvous point and secret an invite names (fara serve prints it)'],
    ['fara connect dns --listen-udp 127.0.0.1:5353 && dig @127.0.0.1 -p 5353 example.org', 'a local UDP port for the DNS server served as "dns" (fara serve dns --forward-udp …)'],
    ['fara connect tcpmux://192.0.2.5/echo --listen 127.0.0.1:7007', 'the service "echo" of a legacy TCPMUX server (xinetd, inetd); a `-` answer is exit 5']
  ],
  run
}
