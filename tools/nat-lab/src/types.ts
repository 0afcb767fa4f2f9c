import type { ChildProcess, SpawnOptions } from 'node:child_process'
import type { NAT_TYPES } from './constants.ts'
import type { ExecResult } from './internal/command.ts'

export type { ExecResult }

/**
 * A NAT behaviour, in RFC 4787 terms (mapping / filtering):
 * - `full-cone`: endpoint-independent mapping and filtering;
 * - `address-restricted`: endpoint-independent mapping, address-dependent filtering;
 * - `port-restricted`: endpoint-independent mapping, address-and-port-dependent filtering;
 * - `symmetric`: address-and-port-dependent mapping and filtering.
 */
export type NatType = typeof NAT_TYPES[number]

/** One NAT router and the private LAN behind it. */
export interface NatSpec {
  /** Lower-case letters and digits, starting with a letter, at most 12: goes into namespace names. */
  name: string
  type: NatType
  /** Put a second, carrier-grade NAT between this router and the public segment. */
  double?: boolean
  /** The carrier NAT's type when `double` (default: `type`). */
  carrierType?: NatType
  /** Host namespaces on the LAN (default 1). */
  hosts?: number
}

/** What `createLab` builds. */
export interface LabSpec {
  nats: NatSpec[]
}

/** A host namespace behind a NAT. */
export interface LabHost {
  /** `<nat>-<k>`, k from 1. */
  name: string
  /** Its network namespace. */
  ns: string
  /** Its private address (198.19.n.x). */
  address: string
  /** The NAT it sits behind. */
  nat: string
}

/** A NAT of the lab, as built. */
export interface LabNat {
  name: string
  type: NatType
  /** The carrier NAT's type, for a double NAT. */
  carrierType: NatType | null
  /** The router namespace next to the hosts. */
  router: string
  /** The carrier router namespace (the one on the public segment), for a double NAT. */
  carrier: string | null
  /** The address the public segment sees this NAT's traffic come from (the carrier's, for a double NAT). */
  publicAddress: string
  /** The LAN, e.g. `198.19.1.0/24`. */
  lan: string
  /** The router's LAN address: the hosts' default gateway. */
  gateway: string
  hosts: LabHost[]
}

/** The public host: the place for the rendezvous point, relays and STUN. */
export interface LabPublic {
  ns: string
  /** Its primary address, 198.18.0.1. */
  address: string
  /** All its addresses on the public segment (a second IP for tests and RFC 5780 STUN). */
  addresses: readonly string[]
}

/** A running NAT lab. */
export interface Lab {
  /** `fl<6 hex>`: every namespace name starts with it and a dash. */
  readonly prefix: string
  /** Every namespace of the lab, in creation order. */
  readonly namespaces: readonly string[]
  readonly public: LabPublic
  /** Same as `public.address`. */
  readonly publicAddress: string
  readonly nats: Readonly<Record<string, LabNat>>
  /** Every host, by name (`<nat>-<k>`). */
  readonly hosts: Readonly<Record<string, LabHost>>
  /** Run `argv` in namespace `ns` (synchronously) and report how it went; never throws on a non-zero exit. */
  exec: (ns: string, argv: readonly string[], options?: { input?: string }) => ExecResult
  /** Start `argv` in namespace `ns`; the lab kills it on destroy(). */
  spawn: (ns: string, argv: readonly string[], options?: SpawnOptions) => ChildProcess
  /** Kill what runs in the lab, delete its namespaces and its marker. Idempotent. */
  destroy: () => Promise<void>
}
