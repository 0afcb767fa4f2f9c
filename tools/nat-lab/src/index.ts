/**
 * A NAT lab for real-network tests: network namespaces joined by veths and bridges, with
 * iptables/ipset NAT routers of four behaviours (full cone, address-restricted,
 * port-restricted, symmetric), single or carrier-grade double. spec/nat-lab.md describes the
 * topology, the address plan, the rules and the cleanup. Needs root, iproute2, iptables, ipset.
 * Private, never published; its constants (the address plan) are `@fara/nat-lab/constants`.
 *
 * @example
 * ```ts
 * import { withLab, startProbe } from '@fara/nat-lab'
 *
 * await withLab({ nats: [{ name: 'home', type: 'port-restricted' }] }, async (lab) => {
 *   const server = await startProbe(lab, lab.public.ns)
 *   const port = await server.udp('s')
 *   const client = await startProbe(lab, lab.hosts['home-1']!.ns)
 *   await client.udp('c')
 *   await client.send('c', { address: lab.publicAddress, port }, 'hello')
 *   const from = await server.received('s', 'hello') // { address: lab.nats.home.publicAddress, port: … }
 * })
 * ```
 */
export { createLab, withLab, labPrerequisites } from './lab.ts'
export { sweepStaleLabs, labNamespaces } from './internal/registry.ts'
export { startProbe } from './probe.ts'
export { LabCommandError, LabDestroyedError, LabUnavailableError } from './errors.ts'
export type { Lab, LabHost, LabNat, LabPublic, LabSpec, NatSpec, NatType, ExecResult } from './types.ts'
export type { Probe, ProbeLine, Endpoint } from './probe.ts'
