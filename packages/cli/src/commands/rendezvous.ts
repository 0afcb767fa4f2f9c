import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { DEFAULT_LISTEN, ENV, ExitCode } from '../constants.ts'
import { UsageError } from '../errors.ts'
import { flagOf, intOf, listOf, positionalsOf, stringOf } from '../internal/args.ts'
import { exitAfterStop, settingFlagsOf, untilAborted } from '../internal/command.ts'
import { remembered, tcpPort, withPort } from '../internal/remembered-listen.ts'
import { writePrivateFile } from '../internal/files.ts'
import { inviteFor, inviteQr } from '../internal/invite.ts'
import { DHT_NODE_OPTIONS, runDhtNode, wantsDhtNode } from '../internal/dht-node.ts'
import { sdk, transport } from '../internal/lazy.ts'
import type { Command, Context } from '../internal/command.ts'
import type { RendezvousPointHandle } from '@fara/rendezvous'
import type { Multiaddr } from '@multiformats/multiaddr'

const NAME = 'rendezvous'

/** Where the point remembers the address it listened on, so its address survives a restart. */
const LISTEN_FILE = 'listen.json'


function isLoopback (addr: Multiaddr): boolean {
  const ip = addr.getComponents()[0]?.value ?? ''
  return ip.startsWith('127.') || ip === '::1'
}

/**
 * A warning line for every refusal by a per-key or per-source limit of the
 * point and its relay (spec/security.md#sources); each is reported at most
 * once per limit and source every 10 s, with the count since the last.
 */
function watchRefusals (ctx: Context, point: RendezvousPointHandle): void {
  point.server.addEventListener('rendezvous:refused', (evt) => {
    const r = evt.detail
    const what = r.kind === 'requests' ? `requests (at most ${r.max}/s)` : `registrations (at most ${r.max} records)`
    ctx.out.warn('refused', { service: 'rendezvous', kind: r.kind, limit: r.limit, source: r.source, peer: r.peer, max: r.max, refused: r.refused },
      `refused ${what} from ${r.limit} ${r.source}: ${r.refused} since the last report`)
  })
  point.relay?.addEventListener('relay:refused', (evt) => {
    const r = evt.detail
    const what = r.kind === 'reservation' ? 'relay slots' : `relayed connections to ${r.target ?? '?'}`
    ctx.out.warn('refused', { service: 'relay', kind: r.kind, limit: r.limit, source: r.source, peer: r.peer, target: r.target ?? null, max: r.max, refused: r.refused },
      `refused ${what} from ${r.limit} ${r.source} (at most ${r.max}): ${r.refused} since the last report`)
  })
}

async function run (ctx: Context): Promise<ExitCode> {
  if (wantsDhtNode(NAME, ctx)) return runDhtNode(NAME, ctx)
  positionalsOf(NAME, ctx.args.positionals, [])
  const settings = await ctx.settings(settingFlagsOf(NAME, ctx.args))
  const dataDir = flagOf(ctx.args, 'memory') ? undefined : settings.dataDir.value
  const explicit = listOf(ctx.args, 'listen')
  const [{ createRendezvousPoint }, { checkListenAddrs }] = await Promise.all([sdk(), transport()])
  try {
    checkListenAddrs(explicit ?? [], true)
  } catch (err) {
    throw new UsageError(`--listen: ${(err as Error).message}`, NAME)
  }
  if (explicit != null && explicit.length !== 1 && dataDir != null) ctx.out.status('note', {}, 'several --listen addresses: the address is not remembered across restarts')
  const previous = explicit == null && dataDir != null ? await remembered(dataDir, LISTEN_FILE) : undefined
  const relay = !flagOf(ctx.args, 'no-relay')
  const workers = stringOf(ctx.args, 'workers') === 'auto' ? 'auto' : intOf(NAME, ctx.args, 'workers', 1, 256) ?? 1
  // relay slots and the connections through them must meet in one process (spec/rendezvous.md#workers)
  if (workers !== 1 && relay) throw new UsageError('--workers needs --no-relay: a relay runs in one process', NAME)
  const start = async (listen: string[]): ReturnType<typeof createRendezvousPoint> =>
    createRendezvousPoint({ listen, allowPinnedPort: true, relay, workers, ...(dataDir == null ? {} : { dataDir }) })
  ctx.out.status('starting', { dataDir: dataDir ?? null }, `starting${dataDir == null ? ' (memory only)' : ` with state in ${dataDir}`}…`)
  let point
  try {
    point = await start(explicit ?? [previous ?? DEFAULT_LISTEN])
  } catch (err) {
    if (previous == null) throw err
    ctx.out.warn('port-changed', { previous, message: (err as Error).message }, `could not listen on ${previous} again (${(err as Error).message}); taking a new port: tell clients the new address`)
    point = await start([DEFAULT_LISTEN])
  }
  watchRefusals(ctx, point)
  try {
    const addrs = point.multiaddrs
    const port = tcpPort(addrs[0])
    if (dataDir != null && (explicit == null || explicit.length === 1)) {
      await mkdir(dataDir, { recursive: true, mode: 0o700 })
      await writePrivateFile(join(dataDir, LISTEN_FILE), JSON.stringify({ listen: withPort(explicit?.[0] ?? previous ?? DEFAULT_LISTEN, port) }) + '\n')
    }
    const address = (addrs.find(a => !isLoopback(a)) ?? addrs[0])?.toString() ?? ''
    const invite = inviteFor(addrs.map(String))
    const s = ctx.out.out
    const forked = point.workers.length > 1 ? point.workers.length : 1
    ctx.out.result('ready', {
      peerId: point.node.peerId.toString(), port, multiaddrs: addrs.map(String), relay, workers: forked, dataDir: dataDir ?? null, address, invite: invite ?? null
    }, [
      `${s.green('rendezvous point ready')}${relay ? ' (with relay)' : ''}${forked > 1 ? ` (${forked} worker processes)` : ''}`,
      `  key        ${point.node.peerId.toString()}`,
      ...addrs.map((a, i) => `  ${i === 0 ? 'addresses ' : '          '} ${a.toString()}`),
      '',
      `  clients:   export ${ENV.RENDEZVOUS}=${address}`,
      ...(invite == null ? [] : [`  invite:    fara connect <name> --invite ${invite}`]),
      ...(invite != null && ctx.out.stdoutIsTerminal ? inviteQr(invite) : []),
      ...(relay ? [`  behind NAT: fara serve <name> --forward <host:port> --relay ${address}`] : [])
    ])
    await untilAborted(ctx.signal)
    ctx.out.status('stopping', {}, 'stopping')
  } finally {
    await point.close()
  }
  return exitAfterStop(ctx.signal)
}

