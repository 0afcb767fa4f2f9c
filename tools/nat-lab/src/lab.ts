// createLab(): namespaces, veths, bridges, addresses, routes and NAT rules, all inside
// namespaces named `<prefix>-…`. Nothing touches the namespace of the calling process.
import { spawn as spawnChild } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import {
  CARRIER_THIRD_OCTET_BASE, HOST_BASE, MAX_HOSTS, MAX_NATS, NAT_NAME, NAT_TYPES, PUBLIC_ADDRESSES, ROUTER_PUBLIC_BASE
} from './constants.ts'
import { LabDestroyedError, LabUnavailableError } from './errors.ts'
import { inNs, must, run, works } from './internal/command.ts'
import { deleteNamespaces, forget, labNamespaces, remember, removeMarker, sweepStaleLabs, writeMarker } from './internal/registry.ts'
import { routerRules } from './internal/rules.ts'
import type { ChildProcess } from 'node:child_process'
import type { Lab, LabHost, LabNat, LabSpec, NatSpec, NatType } from './types.ts'

/** What this machine lacks to run a lab; empty when it can. */
export function labPrerequisites (): string[] {
  const missing: string[] = []
  const root = process.getuid?.() === 0
  if (!root) missing.push('root (CAP_NET_ADMIN)')
  if (!works(['ip', '-V'])) missing.push('ip (apt-get install iproute2)')
  if (!works(['iptables', '--version']) || !works(['iptables-restore', '--version'])) missing.push('iptables (apt-get install iptables)')
  // as root, `ipset version` also asks the kernel (CONFIG_IP_SET); without root it cannot
  if (!works(root ? ['ipset', 'version'] : ['ipset', '-h'])) missing.push('ipset (apt-get install ipset)')
  if (!works(['sysctl', '--version'])) missing.push('sysctl (apt-get install procps)')
  return missing
}

function validate (spec: LabSpec): void {
  if (spec == null || typeof spec !== 'object' || !Array.isArray(spec.nats)) throw new TypeError(`spec.nats must be an array, got ${typeof spec?.nats}`)
  if (spec.nats.length > MAX_NATS) throw new RangeError(`spec.nats must hold at most ${MAX_NATS} NATs, got ${spec.nats.length}`)
  const seen = new Set<string>()
  for (const nat of spec.nats) {
    if (typeof nat?.name !== 'string' || !NAT_NAME.test(nat.name)) throw new TypeError(`nat.name must match ${NAT_NAME}, got ${JSON.stringify(nat?.name)}`)
    if (seen.has(nat.name)) throw new RangeError(`nat.name must be unique, got ${nat.name} twice`)
    seen.add(nat.name)
    for (const [field, value] of [['type', nat.type], ['carrierType', nat.carrierType ?? nat.type]] as const) {
      if (!(NAT_TYPES as readonly string[]).includes(value)) throw new TypeError(`nat.${field} of ${nat.name} must be one of ${NAT_TYPES.join(', ')}, got ${JSON.stringify(value)}`)
    }
    const hosts = nat.hosts ?? 1
    if (!Number.isInteger(hosts) || hosts < 1 || hosts > MAX_HOSTS) throw new RangeError(`nat.hosts of ${nat.name} must be an integer in 1..${MAX_HOSTS}, got ${hosts}`)
  }
}

/** Sysctls of every namespace: no IPv6 (the lab is IPv4 only; no DAD, no router solicitations). */
const BASE_SYSCTLS = ['net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']
/** Sysctls of namespaces with a bridge: bridged frames must not go through iptables (br_netfilter). */
const BRIDGE_SYSCTLS = ['net.bridge.bridge-nf-call-iptables=0', 'net.bridge.bridge-nf-call-arptables=0']

interface Plan {
  prefix: string
  sw: string
  pub: string
  nats: LabNat[]
  namespaces: string[]
}

