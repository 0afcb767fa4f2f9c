import { once } from 'node:events'
import { createConnection } from 'node:net'
import { isSelfCertifyingName } from '@fara/identity'
import { FORWARD_CONNECT_TIMEOUT_MS, RETRY_INITIAL_MS, RETRY_MAX_MS } from '../constants.ts'
import type { ExitCode } from '../constants.ts'
import { ForwardFailedError, UsageError } from '../errors.ts'
import { checkAppName, checkServiceName, flagOf, formatHostPort, listOf, parseHostPort, positionalsOf, stringOf } from '../internal/args.ts'
import { KEYSTORE_OPTIONS, PRIVATE_OPTIONS, RENDEZVOUS_OPTIONS, exitAfterStop, pause, settingFlagsOf, untilAborted } from '../internal/command.ts'
import { keystoreOf, portOf, privateOf, rendezvousOf, short } from '../internal/entity.ts'
import { describeFailure, isTransient } from '../internal/failure.ts'
import { bridge } from '../internal/pipe.ts'
import { sdk, transport } from '../internal/lazy.ts'
import { reportingRendezvous } from '../internal/reporting.ts'
import type { HostPort } from '../internal/args.ts'
import type { Command, Context } from '../internal/command.ts'
import type { Association, Entity, GuessBlock, Service } from '@fara/sdk'
import type { RelayReservations, RelayStatus } from '@fara/transport'

const NAME = 'serve'

/** Check an address list with a transport checker, turning its RangeError into a usage error. */
function checked (what: string, check: () => unknown): void {
  try {
    check()
  } catch (err) {
    throw new UsageError(`${what}: ${(err as Error).message}`, NAME)
  }
}

/** Connect to the forward target, within {@link FORWARD_CONNECT_TIMEOUT_MS}. */
async function dialTarget (target: HostPort): Promise<ReturnType<typeof createConnection>> {
  const socket = createConnection({ host: target.host, port: target.port, allowHalfOpen: true })
  try {
    await once(socket, 'connect', { signal: AbortSignal.timeout(FORWARD_CONNECT_TIMEOUT_MS) })
  } catch (err) {
    socket.destroy()
    const why = (err as Error).name === 'AbortError' ? `no answer within ${FORWARD_CONNECT_TIMEOUT_MS} ms` : (err as Error).message
    throw new ForwardFailedError(`${formatHostPort(target)} did not accept the connection: ${why}`)
  }
  return socket
}

/** Each association: a TCP connection to the target, piped both ways. */
function forwarder (ctx: Context, target: HostPort): (association: Association) => Promise<void> {
  let count = 0
  return async (association) => {
    const id = ++count
    const remotePeer = association.remotePeer.toString()
    ctx.out.status('association', { id, remotePeer }, `#${id} association from ${short(remotePeer)} → ${formatHostPort(target)}`)
    let socket
    try {
      socket = await dialTarget(target)
    } catch (err) {
      ctx.out.warn('forward-failed', { id, message: (err as Error).message }, `#${id} ${(err as Error).message}`)
      // the client learns that the service is down, not where it lives
      association.abort(new ForwardFailedError('the service behind this name did not accept the connection'))
      return
    }
    try {
      const { sent, received } = await bridge(association.toDuplex(), socket)
      ctx.out.status('closed', { id, toService: sent, toClient: received }, `#${id} closed: ${sent} bytes to the service, ${received} back`)
    } catch (err) {
      ctx.out.status('closed', { id, error: (err as Error).name, message: (err as Error).message }, `#${id} ended: ${(err as Error).message}`)
    }
  }
}

/** Status lines for the entity's relay slots. */
function watchRelays (ctx: Context, entity: Entity): void {
  const relays = (entity.node.services as { relays?: RelayReservations }).relays
  const line = (type: string, text: (s: RelayStatus) => string) => (evt: CustomEvent<RelayStatus>): void => {
    const s = evt.detail
    ctx.out.status('relay', { type, relay: s.id, addrs: s.addrs.map(String), error: s.error?.message ?? null }, text(s))
  }
  relays?.addEventListener('relay:reserved', line('reserved', s => `relay slot held on ${short(s.id)}`))
  relays?.addEventListener('relay:lost', line('lost', s => `relay slot on ${short(s.id)} lost; reserving again`))
  relays?.addEventListener('relay:failed', line('failed', s => `relay ${short(s.id)} refused or unreachable (${s.error?.message ?? 'unknown'}); retrying`))
}

/** What a guessing block did, for the human line. */
function heldBack (b: GuessBlock): string {
  if (b.scope === 'connection') return `closed a connection from ${short(b.peer)} at ${b.source}`
  if (b.scope === 'peer') return `blocked key ${short(b.peer)} at ${b.source} for ${b.blockMs / 1000} s`
  return `throttled ${b.source} for ${b.blockMs / 1000} s (its connections close at their first refused open; the others are served)`
}

/** A line for every guesser the entity holds back (spec/security.md#guessing); the entity reports each at most once per scope and source every 10 s. */
function watchGuessing (ctx: Context, entity: Entity): void {
  entity.addEventListener('guessing:blocked', (evt) => {
    const b = evt.detail
    ctx.out.warn('guessing', { scope: b.scope, peer: b.peer, source: b.source, remoteAddr: b.remoteAddr, blockMs: b.blockMs, reason: b.reason, blocks: b.blocks },
      `AId guessing: ${heldBack(b)} after too many refused opens or resumptions (last: ${b.reason}; ${b.blocks} since the last report)`)
  })
}

