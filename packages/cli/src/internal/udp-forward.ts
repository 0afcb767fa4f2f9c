// The UDP modes of `fara serve --forward-udp` and `fara connect --listen-udp`
// (spec/udp.md): their options, and the sockets around the flows of udp.ts.
import { createSocket } from 'node:dgram'
import { lookup } from 'node:dns/promises'
import { once } from 'node:events'
import type { ExitCode } from '../constants.ts'
import { ForwardFailedError, UsageError } from '../errors.ts'
import { formatHostPort, intOf, localAddressError, parseHostPort, stringOf } from './args.ts'
import { checkName } from './checks.ts'
import { exitAfterStop, untilAborted } from './command.ts'
import { short } from './entity.ts'
import { describeFailure } from './failure.ts'
import { DEFAULT_MAX_FLOWS, DEFAULT_UDP_IDLE_S, Flow, FlowTable, UDP_QUEUE_BYTES } from './udp.ts'
import type { HostPort, OptionSpec, ParsedArgs } from './args.ts'
import type { Context } from './command.ts'
import type { FlowEnd } from './udp.ts'
import type { Association, ConnectOptions, Entity } from '@fara/sdk'
import type { Socket } from 'node:dgram'

const IDLE_OPTION: OptionSpec = { type: 'string', value: '<s>', help: `close a UDP flow after this many seconds without a datagram either way (default ${DEFAULT_UDP_IDLE_S})` }

/** The options `fara serve` takes for UDP. */
export const UDP_SERVE_OPTIONS: Record<string, OptionSpec> = {
  'forward-udp': { type: 'string', value: '<host:port>', help: 'a local UDP service to expose instead of --forward (DNS, WireGuard, a game server): one UDP socket per association' },
  'udp-idle': IDLE_OPTION
}

/** The options `fara connect` takes for UDP. */
export const UDP_CONNECT_OPTIONS: Record<string, OptionSpec> = {
  'listen-udp': { type: 'string', value: '<host:port>', help: 'local UDP address; each source ip:port gets its own association (port 0: any free port)' },
  'udp-idle': IDLE_OPTION,
  'max-flows': { type: 'string', value: '<n>', help: `most UDP sources tunnelled at once (default ${DEFAULT_MAX_FLOWS}); datagrams from more are dropped` }
}

/** `fara serve` in UDP mode. */
export interface UdpServe { target: HostPort, idleMs: number }

/** `fara connect` in UDP mode. */
export interface UdpConnect { local: HostPort, idleMs: number, maxFlows: number }

function idleMsOf (command: string, args: ParsedArgs): number {
  return (intOf(command, args, 'udp-idle', 1, 86_400) ?? DEFAULT_UDP_IDLE_S) * 1000
}

/** The UDP mode of `fara serve` if `--forward-udp` is given (one mode per process: not with `--forward`). */
export function udpServeOf (command: string, args: ParsedArgs): UdpServe | undefined {
  const text = stringOf(args, 'forward-udp')
  if (text == null) {
    if (stringOf(args, 'udp-idle') != null) throw new UsageError('--udp-idle needs --forward-udp', command)
    return undefined
  }
  if (stringOf(args, 'forward') != null) {
    throw new UsageError('give --forward (TCP) or --forward-udp (UDP), not both: run one `fara serve` per protocol, under two names', command)
  }
  return { target: parseHostPort(command, '--forward-udp', text, false), idleMs: idleMsOf(command, args) }
}

/** The UDP mode of `fara connect` if `--listen-udp` is given (not with `--listen`). */
export function udpConnectOf (command: string, args: ParsedArgs): UdpConnect | undefined {
  const text = stringOf(args, 'listen-udp')
  if (text == null) {
    for (const flag of ['udp-idle', 'max-flows']) if (stringOf(args, flag) != null) throw new UsageError(`--${flag} needs --listen-udp`, command)
    return undefined
  }
  if (stringOf(args, 'listen') != null) throw new UsageError('give --listen (TCP) or --listen-udp (UDP), not both: run one `fara connect` per protocol', command)
  if (stringOf(args, 'max-connections') != null) throw new UsageError('--max-connections is for --listen (TCP); with --listen-udp use --max-flows', command)
  return {
    local: parseHostPort(command, '--listen-udp', text, true),
    idleMs: idleMsOf(command, args),
    maxFlows: intOf(command, args, 'max-flows', 1, 65_536) ?? DEFAULT_MAX_FLOWS
  }
}

/** A UDP socket of the right family for `host` (a name is looked up once). */
async function udpSocket (host: string): Promise<{ socket: Socket, address: string }> {
  const { address, family } = await lookup(host)
  const socket = createSocket(family === 6 ? 'udp6' : 'udp4')
  return { socket, address }
}

/** Send `datagram` unless the socket's send queue is over its bound (then false: dropped). */
function sendBounded (socket: Socket, datagram: Uint8Array, port?: number, address?: string): boolean {
  if (socket.getSendQueueSize() > UDP_QUEUE_BYTES) return false
  if (port == null) socket.send(datagram)
  else socket.send(datagram, port, address)
  return true
}

/** The fields every `closed` event of a flow carries. */
function closedFields (flow: Flow, end: FlowEnd): Record<string, unknown> {
  const s = flow.stats
  return { reason: end.reason, toService: s.bytesIn, toClient: s.bytesOut, datagramsToService: s.datagramsIn, datagramsToClient: s.datagramsOut, dropped: s.dropped }
}