function plan (prefix: string, spec: LabSpec): Plan {
  const sw = `${prefix}-sw`
  const pub = `${prefix}-public`
  const namespaces = [sw, pub]
  const nats = spec.nats.map((s: NatSpec, i): LabNat => {
    const n = i + 1
    const router = `${prefix}-${s.name}-r`
    const carrier = s.double === true ? `${prefix}-${s.name}-c` : null
    if (carrier != null) namespaces.push(carrier)
    namespaces.push(router)
    const hosts = Array.from({ length: s.hosts ?? 1 }, (_, j): LabHost => ({
      name: `${s.name}-${j + 1}`, ns: `${prefix}-${s.name}-${j + 1}`, address: `198.19.${n}.${HOST_BASE + j + 1}`, nat: s.name
    }))
    namespaces.push(...hosts.map(h => h.ns))
    return {
      name: s.name,
      type: s.type,
      carrierType: s.double === true ? (s.carrierType ?? s.type) : null,
      router,
      carrier,
      publicAddress: `198.18.0.${ROUTER_PUBLIC_BASE + n}`,
      lan: `198.19.${n}.0/24`,
      gateway: `198.19.${n}.1`,
      hosts
    }
  })
  return { prefix, sw, pub, nats, namespaces }
}

/** A router: WAN veth from the upstream bridge `upBridge` in `upNs` (port `upPort`), LAN bridge `lan`, NAT rules. */
function buildRouter (ns: string, up: { ns: string, bridge: string, port: string }, wan: string, gateway: string | null, lan: string, type: NatType, inside: readonly string[]): void {
  must(['ip', '-n', up.ns, 'link', 'add', up.port, 'type', 'veth', 'peer', 'name', 'wan', 'netns', ns])
  must(['ip', '-n', up.ns, 'link', 'set', up.port, 'master', up.bridge, 'up'])
  must(['ip', '-n', ns, 'addr', 'add', `${wan}/24`, 'dev', 'wan'])
  must(['ip', '-n', ns, 'link', 'set', 'wan', 'up'])
  must(['ip', '-n', ns, 'link', 'add', 'lan', 'type', 'bridge'])
  must(['ip', '-n', ns, 'addr', 'add', `${lan}/24`, 'dev', 'lan'])
  must(['ip', '-n', ns, 'link', 'set', 'lan', 'up'])
  if (gateway != null) must(['ip', '-n', ns, 'route', 'add', 'default', 'via', gateway])
  const rules = routerRules({ type, wanAddress: wan, inside })
  if (rules.ipset !== '') must(inNs(ns, ['ipset', 'restore']), rules.ipset)
  must(inNs(ns, ['iptables-restore']), rules.iptables)
}

