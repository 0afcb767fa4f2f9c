import { createTcpmuxGateway } from '@fara/tcpmux'
import { TCPMUX_PORT } from '@fara/tcpmux/constants'
import { ExitCode } from '../constants.ts'
import { flagOf, formatHostPort, intOf, listOf, parseHostPort, positionalsOf, stringOf } from '../internal/args.ts'
import { PRIVATE_OPTIONS, RENDEZVOUS_OPTIONS, exitAfterStop, settingFlagsOf, untilAborted } from '../internal/command.ts'
import { privateOf, rendezvousOf, short } from '../internal/entity.ts'
import { describeFailure } from '../internal/failure.ts'
import { sdk } from '../internal/lazy.ts'
import { fail, listenFailure } from '../internal/tcpmux-connect.ts'
import { counted, parseAllow, parseMap, routeOf, untilAccepted } from '../internal/tcpmux-gateway.ts'
import type { HostPort } from '../internal/args.ts'
import type { Command, Context } from '../internal/command.ts'
import type { RequestResult, Routes } from '../internal/tcpmux-gateway.ts'
import type { ConnectOptions, Entity } from '@fara/sdk'
import type { Duplex } from 'node:stream'

const NAME = 'tcpmux'

/** Application name of the gateway's entity (each association still goes out from a fresh one-time key). */
const GATEWAY_APP = 'fara-tcpmux'

/** Where the front door listens by default: TCPMUX's own port (RFC 1078), on loopback only (the hop to it is clear text). */
const DEFAULT_LISTEN: HostPort = { host: '127.0.0.1', port: TCPMUX_PORT }

/** An unprivileged address to suggest when port 1 is not allowed. */
const UNPRIVILEGED_LISTEN = '127.0.0.1:10001'

/** Default most connections open at once through the front door (pending and carried). */
const DEFAULT_MAX_CONNECTIONS = 64

/** The result of a failed lookup or open, from its exit code. */
function resultOf (err: unknown, signal: AbortSignal): RequestResult {
  if (signal.aborted) return (signal.reason as Error | undefined)?.name === 'TimeoutError' ? 'timeout' : 'abandoned'
  switch (describeFailure(err).exit) {
    case ExitCode.NOT_FOUND: return 'not-found'
    case ExitCode.UNREACHABLE: return 'unreachable'
    case ExitCode.REFUSED: return 'refused'
    default: return 'failed'
  }
}

/** The gateway's `connect`: route the name, open the association, report the request and, later, what it carried. */
function connector (ctx: Context, entity: Entity, routes: Routes, options: ConnectOptions, seen: WeakSet<Error>) {
  let count = 0
  return async (requested: string, { signal }: { signal: AbortSignal }): Promise<Duplex> => {
    const id = ++count
    const { fara, refused } = routeOf(routes, requested)
    const shown = requested === fara ? JSON.stringify(fara) : `${JSON.stringify(requested)} → ${JSON.stringify(fara)}`
    const refuse = (result: RequestResult, why: string, err?: Error): Error => {
      const error = err ?? new Error(why)
      seen.add(error)
      if (!ctx.signal.aborted) {
        ctx.out.status('request', { id, name: requested, fara, result, ...(err == null ? {} : { error: err.name }), message: why }, `#${id} ${shown}: ${result}, answered - (${why})`)
      }
      return error
    }
    if (refused === 'not-allowed') throw refuse(refused, 'not in --allow')
    if (refused === 'invalid-name') throw refuse(refused, 'not a Fara service name')
    let stream: Duplex
    let remotePeer: string
    try {
      const association = await entity.connect(fara, { ...options, signal })
      await untilAccepted(association, signal)
      remotePeer = association.remotePeer.toString()
      stream = association.toDuplex()
    } catch (err) {
      const failure = describeFailure(err, { name: fara })
      throw refuse(resultOf(err, signal), failure.message, err instanceof Error ? err : undefined)
    }
    ctx.out.status('request', { id, name: requested, fara, result: 'open', remotePeer }, `#${id} ${shown}: open, association with ${short(remotePeer)}; answered +`)
    return counted(stream, seen, ({ toService, toClient, error }) => {
      if (error == null) ctx.out.status('closed', { id, toService, toClient }, `#${id} closed: ${toService} bytes to the service, ${toClient} back`)
      else ctx.out.status('closed', { id, toService, toClient, error: error.name, message: error.message }, `#${id} ended: ${error.message} (${toService} bytes to the service, ${toClient} back)`)
    })
  }
}

/** The lines of the `listening` result. */
function listeningLines (ctx: Context, address: string, port: number, routes: Routes): string[] {
  const s = ctx.out.out
  const example = [...(routes.allow ?? [])][0] ?? 'web'
  return [
    `${s.green('listening')} on ${s.bold(address)} (TCPMUX, RFC 1078): each requested name → the Fara service of that name`,
    ...[...routes.map].map(([legacy, fara], i) => `  ${i === 0 ? 'map  ' : '     '}  ${legacy} → ${fara}`),
    ...(routes.allow == null ? [] : [`  allow  ${[...routes.allow].join(', ')} (others get -)`]),
    `  try    printf '${example}\\r\\n' | nc -N ${address.replace(/:\d+$/, '')} ${port}`
  ]
}