/** Each association: a UDP socket connected to the target, datagrams both ways until the flow closes. */
export function udpForwarder (ctx: Context, udp: UdpServe): (association: Association) => Promise<void> {
  const target = formatHostPort(udp.target)
  let count = 0
  return async (association) => {
    const id = ++count
    const remotePeer = association.remotePeer.toString()
    ctx.out.status('association', { id, remotePeer, protocol: 'udp' }, `#${id} association from ${short(remotePeer)} → udp ${target}`)
    let socket: Socket
    try {
      const s = await udpSocket(udp.target.host)
      socket = s.socket
      socket.connect(udp.target.port, s.address)
      await once(socket, 'connect')
    } catch (err) {
      ctx.out.warn('forward-failed', { id, message: `${target}: ${(err as Error).message}` }, `#${id} udp ${target}: ${(err as Error).message}`)
      association.abort(new ForwardFailedError('the service behind this name did not accept the connection'))
      return
    }
    let refusedReported = false
    const flow = new Flow({
      idleMs: udp.idleMs,
      deliver: (datagram) => sendBounded(socket, datagram),
      onDrop: () => { ctx.out.warn('dropping', { id }, `#${id} dropping datagrams: a queue of ${UDP_QUEUE_BYTES} bytes is full (the association or ${target} is slower than the datagrams come)`) }
    })
    socket.on('message', (datagram) => { flow.send(datagram) })
    // ICMP port unreachable (nothing listens on the target yet): UDP goes on, reported once per flow
    socket.on('error', (err) => {
      if (refusedReported) return
      refusedReported = true
      ctx.out.warn('forward-failed', { id, message: `${target}: ${err.message}` }, `#${id} udp ${target}: ${err.message}`)
    })
    flow.attach(association.toDuplex())
    const end = await flow.closed
    socket.close()
    const fields = { id, ...closedFields(flow, end) }
    const line = `#${id} closed (${end.reason}): ${flow.stats.datagramsIn} datagrams to the service, ${flow.stats.datagramsOut} back, ${flow.stats.dropped} dropped`
    if (end.error == null) ctx.out.status('closed', fields, line)
    else ctx.out.warn('closed', { ...fields, error: end.error.name, message: end.error.message }, `${line}: ${end.error.message}`)
  }
}

/** `--listen-udp`: a local UDP socket; each source ip:port is a flow with its own association to `name`. */
export async function udpListenMode (ctx: Context, entity: Entity, name: string, udp: UdpConnect, options: ConnectOptions): Promise<ExitCode> {
  const { socket, address: host } = await udpSocket(udp.local.host)
  socket.bind(udp.local.port, host)
  try {
    await once(socket, 'listening') // rejects with the 'error' (EADDRINUSE, EACCES) instead
  } catch (err) {
    throw localAddressError(ctx.command, '--listen-udp', err, udp.local)
  }
  socket.on('error', (err) => { ctx.out.warn('receive-failed', { message: err.message }, `receiving a datagram failed: ${err.message}`) })
  let count = 0
  const flows = new FlowTable<Flow>({
    max: udp.maxFlows,
    onFull: (from, refused) => {
      ctx.out.warn('flows-full', { max: udp.maxFlows, from, refused }, `${udp.maxFlows} UDP flows open: datagrams from ${from} and other new sources are dropped until one closes (--max-flows)`)
    }
  })
  const open = (from: string, port: number, address: string): Flow => {
    const id = ++count
    ctx.out.status('flow', { id, from }, `#${id} udp ${from} → ${JSON.stringify(name)}`)
    const flow = new Flow({
      idleMs: udp.idleMs,
      deliver: (datagram) => sendBounded(socket, datagram, port, address),
      onDrop: () => { ctx.out.warn('dropping', { id, from }, `#${id} dropping datagrams from ${from}: a queue of ${UDP_QUEUE_BYTES} bytes is full (the association is slower than the datagrams come)`) }
    })
    entity.connect(name, { ...options, signal: AbortSignal.any([ctx.signal, flow.signal]) }).then(
      (association) => { flow.attach(association.toDuplex()) },
      (err: Error) => { flow.close('error', err) })
    void flow.closed.then((end) => {
      flows.delete(from, flow)
      if (ctx.signal.aborted && end.reason !== 'idle') return
      if (end.error != null) {
        const failure = describeFailure(end.error, { name })
        ctx.out.warn('flow-failed', { id, from, error: failure.name, message: failure.message }, `#${id} ${from}: ${failure.message}`)
        return
      }
      ctx.out.status('closed', { id, from, ...closedFields(flow, end) },
        `#${id} ${from} closed (${end.reason}): ${flow.stats.datagramsIn} datagrams to the service, ${flow.stats.datagramsOut} back, ${flow.stats.dropped} dropped`)
    })
    return flow
  }
  socket.on('message', (datagram, rinfo) => {
    const from = formatHostPort({ host: rinfo.address, port: rinfo.port })
    const flow = flows.get(from) ?? flows.add(from, () => open(from, rinfo.port, rinfo.address))
    flow?.send(datagram)
  })
  const bound = socket.address()
  const address = formatHostPort({ host: bound.address, port: bound.port })
  ctx.out.result('listening', { address, host: bound.address, port: bound.port, name, protocol: 'udp' },
    `${ctx.out.out.green('listening')} on udp ${ctx.out.out.bold(address)} → ${JSON.stringify(name)}`)
  void checkName(ctx, entity, name, options)
  try {
    await untilAborted(ctx.signal)
    ctx.out.status('stopping', { active: flows.size }, `stopping${flows.size === 0 ? '' : `: closing ${flows.size} UDP flow(s)`}`)
  } finally {
    for (const flow of [...flows.values()]) flow.close('local')
    socket.close()
  }
  return exitAfterStop(ctx.signal)
}
