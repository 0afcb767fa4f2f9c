// What `fara up` runs: the services and tunnels of the config file, on one
// entity, each started and stopped on its own, so that a reload (SIGHUP)
// touches only the entries that were added, removed or changed.
import { formatHostPort } from './args.ts'
import { admitting } from './allow.ts'
import { checkForward, checkName } from './checks.ts'
import { describeFailure } from './failure.ts'
import { forwarder, register } from './serving.ts'
import { openTunnel } from './tunnel.ts'
import { udpForwarder, udpListenMode } from './udp-forward.ts'
import type { Context } from './command.ts'
import type { Fields, Output } from './output.ts'
import type { Privacy, ServiceEntry, TunnelEntry } from './up-config.ts'
import type { Entity } from '@fara/sdk'

/** Most time withdrawing one name may take when it is stopped (ms). */
const WITHDRAW_TIMEOUT_MS = 5_000

type Kind = 'service' | 'tunnel'

/** One entry as it runs: stopped by aborting its controller, then closing what it started. */
interface Unit {
  kind: Kind
  name: string
  /** The entry, as JSON: a reload restarts the unit when it differs. */
  spec: string
  controller: AbortController
  /** Resolves with how to close it once started; undefined if it did not start (stopped first, or failed). */
  started: Promise<(() => Promise<void>) | undefined>
  failed: boolean
}

/** An entry a reload changed: its kind and name. */
export interface Change { kind: Kind, name: string }

/** What {@link Supervisor.apply} did. */
export interface Changes { added: Change[], removed: Change[], changed: Change[], unchanged: Change[] }

function privateOption (p: Privacy | undefined): { private?: Privacy } {
  return p == null ? {} : { private: p }
}

/** An {@link Output} whose `listening` result goes to `onListening` instead (a UDP tunnel's, reported as `started`). */
function intercepting (out: Output, onListening: (fields: Fields) => void): Output {
  return new Proxy(out, {
    get (target, key) {
      if (key === 'result') {
        return (event: string, fields: Fields, human: string | string[]) => {
          if (event === 'listening') onListening(fields)
          else target.result(event, fields, human)
        }
      }
      const value: unknown = Reflect.get(target, key, target)
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value
    }
  })
}

/** Runs the services and tunnels of `fara up` on one entity. */
export class Supervisor {
  readonly #ctx: Context
  readonly #entity: Entity
  readonly #units = new Map<string, Unit>()

  constructor (ctx: Context, entity: Entity) {
    this.#ctx = ctx
    this.#entity = entity
  }

