// `fara rendezvous --dht`: a node of Fara's own Kademlia DHT (spec/dht.md) that others join with
// `--rendezvous dht --bootstrap <its address>`. It stores and serves the records of the names
// registered through it (each verified on every write and read), and nothing else: no relay.
// With a data directory its records (public and private) live on disk too (spec/dht.md#persistence).
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { RENDEZVOUS_CONNECTION_LIMITS } from '@fara/transport/constants'
import { DEFAULT_LISTEN, ENV, ExitCode } from '../constants.ts'
import { UsageError } from '../errors.ts'
import { flagOf, listOf, positionalsOf } from './args.ts'
import { isPrivateMultiaddr } from './backends.ts'
import { exitAfterStop, settingFlagsOf, untilAborted } from './command.ts'
import { remembered, tcpPort, withPort } from './remembered-listen.ts'
import { writePrivateFile } from './files.ts'
import { transport } from './lazy.ts'
import type { OptionSpec } from './args.ts'
import type { Context } from './command.ts'

/** Where the node remembers the address it listened on, so its bootstrap address survives a restart. */
const LISTEN_FILE = 'dht-listen.json'

/** Application name of the node's key in the data directory (`dht-node.key`, mode 0600). */
const KEY_APP = 'dht-node'

/** `fara rendezvous` options of the DHT node. */
export const DHT_NODE_OPTIONS: Record<string, OptionSpec> = {
  dht: { type: 'boolean', help: 'run a DHT node instead of a rendezvous point: others use --rendezvous dht --bootstrap <its address>' },
  bootstrap: { type: 'string', multiple: true, value: '<multiaddr>', help: 'with --dht: join an existing DHT through this node, ending in /p2p/<id> (env FARA_BOOTSTRAP)' }
}

/** True with `--dht`; `--bootstrap` without it is a usage error (a rendezvous point joins nothing). */
export function wantsDhtNode (command: string, ctx: Context): boolean {
  if (flagOf(ctx.args, 'dht')) return true
  if (ctx.args.values.bootstrap != null) throw new UsageError('--bootstrap goes with --dht (a rendezvous point joins no DHT)', command)
  return false
}


/** Run the DHT node until SIGINT/SIGTERM. */
export async function runDhtNode (command: string, ctx: Context): Promise<ExitCode> {
  positionalsOf(command, ctx.args.positionals, [])
  const settings = await ctx.settings(settingFlagsOf(command, ctx.args))
  const dataDir = flagOf(ctx.args, 'memory') ? undefined : settings.dataDir.value
  const explicit = listOf(ctx.args, 'listen')
  const bootstrap = settings.bootstrap.value
  const [{ createNode, checkListenAddrs }, { dhtService, dhtServiceOf }, { DHT_SERVICE_NAME }, { createIdentity, loadOrCreateIdentity }] =
    await Promise.all([transport(), import('@fara/rendezvous/dht'), import('@fara/rendezvous/constants'), import('@fara/identity')])
  try {
    checkListenAddrs(explicit ?? [], true)
  } catch (err) {
    throw new UsageError(`--listen: ${(err as Error).message}`, command)
  }
  const previous = explicit == null && dataDir != null ? await remembered(dataDir, LISTEN_FILE) : undefined
  ctx.out.status('starting', { dht: true, dataDir: dataDir ?? null }, `starting a DHT node${dataDir == null ? ' (memory only)' : ` with its key and records in ${dataDir}`}…`)
  if (dataDir != null) await mkdir(dataDir, { recursive: true, mode: 0o700 })
  const identity = dataDir == null ? await createIdentity({ app: KEY_APP }) : await loadOrCreateIdentity(dataDir, KEY_APP)
  const start = async (listen: string[]): ReturnType<typeof createNode> => {
    // only loopback or private listen addresses (or a private bootstrap node): a LAN, whose peers' private addresses are kept
    const lan = listen.every(isPrivateMultiaddr) || bootstrap.some(isPrivateMultiaddr)
    return createNode({
      privateKey: identity.privateKey,
      listen,
      allowPinnedPort: true,
      connectionManager: { ...RENDEZVOUS_CONNECTION_LIMITS },
      services: { [DHT_SERVICE_NAME]: dhtService({ bootstrap, allowPrivateAddresses: lan, ...(dataDir == null ? {} : { dataDir }) }) }
    })
  }
  let listen = explicit ?? [previous ?? DEFAULT_LISTEN]
  let node
  try {
    node = await start(listen)
  } catch (err) {
    if (previous == null) throw err
    ctx.out.warn('port-changed', { previous, message: (err as Error).message }, `could not listen on ${previous} again (${(err as Error).message}); taking a new port: tell others the new address`)
    listen = [DEFAULT_LISTEN]
    node = await start(listen)
  }
  try {
    const addrs = node.getMultiaddrs()
    const port = tcpPort(addrs[0])
    if (dataDir != null && listen.length === 1) await writePrivateFile(join(dataDir, LISTEN_FILE), JSON.stringify({ listen: withPort(listen[0]!, port) }) + '\n')
    const lan = listen.every(isPrivateMultiaddr) || bootstrap.some(isPrivateMultiaddr)
    const invite = (addrs.find(a => !/^\/ip[46]\/(127\.|::1\/)/.test(a.toString())) ?? addrs[0])?.toString() ?? ''
    const s = ctx.out.out
    ctx.out.result('ready', {
      peerId: node.peerId.toString(), port, multiaddrs: addrs.map(String), dht: true, lan, bootstrap, dataDir: dataDir ?? null, invite,
      records: dhtServiceOf(node).loaded
    }, [
      `${s.green('DHT node ready')}${lan ? ' (a LAN: peers\' private addresses are kept)' : ''}`,
      `  key        ${node.peerId.toString()}`,
      ...(dataDir == null ? [] : [`  records    ${dhtServiceOf(node).loaded} kept from the last run`]),
      ...addrs.map((a, i) => `  ${i === 0 ? 'addresses ' : '          '} ${a.toString()}`),
      '',
      `  services:  fara serve <name> --forward <host:port> --rendezvous dht --bootstrap ${invite}`,
      `  clients:   fara connect <name> --rendezvous dht --bootstrap ${invite}`,
      `  or:        export ${ENV.RENDEZVOUS}=dht ${ENV.BOOTSTRAP}=${invite}`
    ])
    if (bootstrap.length > 0) {
      // joining an existing DHT: say when the first peer answered (or that none did yet)
      dhtServiceOf(node).waitForPeers(1, { signal: ctx.signal }).then(
        () => { ctx.out.status('joined', { peers: dhtServiceOf(node).routingTableSize }, 'joined the DHT through its bootstrap node') },
        () => {}
      )
    }
    await untilAborted(ctx.signal)
    ctx.out.status('stopping', {}, 'stopping')
  } finally {
    await node.stop()
  }
  return exitAfterStop(ctx.signal)
}