/** A host (or an inner router's WAN, via buildRouter): veth from the router's LAN bridge. */
function buildHost (host: LabHost, router: string, port: string, gateway: string): void {
  must(['ip', '-n', router, 'link', 'add', port, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', host.ns])
  must(['ip', '-n', router, 'link', 'set', port, 'master', 'lan', 'up'])
  must(['ip', '-n', host.ns, 'addr', 'add', `${host.address}/24`, 'dev', 'eth0'])
  must(['ip', '-n', host.ns, 'link', 'set', 'eth0', 'up'])
  must(['ip', '-n', host.ns, 'route', 'add', 'default', 'via', gateway])
}

function build (p: Plan): void {
  const routers = new Set(p.nats.flatMap(n => [n.router, ...(n.carrier == null ? [] : [n.carrier])]))
  for (const ns of p.namespaces) {
    must(['ip', 'netns', 'add', ns])
    must(['ip', '-n', ns, 'link', 'set', 'lo', 'up'])
    const sysctls = [...BASE_SYSCTLS]
    if (ns === p.sw || routers.has(ns)) sysctls.push(...BRIDGE_SYSCTLS)
    // forwarding only inside router namespaces
    if (routers.has(ns)) sysctls.push('net.ipv4.ip_forward=1')
    // -e: a kernel without br_netfilter has no net.bridge keys, and needs none
    must(inNs(ns, ['sysctl', '-q', '-e', '-w', ...sysctls]))
  }
  // the public segment: a bridge in its own namespace, the public host on it
  must(['ip', '-n', p.sw, 'link', 'add', 'br0', 'type', 'bridge'])
  must(['ip', '-n', p.sw, 'link', 'set', 'br0', 'up'])
  must(['ip', '-n', p.sw, 'link', 'add', 'pub', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', p.pub])
  must(['ip', '-n', p.sw, 'link', 'set', 'pub', 'master', 'br0', 'up'])
  for (const a of PUBLIC_ADDRESSES) must(['ip', '-n', p.pub, 'addr', 'add', `${a}/24`, 'dev', 'eth0'])
  must(['ip', '-n', p.pub, 'link', 'set', 'eth0', 'up'])

  p.nats.forEach((nat, i) => {
    const n = i + 1
    const sw = { ns: p.sw, bridge: 'br0', port: `n${n}` }
    if (nat.carrier == null) {
      buildRouter(nat.router, sw, nat.publicAddress, null, nat.gateway, nat.type, nat.hosts.map(h => h.address))
    } else {
      const carrierNet = `198.18.${CARRIER_THIRD_OCTET_BASE + n}`
      buildRouter(nat.carrier, sw, nat.publicAddress, null, `${carrierNet}.1`, nat.carrierType ?? nat.type, [`${carrierNet}.2`])
      buildRouter(nat.router, { ns: nat.carrier, bridge: 'lan', port: 'inner' }, `${carrierNet}.2`, `${carrierNet}.1`, nat.gateway, nat.type, nat.hosts.map(h => h.address))
    }
    nat.hosts.forEach((host, j) => { buildHost(host, nat.router, `h${j + 1}`, nat.gateway) })
  })
}

/** A fresh prefix no namespace on this machine uses yet. */
function freshPrefix (): string {
  const taken = new Set(labNamespaces().map(ns => ns.slice(0, 8)))
  for (;;) {
    const prefix = `fl${randomBytes(3).toString('hex')}`
    if (!taken.has(prefix)) return prefix
  }
}

/**
 * Build a NAT lab: a public segment (198.18.0.0/24) with a public host, and per NAT a router
 * (two for a double NAT) and its private LAN (198.19.n.0/24) of host namespaces.
 * Removes labs of dead processes first (sweepStaleLabs). Needs root, iproute2, iptables, ipset.
 */
export async function createLab (spec: LabSpec, options: { signal?: AbortSignal } = {}): Promise<Lab> {
  validate(spec)
  options.signal?.throwIfAborted()
  const missing = labPrerequisites()
  if (missing.length > 0) throw new LabUnavailableError(missing)
  sweepStaleLabs()
  const p = plan(freshPrefix(), spec)
  const children = new Set<ChildProcess>()
  let destroyed = false
  const teardown = (): void => {
    destroyed = true
    for (const child of children) {
      if (child.exitCode == null && child.signalCode == null) child.kill('SIGKILL')
    }
    children.clear()
    deleteNamespaces(p.namespaces)
    removeMarker(p.prefix)
    forget(p.prefix)
  }
  // the marker first: from here on, a crash leaves nothing sweepStaleLabs() cannot find
  writeMarker(p.prefix, p.namespaces)
  remember(p.prefix, teardown)
  try {
    build(p)
    options.signal?.throwIfAborted()
  } catch (err) {
    teardown()
    throw err
  }

  const own = (ns: string): void => {
    if (destroyed) throw new LabDestroyedError()
    if (!p.namespaces.includes(ns)) throw new RangeError(`ns must be one of this lab's namespaces (${p.prefix}-…), got ${JSON.stringify(ns)}`)
  }
  const nats = Object.fromEntries(p.nats.map(n => [n.name, n]))
  const hosts = Object.fromEntries(p.nats.flatMap(n => n.hosts).map(h => [h.name, h]))
  return {
    prefix: p.prefix,
    namespaces: p.namespaces,
    public: { ns: p.pub, address: PUBLIC_ADDRESSES[0], addresses: PUBLIC_ADDRESSES },
    publicAddress: PUBLIC_ADDRESSES[0],
    nats,
    hosts,
    exec (ns, argv, execOptions = {}) {
      own(ns)
      return run(inNs(ns, argv), execOptions.input)
    },
    spawn (ns, argv, spawnOptions = {}) {
      own(ns)
      const child = spawnChild('ip', inNs(ns, argv).slice(1), spawnOptions)
      children.add(child)
      child.on('exit', () => { children.delete(child) })
      return child
    },
    async destroy () {
      if (!destroyed) teardown()
    }
  }
}

/** Run `fn` with a fresh lab and destroy the lab afterwards, whether `fn` returns or throws. */
export async function withLab<T> (spec: LabSpec, fn: (lab: Lab) => Promise<T>, options: { signal?: AbortSignal } = {}): Promise<T> {
  const lab = await createLab(spec, options)
  try {
    return await fn(lab)
  } finally {
    await lab.destroy()
  }
}