  /** Start what is new, stop what is gone, restart what changed (or failed to start); resolves once the stops are done. */
  async apply (services: ServiceEntry[], tunnels: TunnelEntry[]): Promise<Changes> {
    const wanted = new Map<string, { kind: Kind, name: string, spec: string, start: (signal: AbortSignal) => Promise<(() => Promise<void>) | undefined> }>()
    for (const s of services) wanted.set(`service ${s.name}`, { kind: 'service', name: s.name, spec: JSON.stringify(s), start: async signal => this.#startService(s, signal) })
    for (const t of tunnels) wanted.set(`tunnel ${t.name}`, { kind: 'tunnel', name: t.name, spec: JSON.stringify(t), start: async signal => this.#startTunnel(t, signal) })
    const changes: Changes = { added: [], removed: [], changed: [], unchanged: [] }
    const stops: Array<Promise<void>> = []
    for (const [key, unit] of this.#units) {
      const next = wanted.get(key)
      if (next != null && next.spec === unit.spec && !unit.failed) {
        changes.unchanged.push({ kind: unit.kind, name: unit.name })
        wanted.delete(key)
        continue
      }
      ;(next == null ? changes.removed : changes.changed).push({ kind: unit.kind, name: unit.name })
      this.#units.delete(key)
      stops.push(this.#stop(unit))
    }
    await Promise.all(stops)
    for (const [key, next] of wanted) {
      if (!changes.changed.some(c => c.kind === next.kind && c.name === next.name)) changes.added.push({ kind: next.kind, name: next.name })
      const controller = new AbortController()
      const signal = AbortSignal.any([this.#ctx.signal, controller.signal])
      const unit: Unit = { kind: next.kind, name: next.name, spec: next.spec, controller, failed: false, started: Promise.resolve(undefined) }
      unit.started = next.start(signal).catch((err: unknown) => {
        unit.failed = true
        if (!signal.aborted) {
          const f = describeFailure(err, { name: next.name })
          this.#ctx.out.warn('start-failed', { kind: next.kind, name: next.name, error: f.name, message: f.message, exit: f.exit },
            `${next.kind} ${JSON.stringify(next.name)} did not start: ${f.message} (fix the config and send SIGHUP)`)
        }
        return undefined
      })
      this.#units.set(key, unit)
    }
    return changes
  }

  /** Stop every unit (the process is stopping). */
  async stopAll (): Promise<void> {
    const units = [...this.#units.values()]
    this.#units.clear()
    await Promise.all(units.map(async u => this.#stop(u)))
  }

  async #stop (unit: Unit): Promise<void> {
    unit.controller.abort()
    const close = await unit.started
    if (close == null) return
    await close().catch(() => {})
    this.#ctx.out.status('stopped', { kind: unit.kind, name: unit.name }, `${unit.kind} ${JSON.stringify(unit.name)} stopped`)
  }

  async #startService (entry: ServiceEntry, signal: AbortSignal): Promise<(() => Promise<void>) | undefined> {
    const ctx = this.#ctx
    const { name } = entry
    const udp = entry.forwardUdp != null
    const target = entry.forward ?? entry.forwardUdp!
    const handler = udp ? udpForwarder(ctx, { target, idleMs: entry.udpIdle * 1000 }) : forwarder(ctx, target, name)
    if (!udp) void checkForward(ctx, target)
    const allowed = entry.allow == null ? undefined : new Set(entry.allow)
    const service = await register(ctx, this.#entity, name, handler, { ...privateOption(entry.private), ...admitting(ctx, name, allowed) }, signal)
    if (service == null) return undefined
    ctx.out.status('started', {
      kind: 'service', name, forward: formatHostPort(target), protocol: udp ? 'udp' : 'tcp', private: entry.private != null, allowed: entry.allow ?? null
    }, `serving ${JSON.stringify(name)}${entry.private == null ? '' : ' (private)'} → ${udp ? 'udp ' : ''}${formatHostPort(target)}`)
    return async () => { await service.close({ signal: AbortSignal.timeout(WITHDRAW_TIMEOUT_MS) }) }
  }

  async #startTunnel (entry: TunnelEntry, signal: AbortSignal): Promise<(() => Promise<void>) | undefined> {
    const ctx = this.#ctx
    const { name } = entry
    const options = privateOption(entry.private)
    const started = (fields: Fields, protocol: 'tcp' | 'udp'): void => {
      ctx.out.status('started', { kind: 'tunnel', name, address: fields.address, host: fields.host, port: fields.port, protocol, private: entry.private != null },
        `listening on ${protocol === 'udp' ? 'udp ' : ''}${String(fields.address)} → ${JSON.stringify(name)}`)
    }
    if (entry.listen != null) {
      const tunnel = await openTunnel(ctx, this.#entity, name, entry.listen, options, { command: 'up', max: entry.maxConnections, signal, tag: { tunnel: name } })
      if (signal.aborted) { tunnel.close(); return undefined }
      started({ address: tunnel.address, host: tunnel.host, port: tunnel.port }, 'tcp')
      void checkName(ctx, this.#entity, name, options)
      return async () => { tunnel.close() }
    }
    // UDP: the listen mode of `fara connect --listen-udp`, run until this unit's signal
    let listening: (fields: Fields) => void = () => {}
    const bound = new Promise<Fields>(resolve => { listening = resolve })
    const udp = { local: entry.listenUdp!, idleMs: entry.udpIdle * 1000, maxFlows: entry.maxFlows }
    const done = udpListenMode({ ...ctx, signal, out: intercepting(ctx.out, listening) }, this.#entity, name, udp, options)
    const fields = await Promise.race([bound, done.then(() => undefined)])
    if (fields == null) return undefined
    started(fields, 'udp')
    return async () => { await done.catch(() => {}) }
  }
}
