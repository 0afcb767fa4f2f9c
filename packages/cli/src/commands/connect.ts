import { createServer } from 'node:net'
import { once } from 'node:events'
import { CLIENT_APP, DEFAULT_MAX_CONNECTIONS, ExitCode } from '../constants.ts'
import { checkAppName, checkServiceName, flagOf, formatHostPort, intOf, parseHostPort, positionalsOf, stringOf } from '../internal/args.ts'
import { KEYSTORE_OPTIONS, PRIVATE_OPTIONS, RENDEZVOUS_OPTIONS, exitAfterStop, settingFlagsOf, untilAborted } from '../internal/command.ts'
import { keystoreOf, privateOf, rendezvousOf, short } from '../internal/entity.ts'
import { describeFailure } from '../internal/failure.ts'
import { sdk } from '../internal/lazy.ts'
import { bridge, bridgeStdio } from '../internal/pipe.ts'
import type { HostPort } from '../internal/args.ts'
import type { Command, Context } from '../internal/command.ts'
import type { ConnectOptions, Entity } from '@fara/sdk'
import type { AddressInfo, Socket } from 'node:net'

const NAME = 'connect'

/** `--listen`: a local TCP port; every connection accepted there is tunnelled in its own association. */
async function listenMode (ctx: Context, entity: Entity, name: string, local: HostPort, options: ConnectOptions, max: number): Promise<ExitCode> {
  let count = 0
  const sockets = new Set<Socket>()
  const server = createServer({ allowHalfOpen: true, pauseOnConnect: true }, (socket) => {
    const id = ++count
    sockets.add(socket)
    socket.on('error', () => {}) // reported through the bridge
    socket.once('close', () => { sockets.delete(socket) })
    const from = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`
    ctx.out.status('connection', { id, from }, `#${id} ${from} → ${JSON.stringify(name)}`)
    entity.connect(name, { ...options, signal: ctx.signal }).then(async (association) => {
      const { sent, received } = await bridge(socket, association.toDuplex())
      ctx.out.status('closed', { id, toService: sent, toClient: received }, `#${id} closed: ${sent} bytes to the service, ${received} back`)
    }).catch((err: unknown) => {
      socket.destroy()
      if (ctx.signal.aborted) return
      const failure = describeFailure(err, { name })
      ctx.out.warn('connection-failed', { id, error: failure.name, message: failure.message }, `#${id} ${failure.message}`)
    })
  })
  server.maxConnections = max
  server.listen({ host: local.host, port: local.port })
  await once(server, 'listening') // rejects with the 'error' (EADDRINUSE, EACCES) instead
  // later errors (accept failing: EMFILE) cost one connection, not the tunnel
  server.on('error', (err) => { ctx.out.warn('accept-failed', { message: err.message }, `accepting a connection failed: ${err.message}`) })
  const bound = server.address() as AddressInfo
  const address = formatHostPort({ host: bound.address, port: bound.port })
  ctx.out.result('listening', { address, host: bound.address, port: bound.port, name }, `${ctx.out.out.green('listening')} on ${ctx.out.out.bold(address)} → ${JSON.stringify(name)}`)
  try {
    await untilAborted(ctx.signal)
    ctx.out.status('stopping', { active: sockets.size }, `stopping${sockets.size === 0 ? '' : `: closing ${sockets.size} connection(s)`}`)
  } finally {
    server.close()
    for (const s of sockets) s.destroy()
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
  const [name] = positionalsOf(NAME, args.positionals, ['name']) as [string]
  checkServiceName(NAME, name)
  const listenText = stringOf(args, 'listen')
  const local = listenText == null ? undefined : parseHostPort(NAME, '--listen', listenText, true)
  const max = intOf(NAME, args, 'max-connections', 1, 4096) ?? DEFAULT_MAX_CONNECTIONS
  const stable = flagOf(args, 'stable-identity')
  const app = checkAppName(NAME, '--app', stringOf(args, 'app') ?? CLIENT_APP)
  const settings = await ctx.settings(settingFlagsOf(NAME, args))
  const rendezvous = await rendezvousOf(NAME, settings)
  const { createEntity } = await sdk()
  const options: ConnectOptions = { ...privateOf(flagOf(args, 'private'), settings.secret.value), ...(stable ? { stableIdentity: true } : {}) }
  // a fresh key per association unless --stable-identity, which needs the keystore
  const entity = await createEntity({ app, rendezvous, listen: [], ...(stable ? { keystore: await keystoreOf(settings) } : {}) })
  try {
    return local == null ? await stdioMode(ctx, entity, name, options) : await listenMode(ctx, entity, name, local, options, max)
  } finally {
    await entity.close()
  }
}

/** `fara connect <name> [--listen <host:port>]`. */
export const connect: Command = {
  name: NAME,
  summary: 'reach a named service: a local port that tunnels to it, or stdin/stdout (ssh ProxyCommand)',
  usage: ['connect <name> --listen <host:port> [options]', 'connect <name> [options]    (stdin/stdout)'],
  description: [
    'Resolves <name> at the rendezvous point, checks that the service proves the registered key (Noise), and',
    'opens an association from a fresh, one-time key. With --listen, every TCP connection accepted on that local',
    'address gets its own association (port 0: the OS picks one, printed as `listening`). Without --listen, one',
    'association is carried over stdin/stdout and status lines go to stderr: use it as an ssh ProxyCommand.'
  ],
  options: {
    listen: { type: 'string', short: 'l', value: '<host:port>', help: 'local address to accept TCP connections on (port 0: any free port)' },
    ...PRIVATE_OPTIONS,
    'max-connections': { type: 'string', value: '<n>', help: `most tunnelled connections at once (default ${DEFAULT_MAX_CONNECTIONS})` },
    'stable-identity': { type: 'boolean', help: 'connect with the application\'s own key from the keystore instead of a fresh one' },
    app: { type: 'string', value: '<app>', help: `application whose key --stable-identity uses (default ${CLIENT_APP})` },
    ...RENDEZVOUS_OPTIONS,
    ...KEYSTORE_OPTIONS
  },
  examples: [
    ['fara connect web --listen 127.0.0.1:8080 && curl http://127.0.0.1:8080/', 'a local port for the service named "web"'],
    ['ssh -o ProxyCommand=\'fara connect %h\' user@ssh', 'ssh to the service named "ssh" (the host name is the service name)'],
    ['fara connect web --listen 127.0.0.1:0 --json', 'print {"event":"listening","address":"127.0.0.1:…"} for a script']
  ],
  run
}