async function run (ctx: Context): Promise<ExitCode> {
  const { args } = ctx
  positionalsOf(NAME, args.positionals, [])
  const listenText = stringOf(args, 'listen')
  const local = listenText == null ? DEFAULT_LISTEN : parseHostPort(NAME, '--listen', listenText, true)
  const map = parseMap(NAME, listOf(args, 'map') ?? [])
  const routes: Routes = { map, allow: parseAllow(NAME, listOf(args, 'allow'), map) }
  const max = intOf(NAME, args, 'max-connections', 1, 4096) ?? DEFAULT_MAX_CONNECTIONS
  const settings = await ctx.settings(settingFlagsOf(NAME, args))
  const rendezvous = await rendezvousOf(NAME, settings, ctx)
  const options: ConnectOptions = privateOf(flagOf(args, 'private'), settings.secret.value)
  const { createEntity } = await sdk()
  const entity = await createEntity({ app: GATEWAY_APP, rendezvous, listen: [] })
  const seen = new WeakSet<Error>()
  try {
    const gateway = createTcpmuxGateway({
      host: local.host,
      port: local.port,
      maxConnections: max,
      connect: connector(ctx, entity, routes, options, seen),
      onError: (err) => {
        // requests and carried connections are reported as they end; this is the rest (accept failing: EMFILE)
        const code = (err as { code?: string }).code
        if (seen.has(err) || code === 'ECONNRESET' || code === 'EPIPE' || code === 'ERR_STREAM_PREMATURE_CLOSE') return
        ctx.out.warn('gateway-error', { error: err.name, message: err.message }, err.message)
      }
    })
    try {
      await gateway.listen({ signal: ctx.signal })
    } catch (err) {
      if (ctx.signal.aborted) return exitAfterStop(ctx.signal)
      return fail(ctx, listenFailure(err, local, listenText == null
        ? `TCPMUX's port is 1: pass --listen ${UNPRIVILEGED_LISTEN}, or any free port, and point clients there`
        : undefined))
    }
    const bound = gateway.address!
    const address = formatHostPort(bound)
    ctx.out.result('listening', { address, host: bound.host, port: bound.port, map: Object.fromEntries(routes.map), allow: routes.allow == null ? null : [...routes.allow] },
      listeningLines(ctx, address, bound.port, routes))
    try {
      await untilAborted(ctx.signal)
      ctx.out.status('stopping', { active: gateway.connections }, `stopping${gateway.connections === 0 ? '' : `: closing ${gateway.connections} connection(s)`}`)
    } finally {
      await gateway.close()
    }
  } finally {
    await entity.close()
  }
  return exitAfterStop(ctx.signal)
}

/** `fara tcpmux [--listen <host:port>] [--map <tcpmux name>=<fara name>]… [--allow <fara name>]…`. */
export const tcpmux: Command = {
  name: NAME,
  summary: 'a TCPMUX (RFC 1078) front door: legacy clients ask for a name, it is carried to the Fara service',
  usage: ['tcpmux [--listen <host:port>] [--map <tcpmux name>=<fara name>]… [--allow <fara name>]… [options]'],
  description: [
    'Listens for TCPMUX requests (`name` CRLF, RFC 1078). Each requested name (any case) is mapped through --map,',
    'else taken as is, to a Fara name; a name --allow does not list (when given) is answered `-`. The name is resolved at',
    'the rendezvous point and an encrypted association is opened to the service from a fresh one-time key; `+` is',
    'answered only once the service accepted it, then the bytes flow both ways. Every failure is answered',
    '`-Service not available`; the reason shows in the `request` event. HELP is answered like an unknown name.',
    `Default --listen: 127.0.0.1:${TCPMUX_PORT}, TCPMUX's own port, which needs root or CAP_NET_BIND_SERVICE; without it`,
    `the command stops with exit 2 and no fallback (clients would knock on the wrong port): pass --listen ${UNPRIVILEGED_LISTEN}.`,
    'The hop from the legacy client is clear text, name included: listen on loopback or a network you trust.'
  ],
  options: {
    listen: { type: 'string', short: 'l', value: '<host:port>', help: `where to accept TCPMUX clients (default 127.0.0.1:${TCPMUX_PORT}; port 0: any free port)` },
    map: { type: 'string', multiple: true, value: '<tcpmux>=<fara>', help: 'send requests for a TCPMUX name to another Fara name (default: the same name)' },
    allow: { type: 'string', multiple: true, value: '<fara name>', help: 'serve only these Fara names (after --map); others get - (default: any name)' },
    'max-connections': { type: 'string', value: '<n>', help: `most connections at once, pending and carried (default ${DEFAULT_MAX_CONNECTIONS})` },
    ...PRIVATE_OPTIONS,
    ...RENDEZVOUS_OPTIONS
  },
  examples: [
    ['fara tcpmux --allow web --allow ssh', 'TCPMUX on 127.0.0.1:1 (as root or with CAP_NET_BIND_SERVICE) for the Fara services "web" and "ssh" only'],
    ['fara tcpmux --listen 127.0.0.1:10001 --map www=web', 'an unprivileged port; a client asking for "www" reaches "web"'],
    ['printf \'web\\r\\n\' | nc -N 127.0.0.1 10001', 'a legacy client: "+" CRLF, then the service\'s bytes'],
    ['fara tcpmux --listen 127.0.0.1:10001 --max-connections 256', 'at most 256 connections at once, pending and carried (default 64); more are closed at once'],
    ['fara tcpmux --listen 127.0.0.1:10001 --rendezvous dht --bootstrap /ip4/203.0.113.7/tcp/4001/p2p/12D3KooW…', 'the names looked up in the DHT, joined through that node'],
    ['fara tcpmux --listen 127.0.0.1:0 --json', 'print {"event":"listening","port":…} for a script, then a `request` event per request']
  ],
  run
}