/** `serve()` until it succeeds, retrying while the rendezvous point is unreachable; undefined if stopped first. */
async function register (ctx: Context, entity: Entity, name: string, handler: (a: Association) => Promise<void>, options: ReturnType<typeof privateOf>): Promise<Service | undefined> {
  let delay = RETRY_INITIAL_MS
  while (true) {
    try {
      return await entity.serve(name, handler, { ...options, signal: ctx.signal })
    } catch (err) {
      if (ctx.signal.aborted) return undefined
      if (!isTransient(err)) throw err
      const { message } = describeFailure(err)
      ctx.out.warn('retrying', { error: (err as Error).name, message, delayMs: delay }, `registration failed (${message}); retrying in ${delay / 1000} s`)
      await pause(delay, ctx.signal)
      if (ctx.signal.aborted) return undefined
      delay = Math.min(delay * 2, RETRY_MAX_MS)
    }
  }
}

async function run (ctx: Context): Promise<ExitCode> {
  const { args } = ctx
  const [name] = positionalsOf(NAME, args.positionals, ['name']) as [string]
  checkServiceName(NAME, name)
  const forwardText = stringOf(args, 'forward')
  if (forwardText == null) throw new UsageError('--forward <host:port> is required: the local TCP service to expose', NAME)
  const target = parseHostPort(NAME, '--forward', forwardText, false)
  const app = checkAppName(NAME, '--app', stringOf(args, 'app') ?? (isSelfCertifyingName(name) ? name.split('.')[0]! : name))
  const listenFlag = listOf(args, 'listen')
  const [{ createEntity, aidToHex }, { checkListenAddrs, checkRelayAddrs }] = await Promise.all([sdk(), transport()])
  const settings = await ctx.settings({ ...settingFlagsOf(NAME, args), listen: listenFlag })
  const listen = settings.listen.value.length === 1 && settings.listen.value[0] === 'none' ? [] : settings.listen.value
  checked(`listen (from ${settings.listen.source})`, () => { checkListenAddrs(listen) })
  checked(`relays (from ${settings.relays.source})`, () => checkRelayAddrs(settings.relays.value))
  if (listen.length === 0 && settings.relays.value.length === 0) throw new UsageError('--listen none needs --relay: the service would be unreachable', NAME)
  const secret = settings.secret.value
  const privately = privateOf(flagOf(args, 'private'), secret)
  const keystore = await keystoreOf(settings)

  let serving = false
  let failing = false
  const rendezvous = reportingRendezvous(await rendezvousOf(NAME, settings), {
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
  const entity = await createEntity({ app, rendezvous, keystore, listen, relays: settings.relays.value })
  try {
    watchRelays(ctx, entity)
    watchGuessing(ctx, entity)
    const service = await register(ctx, entity, name, forwarder(ctx, target), privately)
    if (service == null) return exitAfterStop(ctx.signal)
    serving = true
    const addrs = service.record?.addrs.map(String) ?? entity.multiaddrs.map(String)
    ctx.out.result('registered', {
      name,
      app,
      peerId: entity.peerId.toString(),
      aid: aidToHex(service.aid),
      private: privately.private != null,
      forward: formatHostPort(target),
      port: portOf(entity.multiaddrs),
      addrs,
      expires: service.record?.expires ?? null
    }, [
      `${ctx.out.out.green('serving')} ${ctx.out.out.bold(JSON.stringify(name))}${privately.private == null ? '' : ' (private)'} → ${formatHostPort(target)}`,
      `  key      ${entity.peerId.toString()}`,
      `  listens  ${addrs.join(' ') || '(only through relays)'}`,
      `  connect  fara connect ${name}${privately.private == null ? '' : secret == null ? ' --private' : ' --secret …'} --listen 127.0.0.1:0`
    ])
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
  usage: ['serve <name> --forward <host:port> [--private] [--relay <multiaddr>]… [options]'],
  description: [
    'Registers <name> at the rendezvous point, signed by the application\'s own key (kept in the keystore, so a',
    'restarted `fara serve` is the same service), and forwards every association opened to it to a new TCP',
    'connection to --forward. The registration is renewed, re-made after an address change or a lost relay',
    'slot, and retried while the rendezvous point is unreachable; runs until SIGINT/SIGTERM, then withdraws the name.'
  ],
  options: {
    forward: { type: 'string', short: 'f', value: '<host:port>', help: 'the local TCP service to expose (required)' },
    app: { type: 'string', value: '<app>', help: 'application (key) that serves the name (default: the name)' },
    ...PRIVATE_OPTIONS,
    relay: { type: 'string', multiple: true, value: '<multiaddr>', help: 'hold a slot on this relay, to be reachable behind NAT (env FARA_RELAYS)' },
    listen: { type: 'string', multiple: true, value: '<multiaddr>', help: 'where the entity listens (env FARA_LISTEN; default /ip4/0.0.0.0/tcp/0); `none` with --relay' },
    ...RENDEZVOUS_OPTIONS,
    ...KEYSTORE_OPTIONS
  },
  examples: [
    ['fara serve web --forward 127.0.0.1:8000', 'expose a local web server as "web"'],
    ['fara serve ssh --forward 127.0.0.1:22 --private --relay /ip4/203.0.113.7/tcp/4001/p2p/12D3KooW…', 'an sshd behind NAT, under a private name, through the rendezvous point\'s relay'],
    ['FARA_SECRET=correct-horse fara serve db --forward 5432', 'a private name only holders of the secret can find']
  ],
  run
}