/** `fara rendezvous`. */
export const rendezvous: Command = {
  name: NAME,
  summary: 'run a rendezvous point (and relay): where names are registered and looked up',
  usage: ['rendezvous [--data-dir <dir>] [--listen <multiaddr>]… [--no-relay] [--workers <n|auto>]', 'rendezvous --dht [--bootstrap <multiaddr>]… [--data-dir <dir>] [--listen <multiaddr>]…'],
  description: [
    'Runs a rendezvous point: it stores signed records (name → key, addresses, AId), verifies them on every',
    'write and read, and (unless --no-relay) relays connections to services behind NAT, with no data or time cap.',
    'Its key, its records and its port live in --data-dir, so a restart keeps its address: clients are given it',
    'once (FARA_RENDEZVOUS). An explicit --listen …/tcp/0 takes a fresh port instead.',
    'With --dht it runs a node of Fara\'s DHT instead (no relay): services and clients join it with',
    '--rendezvous dht --bootstrap <its address>. Its key (dht-node.key), its port and the records it stores for',
    'others (dht-records/, public and private) are kept in --data-dir: a restart serves them again.'
  ],
  options: {
    'data-dir': { type: 'string', short: 'd', value: '<dir>', help: 'state directory (env FARA_DATA_DIR; default $XDG_DATA_HOME/fara/rendezvous)' },
    memory: { type: 'boolean', help: 'keep nothing on disk: a new key and address each start' },
    listen: { type: 'string', short: 'l', multiple: true, value: '<multiaddr>', help: `listen address (default ${DEFAULT_LISTEN}, then the same port again)` },
    'no-relay': { type: 'boolean', help: 'do not relay for entities behind NAT' },
    workers: { type: 'string', value: '<n|auto>', help: 'serve clients from n processes on one port (auto: one per core; default 1); needs --no-relay' },
    ...DHT_NODE_OPTIONS
  },
  examples: [
    ['fara rendezvous', 'run one, state in ~/.local/share/fara/rendezvous'],
    ['fara rendezvous --listen /ip4/0.0.0.0/tcp/4001', 'on a fixed port (e.g. open in a firewall)'],
    ['fara rendezvous --no-relay --workers auto', 'a busy point: one process per core, one key, one port, one store'],
    ['fara rendezvous --data-dir ./rv --listen /ip4/127.0.0.1/tcp/0 --json', 'for a script: one JSON "ready" line with the addresses'],
    ['fara rendezvous --json | jq -r \'select(.event == "ready") | .invite\'', 'the invite (fara1:…) to hand out: fara connect <name> --invite <it>'],
    ['fara rendezvous --dht --listen /ip4/0.0.0.0/tcp/4001', 'a DHT node; it prints the --bootstrap address to give services and clients'],
    ['fara rendezvous --dht --bootstrap /ip4/203.0.113.7/tcp/4001/p2p/12D3KooW…', 'one more DHT node, joining the first']
  ],
  run
}
